"""Service-level measurement: an event subscriber that keeps per team × channel tallies.

Subscribe an instance to the `EventBus`; call `stats(now)` for a snapshot. Time is
only ever the events' `.at` and the `now` passed in — never the wall clock — so the
same code measures live traffic and virtual-time simulations.

Two views are kept:

- fixed intervals (15 min by default) aligned to multiples of the interval since the
  epoch, i.e. :00/:15/:30/:45 wall time in every timezone with a whole, half or
  quarter-hour offset — the periods supervisors report on;
- rolling windows (5 min and 1 h by default) ending at `now` — what "SL now" means on
  a wallboard. An event at exactly `now - window` is outside the window.

An event is counted in the period in which the wait *ended* (answer, abandon, expiry),
which is when its outcome against the threshold becomes known.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

from router.events import Batched, Event, EventKind, InteractionEvent
from router.interaction import Channel
from router.snapshot import Snapshot
from sla.figures import Figures, Tally
from sla.formula import SlFormula
from sla.policy import SlaPolicies, SlaPolicy

DEFAULT_INTERVAL = 900.0
DEFAULT_WINDOWS: tuple[float, ...] = (300.0, 3600.0)
DEFAULT_HISTORY = 96  # 24 h of 15-minute intervals

TeamChannel = tuple[str, Channel]

@dataclass(frozen=True, slots=True)
class IntervalFigures:
    start: float
    end: float
    figures: Figures


@dataclass(frozen=True, slots=True)
class TeamChannelStats:
    """What the API and console show for one team × channel."""

    team: str
    channel: Channel
    threshold: float
    target: float
    formula: SlFormula
    #: the shortest rolling window ("SL now")
    now: Figures
    #: the current interval so far
    interval: Figures
    #: every rolling window by its length in seconds
    windows: Mapping[float, Figures]
    #: completed and current intervals, oldest first
    history: tuple[IntervalFigures, ...]

    @property
    def service_level_now(self) -> float | None:
        return self.now.service_level

    @property
    def service_level_interval(self) -> float | None:
        return self.interval.service_level

    @property
    def meets_target(self) -> bool | None:
        """Against the current interval; None until something was offered."""
        level = self.interval.service_level
        return None if level is None else level >= self.target


@dataclass(frozen=True, slots=True)
class SlaStats:
    at: float
    interval_start: float
    interval_length: float
    formula: SlFormula
    team_channels: tuple[TeamChannelStats, ...]
    #: team -> busy capacity / capacity of logged-in agents (from the store snapshot)
    occupancy: Mapping[str, float]

    def get(self, team: str, channel: Channel | str) -> TeamChannelStats | None:
        for item in self.team_channels:
            if item.team == team and item.channel == channel:
                return item
        return None


#: `_Series.second` when no second is pending: below every second, so the next event
#: starts one (a sentinel such as -1 would swallow events of the second before 0).
_NO_SECOND = -math.inf


class _Series:
    """The tallies of one team × channel: per reporting interval, and per second.

    Rolling windows are sums of the per-second tallies, so they are exact to the
    second and memory is bounded by the longest window (not by the traffic in it).

    An event counts in one tally only: `current`, the tally of the latest second
    (`second`), which is folded into its interval's tally when a later second begins
    (or when it is pruned); until then readers add it to its interval themselves
    (`ServiceLevelTracker._interval_figures`). Events mostly arrive in time order, so
    almost all of them take that path; an event for an earlier second counts in that
    second and in its interval directly.
    """

    __slots__ = ("current", "hot", "intervals", "second", "seconds")

    def __init__(self) -> None:
        self.intervals: dict[float, Tally] = {}
        self.seconds: dict[int, Tally] = {}
        self.second: float = _NO_SECOND  # the latest second, while it is not folded
        self.current = Tally()
        #: what an event of the latest second counts in
        self.hot: tuple[Tally, ...] = (self.current,)

#: Kinds that add one to a single `Tally` field -> that field.
_ONE_COUNT: dict[EventKind, str] = {
    EventKind.EXPIRED: "expired",
    EventKind.SLA_BREACHED: "breaches",
    EventKind.SLA_AT_RISK: "at_risk",
}

#: Event time between two prunes of expired per-second tallies.
_PRUNE_EVERY = 60.0


class ServiceLevelTracker(Batched):
    """Measures service level per team × channel from routing events.

    The threshold for an answer is the event's `threshold` (the deadline the core used);
    an event without one falls back to the policy of its team, channel and — when the
    event's `detail` names them — its `sla_class` and `public` flag.

    It is a `BatchedSubscriber`: the bus hands it only the kinds it counts (others are
    not even built if nobody else wants them), it holds them and counts them in
    batches; `stats` counts what is held first.
    """

    __slots__ = ("_formula", "_history", "_interval", "_latest", "_next_prune",
                 "_policies", "_series", "_windows", "handlers")

    def __init__(
        self,
        policies: SlaPolicies | None = None,
        formula: SlFormula = SlFormula.ABANDONS_AFTER_SHORT,
        interval: float = DEFAULT_INTERVAL,
        windows: Sequence[float] = DEFAULT_WINDOWS,
        history: int = DEFAULT_HISTORY,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be > 0 seconds, got {interval!r}")
        if not windows or min(windows) <= 0:
            raise ValueError(f"windows must be non-empty and > 0 seconds, got {windows!r}")
        if history < 1:
            raise ValueError(f"history must be >= 1 interval, got {history!r}")
        self._policies = policies if policies is not None else SlaPolicies.defaults()
        self._formula = formula
        self._interval = float(interval)
        self._windows = tuple(sorted(float(w) for w in windows))
        self._history = history
        self._series: dict[TeamChannel, _Series] = {}
        self._latest = -math.inf
        self._next_prune = -math.inf
        self.handlers = self.hold(
            (EventKind.ASSIGNED, EventKind.COMPLETED, EventKind.ABANDONED, *_ONE_COUNT))

    # -- subscriber -----------------------------------------------------------------
    def consume(self, events: list[Event]) -> None:
        # Only counted kinds are held, and they are all interaction events.
        for event in cast(list[InteractionEvent], events):
            kind = event.kind
            if kind is EventKind.ASSIGNED:  # one per answered interaction
                waited = event.waited
                threshold = event.threshold  # the deadline the core used
                within = (waited <= threshold if threshold is not None
                          else self._policy_for(event).within(waited))
                for tally in self._tallies(event):
                    tally.answered += 1
                    tally.answered_within += within
                    tally.wait_total += waited
            elif kind is EventKind.COMPLETED:  # one per handled interaction
                handled = event.handled or 0.0
                for tally in self._tallies(event):
                    tally.completed += 1
                    tally.handle_total += handled
            elif kind is EventKind.ABANDONED:
                short = self._policy_for(event).short(event.waited)
                for tally in self._tallies(event):
                    tally.abandoned += 1
                    tally.short_abandoned += short
            else:
                field = _ONE_COUNT[kind]
                for tally in self._tallies(event):
                    setattr(tally, field, getattr(tally, field) + 1)

    def _tallies(self, event: InteractionEvent) -> tuple[Tally, ...]:
        """The tallies the event counts in (see `_Series`)."""
        pair = (event.team, event.channel)
        series = self._series.get(pair)
        if series is None:
            series = self._series[pair] = _Series()
        at = event.at
        second = math.floor(at)
        if second == series.second:
            return series.hot
        if second > series.second:  # time moved on: this is the new latest second
            self._fold(series)
            slot = series.seconds.get(second)
            if slot is None:
                slot = series.seconds[second] = Tally()
            series.second, series.current, series.hot = second, slot, (slot,)
            tallies: tuple[Tally, ...] = series.hot
        else:  # a late event: its second and interval were already folded
            slot = series.seconds.get(second)
            if slot is None:
                slot = series.seconds[second] = Tally()
            tallies = (slot, self._interval_tally(series, at))
        if at > self._latest:
            self._latest = at
            if at >= self._next_prune:
                self._next_prune = at + _PRUNE_EVERY
                self._prune()
        return tallies

    def _interval_tally(self, series: _Series, at: float) -> Tally:
        start = self.interval_start(at)
        interval = series.intervals.get(start)
        if interval is None:
            interval = series.intervals[start] = Tally()
        return interval

    def _fold(self, series: _Series) -> None:
        """Add the latest second's tally to its interval; it is no longer pending."""
        if series.second != _NO_SECOND:
            self._interval_tally(series, series.second).add(series.current)
            series.second = _NO_SECOND

    def _interval_figures(self, series: _Series, start: float) -> Tally:
        """The interval's tally, with the pending latest second (if it is in it)."""
        tally = Tally()
        folded = series.intervals.get(start)
        if folded is not None:
            tally.add(folded)
        if series.second != _NO_SECOND and self.interval_start(series.second) == start:
            tally.add(series.current)
        return tally

    def set_policies(self, policies: SlaPolicies) -> None:
        """Follow a live SLA change: targets, thresholds and short-abandon times of
        what happens from now on (what already happened keeps its outcome)."""
        self.drain()  # held events happened under the old policies
        self._policies = policies

    def interval_start(self, at: float) -> float:
        return math.floor(at / self._interval) * self._interval

    def _policy_for(self, event: InteractionEvent) -> SlaPolicy:
        sla_class = event.detail.get("sla_class")
        public = bool(event.detail.get("public", False))
        return self._policies.policy(
            event.team, event.channel, sla_class if isinstance(sla_class, str) else None, public
        )

    def _prune(self) -> None:
        """Drop per-second tallies older than the longest window and intervals beyond
        history, so memory stays bounded whatever `stats` is asked."""
        horizon = math.floor(self._latest - self._windows[-1])
        oldest_interval = self.interval_start(self._latest) - (self._history - 1) * self._interval
        for series in self._series.values():
            if _NO_SECOND < series.second <= horizon:
                self._fold(series)  # its per-second tally is about to go
            for second in [s for s in series.seconds if s <= horizon]:
                del series.seconds[second]
            for start in [s for s in series.intervals if s < oldest_interval]:
                del series.intervals[start]

    # -- reading -----------------------------------------------------------------
    def stats(self, now: float, snapshot: Snapshot | None = None) -> SlaStats:
        """Figures as of `now`; `snapshot` (if given) supplies occupancy per team."""
        self.drain()
        current = self.interval_start(now)
        pairs = list(self._series)
        for pair in self._policies.team_channels():
            if pair not in self._series:
                pairs.append(pair)  # configured but quiet: still shown, with no data
        return SlaStats(
            at=now,
            interval_start=current,
            interval_length=self._interval,
            formula=self._formula,
            team_channels=tuple(self._team_channel(pair, now, current) for pair in pairs),
            occupancy=_occupancy(snapshot),
        )

    def _team_channel(self, pair: TeamChannel, now: float, current: float) -> TeamChannelStats:
        team, channel = pair
        series = self._series.get(pair) or _Series()
        policy = self._policies.headline(team, channel)
        windows = {w: self._window(series, now, w) for w in self._windows}
        starts = set(series.intervals)
        if series.second != _NO_SECOND:
            starts.add(self.interval_start(series.second))
        history = tuple(
            IntervalFigures(start, start + self._interval,
                            self._interval_figures(series, start).figures(self._formula))
            for start in sorted(starts)
            if start <= current
        )
        interval = self._interval_figures(series, current).figures(self._formula)
        return TeamChannelStats(
            team=team,
            channel=channel,
            threshold=policy.threshold,
            target=policy.target,
            formula=self._formula,
            now=windows[self._windows[0]],
            interval=interval,
            windows=windows,
            history=history,
        )

    def _window(self, series: _Series, now: float, length: float) -> Figures:
        """The window (now - length, now], to the second."""
        tally = Tally()
        start = now - length
        for second, slot in series.seconds.items():
            if start < second <= now:
                tally.add(slot)
        return tally.figures(self._formula)


def _occupancy(snapshot: Snapshot | None) -> Mapping[str, float]:
    if snapshot is None:
        return {}
    return {
        team: (used / total if total > 0 else 0.0)
        for team, (used, total) in snapshot.occupancy.items()
    }
