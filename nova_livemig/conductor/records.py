"""The history record of a step, from what the planner knew and how the
step ended. Pure: plain step dicts in, a
:class:`~nova_livemig.history.record.Record` out; the runner stores it.

A step carries its record's ``before`` from its creation (the ``before``
column: the VM as in the snapshot the plan was made from, the path
bandwidth of the move, the downtime target), so that a step finishing
after a conductor restart still gets its record. Only a migration that
ran gets one: a step that ends completed, failed or aborted with the
statistics of a driver or of Nova; a skipped step, or one given up
without any statistics (its agent gone, its message lost), has none.

>>> from nova_livemig import model
>>> vm = model.Vm(id='v1', host='a', vcpus=1, memory_mib=256, cpu_util=0.2,
...               dirty_rate_mib_s=40.0)
>>> step = {'id': 's1', 'vm': 'v1', 'source': 'a', 'destination': 'b',
...         'algorithm': 'precopy', 'before': before_primitive(vm, 0.2, 300)}
>>> result = {'state': 'completed', 'stats': {
...     'total_s': 12.0, 'downtime_ms': 280.0, 'bytes': 3 * 2 ** 28,
...     'iterations': 3, 'postcopy': False, 'zero_pages': 8192}}
>>> rec = record_of(step, result, finished_at=1e9)
>>> rec.step_id, rec.after.completed, rec.resident_mib()
('s1', True, 224.0)
>>> record_of(step, dict(result, stats={}), finished_at=1e9) is None
True

A post-copy whose link broke carries its pauses and the guest's stall;
one that never came back (failed, its VM on the destination) too:

>>> stranded = {'state': 'failed', 'stats': {
...     'total_s': 40.0, 'downtime_ms': 0.0, 'bytes': 2 ** 27,
...     'iterations': 1, 'postcopy': True, 'postcopy_started_s': 2.0,
...     'postcopy_pauses': 1, 'postcopy_paused_s': 30.5}}
>>> rec = record_of(dict(step, algorithm='postcopy'), stranded, 1e9)
>>> rec.after.completed, rec.after.postcopy_pauses, rec.after.postcopy_paused_s
(False, 1, 30.5)
"""

from nova_livemig import exception
from nova_livemig.history import record

#: the step states whose migration ran
RAN = ('completed', 'failed', 'aborted')


def before_primitive(vm, path_gbit_s, max_downtime_ms):
    """The ``before`` column of a step: what the planner knows of ``vm``.

    :param vm: the :class:`~nova_livemig.model.Vm` as planned
    :param path_gbit_s: the path bandwidth the plan assumed
    :param max_downtime_ms: the step's downtime target
    :returns: the JSON form of the record's ``before``, or None when it
        would not be a valid one (no bandwidth known: no record then)
    """
    before = record.before_of(vm, path_gbit_s, max_downtime_ms)
    data = record.before_to_primitive(before)
    try:
        record.before_from_primitive(data)
    except exception.InvalidSnapshot:
        return None
    return data


def record_of(step, result, finished_at, stats=None):
    """The history record of a step that ended, or None when none is due
    (see the module doc) or the step has no ``before``.

    :param step: the step dict (its ``before``, ``id``, ``vm``, ``source``,
        ``destination``, ``algorithm``)
    :param result: the Result primitive that ended it
    :param finished_at: epoch seconds
    :param stats: the statistics to record, when not the result's (the
        runner passes the agent's under the ``nova`` executor, or the
        result's without what the executor does not measure)
    :returns: a checked :class:`~nova_livemig.history.record.Record`
    :raises InvalidSnapshot: when the record would not be valid (a value
        out of the history format's bounds)
    """
    state = result['state']
    stats = result.get('stats') if stats is None else stats
    if state not in RAN or not stats or not step.get('before'):
        return None
    rec = record.Record(
        vm=step['vm'], source=step['source'],
        destination=step['destination'], algorithm=step['algorithm'],
        before=record.before_from_primitive(step['before']),
        after=record.after_of(state, stats), step_id=step['id'],
        finished_at=round(finished_at, 3))
    return record.from_primitive(record.to_primitive(rec))


def stranded(step, result):
    """True when a step ended with its VM stranded: a post-copy whose
    link never came back, the VM paused on the destination and its memory
    split between the two hosts (the agent's error says so). Such a VM is
    not re-planned: only a resume of that migration, once the link is
    back, saves it.

    >>> step = {'destination': 'b'}
    >>> stranded(step, {'state': 'failed', 'host': 'b',
    ...                 'stats': {'postcopy': True, 'postcopy_pauses': 1}})
    True
    >>> stranded(step, {'state': 'failed', 'host': 'a',
    ...                 'stats': {'postcopy': False}})
    False
    """
    stats = result.get('stats') or {}
    return (result['state'] == 'failed'
            and result.get('host') == step['destination']
            and bool(stats.get('postcopy'))
            and bool(stats.get('postcopy_pauses')))


def recorded_stats(stats, unmeasured=()):
    """The statistics of a result without those the executor does not
    measure (Nova reports no downtime nor passes: its zeros are not
    measurements).

    >>> recorded_stats({'total_s': 3.0, 'downtime_ms': 0.0},
    ...                ('downtime_ms',))
    {'total_s': 3.0}
    """
    return {k: v for k, v in (stats or {}).items() if k not in unmeasured}
