"""Options of the ``[planner]`` group: how plans are made."""

import os

from oslo_config import cfg
from oslo_log import log as logging

from nova_livemig import plan
from nova_livemig.calibration import document
from nova_livemig.calibration import evidence
from nova_livemig.conf import cost_model
from nova_livemig.conf import groups

LOG = logging.getLogger(__name__)

GROUP = cfg.OptGroup('planner', title='Planner options',
                     help='How migration plans are made.')

_DEFAULTS = plan.PlanningOptions()

OPTS = [
    cfg.FloatOpt('max_downtime_ms', default=_DEFAULTS.max_downtime_ms,
                 min=1.0,
                 help='Downtime target of every live migration, in '
                      'milliseconds; the default is Nova\'s '
                      '``[libvirt] live_migration_downtime``.\n\n'
                      'Possible values:\n\n'
                      '* A positive number of milliseconds.\n'),
    cfg.ListOpt('algorithms', default=list(_DEFAULTS.algorithms),
                item_type=cfg.types.String(choices=[
                    'precopy', 'autoconverge', 'compress', 'postcopy',
                    'hybrid']),
                help='Migration algorithms a plan may choose from, per VM.'
                     '\n\nPossible values:\n\n'
                     '* Any of precopy, autoconverge, compress, postcopy, '
                     'hybrid.\n\nRelated options:\n\n'
                     '* ``allow_postcopy`` and ``allow_throttle`` remove '
                     'algorithms from this list.\n'),
    cfg.BoolOpt('allow_postcopy', default=True,
                help='Allow algorithms that switch to post-copy (postcopy, '
                     'hybrid). A link failure during post-copy loses the '
                     'VM; disable where that risk is not acceptable.\n\n'
                     'Related options:\n\n* ``algorithms``\n'),
    cfg.BoolOpt('allow_throttle', default=True,
                help='Allow auto-converge, which slows the guest\'s vCPUs '
                     'down until the migration converges.\n\n'
                     'Related options:\n\n* ``algorithms``\n'),
    cfg.FloatOpt('dirty_rate_rel_err', default=_DEFAULTS.dirty_rate_rel_err,
                 min=0.0, max=1.0,
                 help='Relative error assumed on a measured dirty rate that '
                      'comes without its own spread. The algorithm chosen '
                      'for a VM must meet the downtime target at the upper '
                      'end of that error.\n\nPossible values:\n\n'
                      '* A fraction from 0 to 1.\n'),
    cfg.FloatOpt('cpu_target_util', default=_DEFAULTS.cpu_target_util,
                 min=0.05, max=1.0,
                 help='Host CPU utilisation (fraction of its physical '
                      'vcpus busy) that consolidation may fill a host up '
                      'to, and above which balancing relieves a host.\n\n'
                      'Possible values:\n\n* A fraction from 0.05 to 1.\n'),
    cfg.FloatOpt('postcopy_min_saving',
                 default=_DEFAULTS.postcopy_min_saving, min=0.0,
                 help='An algorithm that switches to post-copy is chosen '
                      'over one that does not only when it saves at least '
                      'this fraction of the worst-case migration time, or '
                      'when nothing safer meets the downtime target. A link '
                      'failure during post-copy loses the VM, so a few '
                      'seconds saved are not worth it.\n\n'
                      'Possible values:\n\n'
                      '* 0: choose post-copy whenever it is fastest.\n'
                      '* A fraction such as 0.2: post-copy must be 20% '
                      'faster.\n\nRelated options:\n\n'
                      '* ``allow_postcopy``\n'),
    cfg.BoolOpt('prefer_rack', default=_DEFAULTS.prefer_rack,
                help='Consolidation looks for a destination in the VM\'s '
                     'own rack first, so that migration traffic stays off '
                     'the spine: on a 1,000-host synthetic cluster this '
                     'made the predicted makespan about 3 times shorter '
                     'for 0.4 % more hosts in use (doc/fleet.md).\n\n'
                     'Possible values:\n\n'
                     '* True: own rack first, then anywhere.\n'
                     '* False: the fewest hosts in use, wherever.\n'),
    cfg.IntOpt('balance_max_moves', default=_DEFAULTS.balance_max_moves,
               min=0,
               help='The most migrations a ``balance`` plan may hold. Moves '
                    'that bring a host under ``cpu_target_util`` come '
                    'first, then those that narrow the spread most per '
                    'second of migration, so a budget keeps the moves that '
                    'buy most; the plan\'s summary shows the spread '
                    'against the number of moves (``spread_by_moves``).'
                    '\n\nPossible values:\n\n'
                    '* 0: no limit; ``balance_min_gain`` alone stops.\n'
                    '* A positive number of migrations. A budget smaller '
                    'than the relief needs leaves hosts over the target; '
                    'the plan lists them.\n\nRelated options:\n\n'
                    '* ``balance_min_gain``\n* ``cpu_target_util``\n'),
    cfg.FloatOpt('balance_min_gain', default=_DEFAULTS.balance_min_gain,
                 min=0.0,
                 help='``balance`` stops narrowing the spread when no move '
                      'left gains this much. A move\'s gain is how much it '
                      'lowers the sum, over the up hosts, of the squared '
                      'distance of their CPU utilisation from the mean: '
                      'moving 8 busy vcpus from a 64-vcpu host 20 points '
                      'above the mean to one 20 points below gains about '
                      '0.07, whatever the size of the cluster. Hosts over '
                      '``cpu_target_util`` are relieved whatever the gain.'
                      '\n\nPossible values:\n\n'
                      '* 0: narrow while any move gains.\n'
                      '* A larger value: fewer, larger moves and a wider '
                      'spread left.\n\nRelated options:\n\n'
                      '* ``balance_max_moves``\n'),
    cfg.FloatOpt('max_migration_s', default=_DEFAULTS.max_migration_s,
                 min=1.0,
                 help='A migration predicted to take longer than this many '
                      'seconds counts as not converging: the planner then '
                      'prefers an algorithm that finishes sooner, or '
                      'reports the VM as unplaced.\n\n'
                      'Possible values:\n\n* A positive number of '
                      'seconds.\n'),
    cfg.StrOpt('calibration_file',
               help='Cost-model constants fitted to this cloud\'s '
                    'migration history (the JSON file ``nova-livemig '
                    'calibrate`` writes, doc/calibration.md); they '
                    'override the ``[cost_model]`` options they fit, and '
                    'the algorithms the history holds migrations of count '
                    'as measured. The conductor rewrites this file when it '
                    'refits (``[conductor] refit_interval_s``). Unset: the '
                    '``[cost_model]`` options alone.\n\n'
                    'Related options:\n\n* ``require_evidence``\n'),
    cfg.BoolOpt('require_evidence', default=True,
                help='The planner chooses only algorithms whose model '
                     'constants were measured, by the project\'s '
                     'calibration or in this cloud\'s history '
                     '(``calibration_file``); the others are left out and '
                     'every plan says why. Disable to let the planner use '
                     'uncalibrated models (compress, out of the box).\n\n'
                     'Related options:\n\n* ``algorithms``\n'),
    cfg.IntOpt('max_outgoing_per_host',
               default=_DEFAULTS.max_outgoing_per_host, min=1,
               help='Concurrent live migrations out of one host.\n\n'
                    'Related options:\n\n* ``max_incoming_per_host``\n'),
    cfg.IntOpt('max_incoming_per_host',
               default=_DEFAULTS.max_incoming_per_host, min=1,
               help='Concurrent live migrations into one host.\n\n'
                    'Related options:\n\n* ``max_outgoing_per_host``\n'),
]


