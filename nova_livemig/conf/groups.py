"""Registering an option group on a private ConfigOpts."""

from oslo_config import cfg


def register(conf, group, opts):
    """Register ``opts`` under a copy of ``group`` of ``conf``'s own.

    oslo.config keeps a registered group's option table in the OptGroup
    object it is given (a shallow copy), so a module-level group shared by
    two ConfigOpts of one process (two agents, tests) would share their
    overrides; each ConfigOpts therefore gets a group of its own.

    :param conf: a :class:`oslo_config.cfg.ConfigOpts`
    :param group: the module's :class:`oslo_config.cfg.OptGroup` (a template)
    :param opts: the options of the group
    """
    conf.register_group(cfg.OptGroup(group.name, title=group.title,
                                      help=group.help))
    conf.register_opts(opts, group=group.name)
