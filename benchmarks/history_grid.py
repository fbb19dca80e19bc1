"""Write a migration history from a grid of real live migrations.

Runs live migrations between two nodes (``node2`` and ``node3``) of the
libvirt/QEMU namespace testbed (``tools/testbed``): guest sizes x dirty
rates x link rates x algorithms, each through the product's ``libvirt``
driver with the agent's decisions (:mod:`nova_livemig.drivers.migration`:
post-copy switch, abort at the deadline), and writes one history record
per migration (:mod:`nova_livemig.history.record`, JSON Lines), flushed
after each run so that a crash keeps what ran.

A record's ``before`` is what a cloud knows just before the move: the
driver's own ``measure()`` of the guest (memory, vCPUs, CPU use, dirty
rate mean and spread, every dirty-rate window) and the link's nominal
rate; never the guest's working set or resident memory. ``after`` is
:func:`~nova_livemig.drivers.migration.stats_of` of the final job.

The ground truth the records must not hold goes to a side file,
``<output>.meta.json``, rewritten after each run: per run the configured
dirty rate and working set, the write rate the guest reported over the
measurement, guest memory, link rate and the TCP rate measured on it, the
guest's memory check; per guest the check after its last migration. The
guests' serial logs are kept in ``<output>.guests/``.

Guests are started once per (size, dirty rate), one at a time, migrated
back and forth, and destroyed; the links are restored to the state
file's rates at the end.

Run as root with the testbed up (``bash tools/testbed/up.sh 3``)::

    .venv/bin/python benchmarks/history_grid.py --output /tmp/history.jsonl
    .venv/bin/python benchmarks/history_grid.py --quick --output /tmp/q.jsonl
"""

import argparse
import json
import os
import pathlib
import re
import shutil
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nova_livemig import algorithms as algos_mod  # noqa: E402
from nova_livemig import cost  # noqa: E402
from nova_livemig import messages  # noqa: E402
from nova_livemig import model  # noqa: E402
from nova_livemig.drivers import migration  # noqa: E402
from nova_livemig.history import jsonl  # noqa: E402
from nova_livemig.history import record  # noqa: E402
from tests import fixtures  # noqa: E402

testbed = fixtures.load_testbed()
#: the link shaping of the calibration benchmark (``tc tbf`` as up.sh)
shape = fixtures.load_script(ROOT / 'benchmarks' / 'calibrate.py').shape

MIB = cost.MIB
PAGE_BYTES = 4096
#: working set of each guest size, MiB
WWS_MIB = {256: 64, 512: 128}
#: give up on a migration still running this long after its start (a
#: post-copy cannot be aborted; a hung one stops the grid)
HARD_LIMIT_S = 600.0
QUICK = {'sizes': '256', 'rates': '80', 'links': '500'}
_WRITES_RE = re.compile(r'writes=(\d+) .*uptime_s=(\d+)')


class GridStopped(Exception):
    """A migration the grid cannot end: it stops."""


def _ints(text):
    return [int(x) for x in text.split(',') if x]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--output', required=True,
                   help='history file to write (JSON Lines); the side '
                        'file is OUTPUT.meta.json')
    p.add_argument('--sizes', default='256,512',
                   help='guest memory sizes, MiB (working set: '
                        + ', '.join(f'{m} MiB for {s}'
                                    for s, m in WWS_MIB.items()) + ')')
    p.add_argument('--rates', default='0,20,80,160',
                   help='guest dirty rates, MiB/s')
    p.add_argument('--links', default='200,500,1000',
                   help='link rates, Mbit/s')
    p.add_argument('--algorithms',
                   default='precopy,autoconverge,postcopy,hybrid')
    p.add_argument('--repeat', type=int, default=1,
                   help='runs of every algorithm at every grid point')
    p.add_argument('--max-downtime-ms', type=float, default=300.0,
                   help='the steps\' downtime target')
    p.add_argument('--deadline-s', type=float, default=60.0,
                   help='abort a pre-copy still running after this long')
    p.add_argument('--short-window-ms', type=int, default=0,
                   help='[libvirt] dirty_rate_short_window_ms of the '
                        'driver\'s measurements (0: none)')
    p.add_argument('--nodes', default='node2,node3',
                   help='the two testbed nodes to migrate between (their '
                        'links are reshaped)')
    p.add_argument('--quick', action='store_true',
                   help='a smoke run of 4 migrations: '
                        + ', '.join(f'{k} {v}' for k, v in QUICK.items())
                        + ', every algorithm once')
    args = p.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
        args.repeat = 1
    args.sizes, args.rates = _ints(args.sizes), _ints(args.rates)
    args.links = _ints(args.links)
    args.algorithms = args.algorithms.split(',')
    unknown = [s for s in args.sizes if s not in WWS_MIB]
    if unknown:
        p.error(f'--sizes: {unknown} not among {sorted(WWS_MIB)}')
    return args


