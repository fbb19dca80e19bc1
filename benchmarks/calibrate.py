"""Calibrate the cost models against real QEMU migrations on the testbed.

A grid of live migrations between two nodes (``node2`` and ``node3``) of the
libvirt/QEMU namespace testbed (``tools/testbed``): guest dirty rates x
link rates x algorithms, each run through the ``libvirt`` driver with the
agent's decision functions (post-copy switch, abort at the deadline).
Before each migration the guest's dirty rate is measured by the driver
(several page-sampling windows: mean and spread) and every algorithm is
predicted by the cost model from that measured rate and the link rate;
then the migration runs and predicted and measured total time, downtime
and bytes are printed side by side, with the median and p90 of the
relative errors.

Afterwards the model's constants are fitted to the runs (goodput
fraction and setup time by least squares on total time against bytes
over link rate, switchover cost from the post-copy pauses, and the
memory an idle guest sends beyond its working set), the grid is
predicted again with them (in sample: the same runs), and the choice the
planner would make at every grid point is compared with the best
measured algorithm there.

Run as root with the testbed up (``bash tools/testbed/up.sh 3``)::

    .venv/bin/python benchmarks/calibrate.py --json /tmp/calibration.json

It changes the two nodes' link rates with ``tc`` (and restores the
state file's rate at the end) and runs up to three 256 MiB guests
(``cal-d<rate>``), destroyed at the end.
"""

import argparse
import collections
import dataclasses
import json
import pathlib
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from nova_livemig import algorithms as algos_mod  # noqa: E402
from nova_livemig import cost  # noqa: E402
from nova_livemig import messages  # noqa: E402
from nova_livemig import model  # noqa: E402
from nova_livemig import plan  # noqa: E402
from nova_livemig.algorithms import choice  # noqa: E402
from nova_livemig.drivers import migration  # noqa: E402
from tests import fixtures  # noqa: E402

testbed = fixtures.load_testbed()

MIB = cost.MIB
MEMORY_MIB = 256
TARGET_MS = 500.0


