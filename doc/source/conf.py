# Sphinx configuration of the nova-livemig documentation (tox -e docs).
#
# The Markdown pages stay in doc/*.md, where the README, docstrings and
# tests point; each doc/source/<area>/<name>.md includes one of them
# (myst-parser), so Sphinx and GitHub show the same text.

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '_exts'))

project = 'nova-livemig'
copyright = 'nova-livemig developers'

extensions = [
    'myst_parser',
    'oslo_config.sphinxext',
    'reno.sphinxext',
    'clihelp',
]

source_suffix = {'.rst': 'restructuredtext', '.md': 'markdown'}
master_doc = 'index'
exclude_patterns = ['_build', '_exts']
# Headings of the Markdown pages get anchors, so that
# [text](page.md#a-heading) links resolve.
myst_heading_anchors = 3
myst_enable_extensions = ['deflist']

html_theme = 'alabaster'
html_static_path = []
html_theme_options = {'description': 'Cost-aware live migration for Nova'}

# The included Markdown pages link to each other and to files of the
# repository by paths relative to themselves (right on GitHub). In Sphinx,
# a link to a doc/*.md page becomes a link to its page here, and a link to
# any other file of the repository a link to it on opendev.org.
SOURCE_URL = 'https://opendev.org/openstack/nova-livemig/src/branch/master/'
_TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
_LINK = re.compile(r'\]\((?!https?:|mailto:|#)([^)\s#]+)(#[^)\s]*)?\)')


def _relink(app, relative_path, parent_docname, content):
    here = os.path.dirname(os.path.join(app.srcdir, str(relative_path)))

    def target(match):
        path, anchor = match.group(1), match.group(2) or ''
        full = os.path.relpath(os.path.normpath(os.path.join(here, path)),
                               _TOP)
        if (os.path.dirname(full) == 'doc' and full.endswith('.md')
                and os.path.exists(os.path.join(app.srcdir,
                                                os.path.basename(full)))):
            return f']({"/" + os.path.basename(full)}{anchor})'
        return f']({SOURCE_URL}{full}{anchor})'

    content[0] = _LINK.sub(target, content[0])


def setup(app):
    app.connect('include-read', _relink)
