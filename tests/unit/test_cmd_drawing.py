"""The plan picture of ``nova-livemig plan --graph``: labels that never
overlap, moves along the links they use, and the schedule's timeline; the
same scene in the HTML page and in the PNG."""

import importlib.util
import itertools
import json
import pathlib
import re
import struct
import subprocess
import sys
import types

import pytest

from nova_livemig import algorithms
from nova_livemig import graph
from nova_livemig import model
from nova_livemig import plan
from nova_livemig import policies
from nova_livemig.cmd.picture import drawing
from nova_livemig.cmd.picture import scene as sc
from nova_livemig.cmd.picture import timeline
from nova_livemig.policies import drain
from nova_livemig.scheduling import simulation
from tests.unit.test_scheduling import OPTIONS
from tests.unit.test_scheduling import STAND_INS
from tests.unit.test_scheduling import moves_for
from tests.unit.test_scheduling import star

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / 'etc' / 'nova-livemig' / 'example-snapshot.json'


def drained(snap):
    """The drain plan of the snapshot's maintenance hosts, scheduled."""
    g = graph.LinkGraph(snap)
    options = plan.PlanningOptions()
    algos = algorithms.load_algorithms(options.algorithms)
    result = drain.Drain().plan(snap, g, policies.PlanRequest(), options,
                                algos)
    return g, simulation.schedule(snap, g, result.moves, options, algos)