def shape(state, node_name, mbit):
    """Set a node's link (both directions) to ``mbit`` as up.sh does."""
    n = testbed.node(node_name, state)
    burst = max(mbit * 1000000 // 8 // 250, 65536)
    idx = node_name.replace('node', '')
    for netns, dev in ((n['netns'], 'eth0'), (state['switch_netns'],
                                              f'n{idx}')):
        subprocess.run(['ip', 'netns', 'exec', netns, 'tc', 'qdisc',
                        'replace', 'dev', dev, 'root', 'tbf', 'rate',
                        f'{mbit}mbit', 'burst', str(burst), 'latency',
                        '50ms'], check=True)


def run_migration(src_driver, dst_driver, vm, algorithm, deadline_s,
                  postcopy_after_s=None, poll_s=0.25):
    """One migration through the driver, decided as the agent decides.

    :returns: ``(final JobInfo, wall seconds, switched_at_s)``
    """
    step = messages.MigrationStep(
        plan_id='calibrate', step_id=f'{vm}-{time.time():.0f}', vm=vm,
        source=src_driver.host, destination=dst_driver.host,
        algorithm=algorithm, max_downtime_ms=TARGET_MS, bandwidth_mib_s=0,
        deadline_s=deadline_s, postcopy_after_s=postcopy_after_s,
        predicted={'algorithm': algorithm, 'total_s': 10.0,
                   'downtime_ms': TARGET_MS, 'bytes': 0,
                   'converges': True, 'iterations': 1, 'slowdown': 0.0,
                   'risks': []},
        destination_uri=dst_driver.migration_uri())
    t0 = time.monotonic()
    src_driver.start_migration(step)
    switched = None
    while True:
        job = src_driver.job_info(vm)
        now = time.monotonic() - t0
        if job.finished:
            break
        if migration.should_abort(job, step, now):
            src_driver.abort(vm)
        elif migration.should_switch_to_postcopy(job, step, now):
            try:
                src_driver.switch_to_postcopy(vm)
                switched = now
            except Exception as err:  # not active yet: try again
                print(f'    post-copy switch deferred: {err}')
        time.sleep(poll_s)
    wall = time.monotonic() - t0
    src_driver.cleanup(vm)
    return job, wall, switched


def predict_all(vm, gbit_s, params, names):
    loaded = algos_mod.load_algorithms(names)
    inp = cost.MigrationInput.for_vm(vm, gbit_s, TARGET_MS)
    preds = {n: a.predict(inp, params) for n, a in loaded.items()}
    opts = plan.PlanningOptions(max_downtime_ms=TARGET_MS,
                                algorithms=tuple(names), params=params)
    chosen = choice.choose(vm, gbit_s, opts, loaded).algorithm
    return preds, chosen


def rel_err(pred, meas):
    return abs(pred - meas) / meas if meas else None


def pct(values, q):
    values = sorted(v for v in values if v is not None)
    if not values:
        return float('nan')
    k = min(len(values) - 1, max(0, round(q * (len(values) - 1))))
    return values[k]


def fit(runs, wws):
    """Fit goodput, setup, switchover and idle memory from the runs."""
    done = [r for r in runs if r['state'] == 'completed']
    # total = setup + bytes / (g * line): least squares on x = bytes/line
    xs = [r['bytes'] / (r['link_mbit'] * 1e6 / 8) for r in done]
    ys = [r['total_s'] for r in done]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    setup_s = my - slope * mx
    goodput = 1.0 / slope
    post = [r for r in done if r['postcopy']]
    device_mib = cost.CostParams().device_state_mib
    switchover = statistics.median(
        r['downtime_ms'] - device_mib * MIB / (
            goodput * r['link_mbit'] * 1e6 / 8) * 1000 for r in post) \
        if post else cost.CostParams().switchover_ms
    # one full pass sends resident memory: post-copy and quiet pre-copy
    passes = [r['bytes'] / MIB - wws[r['rate']] for r in done
              if (r['algorithm'] == 'postcopy' and r['postcopy'])
              or (r['rate'] == 0 and r['algorithm'] == 'precopy')]
    idle_mib = statistics.median(passes) if passes else None
    # pre-copy pauses past QEMU's limit: the stream still buffered
    # between QEMU and the wire when it stops the guest (MiB)
    backlog = []
    for r in done:
        if r['postcopy'] or r['rate'] == 0:
            continue
        rate = goodput * r['link_mbit'] * 1e6 / 8
        limit_ms = TARGET_MS - 5.0 - device_mib * MIB / rate * 1000
        backlog.append((r['downtime_ms'] - limit_ms) / 1000 * rate / MIB)
    return {'goodput_fraction': round(goodput, 4),
            'precopy_backlog_mib': (round(statistics.median(backlog), 2)
                                    if backlog else None),
            'setup_s': round(setup_s, 3),
            'switchover_ms': round(max(switchover, 0.0), 2),
            'idle_resident_mib': round(idle_mib, 1) if idle_mib else None}


def vm_value(name, host, measured, wws_mib, resident_mib=None):
    return model.Vm(id=name, host=host, vcpus=1, memory_mib=MEMORY_MIB,
                    cpu_util=max(measured['cpu_util'], 0.01),
                    dirty_rate_mib_s=measured['dirty_rate_mib_s'],
                    dirty_rate_err_mib_s=measured.get(
                        'dirty_rate_err_mib_s'),
                    wws_mib=wws_mib, resident_mib=resident_mib)


def table(runs, key):
    lines = ['| link Mbit/s | dirty MiB/s (measured) | algorithm | state | '
             'total s pred/meas | downtime ms pred/meas | MiB pred/meas | '
             'iterations |', '|---' * 8 + '|']
    for r in runs:
        p = r[key]
        lines.append(
            f"| {r['link_mbit']} | {r['rate']} ({r['dirty_mib_s']:.1f} "
            f"± {r['dirty_err'] or 0:.1f}) | {r['algorithm']} | "
            f"{r['state']} | "
            f"{p['total_s'] if completes(p, r) else 'no conv.'} / "
            f"{r['total_s']:.1f} | {p['downtime_ms']:.0f} / "
            f"{r['downtime_ms']:.0f} | {p['bytes'] / MIB:.0f} / "
            f"{r['bytes'] / MIB:.0f} | {r['iterations']} |")
    return '\n'.join(lines)


def completes(pred, run):
    """The prediction says it completes before the run's deadline."""
    return pred['converges'] and pred['total_s'] <= run.get('deadline_s',
                                                             40.0)


def errors(runs, key):
    ok = [r for r in runs if r['state'] == 'completed'
          and completes(r[key], r)]
    out = {}
    for field, meas in (('total_s', 'total_s'), ('downtime_ms',
                                                 'downtime_ms'),
                        ('bytes', 'bytes')):
        errs = [rel_err(r[key][field], r[meas]) for r in ok]
        out[field] = (pct(errs, 0.5), pct(errs, 0.9), len(errs))
    agree = sum(1 for r in runs
                if completes(r[key], r) == (r['state'] == 'completed'))
    out['convergence_agrees'] = (agree, len(runs))
    return out


def print_errors(title, errs):
    print(f'{title}:')
    for field in ('total_s', 'downtime_ms', 'bytes'):
        med, p90, n = errs[field]
        print(f'  {field:12s} median {med:6.1%}  p90 {p90:6.1%}  (n={n})')
    a, n = errs['convergence_agrees']
    print(f'  predicted to complete by the deadline == completed: {a}/{n}')


def choices(runs, key_chosen):
    """Per grid point: the chosen algorithm's median measured time
    against the best median (an algorithm with an aborted run counts as
    not completing)."""
    points = {}
    for r in runs:
        points.setdefault((r['link_mbit'], r['rate']), []).append(r)
    out = []
    for (link, rate), rs in sorted(points.items()):
        by_algo = {}
        for r in rs:
            by_algo.setdefault(r['algorithm'], []).append(r)
        medians = {a: statistics.median(r['total_s'] for r in runs_a)
                   for a, runs_a in by_algo.items()
                   if all(r['state'] == 'completed' for r in runs_a)}
        spread = {a: (min(r['total_s'] for r in runs_a),
                      max(r['total_s'] for r in runs_a))
                  for a, runs_a in by_algo.items()}
        best = min(medians, key=medians.get) if medians else None
        chosen = collections.Counter(r[key_chosen] for r in rs
                                     ).most_common(1)[0][0]
        ratio = (medians[chosen] / medians[best]
                 if best and chosen in medians else None)
        # the runs of the chosen and the best overlap: a tie within noise
        overlap = (best is not None and chosen in spread
                   and chosen != best
                   and spread[chosen][0] <= spread[best][1])
        out.append({'link_mbit': link, 'rate': rate, 'chosen': chosen,
                    'best': best, 'ratio': ratio, 'medians': medians,
                    'spread': spread, 'overlap': overlap})
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--rates', default='0,10,40',
                   help='guest dirty rates, MiB/s')
    p.add_argument('--links', default='200,500', help='link rates, Mbit/s')
    p.add_argument('--algorithms',
                   default='precopy,autoconverge,postcopy,hybrid')
    p.add_argument('--repeat', type=int, default=1,
                   help='runs of every algorithm at every grid point')
    p.add_argument('--deadline-s', type=float, default=40.0,
                   help='abort pre-copy after this long')
    p.add_argument('--nodes', default='node2,node3',
                   help='the two testbed nodes to migrate between (their '
                        'links are reshaped; node1 is left to other tests)')
    p.add_argument('--json', help='write the runs here')
    p.add_argument('--from-json', help='analyse the runs of an earlier '
                   '--json file instead of running the grid')
    args = p.parse_args(argv)
    rates = [int(x) for x in args.rates.split(',')]
    links = [int(x) for x in args.links.split(',')]
    names = args.algorithms.split(',')
    wws = {r: (64 if r == 0 else 128) for r in rates}
    if args.from_json:
        runs = json.loads(pathlib.Path(args.from_json).read_text())['runs']
        wws = {r['rate']: r['wws_mib'] for r in runs}
        return analyse(runs, wws, names, args.json)
    runs = run_grid(args, rates, links, names, wws)
    return analyse(runs, wws, names, args.json)


