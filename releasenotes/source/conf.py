# Sphinx configuration of the release notes alone (tox -e releasenotes);
# the same notes are also a page of the documentation (doc/source).

project = 'nova-livemig Release Notes'
copyright = 'nova-livemig developers'
extensions = ['reno.sphinxext']
master_doc = 'index'
exclude_patterns = ['_build']
html_theme = 'alabaster'
