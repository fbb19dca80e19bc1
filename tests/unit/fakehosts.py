"""Helpers for the agent and fake-driver tests: a three-host snapshot,
agent config, migration steps."""

import json
import threading
import time

from oslo_config import cfg

from nova_livemig import conf as conf_mod
from nova_livemig import messages

GIB = 1024 ** 3

SNAPSHOT = {
    'version': 1,
    'hosts': [{'name': n, 'vcpus': 32, 'memory_mib': 131072}
              for n in ('a', 'b', 'c')],
    'vms': [{'id': f'vm{i}', 'host': 'a', 'vcpus': 2, 'memory_mib': 4096,
             'cpu_util': 0.5, 'dirty_rate_mib_s': 10.0 + i}
            for i in range(1, 5)]
           + [{'id': 'vm9', 'host': 'b', 'vcpus': 1, 'memory_mib': 1024,
               'cpu_util': 0.1, 'dirty_rate_mib_s': 1.0}],
    'network': {'switches': ['tor'],
                'links': [{'a': n, 'b': 'tor', 'gbit_s': 10.0}
                          for n in ('a', 'b', 'c')]},
}


def write_snapshot(tmp_path):
    path = tmp_path / 'snapshot.json'
    path.write_text(json.dumps(SNAPSHOT))
    return path


def make_conf(tmp_path, host='a', **overrides):
    """A private ConfigOpts for one agent; ``overrides`` are
    ``group__name=value``."""
    conf = cfg.ConfigOpts()
    conf_mod.register_opts(conf)
    conf([], project='nova-livemig-test', default_config_files=[],
         default_config_dirs=[])
    conf.set_override('host', host, group='agent')
    conf.set_override('state_dir', str(tmp_path / 'state'),
                      group='fake_driver')
    conf.set_override('snapshot_file', str(write_snapshot(tmp_path)),
                      group='fake_driver')
    conf.set_override('noise', 0.0, group='fake_driver')
    for key, value in overrides.items():
        group, name = key.split('__')
        conf.set_override(name, value, group=group)
    return conf


def step(step_id='p1-0', vm='vm1', source='a', destination='b',
         algorithm='precopy', total_s=1.0, deadline_s=60.0,
         postcopy_after_s=None, iterations=3):
    return messages.MigrationStep(
        plan_id='p1', step_id=step_id, vm=vm, source=source,
        destination=destination, algorithm=algorithm,
        max_downtime_ms=500.0, bandwidth_mib_s=0.0, deadline_s=deadline_s,
        postcopy_after_s=postcopy_after_s,
        predicted={'algorithm': algorithm, 'total_s': total_s,
                   'downtime_ms': 40.0, 'bytes': 6 * GIB,
                   'converges': True, 'iterations': iterations},
        destination_uri=f'fake://{destination}')


class ConductorStub:
    """Records the casts agents send to the conductor, validated."""

    def __init__(self):
        self.got = {'report_measurements': [], 'migration_progress': [],
                    'migration_result': []}
        self.cond = threading.Condition()

    def _add(self, kind, value):
        with self.cond:
            self.got[kind].append(value)
            self.cond.notify_all()

    def report_measurements(self, ctxt, report):
        self._add('report_measurements',
                  messages.HostReport.from_primitive(report))

    def migration_progress(self, ctxt, progress):
        self._add('migration_progress',
                  messages.Progress.from_primitive(progress))

    def migration_result(self, ctxt, result):
        self._add('migration_result', messages.Result.from_primitive(result))

    def wait_for(self, kind, pred=lambda v: True, timeout=10.0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                found = [v for v in self.got[kind] if pred(v)]
                if found:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f'no {kind} within {timeout} s: '
                                         f'{self.got}')
                self.cond.wait(left)
