"""``nova-livemig demo``: the whole control plane in one process.

Runs on embedded defaults, touching nothing outside a temporary directory:
in-process messaging (``fake://``), SQLite in the temporary directory, one
fake agent per host of ``etc/nova-livemig/example-snapshot.json`` (threads
sharing one fake ``state_dir``; a small cluster is generated when the file
is absent), and the conductor with the ``agent`` executor (there is no
Nova to ask). Messages are signed with a key per host generated for the
run (``[message_security]``). It plans a drain of the hosts in maintenance (or
``--host``), executes it with progress bars, and prints where every VM is
at the end, read back from the fake hosts' state.

Migrations take their predicted time times ``--time-scale`` (chosen so
the drain takes about ``--seconds`` by default).
"""

import json
import os
import pathlib
import sys
import tempfile
import threading
import time

from oslo_config import cfg

from nova_livemig import conf as conf_mod
from nova_livemig import exception
from nova_livemig import model

EXAMPLE = (pathlib.Path(__file__).resolve().parents[2] / 'etc'
           / 'nova-livemig' / 'example-snapshot.json')


def add_arguments(parser):
    parser.add_argument('--snapshot', metavar='FILE',
                        help='cluster to simulate (default: the example '
                             'snapshot shipped with nova-livemig)')
    parser.add_argument('--host', action='append', default=[],
                        metavar='HOST', help='host to drain (repeatable); '
                                             'default: hosts in maintenance')
    parser.add_argument('--seconds', type=float, default=8.0, metavar='S',
                        help='about how long the drain should take '
                             '(sets the fake time scale; default 8)')
    parser.add_argument('--keep', action='store_true',
                        help='keep the temporary directory (database, '
                             'published snapshot, fake host state)')


def generated_cluster():
    """A small cluster: four hosts on one switch, one in maintenance."""
    hosts = [{'name': f'cmp-{i}', 'vcpus': 16, 'memory_mib': 65536,
              'state': 'maintenance' if i == 1 else 'up'}
             for i in range(1, 5)]
    vms = [{'id': f'vm-{h}-{j}', 'host': f'cmp-{h}', 'vcpus': 2,
            'memory_mib': 4096 * j, 'cpu_util': 0.3,
            'dirty_rate_mib_s': 20.0 * j} for h in range(1, 5)
           for j in range(1, 4)]
    links = [{'a': h['name'], 'b': 'tor', 'gbit_s': 10.0} for h in hosts]
    return {'version': 1, 'hosts': hosts, 'vms': vms,
            'network': {'switches': ['tor'], 'links': links}}


def _conf(overrides, made):
    """A ConfigOpts of embedded defaults; ``made`` collects it so that its
    overrides are cleared at the end (some option groups are shared by
    every ConfigOpts of a process)."""
    conf = cfg.ConfigOpts()
    conf_mod.register_opts(conf)
    conf([], project='nova-livemig', default_config_files=[],
         default_config_dirs=[])
    for (group, name), value in overrides.items():
        conf.set_override(name, value, None if group == 'DEFAULT' else group)
    made.append((conf, overrides))
    return conf


def _clear(made):
    for conf, overrides in made:
        for group, name in overrides:
            conf.clear_override(name, None if group == 'DEFAULT' else group)


def _predicted_makespan_s(snapshot, hosts, conf):
    from nova_livemig import algorithms as algorithms_mod
    from nova_livemig import policies
    from nova_livemig.conductor import planner
    from nova_livemig.conf import planner as planner_conf
    options = planner_conf.options_from(conf)
    algorithms = algorithms_mod.load_algorithms(options.algorithms)
    document, _ = planner.make_plan(
        snapshot, 'drain', policies.PlanRequest(hosts=tuple(hosts)),
        options, algorithms)
    return document['schedule']['makespan_s']


