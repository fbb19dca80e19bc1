"""Calibration: the cost models' constants fitted to a cloud's history.

A :class:`Calibration` holds, for each constant it could fit, the value,
its uncertainty and how many records it rests on; the constants it could
not fit stay at their defaults and are listed with the reason; and the
*evidence*, how many migrations of each algorithm the history holds.
:mod:`~nova_livemig.calibration.fit` makes one from history records,
:mod:`~nova_livemig.calibration.document` reads and writes its JSON form
(``CAL.json``, ``doc/calibration.md``) and
:mod:`~nova_livemig.calibration.evidence` says which algorithms the
planner may choose on its own.
"""

import dataclasses
import typing


class Constant(typing.NamedTuple):
    """One fitted constant.

    :ivar value: the fit
    :ivar stderr: its standard error (bootstrap or median-based), None
        when it cannot be told
    :ivar records: how many records the fit rests on
    """
    value: float
    stderr: float | None
    records: int


@dataclasses.dataclass(frozen=True)
class Calibration:
    """Constants fitted to a cloud's migration history.

    :ivar constants: ``{CostParams field: Constant}``, the fitted ones
    :ivar defaulted: ``{CostParams field or figure: reason}``, the ones
        left at their defaults
    :ivar evidence: ``{algorithm: completed migrations in the history}``
    :ivar records: records the fit read
    :ivar fitted_at: epoch seconds, None when unknown
    :ivar by_path: ``{"source>destination": Constant}``, the goodput
        fraction of each host pair with enough records (a report: the
        planner uses the cloud-wide value)
    """
    constants: dict
    defaulted: dict = dataclasses.field(default_factory=dict)
    evidence: dict = dataclasses.field(default_factory=dict)
    records: int = 0
    fitted_at: float | None = None
    by_path: dict = dataclasses.field(default_factory=dict)

    def params(self, base):
        """The cost constants: ``base`` with the fitted ones replaced.

        :param base: a :class:`~nova_livemig.cost.CostParams` (from
            ``[cost_model]``)
        """
        known = {f.name for f in dataclasses.fields(base)}
        return dataclasses.replace(base, **{
            name: c.value for name, c in self.constants.items()
            if name in known})
