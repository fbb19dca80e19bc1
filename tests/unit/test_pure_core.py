"""Layering: only the shell's edges import libvirt, oslo.messaging or nova.

Every module of the package is imported in one fresh interpreter where
libvirt, oslo.messaging and matplotlib are blocked (an import of any of them
raises ImportError), except the few modules in :data:`EDGE` whose job is to
speak to one of them. There, a plan is made from the example snapshot both
through the pure core and through the offline ``nova-livemig plan`` command,
so a stray import anywhere on the planning path, or in a module that should
be plain logic, fails this test. Modules are found by walking the package:
a new module is covered without editing this file.
"""

import pathlib
import pkgutil
import subprocess
import sys

import nova_livemig

ROOT = pathlib.Path(__file__).resolve().parents[2]
SNAPSHOT = ROOT / 'etc' / 'nova-livemig' / 'example-snapshot.json'

#: the modules that wrap oslo.messaging, nova or a daemon's wiring; every
#: other module must import without them
EDGE = frozenset({
    'rpc',                                      # oslo.messaging plumbing
    'conductor.manager', 'conductor.rpcapi',    # RPC endpoint and client
    'agent.manager', 'agent.rpcapi',
    'executors.agent', 'executors.nova',        # talk to agents over RPC
    'weigher.migration_cost',                   # runs inside nova
    'cmd.agent', 'cmd.conductor', 'cmd.control', 'cmd.demo',
})

PROGRAM = """
import sys
for name in ('libvirt', 'oslo_messaging', 'matplotlib'):
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
from nova_livemig.cmd import cli
status = cli.run(['plan', '--snapshot', {snapshot!r}, '--policy', 'drain',
                  '--format', 'json', '--output', {output!r}])
assert status == 0, status
leaked = sorted(m for m in sys.modules
                if m.split('.')[0] in ('libvirt', 'oslo_messaging',
                                       'matplotlib')
                and sys.modules[m] is not None)
print('LEAKED' if leaked else 'CLEAN', leaked)
"""


def all_modules():
    """Dotted names of every module and package below ``nova_livemig``."""
    found = []
    prefix = 'nova_livemig.'
    for info in pkgutil.walk_packages(nova_livemig.__path__, prefix):
        name = info.name[len(prefix):]
        if not name.startswith('db.migrations'):
            found.append(name)
    return sorted(found)


def test_walk_finds_the_layers():
    mods = all_modules()
    for expected in ('model', 'cost', 'algorithms.precopy',
                     'algorithms.choice', 'policies.ranking',
                     'scheduling.simulation', 'conductor.planner',
                     'drivers.migration', 'weigher.cost_table', 'conf'):
        assert expected in mods
    assert EDGE <= set(mods), sorted(EDGE - set(mods))


def test_only_the_edges_import_libvirt_messaging_or_matplotlib(tmp_path):
    mods = [m for m in all_modules() if m not in EDGE]
    code = PROGRAM.format(mods=mods, snapshot=str(SNAPSHOT),
                          output=str(tmp_path / 'plan.json'))
    proc = subprocess.run([sys.executable, '-c', code], capture_output=True,
                          text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith('CLEAN'), proc.stdout
