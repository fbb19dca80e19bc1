"""What a VM's earlier migrations say about its resident memory.

A completed migration whose driver counted the zero pages it skipped
tells how much of the guest's memory was in use
(:meth:`~nova_livemig.history.record.Record.resident_mib`). The live
model gives that figure to a VM whose measurements have none, so that
the cost model does not take all its memory as sent.

:func:`latest_resident_mib` is the whole rule; :func:`merge` and
:func:`figures` are the same rule in two halves, for a holder that learns
records as they come (the conductor's live model) and keeps only one
``(finished_at, MiB)`` pair per VM.

>>> from nova_livemig.history import record
>>> old = record.from_primitive(dict(record.EXAMPLE, finished_at=10.0))
>>> latest_resident_mib([old])
{'vm-1': 221.453}
"""

#: digits kept of a resident figure, MiB
_DIGITS = 3
#: when a record without ``finished_at`` finished: before every other
_NO_TIME = float('-inf')


def merge(known, records):
    """``known`` updated with ``records``: per VM, the ``(finished_at,
    resident MiB)`` of its latest completed record with page counts
    (records without ``finished_at`` count as the oldest; on a tie the
    later record wins, a new one over a known one).

    :param known: ``{vm: (finished_at, resident_mib)}``, not changed
    :param records: :class:`~nova_livemig.history.record.Record` values
    :returns: a new dict of the same form
    """
    out = dict(known)
    for rec in records:
        resident = rec.resident_mib()
        if resident is None:
            continue
        at = _NO_TIME if rec.finished_at is None else rec.finished_at
        if rec.vm not in out or at >= out[rec.vm][0]:
            out[rec.vm] = (at, round(resident, _DIGITS))
    return out


def figures(known):
    """``{vm: resident MiB}`` of a :func:`merge` result, leaving out
    figures of 0 (a guest is never all zero pages)."""
    return {vm: mib for vm, (_, mib) in known.items() if mib > 0}


def latest_resident_mib(records):
    """``{vm: resident MiB}`` from each VM's latest completed record with
    page counts (see :func:`merge`); VMs whose records say nothing, or 0,
    are left out.

    :param records: :class:`~nova_livemig.history.record.Record` values
    :returns: a dict

    >>> from nova_livemig.history import record
    >>> def rec(at, zero_pages, completed=True):
    ...     after = dict(record.EXAMPLE['after'], zero_pages=zero_pages,
    ...                  completed=completed, aborted=not completed)
    ...     return record.from_primitive(dict(record.EXAMPLE, after=after,
    ...                                       finished_at=at))
    >>> latest_resident_mib([rec(5.0, 0), rec(9.0, 32768), rec(7.0, 1)])
    {'vm-1': 128.0}
    >>> latest_resident_mib([rec(5.0, 0), rec(9.0, 1, completed=False)])
    {'vm-1': 256.0}
    >>> latest_resident_mib([rec(9.0, None)])
    {}
    """
    return figures(merge({}, records))
