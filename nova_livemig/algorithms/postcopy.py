"""``postcopy``: switch over first, then pull the memory.

The guest is paused only for its vCPU and device state, then runs on the
destination while one pass sends every page (pages it touches first are
requested out of turn; they fault across the link meanwhile). With ``B``
the payload rate, ``R`` the resident bytes, ``Z`` the zero-page cost:

    downtime ``= switchover_ms + device_state / B``
    total ``= setup_s + downtime + (R + Z) / B``
    slowdown ``= postcopy_slowdown * ((R + Z) / B) / total``

It always completes, whatever the dirty rate, but the guest's memory is
split between the hosts until it does: a link failure during the pass loses
the VM (risk ``'vm-lost-on-link-failure'``), unless both ends can recover
a paused post-copy (:func:`recoverable`: libvirt >= 8.5 and QEMU >= 3.0):
the guest then stalls until the link is back and the agent resumes the
migration (risk ``'vm-paused-on-link-failure'``, see
:mod:`nova_livemig.drivers.postcopy_recovery`). What a recoverable break
costs is time, which the history measures (:func:`measured_stall_share`);
what an unrecoverable one costs is the VM, which no time saving buys back.
"""

from nova_livemig import algorithms
from nova_livemig import cost

#: the risk of a post-copy whose both ends recover a broken link: the
#: guest stalls until the link is back (and is stranded if it never is)
RISK_VM_PAUSED = 'vm-paused-on-link-failure'
#: libvirt's first version with ``VIR_MIGRATE_POSTCOPY_RESUME`` (8.5.0)
#: and QEMU's first with ``postcopy-recover`` (3.0.0), in libvirt's
#: ``major * 1000000 + minor * 1000 + micro`` form
LIBVIRT_POSTCOPY_RESUME = 8005000
QEMU_POSTCOPY_RECOVER = 3000000


def recoverable(libvirt_version, qemu_version):
    """True when a host can pause and resume a post-copy whose link
    broke.

    :param libvirt_version: ``virConnectGetLibVersion`` (8005000 is 8.5.0)
    :param qemu_version: ``virConnectGetVersion`` of the QEMU driver
    :returns: bool; a migration is recoverable when both ends are

    >>> recoverable(9000000, 10000002)   # the testbed: libvirt 9.0, QEMU 10
    True
    >>> recoverable(8000000, 10000002)   # libvirt 8.0: no resume flag
    False
    """
    return (libvirt_version >= LIBVIRT_POSTCOPY_RESUME
            and qemu_version >= QEMU_POSTCOPY_RECOVER)


def link_risk(recoverable_both_ends):
    """The link-failure risk of a post-copy between two hosts.

    >>> link_risk(True), link_risk(False)
    ('vm-paused-on-link-failure', 'vm-lost-on-link-failure')
    """
    return RISK_VM_PAUSED if recoverable_both_ends else cost.RISK_VM_LOST


def measured_stall_share(afters):
    """The share of post-copy migration time its guests stalled on
    broken links, from history: ``sum(postcopy_paused_s) /
    sum(total_s)`` over the post-copy migrations that recorded their
    pauses (a stranded one counts its whole stall). This, not a constant,
    is what a recoverable post-copy's time should be charged.

    :param afters: :class:`~nova_livemig.history.record.After` values (or
        anything with ``postcopy_started_s``, ``postcopy_pauses``,
        ``postcopy_paused_s`` and ``total_s``)
    :returns: ``(share, migrations)``; share None when none recorded
        pauses

    >>> from nova_livemig.history import record
    >>> a = record.After(completed=True, total_s=28.0, bytes=1,
    ...                  postcopy_started_s=2.4, postcopy_pauses=1,
    ...                  postcopy_paused_s=18.0)
    >>> b = record.After(completed=True, total_s=12.0, bytes=1,
    ...                  postcopy_started_s=2.0, postcopy_pauses=0,
    ...                  postcopy_paused_s=0.0)
    >>> measured_stall_share([a, b])
    (0.45, 2)
    >>> measured_stall_share([record.After(completed=True, total_s=9.0,
    ...                                    bytes=1)])
    (None, 0)
    """
    seen = [a for a in afters if a.postcopy_started_s is not None
            and a.postcopy_pauses is not None
            and a.postcopy_paused_s is not None and a.total_s > 0]
    if not seen:
        return None, 0
    total = sum(a.total_s for a in seen)
    return (round(sum(a.postcopy_paused_s for a in seen) / total, 6),
            len(seen))


def postcopy_phase(pending_bytes, missing_fraction, rate_bytes_s, params):
    """The post-copy phase after the switchover.

    :param pending_bytes: bytes still on the source
    :param missing_fraction: fraction of the pages the guest uses that are
        still on the source (1 for pure post-copy)
    :param rate_bytes_s: payload rate
    :param params: a :class:`~nova_livemig.cost.CostParams`
    :returns: ``(seconds, guest-seconds lost to page faults)``

    >>> postcopy_phase(100 * cost.MIB, 1.0, 50 * cost.MIB,
    ...                cost.CostParams(postcopy_slowdown=0.5))
    (2.0, 1.0)
    """
    seconds = pending_bytes / rate_bytes_s
    return seconds, seconds * params.postcopy_slowdown * missing_fraction


class PostCopy(algorithms.Algorithm):
    """Pure post-copy.

    The testbed case: 256 MiB over 200 Mbit/s (22.9 MiB/s of payload)
    finishes in about 12 s (0.9 s of setup, a pass of 11.2 s) with a few
    ms of downtime (the 4 ms switchover and 2.2 ms of device state), even
    when the guest dirties 40 MiB/s:

    >>> r = PostCopy().predict(cost.MigrationInput(256, 40, 0.2),
    ...                        cost.CostParams())
    >>> round(r.total_s, 1), round(r.downtime_ms, 1), r.risks
    (12.1, 6.2, ('vm-lost-on-link-failure',))
    """

    name = 'postcopy'
    uses_postcopy = True

    def predict(self, inp, params):
        """See :meth:`nova_livemig.algorithms.Algorithm.predict`."""
        cost.check_input(inp)
        rate = cost.bytes_per_s(inp.bandwidth_gbit_s, params)
        pages = (cost.resident_bytes(inp, params)
                 + cost.zero_page_bytes(inp, params))
        pause_s = cost.switchover_s(params, rate)
        pass_s, lost_s = postcopy_phase(pages, 1.0, rate, params)
        total_s = params.setup_s + pause_s + pass_s
        return cost.within_time(cost.Prediction(
            algorithm=self.name, total_s=total_s,
            downtime_ms=pause_s * 1000.0,
            bytes_sent=int(pages + params.device_state_mib * cost.MIB),
            converges=True, iterations=0, slowdown=lost_s / total_s,
            risks=(cost.RISK_VM_LOST,)), inp)