def predicted(vm, algorithm, gbit_s, max_downtime_ms):
    """The cost model's prediction for the step, as the conductor would
    put it in the step (the driver derives QEMU's downtime limit from
    its rate)."""
    algo = algos_mod.load_algorithms([algorithm])[algorithm]
    inp = cost.MigrationInput.for_vm(vm, gbit_s, max_downtime_ms)
    return algo.predict(inp, cost.CostParams()).to_primitive()


def run_migration(src_driver, dst_driver, step, poll_s=0.5):
    """One migration through the driver, decided as the agent decides
    (:meth:`nova_livemig.agent.manager.AgentManager._monitor`, at its
    default ``[agent] monitor_interval_s``; its history holds the last
    4096 looks, more than a run under :data:`HARD_LIMIT_S` takes).

    :returns: ``(final JobInfo, wall seconds, switched_at_s)``
    """
    t0 = time.monotonic()
    src_driver.start_migration(step)
    history = []
    switched = None
    while True:
        job = src_driver.job_info(step.vm)
        now = time.monotonic() - t0
        if job.finished:
            break
        if now > HARD_LIMIT_S:
            raise GridStopped(f'{step.vm}: migration still {job.state} '
                               f'({job.phase}) after {now:.0f} s')
        if job.state == migration.JOB_RUNNING:
            if migration.should_abort(job, step, now):
                src_driver.abort(step.vm)
            elif migration.should_switch_to_postcopy(job, step, now,
                                                     history):
                src_driver.switch_to_postcopy(step.vm)
                switched = round(now, 2)
            history.append(job)
        time.sleep(poll_s)
    wall = time.monotonic() - t0
    src_driver.cleanup(step.vm)
    return job, wall, switched


def planner_vm(host, entry):
    """The :class:`~nova_livemig.model.Vm` a planner builds from the
    driver's report (validated as the conductor validates it)."""
    snap = model.from_primitive({'version': 1, 'hosts': [host],
                                 'vms': [entry], 'network': {}})
    return snap.vms[entry['id']]


def written_mib_s(before, after):
    """The write rate the guest's own counters show between two status
    lines (None when they do not say)."""
    a, b = (_WRITES_RE.search(s['line'] or '') for s in (before, after))
    if not a or not b or int(b.group(2)) <= int(a.group(2)):
        return None
    pages = int(b.group(1)) - int(a.group(1))
    return round(pages * PAGE_BYTES / MIB
                 / (int(b.group(2)) - int(a.group(2))), 2)


def next_status(name, state, timeout_s=30):
    """The guest's next status line (or its corruption or crash)."""
    seq = testbed.guest_status(name, state)['seq']
    try:
        return testbed.wait_for_status(name, after_seq=seq,
                                       timeout_s=timeout_s, state=state)
    except testbed.TestbedError:
        return testbed.guest_status(name, state)


def locate(name, nodes, state):
    """The node the guest runs on, or None."""
    import libvirt
    for node in nodes:
        conn = libvirt.open(testbed.node(node, state)['libvirt_uri'])
        try:
            if conn.lookupByName(name).isActive():
                return node
        except libvirt.libvirtError:
            pass
        finally:
            conn.close()
    return None


