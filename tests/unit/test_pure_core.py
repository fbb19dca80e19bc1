"""The pure core imports neither libvirt nor oslo.messaging, nor matplotlib.

The core is every module of the role folders that plan (``algorithms/``,
``policies/``, ``scheduling/``), the shared values (``model``, ``cost``,
``plan``, ``graph``, ``messages``, ...) and the pure parts of the shell
listed in :data:`PURE_SHELL`. Each is imported in a fresh interpreter where
libvirt and oslo.messaging are blocked (an import of either raises
ImportError), and a plan is made from the example snapshot there, so a stray
import anywhere on the planning path fails this test. The modules are found
by walking the package, so a new core module is covered without editing
this file.
"""

import pathlib
import pkgutil
import subprocess
import sys

import nova_livemig

ROOT = pathlib.Path(__file__).resolve().parents[2]

#: role folders whose every module belongs to the pure core
CORE_PACKAGES = ('algorithms', 'policies', 'scheduling')
#: top-level modules that are plumbing, not core (they wrap a library)
NOT_CORE_TOP = ('rpc',)
#: pure modules of the shell: plain values and logic its I/O calls
PURE_SHELL = ('conductor.planner', 'conductor.dispatch', 'conductor.views',
              'conductor.livemodel', 'conductor.notifications',
              'drivers', 'drivers.migration', 'weigher.cost_table',
              'cmd.tables', 'cmd.drawing')

PROGRAM = """
import sys
for name in ('libvirt', 'oslo_messaging'):
    sys.modules[name] = None   # any import of it now raises ImportError
import importlib
for mod in {mods!r}:
    importlib.import_module('nova_livemig.' + mod)
from nova_livemig import algorithms, graph, model, plan, policies
from nova_livemig.policies import drain
snap = model.load({snapshot!r})
algos = algorithms.load_algorithms(plan.PlanningOptions().algorithms)
result = drain.Drain().plan(snap, graph.LinkGraph(snap),
                            policies.PlanRequest(), plan.PlanningOptions(),
                            algos)
assert result.moves, result
leaked = sorted(m for m in sys.modules
                if m.split('.')[0] in ('libvirt', 'oslo_messaging',
                                       'matplotlib')
                and sys.modules[m] is not None)
print('LEAKED' if leaked else 'CLEAN', leaked)
"""


def core_modules():
    """Dotted names below ``nova_livemig`` that make up the pure core."""
    path = nova_livemig.__path__
    mods = [m.name for m in pkgutil.iter_modules(path)
            if not m.ispkg and m.name not in NOT_CORE_TOP]
    for pkg in CORE_PACKAGES:
        mods.append(pkg)
        mods += [f'{pkg}.{m.name}' for m in pkgutil.iter_modules(
            [str(pathlib.Path(path[0]) / pkg)])]
    return sorted(mods) + list(PURE_SHELL)


def test_core_modules_are_found():
    mods = core_modules()
    for expected in ('model', 'cost', 'algorithms.precopy',
                     'algorithms.choice', 'policies.ranking',
                     'scheduling.simulation', 'scheduling.bounds'):
        assert expected in mods
    assert 'rpc' not in mods


def test_core_plans_with_libvirt_and_oslo_messaging_blocked():
    snapshot = str(ROOT / 'etc' / 'nova-livemig' / 'example-snapshot.json')
    code = PROGRAM.format(mods=core_modules(), snapshot=snapshot)
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith('CLEAN'), proc.stdout