def run(args, conf, out=None):
    """Run the demo; returns the exit status (0: the drain completed)."""
    # The bus, the database and the agents are loaded here, not at import:
    # building the command line must not load oslo.messaging.
    from nova_livemig import rpc
    from nova_livemig.agent import manager as agent_mod
    from nova_livemig.cmd import conductor as conductor_cmd
    from nova_livemig.cmd import control
    from nova_livemig.db import api as db_api
    from nova_livemig.drivers import fake
    out = out or sys.stdout
    if not args.seconds > 0:
        raise exception.InvalidInput('--seconds', args.seconds,
                                     'a positive number of seconds')
    tmp = tempfile.mkdtemp(prefix='nova-livemig-demo-')
    started = time.monotonic()
    snap_path = args.snapshot or (str(EXAMPLE) if EXAMPLE.exists() else None)
    if snap_path is None:
        snap_path = os.path.join(tmp, 'cluster.json')
        with open(snap_path, 'w', encoding='utf-8') as f:
            json.dump(generated_cluster(), f, indent=1)
    snapshot = model.load(snap_path)
    for name in args.host:
        snapshot.host(name)
    makespan = _predicted_makespan_s(snapshot, args.host, conf)
    scale = min(1.0, args.seconds / makespan) if makespan else 1.0
    common = {('DEFAULT', 'transport_url'): 'fake://',
              ('agent', 'driver'): 'fake',
              ('fake_driver', 'state_dir'): os.path.join(tmp, 'hosts'),
              ('fake_driver', 'snapshot_file'): snap_path,
              ('fake_driver', 'time_scale'): scale,
              ('agent', 'report_interval_s'): 1.0,
              ('agent', 'progress_interval_s'): 0.5,
              ('agent', 'monitor_interval_s'): 0.1}
    keys_dir = _demo_keys(tmp, snapshot.hosts)
    made = []
    cconf = _conf(common | {
        ('message_security', 'agent_keys_dir'): keys_dir,
        ('database', 'connection'):
            'sqlite:///' + os.path.join(tmp, 'livemig.sqlite'),
        ('conductor', 'host'): 'demo-conductor',
        # no Nova here: the fake agents migrate themselves
        ('conductor', 'executor'): 'agent',
        ('conductor', 'publish_path'): os.path.join(tmp, 'snapshot.json'),
        ('conductor', 'topology_file'): snap_path,
        ('conductor', 'job_poll_interval_s'): 5.0,
        ('conductor', 'tick_s'): 0.2,
        ('conductor', 'deadline_margin_s'): 10.0}, made)
    transport = rpc.get_transport(cconf)
    db = db_api.Database(cconf.database.connection)
    db.sync()
    service = conductor_cmd.Service(cconf, db, transport)
    agents = []
    out.write(f'nova-livemig demo: {len(snapshot.hosts)} hosts, '
              f'{len(snapshot.vms)} VMs from {snap_path}\n'
              f'  (in-process messaging, SQLite and fake hosts in {tmp}; '
              f'migrations at {scale:.3g}x their predicted time)\n\n')
    try:
        service.start()
        for name in snapshot.hosts:
            aconf = _conf(common | {
                ('agent', 'host'): name,
                ('message_security', 'key_file'):
                    os.path.join(keys_dir, f'{name}.key')}, made)
            agent = agent_mod.Agent(aconf, fake.FakeDriver(aconf), transport)
            agent.start()
            agents.append(agent)
        _wait_reports(service.conductor, snapshot, timeout_s=15.0)
        api = control.BusPlans(control.conductor_api(cconf, transport))
        view = api.create_plan('drain', [], list(args.host), False)
        out.write(control.render_plan(view) + '\n\n')
        if not view['steps']:
            out.write('nothing to move\n')
            return 1 if view['document'].get('unplaced') else 0
        api.execute_plan(view['id'])
        view = control.watch(api, view['id'], out, interval_s=0.5,
                             tty=out.isatty(), quiet_s=2.0)
        out.write(control.render_result(view) + '\n\n')
        out.write(render_placement(os.path.join(tmp, 'hosts'), snapshot)
                  + '\n')
        out.write(f'\ndemo took {time.monotonic() - started:.1f} s\n')
        return control.exit_status(view)
    finally:
        for agent in agents:
            agent.stop(timeout_s=2.0)
        service.stop()
        rpc.cleanup(transport)
        _clear(made)
        if not args.keep:
            import shutil
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            out.write(f'kept {tmp}\n')


def _demo_keys(tmp, hosts):
    """A fresh key per host, for this run only (signed messages, as in
    production): ``<tmp>/keys/<host>.key``; returns the directory."""
    from nova_livemig import signing
    keys_dir = os.path.join(tmp, 'keys')
    os.mkdir(keys_dir, 0o700)
    for name in hosts:
        signing.write_key(os.path.join(keys_dir, f'{name}.key'))
    return keys_dir


def _wait_reports(conductor, snapshot, timeout_s):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if set(conductor.live.snapshot().hosts) >= set(snapshot.hosts):
                return
        except exception.LivemigError:
            pass
        threading.Event().wait(0.1)
    raise exception.MigrationFailed('the fake agents did not report in '
                                    f'{timeout_s:g} s')


def read_placement(state_dir):
    """``{host: [vm ids]}`` from a fake driver's state files."""
    out = {}
    for name in sorted(os.listdir(state_dir)):
        if name.endswith('.json') and not name.startswith('.'):
            with open(os.path.join(state_dir, name), encoding='utf-8') as f:
                state = json.load(f)
            out[state['host']['name']] = sorted(v['id'] for v in state['vms'])
    return out


def render_placement(state_dir, snapshot):
    lines = ['Final placement (from the fake hosts\' state):']
    for host, vms in read_placement(state_dir).items():
        state = snapshot.hosts[host].state if host in snapshot.hosts else ''
        lines.append(f'  {host:<12} {state:<12} {len(vms):>2} VMs: '
                     + ', '.join(vms))
    return '\n'.join(lines)