def run_grid(args, rates, links, names, wws):

    from nova_livemig.drivers import libvirt as libvirt_driver
    state = testbed.load_state()
    a, b = args.nodes.split(',')
    n1, n2 = testbed.node(a, state), testbed.node(b, state)
    drivers = {n['name']: libvirt_driver.LibvirtDriver(
        fixtures.testbed_driver_conf(n))
               for n in (n1, n2)}
    where = {}
    for rate in rates:
        name = f'cal-d{rate}'
        testbed.start_guest(a, name, MEMORY_MIB, rate, wws[rate],
                            state=state)
        where[name] = a
    for name in where:
        st = testbed.wait_for_status(name, min_scans=1, timeout_s=180,
                                     state=state)
        print(f'{name}: {st["line"]}')
    runs = []
    t_start = time.monotonic()
    try:
        for link in links:
            shape(state, a, link)
            shape(state, b, link)
            tcp = testbed.measure_link(a, b, 3, state=state)
            print(f'\n== link {link} Mbit/s: TCP {tcp:.1f} Mbit/s '
                  f'({tcp / link:.3f})')
            for rate in rates:
                name = f'cal-d{rate}'
                for algorithm in names * args.repeat:
                    src = where[name]
                    dst = b if src == a else a
                    _host, vms = drivers[src].measure()
                    measured = next(v for v in vms if v['id'] == name)
                    vm = vm_value(name, src, measured, wws[rate])
                    preds, chosen = predict_all(vm, link / 1000.0,
                                                cost.CostParams(), names)
                    pred = preds[algorithm]
                    job, wall, switched = run_migration(
                        drivers[src], drivers[dst], name, algorithm,
                        args.deadline_s)
                    state_name = migration.result_state(job)
                    if state_name == 'completed':
                        where[name] = dst
                    status = testbed.guest_status(name, state)
                    run = {
                        'link_mbit': link, 'tcp_mbit': round(tcp, 1),
                        'rate': rate, 'wws_mib': wws[rate],
                        'dirty_mib_s': measured['dirty_rate_mib_s'],
                        'dirty_err': measured.get('dirty_rate_err_mib_s'),
                        'cpu_util': measured['cpu_util'],
                        'algorithm': algorithm, 'state': state_name,
                        'deadline_s': args.deadline_s,
                        'source': src, 'wall_s': round(wall, 2),
                        'switched_at_s': switched,
                        **migration.stats_of(job),
                        'guest': status['status'],
                        'predicted': pred.to_primitive(),
                        'chosen_default': chosen,
                        'vm': dataclasses.asdict(vm)}
                    runs.append(run)
                    if args.json:
                        pathlib.Path(args.json).write_text(json.dumps(
                            {'runs': runs}, indent=1))
                    print(f'  d{rate:<3} {algorithm:12s} {state_name:9s} '
                          f'{run["total_s"]:6.1f} s '
                          f'(pred {pred.total_s:6.1f}'
                          f'{"" if pred.converges else " no-conv"}) '
                          f'{run["downtime_ms"]:6.0f} ms '
                          f'(pred {pred.downtime_ms:4.0f}) '
                          f'{run["bytes"] / MIB:6.1f} MiB '
                          f'(pred {pred.bytes_sent / MIB:6.1f}) '
                          f'it {run["iterations"]} dirty '
                          f'{run["dirty_mib_s"]:.1f}±'
                          f'{run["dirty_err"] or 0:.1f} '
                          f'guest {status["status"]}', flush=True)
    finally:
        shape(state, a, n1['link_mbit_s'])
        shape(state, b, n2['link_mbit_s'])
        final = {}
        for name, node in where.items():
            try:
                final[name] = testbed.wait_for_status(
                    name, after_seq=testbed.guest_status(name)['seq'],
                    timeout_s=30, state=state)['status']
            except testbed.TestbedError as err:
                final[name] = f'no status: {err}'
        print(f'\nguests after the grid: {final}')
        import libvirt
        for name, node in where.items():
            conn = libvirt.open(testbed.node(node, state)['libvirt_uri'])
            try:
                conn.lookupByName(name).destroy()
            except libvirt.libvirtError:
                pass
            conn.close()
            testbed.serial_log(name, state).unlink(missing_ok=True)
    print(f'grid: {len(runs)} migrations in '
          f'{time.monotonic() - t_start:.0f} s')
    return runs


