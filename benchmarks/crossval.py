"""Cross-validate the calibrated cost models as a new cloud would meet them.

Reads a migration history written by ``benchmarks/history_grid.py`` (real
QEMU migrations on the testbed, one record per line, with the ground truth
in ``<history>.meta.json``), fits the constants with the product's fit
(:func:`nova_livemig.calibration.fit.fit`) on the migrations at TWO link
rates and ONE guest size, then predicts every other migration (the held-out
link rate, the other guest size) from what the record's ``before`` holds:
the driver's measured dirty rate and samples, the memory size and the
link's nominal rate. Resident memory is what a deployment can know: the
VM's own earlier migrations (in the order they ran), else the fitted
resident fraction.

Printed, each against baselines measured in the same run:

* total-time error (median, p90) of completed migrations;
* pre-copy pause error (median, ms);
* convergence judged right (predicted to complete within the deadline ==
  completed) for every pre-copy run;
* per cell (link, guest size, dirty rate), the ``auto`` choice's measured
  time over the best measured algorithm's;
* the same with no history at all (today's defaults), and with the model
  of ``--baseline-ref`` (a git revision, run from ``git archive`` in a
  subprocess), so that the defaults are compared with what shipped before.

::

    .venv/bin/python benchmarks/crossval.py /tmp/work/grid/history.jsonl
"""

import argparse
import collections
import dataclasses
import json
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nova_livemig import algorithms as algos_mod  # noqa: E402
from nova_livemig import cost  # noqa: E402
from nova_livemig import plan  # noqa: E402
from nova_livemig.algorithms import choice  # noqa: E402
from nova_livemig.calibration import evidence  # noqa: E402
from nova_livemig.calibration import fit  # noqa: E402
from nova_livemig.history import jsonl  # noqa: E402
from nova_livemig.history import record  # noqa: E402

CHOICE_ALGORITHMS = ('precopy', 'autoconverge', 'postcopy', 'hybrid')


def pct(values, q):
    values = sorted(values)
    if not values:
        return float('nan')
    k = min(len(values) - 1, max(0, round(q * (len(values) - 1))))
    return values[k]


def resident_guesses(records):
    """For each record (by index), the resident memory its VM's earlier
    migrations showed, or None for a VM's first migration."""
    last = {}
    out = []
    for rec in records:
        out.append(last.get(rec.vm))
        seen = rec.resident_mib()
        if seen is not None:
            last[rec.vm] = seen
    return out


def predictions(records, residents, params, algorithms, deadline_s):
    """``[(record, Prediction)]`` from the records' ``before``."""
    out = []
    for rec, resident in zip(records, residents):
        b = rec.before
        inp = cost.MigrationInput.for_vm(
            rec.vm_value(resident), b.path_gbit_s, b.max_downtime_ms,
            max_migration_s=deadline_s)
        out.append((rec, algorithms[rec.algorithm].predict(inp, params)))
    return out


def scores(pairs):
    """Errors of ``[(record, prediction-like dict)]``."""
    time_errs = []
    pause_errs = []
    conv_right = conv_all = 0
    wrong = []
    for rec, pred in pairs:
        a = rec.after
        if rec.algorithm in ('precopy', 'autoconverge'):
            conv_all += 1
            if pred['converges'] == a.completed:
                conv_right += 1
            else:
                wrong.append(f'{rec.vm} {rec.algorithm} '
                             f'{rec.before.path_gbit_s} Gbit/s: predicted '
                             f'{"completes" if pred["converges"] else "no"}'
                             f', ran {"completed" if a.completed else "no"}')
        if a.completed and pred['converges']:
            time_errs.append(abs(pred['total_s'] - a.total_s) / a.total_s)
            if (rec.algorithm in ('precopy', 'autoconverge')
                    and a.downtime_ms is not None and not a.postcopy):
                pause_errs.append(abs(pred['downtime_ms'] - a.downtime_ms))
    return {'n': len(time_errs), 'median': pct(time_errs, 0.5),
            'p90': pct(time_errs, 0.9), 'pause_ms': pct(pause_errs, 0.5),
            'pause_n': len(pause_errs), 'conv': (conv_right, conv_all),
            'wrong': wrong}


def as_dict(pred):
    return {'converges': pred.converges, 'total_s': pred.total_s,
            'downtime_ms': pred.downtime_ms}


def print_scores(title, s):
    right, total = s['conv']
    print(f'{title}:\n  total time  median {s["median"]:6.1%}  p90 '
          f'{s["p90"]:6.1%}  (n={s["n"]})\n  pre-copy pause median error '
          f'{s["pause_ms"]:.0f} ms (n={s["pause_n"]})\n  pre-copy '
          f'convergence right {right}/{total}')
    for line in s['wrong']:
        print(f'    wrong: {line}')