def register_opts(conf):
    groups.register(conf, GROUP, OPTS)


def list_opts():
    return {GROUP: OPTS}


POSTCOPY_ALGORITHMS = ('postcopy', 'hybrid')
THROTTLE_ALGORITHMS = ('autoconverge',)


def calibration_from(conf):
    """The calibration of ``[planner] calibration_file``, or None when
    the option is unset or the file does not exist yet (a conductor
    writes it at its first refit).

    :raises InvalidInput: when the file cannot be read
    :raises InvalidSnapshot: when its content is bad
    """
    path = conf.planner.calibration_file
    if not path:
        return None
    if not os.path.lexists(path):
        LOG.warning('[planner] calibration_file %s does not exist (yet): '
                    'planning with the [cost_model] options', path)
        return None
    return document.load(path, '[planner] calibration_file')


def options_from(conf, calibration=None):
    """A :class:`~nova_livemig.plan.PlanningOptions` from ``conf``.

    :param calibration: a :class:`~nova_livemig.calibration.Calibration`
        to plan with (``plan --calibration``, a conductor's refit); None:
        the one of ``[planner] calibration_file``, if any
    """
    group = conf.planner
    if calibration is None:
        calibration = calibration_from(conf)
    algorithms = [a for a in group.algorithms
                  if (group.allow_postcopy or a not in POSTCOPY_ALGORITHMS)
                  and (group.allow_throttle or a not in THROTTLE_ALGORITHMS)]
    left_out = ()
    if group.require_evidence:
        algorithms, left_out = evidence.usable(algorithms, calibration)
    params = cost_model.params_from(conf)
    if calibration is not None:
        params = calibration.params(params)
    return plan.PlanningOptions(
        max_downtime_ms=group.max_downtime_ms,
        algorithms=tuple(algorithms),
        dirty_rate_rel_err=group.dirty_rate_rel_err,
        cpu_target_util=group.cpu_target_util,
        params=params, max_migration_s=group.max_migration_s,
        left_out=tuple(left_out),
        max_outgoing_per_host=group.max_outgoing_per_host,
        max_incoming_per_host=group.max_incoming_per_host,
        postcopy_min_saving=group.postcopy_min_saving,
        prefer_rack=group.prefer_rack,
        balance_max_moves=group.balance_max_moves,
        balance_min_gain=group.balance_min_gain)
