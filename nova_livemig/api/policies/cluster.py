"""Rules of what the conductor knows of the cluster: the snapshot, the
migration history, the calibration, the scheduled policies, what-if."""

from nova_livemig.api.policies import base


def _rule(name, check, method, path, description):
    return base.rule(f'livemig:{name}', check, method, path, description)


RULES = [
    _rule('snapshot:show', base.READER, 'GET', '/v1/snapshot',
          'Show the cluster snapshot the conductor plans on.'),
    _rule('history:list', base.READER, 'GET', '/v1/history',
          'List migration records, newest first.'),
    _rule('calibration:show', base.READER, 'GET', '/v1/calibration',
          'Show the calibration the cost model plans with.'),
    _rule('calibration:refit', base.ADMIN, 'POST', '/v1/calibration/refit',
          'Refit the cost model from the migration history now.'),
    _rule('periodic:list', base.READER, 'GET', '/v1/periodic',
          'List the scheduled policies with their last and next runs.'),
    _rule('periodic:dry_run', base.ADMIN, 'POST',
          '/v1/periodic/{policy}/dry-run',
          'Plan a scheduled policy now as a dry run (a record only).'),
    _rule('whatif:create', base.READER, 'POST', '/v1/whatif',
          'Plan on a posted snapshot; nothing is recorded or changed.'),
]


def list_rules():
    return RULES
