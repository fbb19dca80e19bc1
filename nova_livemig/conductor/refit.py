"""The conductor refits the cost model from its own migration history.

Every conductor reads the migration records of the shared database, fits
the constants (:func:`nova_livemig.calibration.fit.fit`, deterministic:
every conductor reading the same records writes the same constants) and
writes ``[planner] calibration_file`` atomically, then plans with the fit.
A fit is due when ``[conductor] refit_after_records`` migrations finished
since the file's fit, or ``refit_interval_s`` passed and at least one did.
The file is also the state: a restarted conductor counts from the fit it
finds there, so it neither refits at every start nor forgets one.

The same watch reloads the file when someone else replaced it (an operator
running ``nova-livemig calibrate``): a good file is planned with, a bad one
is logged and the previous constants stay.

Pure but for the database and the file: the caller passes the options and
a function that applies a calibration (:meth:`Conductor.use_calibration
<nova_livemig.conductor.service.Conductor.use_calibration>`).
"""

import os
import time

from oslo_log import log as logging

from nova_livemig import exception
from nova_livemig import textfile
from nova_livemig.calibration import document
from nova_livemig.calibration import fit
from nova_livemig.conductor import background
from nova_livemig.history import record

LOG = logging.getLogger(__name__)

FIELD = '[planner] calibration_file'


class Refitter:
    """Keeps ``path`` fitted to the history in ``db``.

    :param db: a :class:`nova_livemig.db.api.Database`
    :param path: the calibration file (``[planner] calibration_file``)
    :param base: the :class:`~nova_livemig.cost.CostParams` of
        ``[cost_model]``: what the records ran with, and the defaults
    :param algorithms: ``{name: Algorithm}`` of every algorithm
    :param use: ``use(calibration)``, called with every new fit or file
    :param interval_s: seconds after which a fit with new records is due;
        0 turns refitting off (the file is still watched)
    :param after_records: new records that make a fit due at once
    :param max_records: the newest records a fit reads
    """

    def __init__(self, db, path, base, algorithms, use, interval_s,
                 after_records, max_records, clock=time.time,
                 check_s=60.0):
        self.db = db
        self.path = path
        self.base = base
        self.algorithms = algorithms
        self.use = use
        self.interval_s = interval_s
        self.after_records = after_records
        self.max_records = max_records
        self.clock = clock
        self.check_s = check_s
        self.fitted_at = None
        self._seen = None
        self._loop = None

    def _stamp(self):
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def reload(self):
        """Plan with the file when it changed since it was last read.

        :returns: the calibration read, or None (unchanged, absent, bad)
        """
        stamp = self._stamp()
        if stamp is None or stamp == self._seen:
            return None
        self._seen = stamp
        try:
            cal = document.load(self.path, FIELD)
        except (exception.InvalidInput, exception.InvalidSnapshot) as err:
            LOG.error('not using the calibration file: %s', err)
            return None
        self.fitted_at = cal.fitted_at
        self.use(cal)
        return cal

    def new_records(self):
        """Records finished since the file's fit (all without one)."""
        return self.db.count_migration_records(after=self.fitted_at)

    def due(self, now):
        """True when a fit is due at ``now``."""
        if self.interval_s <= 0:
            return False
        new = self.new_records()
        if new == 0:
            return False
        if new >= self.after_records or self.fitted_at is None:
            return True
        return now - self.fitted_at >= self.interval_s

    def refit(self, now=None):
        """Fit the newest records, write the file, plan with the fit.

        :returns: the :class:`~nova_livemig.calibration.Calibration`, or
            None when the history holds no record that reads
        """
        now = self.clock() if now is None else now
        rows = self.db.list_migration_records(limit=self.max_records,
                                              newest_first=True)
        records = []
        for row in reversed(rows):
            try:
                records.append(record.from_primitive(row,
                                                     'migration_records'))
            except exception.InvalidSnapshot as err:
                LOG.warning('refit skips a stored migration record: %s',
                            err)
        if not records:
            return None
        text = document.dumps(fit.fit(records, self.base, self.algorithms,
                                      now=round(now, 3)))
        # what the file says, to the digit: the weigher reads the same
        cal = document.loads(text, self.path)
        with textfile.replacing(self.path, FIELD, '.calibration-') as f:
            f.write(text)
        self._seen = self._stamp()
        self.fitted_at = cal.fitted_at
        self.use(cal)
        LOG.info('refitted the cost model on %d records: %s', cal.records,
                 ', '.join(f'{n} {c.value:.4g}'
                           for n, c in sorted(cal.constants.items()))
                 or 'every constant at its default')
        return cal

    def run_once(self):
        """Reload a replaced file, then refit when due."""
        self.reload()
        now = self.clock()
        if self.due(now):
            return self.refit(now)
        return None

    def start(self):
        self._loop = background.Loop('livemig-refit', self.run_once,
                                     self.check_s,
                                     'refitting the cost model')
        self._loop.start()

    def stop(self):
        if self._loop is not None:
            self._loop.stop()
            self._loop = None
