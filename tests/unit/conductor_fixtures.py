"""Helpers of the conductor tests: a small cluster on a test clock, an
executor that records what it is asked and answers get_job from a table."""

import dataclasses

from nova_livemig import algorithms as algorithms_mod
from nova_livemig import exception
from nova_livemig import plan as plan_mod
from nova_livemig.conductor import livemodel
from nova_livemig.conductor import planner
from nova_livemig.conductor import runner
from nova_livemig.conductor import settings as settings_mod
from nova_livemig.db import api as db_api
from nova_livemig.executors import Executor
from tests import fixtures


def host(name, state='up', vcpus=16, memory_mib=32768):
    return {'name': name, 'vcpus': vcpus, 'memory_mib': memory_mib,
            'state': state}


def vm(vm_id, memory_mib=2048, vcpus=2, dirty=10.0):
    return {'id': vm_id, 'host': 'x', 'vcpus': vcpus,
            'memory_mib': memory_mib, 'cpu_util': 0.2,
            'dirty_rate_mib_s': dirty}


#: what a hand-made step predicts: a 5 s pre-copy
PREDICTED = {'algorithm': 'precopy', 'total_s': 5.0, 'downtime_ms': 50.0,
             'bytes': 1, 'converges': True}


def move(vm_id, source, destination, start_s=0.0, end_s=5.0, path=(),
         predicted=None):
    """A hand-made pre-copy step, as the planner stores one.

    :param path: the links it uses, ``[[a, b], ...]``
    :param predicted: the prediction; :data:`PREDICTED` when None
    """
    return dict(vm=vm_id, source=source, destination=destination,
                algorithm='precopy',
                predicted=PREDICTED if predicted is None else predicted,
                path=[list(link) for link in path], planned_start_s=start_s,
                planned_end_s=end_s)


def manual_plan(c, *steps):
    """Store a plan of hand-made steps (:func:`move`), ready to execute."""
    return c.db.create_plan('manual', {}, {'moves': []}, list(steps),
                            'planned')


class RecordingExecutor(Executor):
    """Starts nothing; tests deliver results with Engine.on_result."""

    name = 'recording'

    def __init__(self):
        super().__init__(None, None)
        self.started = []
        self.aborted = []
        self.jobs = {}
        self.job_calls = []
        self.fail_job = False
        #: destinations whose steps start() refuses (Nova's HTTP 400)
        self.refuse = set()
        #: the fence of each step started
        self.fences = []

    def start(self, step, fence=None):
        if step['destination'] in self.refuse:
            raise exception.StepRefused(
                f'HTTP 400: no valid host {step["destination"]}')
        self.started.append(step)
        self.fences.append(fence)

    def abort(self, step):
        self.aborted.append(step['step_id'])

    def runs(self, step_msg):
        """get_job says the step runs (its agent has it)."""
        self.jobs[step_msg['step_id']] = {
            'step_id': step_msg['step_id'], 'vm': step_msg['vm'],
            'state': 'running', 'progress': None, 'result': None}

    def job(self, step):
        self.job_calls.append(step['step_id'])
        if self.fail_job:
            raise TimeoutError('no answer')
        return self.jobs.get(step['step_id'], {
            'step_id': step['step_id'], 'vm': step['vm'],
            'state': 'unknown', 'progress': None, 'result': None})


@dataclasses.dataclass
class Cluster:
    db: object
    live: object
    executor: RecordingExecutor
    engine: object
    clock: fixtures.Clock
    placement: dict

    def report(self, *names):
        """Every (or the named) host reports the current placement."""
        for name, state in self.hosts.items():
            if names and name not in names:
                continue
            self.live.update({
                'host': host(name, state, **self.sizes.get(name, {})),
                'vms': [dict(self.vms[v], host=name)
                        for v, h in self.placement.items() if h == name],
                'measured_at': self.clock(), 'driver': 'fake',
                'migration_uri': f'fake://{name}'})

    def result(self, step_msg, state='completed', host=None, error=None):
        """Deliver an agent's result for a started step; a completed one
        moves the VM in the simulated placement."""
        from nova_livemig import messages
        if host is None:
            host = (step_msg['destination'] if state == 'completed'
                    else step_msg['source'])
        self.placement[step_msg['vm']] = host
        self.engine.on_result(messages.Result.from_primitive({
            'step_id': step_msg['step_id'], 'vm': step_msg['vm'],
            'state': state, 'host': host,
            'stats': {'total_s': 1.0, 'downtime_ms': 10.0, 'bytes': 1,
                      'iterations': 1, 'postcopy': False},
            'error': None if state == 'completed' else error or 'boom'}))


def cluster(tmp_path, hosts, vms, placement, settings=None, sizes=None):
    clock = fixtures.Clock(1000.0)
    db = db_api.Database(f'sqlite:///{tmp_path}/t.sqlite')
    db.sync()
    live = livemodel.LiveModel(30, clock=clock)
    executor = RecordingExecutor()
    options = plan_mod.PlanningOptions(algorithms=('precopy',))
    algorithms = algorithms_mod.load_algorithms(options.algorithms)
    settings = settings or settings_mod.Settings(
        job_poll_interval_s=5.0, deadline_margin_s=10.0, deadline_factor=2.0,
        start_window_s=4.0, clock_skew_s=1.0, abort_retry_s=5.0)
    engine = runner.Engine(db, live, executor, settings, options,
                              algorithms, clock=clock)
    c = Cluster(db, live, executor, engine, clock, dict(placement))
    c.hosts = dict(hosts)
    c.vms = {v['id']: v for v in vms}
    c.sizes = sizes or {}
    c.options, c.algorithms = options, algorithms
    c.report()
    return c


def create(c, policy='drain', hosts=(), vms=()):
    from nova_livemig import policies
    document, steps = planner.make_plan(
        c.live.snapshot(), policy,
        policies.PlanRequest(vms=tuple(vms), hosts=tuple(hosts)),
        c.options, c.algorithms)
    return c.db.create_plan(policy, {'hosts': list(hosts)}, document, steps,
                            'planned')


class ConductorSide:
    """The conductor's RPC endpoint as far as the runner needs it (the
    real one needs the whole service): reports into the live model,
    progress and results to the engine."""

    def __init__(self, live, engine):
        self.live, self.engine = live, engine

    def report_measurements(self, ctxt, report):
        from nova_livemig import messages
        self.live.update(messages.HostReport.from_primitive(report))

    def migration_result(self, ctxt, result):
        from nova_livemig import messages
        self.engine.on_result(messages.Result.from_primitive(result))
        self.engine.wake()

    def migration_progress(self, ctxt, progress):
        from nova_livemig import messages
        self.engine.on_progress(messages.Progress.from_primitive(progress))


def one_step_started(tmp_path, settings=None):
    """v1 on a, drained: ``(cluster, plan, the started step's message)``."""
    c = cluster(tmp_path, {'a': 'up', 'b': 'up', 'c': 'up'}, [vm('v1')],
                {'v1': 'a'}, settings=settings)
    plan = create(c, hosts=['a'])
    c.engine.execute(plan['id'])
    c.engine.run_once()
    return c, plan, c.executor.started[0]
