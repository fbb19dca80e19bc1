"""The contributor's tooling stays in step: the gate jobs of .zuul.yaml
run tox envs that tox.ini defines, every ``doc/...md`` path the
repository names exists, and every Markdown page of doc/ is in the
Sphinx tree (doc/source)."""

import configparser
import pathlib
import re

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]

# The tox envs that the OpenStack project templates run (their jobs
# call ``tox -e <env>``; openstack-python3-jobs runs py3<minor> envs,
# which tox derives from [testenv]).
TEMPLATE_ENVS = {
    'openstack-python3-jobs': ['pep8', 'py3'],
    'openstack-cover-jobs': ['cover'],
    'publish-openstack-docs-pti': ['docs'],
    'release-notes-jobs-python3': ['releasenotes'],
}
# Where a ``doc/...md`` path may be written.
SUFFIXES = {'.py', '.md', '.sh', '.cfg', '.ini', '.yaml', '.rst', '.txt',
            '.toml'}
SKIP_DIRS = {'.git', '.venv', '.venv-nova', 'build', '__pycache__',
             '.tox', 'cover', '.hypothesis', '.ruff_cache'}
DOC_PATH = re.compile(r'(?<![\w/.-])((?:\.\./)*doc/\w[\w./-]*?\.md)\b')


def _tox_envs():
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / 'tox.ini')
    envs = {name.split(':', 1)[1] for name in parser.sections()
            if name.startswith('testenv:')}
    # [testenv] is py3 (and any pyXY)
    envs.add('py3')
    listed = [e.strip() for e in parser['tox']['envlist'].split(',')]
    return envs, listed


def _zuul():
    return yaml.safe_load((ROOT / '.zuul.yaml').read_text())


def _zuul_envs():
    """(where, env) for every tox env .zuul.yaml runs."""
    for item in _zuul():
        if 'project' in item:
            for template in item['project'].get('templates', []):
                assert template in TEMPLATE_ENVS, (
                    f'.zuul.yaml: template {template!r} is not in '
                    f'{__name__}.TEMPLATE_ENVS; say which tox envs it runs')
                for env in TEMPLATE_ENVS[template]:
                    yield f'template {template}', env
        if 'job' in item:
            envlist = item['job'].get('vars', {}).get('tox_envlist')
            for env in (envlist or '').split(','):
                if env.strip():
                    yield f"job {item['job']['name']}", env.strip()


def test_envlist_names_defined_envs():
    envs, listed = _tox_envs()
    assert set(listed) <= envs, set(listed) - envs


def test_zuul_runs_only_envs_tox_defines():
    envs, _ = _tox_envs()
    missing = [(where, env) for where, env in _zuul_envs()
               if env not in envs]
    assert not missing, (
        f'.zuul.yaml runs tox envs that tox.ini does not define: {missing}')


def test_zuul_jobs_named_in_pipelines_are_defined():
    items = _zuul()
    defined = {item['job']['name'] for item in items if 'job' in item}
    project = next(item['project'] for item in items if 'project' in item)
    for pipeline in ('check', 'gate'):
        for job in project.get(pipeline, {}).get('jobs', []):
            name = job if isinstance(job, str) else next(iter(job))
            if name.startswith('nova-livemig-'):
                assert name in defined, f'{pipeline}: {name} is not defined'


def test_contributing_says_how_to_run_every_env():
    envs, _ = _tox_envs()
    text = (ROOT / 'CONTRIBUTING.rst').read_text()
    missing = [e for e in sorted(envs) if f'tox -e {e}' not in text]
    assert not missing, f'CONTRIBUTING.rst does not explain: {missing}'


def _text_files():
    for path in ROOT.rglob('*'):
        rel = path.relative_to(ROOT)
        if any(part in SKIP_DIRS for part in rel.parts[:-1]):
            continue
        if path.suffix in SUFFIXES and path.is_file():
            yield path


def test_every_doc_path_named_exists():
    dangling = []
    for path in _text_files():
        for match in DOC_PATH.finditer(path.read_text(errors='replace')):
            named = match.group(1)
            # Relative to the file (a Markdown link), else to the top.
            if named.startswith('../'):
                target = (path.parent / named).resolve()
            else:
                target = ROOT / named
            if not target.exists():
                dangling.append(f'{path.relative_to(ROOT)}: {named}')
    assert not dangling, 'paths to missing pages:\n' + '\n'.join(dangling)


@pytest.mark.parametrize('page', sorted(p.name for p in
                                        (ROOT / 'doc').glob('*.md')))
def test_every_markdown_page_is_in_the_sphinx_tree(page):
    stub = ROOT / 'doc' / 'source' / page
    assert stub.exists(), (
        f'doc/{page} has no doc/source/{page} including it (one line: '
        f'```{{include}} ../{page}``` in a fence), so Sphinx misses it')
    assert f'../{page}' in stub.read_text()


def test_ci_builds_docs_and_reports_coverage():
    script = (ROOT / 'tools' / 'test.sh').read_text()
    assert 'sphinx-build -W' in script
    assert 'coverage run' in script and 'coverage report' in script
