"""Render one config template of the small cloud: ``${NAME}`` placeholders
filled from the environment (CLOUD_* values and the generated secrets).

Usage: render.py TEMPLATE OUTPUT

The output is written root-only (0600) because most files hold a password;
a placeholder with no value is an error naming it, and nothing is printed.
"""

import os
import string
import sys


def main(argv):
    template_path, output_path = argv[1:3]
    with open(template_path) as f:
        template = string.Template(f.read())
    try:
        text = template.substitute(os.environ)
    except KeyError as exc:
        sys.exit(f'{template_path}: no value for ${{{exc.args[0]}}}')
    fd = os.open(output_path + '.new', os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                 0o600)
    with os.fdopen(fd, 'w') as f:
        f.write(text)
    os.replace(output_path + '.new', output_path)


if __name__ == '__main__':
    main(sys.argv)
