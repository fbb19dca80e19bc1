"""Options of the ``[cost_model]`` group: constants a real QEMU shows."""

import dataclasses

from oslo_config import cfg

from nova_livemig import cost
from nova_livemig.conf import groups

GROUP = cfg.OptGroup('cost_model', title='Cost model constants',
                     help='Constants of the migration cost models. The '
                          'defaults are calibrated against real QEMU '
                          'migrations (see doc/cost-model.md).')

_D = cost.CostParams()

OPTS = [
    cfg.FloatOpt('goodput_fraction', default=_D.goodput_fraction,
                 min=0.05, max=1.0,
                 help='Migration payload rate as a fraction of the free '
                      'line rate of the path.'),
    cfg.FloatOpt('switchover_ms', default=_D.switchover_ms, min=0.0,
                 help='Fixed cost of the switchover (pause, device state, '
                      'resume), in milliseconds.'),
    cfg.IntOpt('max_iterations', default=_D.max_iterations, min=1,
               help='Pre-copy rounds after which a migration is predicted '
                    'not to converge.'),
    cfg.FloatOpt('max_data_factor', default=_D.max_data_factor, min=1.0,
                 help='Bytes sent, as a multiple of guest memory, after '
                      'which a pre-copy is predicted not to converge.'),
    cfg.FloatOpt('zero_page_cost', default=_D.zero_page_cost,
                 min=0.0, max=1.0,
                 help='Fraction of a zero page\'s size that the first pass '
                      'still sends (QEMU sends a header per zero page).'),
    cfg.FloatOpt('sync_step_ms', default=_D.sync_step_ms, min=1.0,
                 help='Longest stretch QEMU sends between two checks of '
                      'the pending data, in milliseconds. It sets how far '
                      'below the downtime limit a pre-copy completes.'),
    cfg.FloatOpt('device_state_mib', default=_D.device_state_mib, min=0.0,
                 help='Device and vCPU state sent while the guest is '
                      'paused, in MiB.\n\nRelated options:\n\n'
                      '* ``switchover_ms``\n'),
    cfg.FloatOpt('setup_s', default=_D.setup_s, min=0.0,
                 help='Fixed time before the first page is sent (the '
                      'destination QEMU is started and connected), in '
                      'seconds.'),
    cfg.FloatOpt('throttle_initial_pct', default=_D.throttle_initial_pct,
                 min=1.0, max=99.0,
                 help='Auto-converge: first CPU throttle, percent (QEMU\'s '
                      '``cpu-throttle-initial``).'),
    cfg.FloatOpt('throttle_increment_pct',
                 default=_D.throttle_increment_pct, min=1.0, max=99.0,
                 help='Auto-converge: throttle step, percent (QEMU\'s '
                      '``cpu-throttle-increment``).'),
    cfg.FloatOpt('throttle_max_pct', default=_D.throttle_max_pct,
                 min=1.0, max=99.0,
                 help='Auto-converge: highest throttle, percent (QEMU\'s '
                      '``max-cpu-throttle``).'),
    cfg.FloatOpt('throttle_trigger_pct', default=_D.throttle_trigger_pct,
                 min=1.0, max=100.0,
                 help='Auto-converge: throttle when the bytes dirtied in a '
                      'sync period exceed this percentage of the bytes '
                      'sent (QEMU\'s ``throttle-trigger-threshold``).'),
    cfg.FloatOpt('compress_ratio', default=_D.compress_ratio,
                 min=0.01, max=1.0,
                 help='Compressed page bytes as a fraction of raw bytes.'),
    cfg.FloatOpt('compress_mib_s', default=_D.compress_mib_s, min=1.0,
                 help='Raw page bytes one migration can compress per '
                      'second (MiB/s); compression cannot go faster.'),
    cfg.FloatOpt('postcopy_slowdown', default=_D.postcopy_slowdown,
                 min=0.0, max=1.0,
                 help='Mean fraction of guest speed lost while its pages '
                      'fault over the link during post-copy.'),
    cfg.FloatOpt('pause_backlog_mib', default=_D.pause_backlog_mib,
                 min=0.0, max=1024.0,
                 help='Pre-copy: migration stream still queued between '
                      'QEMU and the wire (socket buffers, a shaper\'s '
                      'queue) when QEMU pauses the guest, in MiB. It '
                      'drains before the last pages, so the pause lasts '
                      'that long at the path\'s rate beyond QEMU\'s '
                      'downtime limit; the agent and the drivers lower '
                      'the limit they give QEMU by as much, and the '
                      'models predict the longer pause.\n\n'
                      'Possible values:\n\n'
                      '* 0: nothing is queued (the pause is the pending '
                      'pages, the switchover and the device state)\n'
                      '* a positive size: the queue measured on this '
                      'cloud\'s migration paths\n\n'
                      'Related options:\n\n'
                      '* ``switchover_ms``\n'
                      '* ``device_state_mib``\n'
                      '* ``[planner] max_downtime_ms``\n'
                      '* ``[planner] calibration_file`` (fits it)\n'),
    cfg.FloatOpt('migration_dirty_factor',
                 default=_D.migration_dirty_factor, min=0.1, max=10.0,
                 help='Pre-copy: the guest\'s dirty rate while it '
                      'migrates, as a multiple of the rate measured '
                      'before. Dirty logging and write faults slow some '
                      'guests down and make others dirty more.\n\n'
                      'Possible values:\n\n'
                      '* 1.0: the guest dirties memory as measured\n'
                      '* above 1.0: it dirties more while it migrates '
                      '(fewer pre-copies are predicted to converge)\n'
                      '* below 1.0: it dirties less\n\n'
                      'Related options:\n\n'
                      '* ``[planner] calibration_file`` (fits it)\n'),
    cfg.FloatOpt('dirty_overlap', default=_D.dirty_overlap, min=0.0,
                 max=1.0,
                 help='Pre-copy: how much of what a guest re-dirties '
                      'falls on pages still pending, which cost nothing '
                      'more to send.\n\n'
                      'Possible values:\n\n'
                      '* 1.0: the guest writes at random over its working '
                      'set (the most optimistic about convergence)\n'
                      '* 0.0: it sweeps its working set in order, so every '
                      'page it writes must be sent again; pre-copy then '
                      'converges only when the guest dirties more slowly '
                      'than the link sends, or its working set fits the '
                      'pause\n\n'
                      'Related options:\n\n'
                      '* ``[planner] calibration_file`` (fits it)\n'),
    cfg.FloatOpt('resident_fraction', min=0.01, max=1.0,
                 help='Fraction of a VM\'s memory taken as resident '
                      '(non-zero pages, sent in full by the first pass) '
                      'when neither the snapshot nor the VM\'s history '
                      'says how much it has touched. Never less than the '
                      'VM\'s writable working set, when that is '
                      'known.\n\n'
                      'Possible values:\n\n'
                      '* unset: all of a VM\'s memory is taken as resident\n'
                      '* a fraction: that share of its memory is resident, '
                      'the rest is zero pages (see ``zero_page_cost``)\n\n'
                      'Related options:\n\n'
                      '* ``zero_page_cost``\n'
                      '* ``[planner] calibration_file`` (fits it)\n'),
]


def register_opts(conf):
    groups.register(conf, GROUP, OPTS)


def list_opts():
    return {GROUP: OPTS}


def params_from(conf):
    """A :class:`~nova_livemig.cost.CostParams` from the ``[cost_model]``
    group of ``conf``."""
    known = {f.name for f in dataclasses.fields(cost.CostParams)}
    values = {opt.name: conf.cost_model[opt.name] for opt in OPTS
              if opt.name in known}
    return cost.CostParams(**values)