def synthetic(n_hosts, n_vms, seed):
    """A leaf-spine cluster from benchmarks/synthetic.py, two hosts in
    maintenance."""
    spec = importlib.util.spec_from_file_location(
        'synthetic', ROOT / 'benchmarks' / 'synthetic.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    doc = mod.generate(n_hosts=n_hosts, n_vms=n_vms, seed=seed)
    for host in doc['hosts'][3], doc['hosts'][n_hosts // 2]:
        host['state'] = 'maintenance'
    return model.from_primitive(doc)


def labels(scene):
    return [s for s in scene.shapes
            if isinstance(s, sc.Text) and s.label_of]


def assert_no_two_overlap(texts):
    boxes = [(t.label_of, sc.text_box(t)) for t in texts]
    for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
        assert not sc.overlaps(box_a, box_b), (a, box_a, b, box_b)


def test_draw_html_and_png(tmp_path):
    snap = star(['a', 'b', 'c'], [('v1', 'a', 40, 0.0), ('v2', 'b', 40, 0.0),
                                  ('x1', 'a', 24, 0.0), ('x2', 'b', 24, 0.0)])
    g, moves = moves_for(snap, [('v1', 'b'), ('v2', 'a')])
    sched = simulation.schedule(snap, g, moves, OPTIONS, STAND_INS)
    page = drawing.draw(snap, g, sched, tmp_path / 'm.html')
    text = page.read_text()
    # three legs (one move goes through c), each ending in an arrowhead
    assert '<svg' in text and text.count('<polygon') == 3
    assert 'hop: via c' in text
    png = drawing.draw(snap, g, sched, tmp_path / 'm.png')
    assert png.read_bytes()[:4] == b'\x89PNG'
    from nova_livemig.cmd import outcome
    from nova_livemig.cmd import tables
    result = plan.Plan('moves', tuple(moves))
    out = outcome.of_schedule(snap, result, sched, OPTIONS, STAND_INS)
    text = tables.render_table(result, OPTIONS.max_downtime_ms, out, sched)
    assert 'temporary hops: 1' in text


def test_six_host_labels_all_shown_across_and_apart():
    snap = model.load(str(EXAMPLE))
    g, sched = drained(snap)
    found = labels(drawing.scene(snap, g, sched))
    hosts = [t for t in found if t.label_of in snap.hosts]
    assert sorted(t.label_of for t in hosts) == sorted(snap.hosts)
    assert {t.rotate_deg for t in hosts} == {0}
    assert {t.label_of for t in found} - set(snap.hosts) == set(
        snap.switches)
    assert_no_two_overlap(found)


def test_hundreds_of_host_labels_never_overlap():
    snap = synthetic(240, 1200, seed=3)
    g, sched = drained(snap)
    assert sched.moves
    found = labels(drawing.scene(snap, g, sched))
    assert_no_two_overlap(found)
    shown = {t.label_of for t in found}
    ends = {m.source for m in sched.moves} | {
        m.destination for m in sched.moves}
    assert ends <= shown   # the hosts the moves touch are always named
    assert 40 < len(shown & set(snap.hosts)) < 240   # thinned, not gone
    assert {t.rotate_deg for t in found
            if t.label_of in snap.hosts} == {90}


def test_long_names_on_many_hosts_still_apart():
    names = [f'compute-node-{i:04d}.rack{i // 40}.example.org'
             for i in range(drawing.MAX_HOSTS_DRAWN)]
    switches = sorted({f'leaf-{i // 40}' for i in range(len(names))})
    snap = model.from_primitive({
        'version': 1, 'vms': [],
        'hosts': [{'name': n, 'vcpus': 8, 'memory_mib': 8192}
                  for n in names],
        'network': {'switches': switches + ['spine'], 'links': [
            {'a': n, 'b': f'leaf-{i // 40}', 'gbit_s': 25.0}
            for i, n in enumerate(names)] + [
            {'a': s, 'b': 'spine', 'gbit_s': 100.0} for s in switches]}})
    empty = types.SimpleNamespace(moves=(), unscheduled=(), makespan_s=0.0,
                                  bound_s=0.0, nova=None)
    scene = drawing.scene(snap, graph.LinkGraph(snap), empty)
    found = labels(scene)
    assert_no_two_overlap(found)
    assert len(found) > 20
    assert all(len(t.text) <= drawing.LABEL_MAX_CHARS for t in found)
    assert scene.width <= drawing.ROW_MAX_PX + 2 * drawing.MARGIN_PX


def test_a_move_follows_its_links_through_the_switches():
    snap = model.load(str(EXAMPLE))
    g, sched = drained(snap)
    scene = drawing.scene(snap, g, sched)
    squares = {s.tip: (s.x + s.w / 2, s.y + s.h / 2) for s in scene.shapes
               if isinstance(s, sc.Rect) and s.tip in snap.switches}
    def tor(host):
        return 'tor-r' + host[5]   # cmp-r1-03 hangs off tor-r1
    move = next(m for m in sched.moves
                if tor(m.source) != tor(m.destination))
    via = (tor(move.source), 'spine-1', tor(move.destination))
    (line,) = [s for s in scene.shapes if isinstance(s, sc.Line)
               and s.tip.startswith(f'{move.vm}:')]
    assert line.tip.endswith('via ' + ', '.join(via))
    assert len(line.points) == 5
    for corner, switch in zip(line.points[1:4], via):
        x, y = squares[switch]
        # on the switch, or beside it by the width of a few lanes
        assert abs(corner[0] - x) < 15 and abs(corner[1] - y) < 15
    colours = {s.colour for s in scene.shapes if isinstance(s, sc.Line)
               and s.tip.startswith(f'{move.vm}:')}
    assert colours == {drawing.COLOURS[move.algorithm]}


def test_moves_sharing_a_link_run_side_by_side():
    snap = model.load(str(EXAMPLE))
    g, sched = drained(snap)
    scene = drawing.scene(snap, g, sched)
    firsts = [s.points[:2] for s in scene.shapes if isinstance(s, sc.Line)
              and s.tip.split(':')[0] in {m.vm for m in sched.moves}]
    # every move leaves cmp-r1-03 over the same link, each in its own lane
    assert len(firsts) == len(sched.moves) == len(set(firsts))


def move(vm, source, start_s, end_s, algorithm='precopy'):
    return types.SimpleNamespace(
        vm=vm, source=source, destination='dst', start_s=start_s,
        end_s=end_s, algorithm=algorithm, bytes_sent=2 ** 30, note='')


def test_timeline_has_a_bar_per_move_on_a_time_axis():
    moves = [move('vm-a', 'h1', 0.0, 10.0),
             move('vm-b', 'h1', 5.0, 25.0, 'postcopy')]
    sched = types.SimpleNamespace(moves=moves, unscheduled=(),
                                  makespan_s=25.0)
    shapes, height = timeline.timeline(sched, 0.0, 0.0, 600.0,
                                       drawing.colour_of)
    bars = [s for s in shapes if isinstance(s, sc.Rect) and s.tip]
    assert [b.tip.split(':')[0] for b in bars] == ['vm-a', 'vm-b']
    assert bars[1].fill == drawing.COLOURS['postcopy']
    # 20 s is twice as long as 10 s; the second bar starts at 5 s
    assert (bars[1].w + 1) == pytest.approx(2 * (bars[0].w + 1))
    assert bars[1].x - bars[0].x == pytest.approx((bars[0].w + 1) / 2)
    texts = [s.text for s in shapes if isinstance(s, sc.Text)]
    assert 'vm-a' in texts and 'makespan 25.0 s' in texts
    assert {'0', '5', '10', '15', '20', '25'} <= set(texts)
    assert 'time (s)' in texts and height > 2 * timeline.ROW_PX


def test_timeline_of_many_moves_groups_rows_by_host_and_caps_them():
    moves = [move(f'vm-{i:03d}', f'host-{i // 3:02d}', (i % 3) * 4.0,
                  (i % 3) * 4.0 + 3.0) for i in range(150)]
    sched = types.SimpleNamespace(moves=moves, unscheduled=(),
                                  makespan_s=11.0)
    shapes, height = timeline.timeline(sched, 0.0, 0.0, 900.0,
                                       drawing.colour_of)
    texts = [s.text for s in shapes if isinstance(s, sc.Text)]
    assert 'host-00 (3)' in texts
    shown = [t for t in texts if t.startswith('host-')]
    assert len(shown) == timeline.MAX_LANES_TOTAL
    assert f'... {50 - len(shown)} more hosts, {150 - 3 * len(shown)} ' \
        'moves' in texts
    # a host's moves one after another share one lane
    assert height < (timeline.MAX_LANES_TOTAL + 6) * timeline.ROW_PX


def test_png_is_the_scene_pixel_for_pixel(tmp_path):
    snap = model.load(str(EXAMPLE))
    g, sched = drained(snap)
    scene = drawing.scene(snap, g, sched)
    data = drawing.draw(snap, g, sched, tmp_path / 'p.png').read_bytes()
    width, height = struct.unpack('>II', data[16:24])
    assert (width, height) == (scene.width, scene.height)
    page = drawing.draw(snap, g, sched, tmp_path / 'p.html').read_text()
    assert re.search(rf'<svg [^>]*width="{scene.width}" '
                     rf'height="{scene.height}"', page)
    assert page.count('<text') == sum(isinstance(s, sc.Text)
                                      for s in scene.shapes)


def test_html_needs_no_matplotlib(tmp_path):
    program = (
        'import sys\n'
        'from nova_livemig import graph, model\n'
        'from nova_livemig.cmd.picture import drawing\n'
        'from types import SimpleNamespace as N\n'
        f'snap = model.load({str(EXAMPLE)!r})\n'
        'empty = N(moves=(), unscheduled=(), makespan_s=0.0, bound_s=0.0,'
        ' nova=None)\n'
        f'drawing.draw(snap, graph.LinkGraph(snap), empty, '
        f'{str(tmp_path / "e.html")!r})\n'
        "print(json.dumps(sorted(m for m in sys.modules "
        "if m.startswith('matplotlib'))))\n")
    out = subprocess.run([sys.executable, '-c', 'import json\n' + program],
                         capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []
    assert '<svg' in (tmp_path / 'e.html').read_text()


def test_other_extension_is_refused(tmp_path):
    snap = model.load(str(EXAMPLE))
    g, sched = drained(snap)
    with pytest.raises(Exception, match='ending in .png or .html'):
        drawing.draw(snap, g, sched, tmp_path / 'p.svg')
