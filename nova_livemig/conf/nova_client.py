"""Options of the ``[nova]`` group: how the ``nova`` executor reaches
Nova's compute API.

Credentials and TLS come from keystoneauth1 (``auth_type`` and the options
of that auth plugin, ``cafile``, ``timeout``...), as in the ``[nova]``
group of neutron or cinder; the sample shows the ``password`` plugin's
options. The account needs Nova's admin policy: live migration, the
server's host and the migration records are admin-only by default.
"""

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

from nova_livemig.conf import groups

GROUP = cfg.OptGroup('nova', title='Nova compute API options',
                     help='How the ``nova`` executor (``[conductor] '
                          'executor = nova``) reaches the compute API.')

OPTS = [
    cfg.StrOpt('region_name',
               help='Region of the compute endpoint in the keystone '
                    'catalog; unset: the only one there is.'),
    cfg.StrOpt('interface', default='public',
               choices=('public', 'internal', 'admin'),
               help='Which endpoint of the compute service in the keystone '
                    'catalog to use.\n\nRelated options:\n\n'
                    '* ``endpoint_override`` replaces the catalog '
                    'lookup.\n'),
    cfg.URIOpt('endpoint_override', schemes=('http', 'https'),
               help='Compute API root to use instead of the keystone '
                    'catalog, e.g. ``http://controller:8774/v2.1``.'),
    cfg.BoolOpt('tune_via_agent', default=True,
                help='After nova accepts a live migration, ask the '
                     'nova-livemig agent of the source host to apply the '
                     'step\'s bandwidth cap and downtime limit to the '
                     'migration nova-compute runs, and to report its '
                     'progress (RPC ``tune_migration``, agent API 1.1). '
                     'Nova\'s API stays the authority on how the step '
                     'ends.\n\nPossible values:\n\n'
                     '* true: tune through the agent (it needs an agent '
                     'whose ``[agent] host`` is the nova compute host name, '
                     'with a driver that can follow a migration it did not '
                     'start)\n'
                     '* false: nova\'s own ``[libvirt] '
                     'live_migration_bandwidth`` and '
                     '``live_migration_downtime*`` apply\n'),
]


def register_opts(conf):
    groups.register(conf, GROUP, OPTS)
    ks_loading.register_session_conf_options(conf, GROUP.name)
    ks_loading.register_auth_conf_options(conf, GROUP.name)


def list_opts():
    return {GROUP: (OPTS
                    + ks_loading.get_session_conf_options()
                    + ks_loading.get_auth_common_conf_options()
                    + ks_loading.get_auth_plugin_conf_options('password'))}
