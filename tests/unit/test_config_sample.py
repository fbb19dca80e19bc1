"""The committed config sample matches the options the code registers."""

import pathlib

from oslo_config import generator

ROOT = pathlib.Path(__file__).resolve().parents[2]
ETC = ROOT / 'etc' / 'nova-livemig'
GENERATOR_CONF = ETC / 'nova-livemig-config-generator.conf'
SAMPLE = ETC / 'nova-livemig.conf.sample'
REGENERATE = ('oslo-config-generator --config-file '
              'etc/nova-livemig/nova-livemig-config-generator.conf '
              '(or: tox -e genconfig)')


def _generate(tmp_path):
    out = tmp_path / 'nova-livemig.conf.sample'
    generator.main(['--config-file', str(GENERATOR_CONF),
                    '--output-file', str(out)])
    return out.read_text()


def test_generator_conf_names_the_project_namespace():
    text = GENERATOR_CONF.read_text()
    assert 'namespace = nova_livemig' in text
    assert 'output_file = etc/nova-livemig/nova-livemig.conf.sample' in text


def test_committed_sample_is_current(tmp_path):
    fresh = _generate(tmp_path)
    committed = SAMPLE.read_text() if SAMPLE.exists() else ''
    assert committed == fresh, (
        f'{SAMPLE.relative_to(ROOT)} is stale: the options changed. '
        f'Regenerate it from the top of the tree with: {REGENERATE}')


def test_sample_documents_the_planner_defaults(tmp_path):
    # The sample is what operators read: it shows Nova's downtime default.
    fresh = _generate(tmp_path)
    planner = fresh[fresh.index('[planner]'):]
    assert '#max_downtime_ms = 500.0' in planner
    assert '#algorithms = precopy,autoconverge,compress,postcopy,hybrid' \
        in planner
