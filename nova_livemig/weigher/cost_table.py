"""What moving a running VM to each host would cost, read from a snapshot file.

The pure half of the Nova weigher (:mod:`nova_livemig.weigher`), kept apart so
that it tests without nova. The nova-livemig conductor publishes a snapshot v1
JSON file; :class:`CostTable` parses it once, keeps it while the file is
unchanged (same inode, mtime and size: publish by writing a new file and
renaming it over the old one) and answers "how many seconds would migrating
VM ``x`` from the host the snapshot puts it on to host ``h`` take", with the
algorithm a plan would choose
(:func:`nova_livemig.algorithms.choice.choose`) over the
widest path (:class:`nova_livemig.graph.LinkGraph`).

The contract of :meth:`CostTable.cost_s`:

* ``None`` (no opinion) when the file is missing, unreadable, invalid or older
  than ``max_age_s``, when it does not list the VM, when no cost model
  plugin is installed, or when anything at all goes wrong: it never raises,
  so that it cannot fail nova's scheduling, and logs one warning per change
  of the file (not one per host or request);
* ``0.0`` for the VM's own host;
* otherwise the predicted total time, where a destination whose prediction
  misses the downtime target counts after every one that meets it, and a host
  the snapshot does not know, or that has no path or no finite prediction,
  counts as the costliest known destination.
"""

import collections
import math
import os
import time

from oslo_log import log as logging

from nova_livemig import cost
from nova_livemig import exception
from nova_livemig import graph
from nova_livemig import loglines
from nova_livemig import model
from nova_livemig import plan
from nova_livemig import plugins
from nova_livemig.algorithms import choice
from nova_livemig.calibration import document
from nova_livemig.calibration import evidence

LOG = logging.getLogger(__name__)

_State = collections.namedtuple('_State',
                                'file_key snapshot graph costs')
_NONE = _State(None, None, None, {})
#: what :meth:`CostTable.cost_s` caches for a VM it could not cost
_FAILED = {}


def _why(err):
    """An exception in one short, printable line, for the log."""
    if isinstance(err, exception.LivemigError):
        lines = loglines.message_lines(err, max_errors=3)
    else:
        lines = loglines.message_lines(f'{type(err).__name__}: {err}')
    return ' '.join(lines)


def load_algorithms(names):
    """``{name: Algorithm}`` for the installed algorithms among ``names``."""
    found = {}
    for name in names:
        try:
            found[name] = plugins.load(plugins.ALGORITHMS, name)
        except exception.PluginLoadError as err:
            LOG.warning('migration cost: skipping algorithm: %s', err)
    return found