def params_of(fitted):
    return dataclasses.replace(
        cost.CostParams(), goodput_fraction=fitted['goodput_fraction'],
        setup_s=max(fitted['setup_s'], 0.0),
        switchover_ms=fitted['switchover_ms'])


def repredict(runs, fitted, names, key, chosen_key):
    """Predict ``runs`` again with fitted constants and a resident
    memory of the idle guest's plus the working set."""
    params = params_of(fitted)
    for r in runs:
        vm = model.Vm(**{**r['vm'], 'resident_mib': (
            min(MEMORY_MIB, fitted['idle_resident_mib'] + r['wws_mib'])
            if fitted['idle_resident_mib'] else None)})
        preds, chosen = predict_all(vm, r['link_mbit'] / 1000.0, params,
                                    names)
        r[key] = preds[r['algorithm']].to_primitive()
        r[chosen_key] = chosen


def analyse(runs, wws, names, json_path):
    """Fit the constants, print the tables, errors and choices."""

    fitted = fit(runs, wws)
    print(f'\nfitted constants: {json.dumps(fitted)}')
    repredict(runs, fitted, names, 'fitted', 'chosen_fitted')
    # out of sample: fit on the other link rates, predict this one
    links = sorted({r['link_mbit'] for r in runs})
    if len(links) > 1:
        for link in links:
            held = [r for r in runs if r['link_mbit'] == link]
            other = fit([r for r in runs if r['link_mbit'] != link], wws)
            print(f'fitted without {link} Mbit/s: {json.dumps(other)}')
            repredict(held, other, names, 'held_out', 'chosen_held_out')
    print('\n' + table(runs, 'predicted'))
    print('\n' + table(runs, 'fitted'))
    print()
    print_errors('errors, default CostParams', errors(runs, 'predicted'))
    print_errors('errors, fitted constants (in sample)',
                 errors(runs, 'fitted'))
    if all('held_out' in r for r in runs):
        print_errors('errors, constants fitted on the other link rate '
                     '(out of sample)', errors(runs, 'held_out'))
    for key in ('chosen_default', 'chosen_fitted', 'chosen_held_out'):
        if not all(key in r for r in runs):
            continue
        print(f'\nchoice ({key}) vs best measured:')
        for c in choices(runs, key):
            ratio = ('n/a' if c['ratio'] is None
                     else f'{c["ratio"]:.3f}')
            print(f'  {c["link_mbit"]} Mbit/s d{c["rate"]}: chosen '
                  f'{c["chosen"]}, best {c["best"]}, chosen/best {ratio}'
                  f'{" (runs overlap)" if c["overlap"] else ""}; '
                  + ', '.join(f'{a} {lo:.1f}-{hi:.1f} s'
                              for a, (lo, hi) in c['spread'].items()))
    if json_path:
        pathlib.Path(json_path).write_text(json.dumps(
            {'runs': runs, 'fitted': fitted}, indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
