"""Configuration options, one module per option group.

Commands build their own :class:`oslo_config.cfg.ConfigOpts`, call
:func:`register_opts` on it and pass it down; nothing reads a global.
Before oslo.config opens a configuration file, :func:`check_config_files`
makes sure it is a regular file of sane size: oslo.config reads whatever
it is given to the end, and a FIFO or ``/dev/zero`` never ends.
"""

import os
import stat

from nova_livemig import exception
from nova_livemig.conf import agent
from nova_livemig.conf import api
from nova_livemig.conf import conductor
from nova_livemig.conf import cost_model
from nova_livemig.conf import database
from nova_livemig.conf import fake_driver
from nova_livemig.conf import libvirt
from nova_livemig.conf import message_security
from nova_livemig.conf import messaging as messaging_opts
from nova_livemig.conf import nova_client
from nova_livemig.conf import periodic
from nova_livemig.conf import planner

#: the largest configuration file read (nova.conf with every option and
#: its help is a few hundred KiB)
MAX_CONFIG_FILE_BYTES = 4 * 1024 * 1024


def check_config_files(paths, option='--config-file'):
    """Refuse a configuration file that is not a regular file of at most
    :data:`MAX_CONFIG_FILE_BYTES`, or cannot be found, before oslo.config
    opens it.

    :param paths: the files given (symbolic links are followed)
    :param option: the option that named them, named in the error
    :raises InvalidInput: naming ``option`` and the path

    >>> check_config_files(['/dev/zero'])
    Traceback (most recent call last):
    ...
    nova_livemig.exception.InvalidInput: --config-file: got '/dev/zero'; \
allowed: a regular file (not a FIFO, device, socket or directory)
    """
    for path in paths:
        try:
            info = os.stat(path)  # never blocks, not even on a FIFO
        except (OSError, ValueError) as err:  # ValueError: a NUL in it
            why = getattr(err, 'strerror', None) or 'not a path'
            raise exception.InvalidInput(
                option, path, f'an existing, readable file ({why})') from None
        if not stat.S_ISREG(info.st_mode):
            raise exception.InvalidInput(
                option, path,
                'a regular file (not a FIFO, device, socket or directory)')
        if info.st_size > MAX_CONFIG_FILE_BYTES:
            raise exception.InvalidInput(
                option, path, f'a file of at most {MAX_CONFIG_FILE_BYTES} '
                f'bytes (it has {info.st_size})')


def config_files_in(argv):
    """The ``--config-file`` values of a daemon's command line, and the
    ``*.conf`` files of its ``--config-dir`` values, as oslo.config would
    read them."""
    files, dirs = [], []
    for i, arg in enumerate(argv):
        for flag, out in (('--config-file', files), ('--config-dir', dirs)):
            if arg == flag and i + 1 < len(argv):
                out.append(argv[i + 1])
            elif arg.startswith(flag + '='):
                out.append(arg.split('=', 1)[1])
    for folder in dirs:
        try:
            names = sorted(os.listdir(folder))
        except (OSError, ValueError):
            continue  # oslo.config says so, naming --config-dir
        files += [os.path.join(folder, n) for n in names
                  if n.endswith('.conf')]
    return files


# Each module has register_opts(conf) and list_opts(); add new groups here.
MODULES = [planner, cost_model, conductor, database, periodic, agent,
           fake_driver, libvirt, messaging_opts, message_security, nova_client,
           api]


def register_opts(conf, messaging=True):
    """Register every option group on ``conf``.

    :param conf: a private :class:`oslo_config.cfg.ConfigOpts`
    :param messaging: also oslo.messaging's own options (importing
        oslo.messaging); commands that never touch the bus (the offline
        ``nova-livemig plan --snapshot``) pass False
    """
    for module in MODULES:
        if module is messaging_opts and not messaging:
            continue
        module.register_opts(conf)
