"""The incremental dispatch board decides what ``dispatch.decide`` does,
on random plans as their steps start and end, and a pass reads no
finished step."""

import random

import pytest

from nova_livemig import model
from nova_livemig.conductor import board as board_mod
from nova_livemig.conductor import dispatch
from nova_livemig.conductor import settings as settings_mod

HOSTS = [f'h{i}' for i in range(6)]


def snapshot(placement, down=()):
    return model.from_primitive({
        'version': 1,
        'hosts': [{'name': h, 'vcpus': 8, 'memory_mib': 8192,
                   'state': 'down' if h in down else 'up'} for h in HOSTS],
        'vms': [{'id': v, 'host': h, 'vcpus': 2, 'memory_mib': 2048,
                 'cpu_util': 0.1, 'dirty_rate_mib_s': 1.0}
                for v, h in placement.items()],
        'network': {'switches': ['t'], 'links': [
            {'a': h, 'b': 't', 'gbit_s': 10.0} for h in HOSTS]}})


def random_plan(rng, n_vms=12, n_steps=25):
    placement = {f'v{i}': rng.choice(HOSTS) for i in range(n_vms)}
    where = dict(placement)
    steps = []
    for seq in range(n_steps):
        vm = rng.choice(sorted(placement))
        src = where[vm]
        dst = rng.choice([h for h in HOSTS if h != src])
        where[vm] = dst
        start = rng.choice([0.0, 5.0, 10.0, 15.0])
        steps.append({'id': f's{seq}', 'seq': seq, 'vm': vm, 'source': src,
                      'destination': dst, 'state': 'pending',
                      'path': [[src, 't'], ['t', dst]],
                      'planned_start_s': start,
                      'planned_end_s': start + rng.choice([4.0, 5.0, 9.0])})
    return placement, steps


def as_set(decisions):
    return [(a, s['id'], h) for a, s, h in decisions]


@pytest.mark.parametrize('seed', range(40))
def test_board_decides_as_decide_through_a_whole_plan(seed):
    rng = random.Random(seed)
    placement, steps = random_plan(rng)
    limits = settings_mod.Settings(max_outgoing_per_host=rng.choice([1, 2]),
                                   max_incoming_per_host=rng.choice([1, 2]))
    board = board_mod.Board(steps)
    down = set()
    for _ in range(60):
        snap = snapshot(placement, down)
        warming = rng.random() < 0.2
        want = dispatch.decide(steps, snap, limits, warming)
        got = board.decide(snap, limits, warming)
        assert as_set(got) == as_set(want)
        if not want and not any(s['state'] == 'running' for s in steps):
            break
        # act as the runner would, then end some running steps
        for action, step, host in want:
            i = steps.index(step)
            if action == dispatch.START:
                steps[i] = dict(step, state='running', source=host)
            else:
                steps[i] = dict(step, state='skipped')
            board.update(steps[i])
        for i, s in enumerate(steps):
            if s['state'] == 'running' and rng.random() < 0.5:
                ok = rng.random() < 0.8
                steps[i] = dict(s, state='completed' if ok else 'failed')
                if ok:
                    placement[s['vm']] = s['destination']
                board.update(steps[i])
        if rng.random() < 0.1:
            down = {rng.choice(HOSTS)}
        if rng.random() < 0.2:  # a re-planned step joins the plan
            vm = rng.choice(sorted(placement))
            dst = rng.choice([h for h in HOSTS if h != placement[vm]])
            new = {'id': f's{len(steps)}', 'seq': len(steps), 'vm': vm,
                   'source': placement[vm], 'destination': dst,
                   'state': 'pending',
                   'path': [[placement[vm], 't'], ['t', dst]],
                   'planned_start_s': 5.0, 'planned_end_s': 10.0}
            steps.append(new)
            board.update(new)


def test_a_pass_reads_no_finished_step():
    """A finished step is never looked at again: the pass costs the
    unfinished steps only."""
    steps = [{'id': f's{i}', 'seq': i, 'vm': f'v{i}', 'source': 'h0',
              'destination': 'h1', 'state': 'completed', 'path': [],
              'planned_start_s': 0.0, 'planned_end_s': 1.0}
             for i in range(1000)]

    class Poisoned(dict):
        def __getitem__(self, key):
            raise AssertionError('a finished step was read')

    board = board_mod.Board(steps)
    for i in range(1000):
        board._steps[f's{i}'] = Poisoned()
    assert board.unfinished_count() == 0
    snap = snapshot({'v1': 'h0'})
    assert board.decide(snap, settings_mod.Settings()) == []