def cells(records, meta_runs):
    """``{(link Mbit/s, memory MiB, dirty MiB/s): [records]}``."""
    out = collections.defaultdict(list)
    for i, rec in enumerate(records):
        truth = meta_runs[i] if i < len(meta_runs) else {}
        key = (truth.get('link_mbit', round(rec.before.path_gbit_s * 1000)),
               rec.before.memory_mib,
               truth.get('dirty_mib_s', round(rec.before.dirty_rate_mib_s)))
        out[key].append(rec)
    return out


def choice_ratios(test_cells, residents_by_id, params, options, algorithms):
    """Per cell: chosen, best, measured time of chosen / best."""
    rows = []
    for key, recs in sorted(test_cells.items()):
        measured = {}
        for rec in recs:
            t = rec.after.total_s if rec.after.completed else float('inf')
            measured[rec.algorithm] = min(measured.get(rec.algorithm,
                                                       float('inf')), t)
        best = min(measured, key=measured.get)
        first = recs[0]
        vm = first.vm_value(residents_by_id.get(id(first)))
        chosen = choice.choose(vm, first.before.path_gbit_s, options,
                               algorithms).algorithm
        got = measured.get(chosen)
        ratio = (got / measured[best] if got is not None
                 and measured[best] < float('inf') else None)
        rows.append((key, chosen, best, ratio, measured))
    return rows


def print_choices(title, rows):
    print(f'{title}:')
    worst = 1.0
    for (link, mem, rate), chosen, best, ratio, measured in rows:
        text = 'n/a' if ratio is None else f'{ratio:.3f}'
        if ratio is not None:
            worst = max(worst, ratio)
        times = ', '.join(
            f'{a} {"aborted" if t == float("inf") else f"{t:.1f}"}'
            for a, t in sorted(measured.items()))
        print(f'  {link:5d} Mbit/s {mem:4.0f} MiB d{rate:<4} chosen '
              f'{chosen:12s} best {best:12s} {text:>6}  ({times})')
    print(f'  worst chosen/best: {worst:.3f}')


BASELINE_SCRIPT = r'''
import json, sys
sys.path.insert(0, sys.argv[1])
from nova_livemig import algorithms, cost, model
algos = algorithms.load_algorithms(sys.argv[2].split(','))
out = []
for line in sys.stdin:
    r = json.loads(line)
    b = r['before']
    vm = model.Vm(id=r['vm'], host=r['source'], vcpus=b.get('vcpus') or 1,
                  memory_mib=b['memory_mib'], cpu_util=b.get('cpu_util') or 0,
                  dirty_rate_mib_s=b['dirty_rate_mib_s'],
                  dirty_rate_err_mib_s=b.get('dirty_rate_err_mib_s'))
    inp = cost.MigrationInput.for_vm(vm, b['path_gbit_s'],
                                     b['max_downtime_ms'])
    p = algos[r['algorithm']].predict(inp, cost.CostParams())
    conv = p.converges and p.total_s <= float(sys.argv[3])
    out.append({'converges': conv, 'total_s': p.total_s,
                'downtime_ms': p.downtime_ms})
print(json.dumps(out))
'''