def destroy(name, nodes, state, keep_dir):
    """Destroy the guest wherever it runs; keep its serial log."""
    import libvirt
    for node in nodes:
        conn = libvirt.open(testbed.node(node, state)['libvirt_uri'])
        try:
            conn.lookupByName(name).destroy()
        except libvirt.libvirtError:
            pass
        finally:
            conn.close()
    log = testbed.serial_log(name, state)
    if log.exists():
        shutil.copy(log, keep_dir / f'{name}.log')
        log.unlink()


class Output:
    """The history file (appended and flushed per run) and the side
    file (rewritten whole, atomically, per run)."""

    def __init__(self, path, meta):
        self.path = pathlib.Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.meta_path = pathlib.Path(f'{path}.meta.json')
        self.guest_dir = pathlib.Path(f'{path}.guests')
        self.guest_dir.mkdir(exist_ok=True)
        self.meta = meta
        self.history = open(self.path, 'w', encoding='utf-8')
        self.count = 0

    def add(self, rec, run):
        line = jsonl.dumps([rec])
        # what the model will read back, read back now
        jsonl.loads(line, str(self.path))
        self.history.write(line)
        self.history.flush()
        os.fsync(self.history.fileno())
        self.count += 1
        run['record'] = self.count
        self.add_run(run)

    def add_run(self, run):
        self.meta['runs'].append(run)
        self.save()

    def save(self):
        tmp = self.meta_path.with_suffix('.tmp')
        tmp.write_text(json.dumps(self.meta, indent=1))
        os.replace(tmp, self.meta_path)

    def close(self):
        self.history.close()
        self.save()


def main(argv=None):
    args = parse_args(argv)
    from nova_livemig.drivers import libvirt as libvirt_driver
    state = testbed.load_state()
    a, b = args.nodes.split(',')
    nodes = (a, b)
    links_before = {n: testbed.node(n, state)['link_mbit_s'] for n in nodes}
    drivers = {}
    for n in nodes:
        conf = fixtures.testbed_driver_conf(testbed.node(n, state))
        conf.set_override('dirty_rate_short_window_ms',
                          args.short_window_ms, 'libvirt')
        drivers[n] = libvirt_driver.LibvirtDriver(conf)
    total = (len(args.sizes) * len(args.rates) * len(args.links)
             * len(args.algorithms) * args.repeat)
    out = Output(args.output, {
        'grid': {k: v for k, v in vars(args).items() if k != 'output'},
        'history': str(args.output), 'started_at': time.time(),
        'planned_runs': total, 'links_tcp_mbit': [], 'guests': {},
        'runs': []})
    print(f'{total} migrations between {a} and {b}; history '
          f'{args.output}', flush=True)
    t_start = time.monotonic()
    index = 0
    try:
        for size in args.sizes:
            for rate in args.rates:
                name = f'hg-m{size}-d{rate}'
                index = run_guest(args, state, drivers, nodes, out, name,
                                  size, rate, index, total, t_start)
    finally:
        for n in nodes:
            shape(state, n, links_before[n])
        out.meta['finished_at'] = time.time()
        out.close()
    print(f'grid: {out.count} records in {time.monotonic() - t_start:.0f} s'
          f' -> {args.output}', flush=True)
    return 0


def run_guest(args, state, drivers, nodes, out, name, size, rate, index,
              total, t_start):
    """All runs of one guest: start it, every link and algorithm, then
    its final memory check, and destroy it."""
    wws = WWS_MIB[size]
    testbed.start_guest(nodes[0], name, size, rate, wws, state=state)
    try:
        st = testbed.wait_for_status(name, min_scans=1, timeout_s=240,
                                     state=state)
        print(f'{name}: {st["line"]}', flush=True)
        for link in args.links:
            for n in nodes:
                shape(state, n, link)
            tcp = round(testbed.measure_link(nodes[0], nodes[1], 3,
                                             state=state), 1)
            out.meta['links_tcp_mbit'].append(
                {'guest': name, 'link_mbit': link, 'tcp_mbit': tcp})
            print(f'== {name} link {link} Mbit/s: TCP {tcp} Mbit/s',
                  flush=True)
            for algorithm in args.algorithms * args.repeat:
                index += 1
                run_one(args, state, drivers, nodes, out, name, size, rate,
                        link, tcp, algorithm, index, total, t_start)
    finally:
        last = testbed.guest_status(name, state)
        try:
            final = testbed.wait_for_status(
                name, after_seq=last['seq'], min_scans=last['scans'] + 1,
                timeout_s=60, state=state)
        except testbed.TestbedError:
            final = testbed.guest_status(name, state)
        out.meta['guests'][name] = {
            'memory_mib': size, 'dirty_mib_s': rate, 'wws_mib': wws,
            'final_status': final['status'], 'corrupt': final['corrupt'],
            'scans': final['scans'], 'line': final['line']}
        print(f'{name}: final check {final["status"]}: {final["line"]}',
              flush=True)
        destroy(name, nodes, state, out.guest_dir)
        out.save()
    return index


