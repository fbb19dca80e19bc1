"""The pure core imports neither libvirt nor oslo.messaging.

Each core module is imported in a fresh interpreter where both are blocked
(an import of either raises ImportError), and a plan is made from the
example snapshot there, so a stray import anywhere on the planning path
fails this test.
"""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]

CORE = ['model', 'graph', 'cost', 'choice', 'placement', 'plan',
        'scheduling', 'bandwidth', 'lowerbound', 'algorithms',
        'algorithms.precopy', 'algorithms.autoconverge',
        'algorithms.compress', 'algorithms.postcopy', 'algorithms.hybrid',
        'policies', 'policies.single', 'policies.drain',
        'policies.consolidate', 'policies.balance', 'drivers.migration',
        'move_cost']

PROGRAM = """
import sys
for name in ('libvirt', 'oslo_messaging'):
    sys.modules[name] = None   # any import of it now raises ImportError
import importlib
for mod in {mods!r}:
    importlib.import_module('nova_livemig.' + mod)
from nova_livemig import algorithms, graph, model, plan
from nova_livemig.policies import drain, single
snap = model.load({snapshot!r})
algos = algorithms.load_algorithms(plan.PlanningOptions().algorithms)
result = drain.Drain().plan(snap, graph.LinkGraph(snap), __import__(
    'nova_livemig.policies', fromlist=['PlanRequest']).PlanRequest(),
    plan.PlanningOptions(), algos)
assert result.moves, result
leaked = sorted(m for m in sys.modules
                if m.split('.')[0] in ('libvirt', 'oslo_messaging')
                and sys.modules[m] is not None)
print('LEAKED' if leaked else 'CLEAN', leaked)
"""


def test_core_plans_with_libvirt_and_oslo_messaging_blocked():
    snapshot = str(ROOT / 'etc' / 'nova-livemig' / 'example-snapshot.json')
    code = PROGRAM.format(mods=CORE, snapshot=snapshot)
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith('CLEAN'), proc.stdout
