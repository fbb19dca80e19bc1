"""Migration cost weigher: move a running instance where it migrates quickest.

When nova moves an instance that already runs somewhere (live or cold
migration, resize, evacuation), this weigher prefers the hosts it would
migrate to quickest from its current host, as nova-livemig's cost model
predicts over the widest network path. The raw weight is minus the predicted
seconds (see :mod:`nova_livemig.weigher.cost_table`); nova normalises it,
so the
quickest host weighs 1 and the slowest 0 before the multiplier.

The data is the snapshot the nova-livemig conductor publishes
(``[nova_livemig] snapshot_path``), read again only when the file changes.
The weigher is neutral (0 for every host) for a boot, whose instance the
snapshot does not list yet, for a rebuild, and when the file is missing,
invalid or older than ``[nova_livemig] snapshot_max_age_s``, and whenever
anything goes wrong: it never raises into nova's weighing (a bad file is one
warning in the log, not a failed request).

Enable it by adding ``nova_livemig.weigher.MigrationCostWeigher`` to
``[filter_scheduler] weight_classes``. The default multiplier is 1.0; a
``migration_cost_weight_multiplier`` key in aggregate metadata overrides it.
The options are defined in :mod:`nova_livemig.conf.weigher` (no nova
import there, so that a sample can be generated without nova); see
``doc/nova-weigher.md``.
"""

import nova.conf
from nova.scheduler import utils
from nova.scheduler import weights
from oslo_log import log as logging

from nova_livemig.conf import weigher as weigher_conf
from nova_livemig.weigher import cost_table

CONF = nova.conf.CONF
weigher_conf.register_opts(CONF)
LOG = logging.getLogger(__name__)


class MigrationCostWeigher(weights.BaseHostWeigher):

    def __init__(self):
        self._table = None
        self._warned = False

    def weight_multiplier(self, host_state):
        return utils.get_weight_multiplier(
            host_state, 'migration_cost_weight_multiplier',
            CONF.nova_livemig.migration_cost_weight_multiplier)

    def _weigh_object(self, host_state, request_spec):
        """Minus the predicted seconds to move the instance here, or 0."""
        try:
            return self._weight(host_state, request_spec)
        except Exception as err:  # never fail nova's scheduling
            if not self._warned:
                self._warned = True
                LOG.warning('migration cost: no opinion: %s: %.200r',
                            type(err).__name__, str(err))
            return 0.0

    def _weight(self, host_state, request_spec):
        if utils.request_is_rebuild(request_spec):
            return 0.0
        conf = CONF.nova_livemig
        table = self._table
        if (table is None or table.path != conf.snapshot_path
                or table.max_age_s != conf.snapshot_max_age_s
                or table.calibration_path != conf.calibration_path):
            table = self._table = cost_table.CostTable(
                conf.snapshot_path, conf.snapshot_max_age_s,
                calibration_path=conf.calibration_path)
        cost_s = table.cost_s(request_spec.instance_uuid, host_state.host)
        return 0.0 if cost_s is None else -cost_s
