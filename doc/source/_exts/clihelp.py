"""``.. cli-help:: nova-livemig plan`` prints a console script's ``--help``.

The CLI reference is generated at build time from the installed console
scripts, so it cannot go stale. The command runs with ``COLUMNS=79`` so
the text wraps the same on every machine; a failing command fails the
build.
"""

import os
import pathlib
import subprocess
import sys

from docutils import nodes
from sphinx.util.docutils import SphinxDirective

SCRIPTS = ('nova-livemig', 'nova-livemig-conductor', 'nova-livemig-agent')


class CliHelp(SphinxDirective):
    required_arguments = 1
    optional_arguments = 5

    def run(self):
        script, *rest = self.arguments
        if script not in SCRIPTS:
            raise self.error(f'cli-help: {script!r} is not one of '
                             f'{", ".join(SCRIPTS)}')
        exe = pathlib.Path(sys.executable).parent / script
        env = dict(os.environ, COLUMNS='79')
        done = subprocess.run([str(exe), *rest, '--help'], env=env,
                              capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise self.error(f'cli-help: {script} {" ".join(rest)} --help '
                             f'exited {done.returncode}: {done.stderr}')
        text = done.stdout.rstrip()
        block = nodes.literal_block(text, text)
        block['language'] = 'text'
        return [block]


def setup(app):
    app.add_directive('cli-help', CliHelp)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}
