"""Counts over a period and the figures derived from them (SL, ASA, AHT, abandon rate).

`Tally` is the mutable accumulator measurement adds events to; `Figures` is the
frozen, derived view the API shows. Both are per team × channel and period.
"""

from __future__ import annotations

from dataclasses import dataclass

from sla.formula import SlFormula


@dataclass(slots=True)
class Tally:
    answered: int = 0
    answered_within: int = 0
    abandoned: int = 0
    short_abandoned: int = 0
    expired: int = 0
    wait_total: float = 0.0  # summed waits of answered interactions
    completed: int = 0
    handle_total: float = 0.0
    breaches: int = 0
    at_risk: int = 0

    def add(self, other: Tally) -> None:
        for name in Tally.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def figures(self, formula: SlFormula) -> Figures:
        offered = self.answered + self.abandoned + self.expired
        long_abandoned = self.abandoned - self.short_abandoned
        return Figures(
            offered=offered,
            answered=self.answered,
            answered_within=self.answered_within,
            abandoned=self.abandoned,
            short_abandoned=self.short_abandoned,
            expired=self.expired,
            completed=self.completed,
            breaches=self.breaches,
            at_risk=self.at_risk,
            service_level=_ratio(self.answered_within, _denominator(self, formula)),
            asa=_ratio(self.wait_total, self.answered),
            aht=_ratio(self.handle_total, self.completed),
            # Short abandons are left out of both sides, like they are left out of SL.
            abandon_rate=_ratio(long_abandoned, offered - self.short_abandoned),
        )


def _denominator(tally: Tally, formula: SlFormula) -> int:
    if formula is SlFormula.ANSWERED_ONLY:
        return tally.answered
    if formula is SlFormula.ALL_OFFERED:
        return tally.answered + tally.abandoned + tally.expired
    return tally.answered + tally.abandoned - tally.short_abandoned + tally.expired


def _ratio(numerator: float, denominator: float) -> float | None:
    """None rather than 0 or 1 when nothing happened: "no data" is not "100%"."""
    return None if denominator <= 0 else numerator / denominator


@dataclass(frozen=True, slots=True)
class Figures:
    """One period's measurements. Ratios are None when their denominator is zero.

    `offered` = answered + abandoned + expired: interactions whose wait ended in the
    period (counted when the wait ends, so SL and counts agree for an interval).
    """

    offered: int
    answered: int
    answered_within: int
    abandoned: int
    short_abandoned: int
    expired: int
    completed: int
    breaches: int
    at_risk: int
    service_level: float | None
    asa: float | None
    aht: float | None
    abandon_rate: float | None
