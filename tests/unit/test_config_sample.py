"""The committed config samples match the options the code registers:
nova-livemig's own, and the nova.conf snippet of the Nova weigher."""

import pathlib

from oslo_config import generator
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
ETC = ROOT / 'etc' / 'nova-livemig'
GENERATOR_CONF = ETC / 'nova-livemig-config-generator.conf'
SAMPLE = ETC / 'nova-livemig.conf.sample'
WEIGHER_GENERATOR_CONF = ETC / 'nova-weigher-config-generator.conf'
WEIGHER_SAMPLE = ETC / 'nova.conf.weigher-sample'
SAMPLES = [(GENERATOR_CONF, SAMPLE), (WEIGHER_GENERATOR_CONF, WEIGHER_SAMPLE)]


def _regenerate(generator_conf):
    return (f'oslo-config-generator --config-file '
            f'{generator_conf.relative_to(ROOT)} (or: tox -e genconfig)')


def _generate(tmp_path, generator_conf=GENERATOR_CONF):
    out = tmp_path / 'sample'
    generator.main(['--config-file', str(generator_conf),
                    '--output-file', str(out)])
    return out.read_text()


def _section(text, name):
    """The text of one ``[name]`` section of a sample."""
    start = ('\n' + text).index(f'\n[{name}]\n')
    end = text.find('\n[', start + 1)
    return text[start:] if end < 0 else text[start:end]


def _groups(text):
    return [ln for ln in text.splitlines() if ln.startswith('[')]


def test_generator_conf_names_the_project_namespace():
    text = GENERATOR_CONF.read_text()
    assert 'namespace = nova_livemig\n' in text
    assert 'output_file = etc/nova-livemig/nova-livemig.conf.sample' in text


def test_weigher_generator_conf_names_only_the_weigher_namespace():
    text = WEIGHER_GENERATOR_CONF.read_text()
    assert [ln for ln in text.splitlines()
            if ln.startswith('namespace')] == [
        'namespace = nova_livemig.weigher']
    assert 'output_file = etc/nova-livemig/nova.conf.weigher-sample' in text


@pytest.mark.parametrize('generator_conf,sample', SAMPLES,
                         ids=['nova-livemig', 'weigher'])
def test_committed_sample_is_current(tmp_path, generator_conf, sample):
    fresh = _generate(tmp_path, generator_conf)
    committed = sample.read_text() if sample.exists() else ''
    assert committed == fresh, (
        f'{sample.relative_to(ROOT)} is stale: the options changed. '
        f'Regenerate it from the top of the tree with: '
        f'{_regenerate(generator_conf)}')


def test_a_changed_default_makes_the_weigher_sample_stale(tmp_path,
                                                          monkeypatch):
    """The staleness check can fail: a changed default shows up."""
    from nova_livemig.conf import weigher
    opt = next(o for o in weigher.OPTS if o.name == 'snapshot_max_age_s')
    monkeypatch.setattr(opt, 'default', 601)
    fresh = _generate(tmp_path, WEIGHER_GENERATOR_CONF)
    assert '#snapshot_max_age_s = 601' in fresh
    assert fresh != WEIGHER_SAMPLE.read_text()


def test_sample_documents_the_planner_defaults(tmp_path):
    # The sample is what operators read: it shows Nova's downtime default.
    planner = _section(_generate(tmp_path), 'planner')
    assert '#max_downtime_ms = 500.0' in planner
    assert '#algorithms = precopy,autoconverge,compress,postcopy,hybrid' \
        in planner


def test_samples_show_the_safe_defaults(tmp_path):
    fresh = _generate(tmp_path)
    assert '#executor = nova' in _section(fresh, 'conductor')
    assert '#driver = libvirt' in _section(fresh, 'agent')
    assert '#plan_retention_days = 0' in _section(fresh, 'conductor')


def test_weigher_options_are_a_nova_conf_snippet_only(tmp_path):
    """The weigher's group is in nova.conf's snippet, not in
    nova-livemig.conf, and the snippet holds nothing else."""
    ours = _generate(tmp_path)
    snippet = _generate(tmp_path, WEIGHER_GENERATOR_CONF)
    assert '[nova_livemig]' not in _groups(ours)
    assert _groups(snippet) == ['[DEFAULT]', '[nova_livemig]']
    section = _section(snippet, 'nova_livemig')
    for line in ('#snapshot_path = /var/lib/nova-livemig/snapshot.json',
                 '#snapshot_max_age_s = 600',
                 '#migration_cost_weight_multiplier = 1.0'):
        assert line in section