def run_one(args, state, drivers, nodes, out, name, size, rate, link, tcp,
            algorithm, index, total, t_start):
    """Measure the guest as the agent would, migrate it, record it."""
    src = locate(name, nodes, state)
    truth = {'index': index, 'vm': name, 'memory_mib': size,
             'dirty_mib_s': rate, 'wws_mib': WWS_MIB[size],
             'link_mbit': link, 'tcp_mbit': tcp, 'algorithm': algorithm,
             'source': src, 'started_at': time.time()}
    if src is None:
        out.add_run(dict(truth, error='the guest runs nowhere'))
        print(f'[{index}/{total}] {name}: runs nowhere, skipped', flush=True)
        return
    dst = nodes[1] if src == nodes[0] else nodes[0]
    status_before = next_status(name, state)
    host, vms = drivers[src].measure()
    status_measured = next_status(name, state)
    entry = next(v for v in vms if v['id'] == name)
    vm = planner_vm(host, entry)
    gbit_s = link / 1000.0
    step = messages.MigrationStep(
        plan_id='history-grid', step_id=f'hg-{index}', vm=name, source=src,
        destination=dst, algorithm=algorithm,
        max_downtime_ms=args.max_downtime_ms, bandwidth_mib_s=0,
        deadline_s=args.deadline_s, postcopy_after_s=None,
        predicted=predicted(vm, algorithm, gbit_s, args.max_downtime_ms),
        destination_uri=drivers[dst].migration_uri())
    before = record.before_of(vm, gbit_s, args.max_downtime_ms)
    truth.update(destination=dst, measured=entry,
                 written_mib_s=written_mib_s(status_before, status_measured),
                 predicted=step.predicted)
    try:
        job, wall, switched = run_migration(drivers[src], drivers[dst], step)
    except GridStopped:
        raise
    except Exception as err:  # noqa: BLE001 - recorded, the grid goes on
        out.add_run(dict(truth, error=str(err)))
        print(f'[{index}/{total}] {name} {algorithm}: did not run: {err}',
              flush=True)
        return
    result = migration.result_state(job)
    stats = migration.stats_of(job)
    guest = testbed.guest_status(name, state)
    rec = record.Record(
        vm=name, source=src, destination=dst, algorithm=algorithm,
        before=before, after=record.after_of(result, stats),
        step_id=step.step_id, finished_at=time.time())
    truth.update(state=result, wall_s=round(wall, 2), switched_at_s=switched,
                 error=job.error, guest_status=guest['status'],
                 guest_corrupt=guest['corrupt'], guest_line=guest['line'])
    out.add(rec, truth)
    a = rec.after
    samples = ' '.join(f'{w:g}s:{r:g}' for w, r in vm.dirty_rate_samples)
    print(f'[{index}/{total} {(time.monotonic() - t_start) / 60:5.1f} min] '
          f'm{size} d{rate} {link}M {algorithm:12s} {result:9s} '
          f'{a.total_s:6.1f} s {a.downtime_ms or 0:7.1f} ms '
          f'{a.bytes / MIB:7.1f} MiB it {a.iterations} '
          f'pc@{a.postcopy_started_s} measured '
          f'{vm.dirty_rate_mib_s:.1f}±{vm.dirty_rate_err_mib_s or 0:.1f} '
          f'[{samples}] wrote {truth["written_mib_s"]} guest '
          f'{guest["status"]}', flush=True)


if __name__ == '__main__':
    sys.exit(main())