def baseline(records, ref, deadline_s):
    """Predictions of the model at git revision ``ref`` with its
    defaults, or None when the revision cannot be read."""
    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(['git', '-C', str(ROOT), 'archive', ref,
                                  'nova_livemig'], capture_output=True)
        if archive.returncode:
            print(f'baseline {ref}: {archive.stderr.decode().strip()}')
            return None
        subprocess.run(['tar', '-x', '-C', tmp], input=archive.stdout,
                       check=True)
        names = sorted({r.algorithm for r in records})
        proc = subprocess.run(
            [sys.executable, '-c', BASELINE_SCRIPT, tmp, ','.join(names),
             str(deadline_s)],
            input=jsonl.dumps(records), capture_output=True, text=True,
            cwd=tmp)
        if proc.returncode:
            print(f'baseline {ref} failed: {proc.stderr[-500:]}')
            return None
        return json.loads(proc.stdout)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('history')
    p.add_argument('--train-links', default='200,500',
                   help='link rates (Mbit/s) of the fit')
    p.add_argument('--train-memory', type=int, default=256,
                   help='guest size (MiB) of the fit')
    p.add_argument('--deadline-s', type=float, default=60.0,
                   help='the deadline the grid aborted pre-copy at')
    p.add_argument('--baseline-ref', default='f13a0fc',
                   help='git revision whose model is the "before" baseline')
    p.add_argument('--train-history',
                   help='take the fit\'s records from this history (same '
                        'filter) and hold out every record of HISTORY')
    p.add_argument('--calibration-out',
                   help='write the training fit here (JSON)')
    args = p.parse_args(argv)
    records = jsonl.load(args.history)
    meta_path = pathlib.Path(f'{args.history}.meta.json')
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    runs = meta.get('runs', [])
    train_links = {int(x) for x in args.train_links.split(',')}

    def link_of(i, rec):
        if i < len(runs):
            return runs[i]['link_mbit']
        return round(rec.before.path_gbit_s * 1000)

    residents = resident_guesses(records)
    train, test, test_idx = [], [], []
    for i, rec in enumerate(records):
        if (not args.train_history and link_of(i, rec) in train_links
                and rec.before.memory_mib == args.train_memory):
            train.append(rec)
        else:
            test.append(rec)
            test_idx.append(i)
    if args.train_history:
        others = jsonl.load(args.train_history)
        other_meta = pathlib.Path(f'{args.train_history}.meta.json')
        other_runs = (json.loads(other_meta.read_text()).get('runs', [])
                      if other_meta.exists() else [])
        train = [rec for i, rec in enumerate(others)
                 if (other_runs[i]['link_mbit'] if i < len(other_runs)
                     else round(rec.before.path_gbit_s * 1000))
                 in train_links
                 and rec.before.memory_mib == args.train_memory]
    print(f'{len(records)} records: {len(train)} to fit (links '
          f'{sorted(train_links)} Mbit/s, {args.train_memory} MiB guests), '
          f'{len(test)} held out')
    algorithms = algos_mod.load_algorithms(list(record.ALGORITHMS))
    base = cost.CostParams()
    cal = fit.fit(train, base, algorithms)
    from nova_livemig.cmd import calibrate as calibrate_cmd
    print('fit on the training records:')
    print(calibrate_cmd.summary(cal))
    if args.calibration_out:
        from nova_livemig.calibration import document
        pathlib.Path(args.calibration_out).write_text(document.dumps(cal))
    params = cal.params(base)
    test_res = [residents[i] for i in test_idx]
    deadline = args.deadline_s

    fitted = predictions(test, test_res, params, algorithms, deadline)
    print_scores('\nheld out, fitted constants, resident memory from the '
                 "VM's earlier migrations",
                 scores([(r, as_dict(p)) for r, p in fitted]))
    later = [(r, p) for (r, p), res in zip(fitted, test_res)
             if res is not None]
    print_scores('  of which VMs with an earlier migration',
                 scores([(r, as_dict(p)) for r, p in later]))
    first = [(r, p) for (r, p), res in zip(fitted, test_res) if res is None]
    print_scores('  of which first migrations (resident fraction)',
                 scores([(r, as_dict(p)) for r, p in first]))
    defaults = predictions(test, [None] * len(test), base, algorithms,
                           deadline)
    print_scores('\nheld out, no history at all (defaults, all memory '
                 'resident)', scores([(r, as_dict(p)) for r, p in defaults]))
    old = baseline(test, args.baseline_ref, deadline)
    if old is not None:
        print_scores(f'\nheld out, the model of {args.baseline_ref} (before '
                     'this work) with its defaults',
                     scores(list(zip(test, old))))
    everything = predictions(records, [None] * len(records), base,
                             algorithms, deadline)
    print_scores('\nall records, no history at all (defaults)',
                 scores([(r, as_dict(p)) for r, p in everything]))
    if old is not None:
        old_all = baseline(records, args.baseline_ref, deadline)
        print_scores(f'all records, the model of {args.baseline_ref}',
                     scores(list(zip(records, old_all))))

    # the auto choice on the held-out cells
    test_cells = cells(test, [runs[i] if i < len(runs) else {}
                              for i in test_idx])
    residents_by_id = {id(r): res for r, res in zip(test, test_res)}
    allowed, _ = evidence.usable(CHOICE_ALGORITHMS, cal)
    options = plan.PlanningOptions(
        max_downtime_ms=test[0].before.max_downtime_ms if test else 300.0,
        algorithms=allowed, params=params, max_migration_s=deadline)
    print()
    print_choices('auto choice on held-out cells, fitted constants '
                  f'(postcopy_min_saving {options.postcopy_min_saving}, '
                  'the default: post-copy only when it saves that much)',
                  choice_ratios(test_cells, residents_by_id, params,
                                options, algorithms))
    fastest = dataclasses.replace(options, postcopy_min_saving=0.0)
    print_choices('auto choice on held-out cells, fitted constants, '
                  'postcopy_min_saving 0 (the fastest predicted)',
                  choice_ratios(test_cells, residents_by_id, params,
                                fastest, algorithms))
    print_choices('auto choice on held-out cells, defaults',
                  choice_ratios(test_cells, {}, base, dataclasses.replace(
                      options, params=base), algorithms))
    return 0


if __name__ == '__main__':
    sys.exit(main())
