"""Plans as values: the stable primitive form, and apply() as the referee
that every policy's plan must pass."""

import json

import pytest

from nova_livemig import cost
from nova_livemig import exception
from nova_livemig import model
from nova_livemig import plan


def cluster():
    return model.from_primitive({
        'version': 1,
        'hosts': [
            {'name': 'src', 'vcpus': 16, 'memory_mib': 32768,
             'aggregates': ['gold']},
            {'name': 'dst', 'vcpus': 16, 'memory_mib': 32768,
             'aggregates': ['gold', 'ssd']},
            {'name': 'plain', 'vcpus': 16, 'memory_mib': 32768},
            {'name': 'maint', 'vcpus': 16, 'memory_mib': 32768,
             'aggregates': ['gold'], 'state': 'maintenance'},
        ],
        'vms': [
            {'id': 'a', 'host': 'src', 'vcpus': 4, 'memory_mib': 8192,
             'cpu_util': 0.5, 'dirty_rate_mib_s': 10.0},
            {'id': 'b', 'host': 'src', 'vcpus': 4, 'memory_mib': 8192,
             'cpu_util': 0.5, 'dirty_rate_mib_s': 10.0},
            {'id': 'c', 'host': 'dst', 'vcpus': 2, 'memory_mib': 4096,
             'cpu_util': 0.5, 'dirty_rate_mib_s': 10.0},
            {'id': 'p', 'host': 'src', 'vcpus': 1, 'memory_mib': 1024,
             'cpu_util': 0.5, 'dirty_rate_mib_s': 1.0, 'pinned': True},
        ],
        'network': {'switches': ['tor'], 'links': [
            {'a': h, 'b': 'tor', 'gbit_s': 25.0}
            for h in ('src', 'dst', 'plain', 'maint')]}})


PRED = cost.Prediction('precopy', total_s=7.1234567, downtime_ms=42.0004,
                       bytes_sent=8800000000, converges=True, iterations=4,
                       slowdown=0.0, risks=())


def move(vm='a', source='src', destination='dst'):
    return plan.Move(vm, source, destination, 'precopy', PRED,
                     path=(('src', 'tor'), ('dst', 'tor')),
                     bandwidth_gbit_s=25.0)


def test_the_primitive_form_has_the_documented_keys():
    p = plan.Plan('drain', moves=(move(),),
                  unplaced=(plan.Unplaced('p', 'pinned'),),
                  summary={'drained_hosts': ['src']})
    data = json.loads(json.dumps(p.to_primitive()))
    assert list(data) == ['version', 'policy', 'moves', 'unplaced',
                          'totals', 'summary']
    assert data['version'] == 1 and data['policy'] == 'drain'
    [m] = data['moves']
    assert list(m) == ['vm', 'source', 'destination', 'algorithm',
                       'predicted', 'path', 'bandwidth_gbit_s']
    assert m['predicted'] == {
        'algorithm': 'precopy', 'total_s': 7.123, 'downtime_ms': 42.0,
        'bytes': 8800000000, 'converges': True, 'iterations': 4,
        'slowdown': 0.0, 'risks': []}
    assert m['path'] == [['src', 'tor'], ['dst', 'tor']]
    assert data['unplaced'] == [{'vm': 'p', 'reason': 'pinned'}]
    assert data['totals'] == {'moves': 1, 'unplaced': 1,
                              'bytes': 8800000000, 'sum_total_s': 7.123,
                              'max_downtime_ms': 42.0}
    assert data['summary'] == {'drained_hosts': ['src']}


def test_an_empty_plan_has_zero_totals():
    data = plan.Plan('noop').to_primitive()
    assert data['moves'] == [] and data['unplaced'] == []
    assert data['totals'] == {'moves': 0, 'unplaced': 0, 'bytes': 0,
                              'sum_total_s': 0.0, 'max_downtime_ms': 0.0}


def test_a_plan_survives_a_round_trip():
    p = plan.Plan('single', moves=(move(),),
                  unplaced=(plan.Unplaced('b', 'no destination: ...'),),
                  summary={'requested': ['a', 'b']})
    again = plan.Plan.from_primitive(json.loads(json.dumps(
        p.to_primitive())))
    assert again.policy == 'single' and again.summary == p.summary
    assert again.unplaced == p.unplaced
    [m] = again.moves
    assert (m.vm, m.source, m.destination, m.path) == (
        'a', 'src', 'dst', (('src', 'tor'), ('dst', 'tor')))
    assert m.predicted.total_s == 7.123  # rounded on the wire
    assert m.predicted.bytes_sent == PRED.bytes_sent


def test_apply_returns_the_placement_after_the_moves():
    snap = cluster()
    after = plan.apply(snap, [move('a'), move('b', destination='dst')])
    assert [vm.id for vm in after.vms_on('dst')] == ['a', 'b', 'c']
    assert [vm.id for vm in after.vms_on('src')] == ['p']
    assert snap.vms['a'].host == 'src'  # the input is not changed


def test_apply_follows_a_vm_moved_twice():
    # a may go back home: its aggregates are those of the host it started
    # on, not of the one it passed through
    snap = cluster()
    moves = [move('a', 'src', 'dst'), move('a', 'dst', 'plain')]
    with pytest.raises(exception.InvalidPlan, match='from aggregates'):
        plan.apply(snap, moves)
    moves = [move('a', 'src', 'dst'), move('a', 'dst', 'src')]
    assert plan.apply(snap, moves).vms['a'].host == 'src'


@pytest.mark.parametrize('bad,message', [
    (move('zz'), "move of unknown VM 'zz'"),
    (move(destination='nowhere'), "to unknown host 'nowhere'"),
    (move('c', 'src', 'plain'), 'move of c from src, but it is on dst'),
    (move('p'), 'move of pinned VM p'),
    (move('c', 'dst', 'dst'), 'move of c to dst, the host it is on'),
    (move(destination='maint'), 'to maint, which is maintenance'),
    (move(destination='plain'), "from aggregates ['gold'] to []"),
])
def test_apply_refuses_a_move_that_breaks_a_rule(bad, message):
    with pytest.raises(exception.InvalidPlan, match=message.replace(
            '[', r'\[').replace(']', r'\]')):
        plan.apply(cluster(), [bad])


def test_apply_refuses_a_plan_that_overfills_a_host():
    # shrink dst to 8 vcpus; c already uses 2, a and b bring 8 more
    data = cluster().to_primitive()
    data['hosts'][1]['vcpus'] = 8
    snap = model.from_primitive(data)
    with pytest.raises(exception.InvalidPlan,
                       match='host dst overfilled: 10 vcpus of 8'):
        plan.apply(snap, [move('a'), move('b')])


def test_apply_checks_memory_too():
    snap = cluster()
    big = model.Vm('big', 'plain', 1, 30000, 0.1, 1.0)
    snap = snap.with_vms([big])
    with pytest.raises(exception.InvalidPlan, match='34096 MiB of 32768'):
        plan.apply(snap, [move('big', 'plain', 'dst')])


def test_a_refused_plan_is_exit_status_2():
    assert exception.InvalidPlan('x').exit_code == 2
