"""Gabbi fixtures of the API scenarios (``gabbits/*.yaml``): each file
gets a fresh :class:`~tests.unit.api.stack.Stack` (conductor on SQLite
over ``fake://``, keystonemiddleware with its token fixture) whose hosts
``a`` (VMs ``v1``, ``v2``), ``b`` and ``c`` have reported."""

import copy
import pathlib
import shutil
import tempfile

from gabbi import fixture

from nova_livemig.history import record
from tests.unit.api import stack

#: the running stack of the scenario file being run
CURRENT = {}


def setup_app():
    """Gabbi's intercept: an application that serves through the current
    stack (built by the fixture, which runs after this is called)."""
    def app(environ, start_response):
        return CURRENT['stack'].app(environ, start_response)
    return app


class APIFixture(fixture.GabbiFixture):
    """A conductor with three hosts that reported, and the API."""

    def overrides(self, tmp):
        return {}

    def start_fixture(self):
        self.tmp = tempfile.mkdtemp(prefix='livemig-api-')
        running = stack.Stack(pathlib.Path(self.tmp),
                              self.overrides(pathlib.Path(self.tmp)))
        running.report({'a': ['v1', 'v2'], 'b': [], 'c': []})
        CURRENT['stack'] = running
        self.started(running)

    def started(self, running):
        pass

    def stop_fixture(self):
        CURRENT.pop('stack').stop()
        shutil.rmtree(self.tmp, ignore_errors=True)


#: the scheduled policies of :class:`ClusterFixture`
SCHEDULE = ['consolidate | 0 3 * * * | dry-run', 'balance | 30 * * * *']


class ClusterFixture(APIFixture):
    """:class:`APIFixture` with a calibration file to refit, two scheduled
    policies and three migration records (finished at 10, 20 and 30 s
    after the epoch, of VMs ``vm-1``, ``vm-2``, ``vm-3``)."""

    def overrides(self, tmp):
        return {('planner', 'calibration_file'): str(tmp / 'cal.json'),
                ('periodic', 'schedule'): SCHEDULE}

    def started(self, running):
        for i in (1, 2, 3):
            data = copy.deepcopy(record.EXAMPLE)
            data.update(step_id=f'step-{i}', finished_at=10.0 * i,
                        vm=f'vm-{i}')
            running.service.conductor.db.add_migration_record(data)
