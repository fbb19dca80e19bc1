"""Which algorithms the planner may choose on its own (issue: no choice
without evidence).

An algorithm's constants must have been measured, by the project's own
calibration (:data:`PROJECT_MEASURED`, ``doc/calibration.md``) or by this
cloud's history (a :class:`~nova_livemig.calibration.Calibration` with at
least :data:`MIN_RECORDS` completed migrations of it). The others are left
out of the automatic choice and the plan says why.

>>> usable(('precopy', 'compress'), None)
(('precopy',), (('compress', 'its constants were never measured: not in \
the project calibration and no calibration from this cloud was given'),))
"""

#: algorithms whose models the project's testbed calibration measured
PROJECT_MEASURED = ('precopy', 'autoconverge', 'postcopy', 'hybrid')
#: completed migrations of an algorithm that count as evidence
MIN_RECORDS = 3


def usable(algorithms, calibration):
    """Split the allowed algorithms into those with evidence and the rest.

    :param algorithms: names, in the operator's order
    :param calibration: a :class:`~nova_livemig.calibration.Calibration`
        or None
    :returns: ``(usable names, ((name, reason), ...))``
    """
    keep = []
    left_out = []
    for name in algorithms:
        if name in PROJECT_MEASURED:
            keep.append(name)
            continue
        seen = 0 if calibration is None else calibration.evidence.get(name, 0)
        if seen >= MIN_RECORDS:
            keep.append(name)
        elif calibration is None:
            left_out.append((name, 'its constants were never measured: not '
                             'in the project calibration and no calibration '
                             'from this cloud was given'))
        else:
            left_out.append((name, f'its constants were never measured: not '
                             f'in the project calibration, and the '
                             f'calibration holds {seen} completed '
                             f'{name} migrations (at least {MIN_RECORDS} '
                             f'needed)'))
    return tuple(keep), tuple(left_out)