class CostTable:
    """Migration costs from a published snapshot file, cached per file.

    :param path: the snapshot v1 JSON file
    :param max_age_s: a file last changed longer ago than this is stale
    :param options: a :class:`nova_livemig.plan.PlanningOptions`; by
        default the planner's defaults with the constants of
        ``calibration_path`` and only the algorithms with evidence
        (:mod:`nova_livemig.calibration.evidence`), as the conductor plans
    :param algorithms: ``{name: Algorithm}``; by default the installed
        plugins named in ``options.algorithms``, loaded on first use
    :param clock: returns the current time in seconds since the epoch
    :param calibration_path: the calibration the conductor plans with
        (``nova-livemig calibrate``, ``[planner] calibration_file``),
        read again when it changes; None, a missing or an invalid file:
        the default constants
    """

    def __init__(self, path, max_age_s, options=None, algorithms=None,
                 clock=time.time, calibration_path=None):
        self.path = path
        self.max_age_s = max_age_s
        self.calibration_path = calibration_path
        self._fixed_options = options
        self._calibration_key = object()
        self.options = options or self._options_with(None)
        self._algorithms = algorithms
        self._clock = clock
        # Replaced whole, never changed in place but for its cost cache, so
        # that concurrent schedulers each see one consistent state.
        self._state = _NONE
        #: the file key of the last warning: one per change of the file
        self._warned_key = object()

    def snapshot(self):
        """The current snapshot, or None when there is none or it is stale."""
        return self._current().snapshot

    @staticmethod
    def _options_with(cal):
        default = plan.PlanningOptions()
        params = (cal.params(cost.CostParams()) if cal is not None
                  else default.params)
        allowed, _left_out = evidence.usable(default.algorithms, cal)
        return plan.PlanningOptions(params=params, algorithms=allowed)

    def _follow_calibration(self):
        """Reload the options when the calibration file changed; True
        when they changed (the cached costs are then stale)."""
        if self._fixed_options is not None or not self.calibration_path:
            return False
        try:
            st = os.stat(self.calibration_path)
            key = (st.st_ino, st.st_mtime_ns, st.st_size)
        except OSError:
            key = None
        if key == self._calibration_key:
            return False
        self._calibration_key = key
        cal = None
        if key is not None:
            try:
                cal = document.load(self.calibration_path,
                                    'calibration_path')
            except Exception as err:  # whatever the file, no opinion
                LOG.warning('migration cost: ignoring calibration %s: %s',
                            self.calibration_path, _why(err))
        options = self._options_with(cal)
        if options.algorithms != self.options.algorithms:
            self._algorithms = None
        self.options = options
        return True

    def _current(self):
        try:
            st = os.stat(self.path)
        except OSError as err:
            LOG.debug('migration cost: no snapshot at %s: %s', self.path,
                      err.strerror)
            return _NONE
        age_s = self._clock() - st.st_mtime
        if age_s > self.max_age_s:
            LOG.debug('migration cost: snapshot %s is %.0f s old, more than '
                      '%s s', self.path, age_s, self.max_age_s)
            return _NONE
        file_key = (st.st_ino, st.st_mtime_ns, st.st_size)
        state = self._state
        if self._follow_calibration() or state.file_key != file_key:
            state = self._state = self._load(file_key)
        return state

    def _load(self, file_key):
        """The state of the file as it is now; without a snapshot when
        it cannot be read (a FIFO, a device or a huge file is refused
        without waiting or loading it: :func:`nova_livemig.model.load`)."""
        try:
            snap = model.load(self.path)
            return _State(file_key, snap, graph.LinkGraph(snap), {})
        except Exception as err:  # whatever the file, no opinion
            self._warn(file_key, 'ignoring snapshot', err)
            return _State(file_key, None, None, {})

    def _warn(self, file_key, what, err):
        """Log a warning, only the first for one version of the file."""
        log = LOG.debug if file_key == self._warned_key else LOG.warning
        self._warned_key = file_key
        log('migration cost: %s %s: %s', what, self.path, _why(err))

    def cost_s(self, vm_id, host):
        """Predicted seconds to migrate ``vm_id`` to ``host``, or None;
        never raises (see the module's contract)."""
        try:
            return self._cost_s(vm_id, host)
        except Exception as err:  # nova's scheduling must go on
            self._warn(self._state.file_key, 'no opinion from snapshot', err)
            return None

    def _cost_s(self, vm_id, host):
        state = self._current()
        if state.snapshot is None or vm_id not in state.snapshot.vms:
            return None
        if self._algorithms is None:
            self._algorithms = load_algorithms(self.options.algorithms)
        if not self._algorithms:
            return None
        costs = state.costs.get(vm_id)
        if costs is None:
            # computed once per VM and version of the file, even when it
            # fails (cached as _FAILED: no opinion, and no second warning)
            costs = _FAILED
            try:
                costs = self._costs_for(state, state.snapshot.vms[vm_id])
            except Exception as err:
                self._warn(state.file_key, f'cannot cost {vm_id!r} from',
                           err)
            state.costs[vm_id] = costs
        if not costs:
            return None
        if host in costs:
            return costs[host]
        return max(costs.values())

    def _costs_for(self, state, vm):
        by_bandwidth = {}
        meets, misses = {}, {}
        for name in state.snapshot.hosts:
            if name == vm.host:
                continue
            bw = state.graph.bandwidth_gbit_s(vm.host, name)
            if bw <= 0:
                continue
            if bw not in by_bandwidth:
                by_bandwidth[bw] = choice.choose(
                    vm, bw, self.options, self._algorithms)
            pred = by_bandwidth[bw]
            if not math.isfinite(pred.total_s):
                continue
            if pred.meets(self.options.max_downtime_ms):
                meets[name] = pred.total_s
            else:
                misses[name] = pred.total_s
        offset = max(meets.values(), default=0.0)
        costs = dict(meets)
        costs.update((name, offset + t) for name, t in misses.items())
        costs[vm.host] = 0.0
        return costs
