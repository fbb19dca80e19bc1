"""Data of the agent and fake-driver tests: a three-host snapshot, an
agent's config, migration steps."""

import json

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

