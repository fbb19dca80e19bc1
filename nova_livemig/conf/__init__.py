"""Configuration options, one module per option group.

Commands build their own :class:`oslo_config.cfg.ConfigOpts`, call
:func:`register_opts` on it and pass it down; nothing reads a global.
"""

from nova_livemig.conf import agent
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

# Each module has register_opts(conf) and list_opts(); add new groups here.
MODULES = [planner, cost_model, conductor, database, periodic, agent,
           fake_driver, libvirt, messaging_opts, message_security, nova_client]


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
