"""Prometheus metrics: event counters and histograms, plus state gauges read at scrape.

Two sources feed one dedicated `CollectorRegistry` (never the process-global one, so
tests, several engines in one process and library users do not collide):

- `MetricsRecorder` is an `EventBus` subscriber. It counts lifecycle transitions and
  observes waits and handle times as they happen, and offers `observe_decision`,
  `count_rule` and `count_store_error` for the service, rule engine and store.
- `SnapshotCollector` is a custom collector: at every scrape it calls a
  `Callable[[], Snapshot]` and turns queue depth, oldest wait, agents by presence and
  occupancy into gauges, and the store's arrival count into
  `interactions_received_total`. State is read when asked rather than mirrored on every
  event, so the gauges cannot drift from the store. Oldest wait is relative to the
  snapshot's own `at`, so no wall clock is read here either.

Labels are bounded: `team`, `queue`, `channel`, and `presence`, `rule`, `operation`
where needed — never interaction, customer or agent ids, whose cardinality grows
without bound. `received` counts first enqueues only, under the queue the interaction
first entered; re-queues after a rejected offer or a transfer are not arrivals. The
store keeps that count (one increment in the same step as the enqueue) rather than a
subscriber counting `queued` events: the routing core then builds no event per
arrival when nobody else wants one, which was a quarter of the measurement's cost on
the routing hot path (`python -m bench.core --subscribers-only`).

The wait and handle histograms have a bucket edge at every configured SLA threshold,
so service level is exact in PromQL, e.g. for csr voice (T = 20 s)::

    sum(rate(omniroute_wait_seconds_bucket{team="csr",channel="voice",le="20.0"}[5m]))
    / (sum(rate(omniroute_wait_seconds_count{team="csr",channel="voice"}[5m]))
       + sum(rate(omniroute_interactions_abandoned_total{team="csr",channel="voice"}[5m]))
       - sum(rate(omniroute_interactions_short_abandoned_total{team="csr",channel="voice"}[5m])))

Several worker processes
------------------------
With N uvicorn/gunicorn workers, each worker keeps its own registry and is scraped
as its own target (one port per worker, or a `worker` target label from service
discovery). Consequences for queries:

- event counters and histograms are per worker — each counts the events its own
  worker published — so `sum()` them across workers;
- state gauges and `interactions_received_total` come from the shared store (Redis), so
  every worker reports the same global value — aggregate them with `max()` (or
  `avg()`) across workers first, never `sum()`, which would multiply queue depth (or
  arrivals) by the number of workers.

We chose this over prometheus-client's multiprocess mode on purpose: multiprocess
mode needs a shared `PROMETHEUS_MULTIPROC_DIR` on local disk (so it cannot span
hosts, and stateless workers are the point of the Redis store), it does not support
custom collectors the way we use them (gauges computed at scrape time from the store),
it needs per-gauge aggregation modes and cleanup of dead workers' files, and
per-worker targets also let operators see a stuck or unbalanced worker.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, NamedTuple, cast

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from router.deadlines import DEFAULT_THRESHOLDS
from router.events import Batched, Event, EventKind, InteractionEvent
from router.interaction import Channel
from router.snapshot import Snapshot

if TYPE_CHECKING:
    from sla.policy import SlaPolicies

__all__ = [
    "CONTENT_TYPE_LATEST",
    "DECISION_BUCKETS",
    "HANDLE_BUCKETS",
    "WAIT_BUCKETS",
    "MetricsRecorder",
    "SnapshotCollector",
    "render",
]

PREFIX = "omniroute"
QUEUE_LABELS = ("team", "queue", "channel")

#: Base edges for waits (seconds); SLA thresholds are merged in at construction.
WAIT_BUCKETS: tuple[float, ...] = (
    1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 900, 1800, 3600, 7200,
    14400, 28800, 86400,
)
HANDLE_BUCKETS: tuple[float, ...] = (
    10, 30, 60, 120, 180, 300, 450, 600, 900, 1200, 1800, 3600, 7200, 14400,
)
#: A routing decision is in-memory or one Lua script: tenths of a ms to a second.
DECISION_BUCKETS: tuple[float, ...] = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
)

_COUNTERS: tuple[tuple[str, str, str], ...] = (
    ("routed", "interactions_routed", "Interactions accepted by an agent."),
    ("abandoned", "interactions_abandoned", "Customers who left while waiting."),
    (
        "short_abandoned",
        "interactions_short_abandoned",
        "Abandons within the short-abandon threshold (a subset of abandoned).",
    ),
    ("transferred", "interactions_transferred", "Interactions transferred."),
    ("expired", "interactions_expired", "Interactions expired by max wait."),
    ("overflowed", "interactions_overflowed", "Interactions overflowed by max wait."),
    ("escalated", "interactions_escalated", "Escalation steps applied."),
    ("breaches", "sla_breaches", "Interactions still waiting at their SLA threshold."),
    ("at_risk", "sla_at_risk", "Interactions waiting past the near-breach point."),
)

#: Event kinds that only increment a counter -> that counter (name without prefix/_total);
#: `consume` counts assigned, completed and abandoned its own way.
_COUNTED_KINDS: dict[EventKind, str] = {
    EventKind.TRANSFERRED: "transferred",
    EventKind.EXPIRED: "expired",
    EventKind.OVERFLOWED: "overflowed",
    EventKind.ESCALATED: "escalated",
    EventKind.SLA_BREACHED: "breaches",
    EventKind.SLA_AT_RISK: "at_risk",
}


def with_thresholds(base: Iterable[float], thresholds: Iterable[float]) -> tuple[float, ...]:
    """Bucket edges: the base edges plus every SLA threshold, sorted and distinct."""
    return tuple(sorted({float(b) for b in base} | {float(t) for t in thresholds}))


#: (team, queue, channel); the channel may be the `Channel` member itself, which is its
#: value as a string (a StrEnum), so events need not pay for `.value` per count.
Labels = tuple[str, str, str]
#: labels -> bucket cells, +Inf cell, running sum
_Series = dict[Labels, list[float]]


class EventHistogram:
    """One event histogram: bucket bounds and the cells of every label set."""

    __slots__ = ("bounds", "series")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.series: _Series = {}

    def observe(self, labels: Labels, value: float) -> None:
        cells = self.series.get(labels)
        if cells is None:
            # one cell per finite bound, then +Inf, then the running sum
            cells = self.series[labels] = [0.0] * (len(self.bounds) + 2)
        cells[bisect_left(self.bounds, value)] += 1
        cells[-1] += value

    def counts(self) -> dict[Labels, int]:
        """Observations per label set (what `_count` exposes)."""
        return {labels: int(sum(cells[:-1])) for labels, cells in list(self.series.items())}


class EventMetrics(Collector):
    """Event counters and histograms kept in plain dicts, exposed at scrape time.

    One event costs a dict update (and a bisect for a histogram) instead of a
    prometheus-client child's label validation and lock: the recorder sits on the
    routing hot path, where those dominated its cost. Every call happens on the event
    loop's thread; a scrape reads a consistent enough copy (a counter read mid-update is
    at worst one event behind).
    """

    def __init__(
        self, wait_buckets: Sequence[float], handle_buckets: Sequence[float],
        before_collect: Callable[[], None] = lambda: None,
    ) -> None:
        #: called first at every scrape (the recorder counts the events it holds)
        self.before_collect = before_collect
        #: counter key (see `_COUNTERS`) -> labels -> count; `routed` is not among them:
        #: every routed interaction has exactly one wait observation, so it is read from
        #: the wait histogram's counts instead of being counted a second time
        self.counters: dict[str, dict[Labels, int]] = {
            key: {} for key, _, _ in _COUNTERS if key != "routed"}
        self.histograms: dict[str, EventHistogram] = {
            "wait": EventHistogram(wait_buckets),
            "handle": EventHistogram(handle_buckets),
        }

    def counter(self, key: str) -> dict[Labels, int]:
        """A counter's value per label set, as of now."""
        if key == "routed":
            return self.histograms["wait"].counts()
        return dict(self.counters[key])

    def count(self, metric: str, labels: Labels) -> None:
        counts = self.counters[metric]
        counts[labels] = counts.get(labels, 0) + 1

    def collect(self) -> Iterator[Metric]:
        self.before_collect()
        for key, name, doc in _COUNTERS:
            counter = CounterMetricFamily(f"{PREFIX}_{name}", doc, labels=QUEUE_LABELS)
            for labels, value in self.counter(key).items():
                counter.add_metric(_plain(labels), value)
            yield counter
        for metric, (name, doc) in _HISTOGRAMS.items():
            cells_of = self.histograms[metric]
            edges = [_edge(bound) for bound in cells_of.bounds] + ["+Inf"]
            histogram = HistogramMetricFamily(f"{PREFIX}_{name}", doc, labels=QUEUE_LABELS)
            for labels, cells in list(cells_of.series.items()):
                cumulative, running = [], 0.0
                for edge, cell in zip(edges, cells[:-1], strict=True):
                    running += cell
                    cumulative.append((edge, running))
                histogram.add_metric(_plain(labels), cumulative, sum_value=cells[-1])
            yield histogram


def _plain(labels: Labels) -> list[str]:
    """Label values as plain strings (a `Channel` member becomes its value)."""
    return [str(value) for value in labels]


def _edge(bound: float) -> str:
    """Bucket edge as prometheus-client writes it (`20.0`, `0.5`), so PromQL matches."""
    return repr(float(bound))


_HISTOGRAMS: dict[str, tuple[str, str]] = {
    "wait": ("wait_seconds", "Wait from enqueue to acceptance by an agent."),
    "handle": ("handle_seconds", "Handle time from acceptance to completion, wrap-up included."),
}


class MetricsRecorder(Batched):
    """Event subscriber owning every event-driven metric of one registry.

    Usually built with `from_policies`. `thresholds` are the SLA thresholds
    (`SlaPolicies.thresholds()`); the channel defaults are always added. `snapshot`,
    when given, registers a `SnapshotCollector` on the same registry. `sla_targets`
    (team, channel, threshold, target) become static gauges so dashboards can draw
    the target line next to the measured level.
    `short_abandon` is seconds, or a (team, channel) lookup, for the short-abandon count.
    """

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        thresholds: Iterable[float] = (),
        snapshot: Callable[[], Snapshot] | None = None,
        sla_targets: Sequence[tuple[str, str, float, float]] = (),
        short_abandon: float | Callable[[str, Channel], float] = 5.0,
    ) -> None:
        self.short_abandon = short_abandon
        self.registry = registry if registry is not None else CollectorRegistry()
        self.thresholds = tuple(sorted(set(thresholds) | set(DEFAULT_THRESHOLDS.values())))
        # Registered first so a failing snapshot is counted in the same scrape's
        # store-error counter (the registry collects in registration order).
        self.collector: SnapshotCollector | None = None
        if snapshot is not None or sla_targets:
            self.collector = SnapshotCollector(snapshot, self, sla_targets)
            self.registry.register(self.collector)
        self.events = EventMetrics(
            with_thresholds(WAIT_BUCKETS, self.thresholds),
            with_thresholds(HANDLE_BUCKETS, self.thresholds),
            before_collect=self.drain,
        )
        self.registry.register(self.events)
        # `consume`'s own references, one attribute read away.
        self._wait = self.events.histograms["wait"]
        self._handle = self.events.histograms["handle"]
        #: the handlers only hold events (a `BatchedSubscriber`); `consume` counts them
        self.handlers = self.hold((EventKind.ASSIGNED, EventKind.COMPLETED,
                                   EventKind.ABANDONED, *_COUNTED_KINDS))
        self.decision = Histogram(
            f"{PREFIX}_routing_decision_seconds",
            "Time to take one routing decision (pick and reserve).",
            buckets=DECISION_BUCKETS,
            registry=self.registry,
        )
        self.rules = Counter(
            f"{PREFIX}_rule_evaluations",
            "Classifications decided by each rule.",
            ("rule",),
            registry=self.registry,
        )
        self.store_errors = Counter(
            f"{PREFIX}_store_errors",
            "Store operations that failed.",
            ("operation",),
            registry=self.registry,
        )

    # -- subscriber --------------------------------------------------------------
    def consume(self, events: list[Event]) -> None:
        count, wait, handle = self.events.count, self._wait, self._handle
        # Only counted kinds are held, and they are all interaction events.
        for event in cast(list[InteractionEvent], events):
            kind = event.kind
            labels = (event.team, event.queue, event.channel)
            if kind is EventKind.ASSIGNED:  # one wait per routed interaction (also its count)
                wait.observe(labels, event.waited)
            elif kind is EventKind.COMPLETED:
                if event.handled is not None:
                    handle.observe(labels, event.handled)
            elif kind is EventKind.ABANDONED:
                count("abandoned", labels)
                if event.waited <= self._short_abandon(event):
                    count("short_abandoned", labels)
            else:
                count(_COUNTED_KINDS[kind], labels)

    def _short_abandon(self, event: InteractionEvent) -> float:
        if callable(self.short_abandon):
            return self.short_abandon(event.team, event.channel)
        return self.short_abandon

    @classmethod
    def from_policies(
        cls,
        policies: SlaPolicies,
        snapshot: Callable[[], Snapshot] | None = None,
        registry: CollectorRegistry | None = None,
    ) -> MetricsRecorder:
        """The usual construction: buckets, short abandons and targets from the SLA file."""
        recorder = cls(
            registry=registry,
            thresholds=policies.thresholds(),
            snapshot=snapshot,
            sla_targets=_targets_of(policies),
        )
        recorder.set_policies(policies)
        return recorder

    def set_policies(self, policies: SlaPolicies) -> tuple[float, ...]:
        """Follow a live SLA change: target gauges and short-abandon times at once.

        Histogram buckets cannot change under a running series (Prometheus would see a
        different histogram), so they stay as built. Returns the new thresholds that are
        not a wait bucket edge: until a restart, PromQL service level for those is only
        as exact as the nearest edges.
        """

        def short_abandon(team: str, channel: Channel) -> float:
            return policies.headline(team, channel).short_abandon

        self.drain()  # held abandons happened under the old short-abandon times
        self.short_abandon = short_abandon
        if self.collector is None:
            self.collector = SnapshotCollector(None, self)
            self.registry.register(self.collector)
        self.collector.set_targets(_targets_of(policies))
        edges = set(self.events.histograms["wait"].bounds)
        return tuple(sorted(t for t in set(policies.thresholds()) if float(t) not in edges))

    # -- called by the service, rules and store ------------------------------------
    def observe_decision(self, seconds: float) -> None:
        self.decision.observe(seconds)

    def count_rule(self, rule: str) -> None:
        self.rules.labels(rule).inc()

    def count_store_error(self, operation: str) -> None:
        self.store_errors.labels(operation).inc()


def _targets_of(policies: SlaPolicies) -> list[tuple[str, str, float, float]]:
    """(team, channel, threshold, target) of every configured team × channel."""
    targets = []
    for team, channel in policies.team_channels():
        policy = policies.headline(team, channel)
        targets.append((team, channel.value, policy.threshold, policy.target))
    return targets


class SnapshotCollector(Collector):
    """Scrape-time gauges from the store's `Snapshot` (and static SLA targets)."""

    def __init__(
        self,
        snapshot: Callable[[], Snapshot] | None,
        recorder: MetricsRecorder | None = None,
        sla_targets: Sequence[tuple[str, str, float, float]] = (),
    ) -> None:
        self._snapshot = snapshot
        self._recorder = recorder
        self._sla_targets = tuple(sla_targets)

    def set_targets(self, sla_targets: Sequence[tuple[str, str, float, float]]) -> None:
        self._sla_targets = tuple(sla_targets)  # one assignment: a scrape sees old or new

    def describe(self) -> Iterable[Metric]:
        # Names only, so registering never calls the store.
        return list(self._families())

    def collect(self) -> Iterator[Metric]:
        yield from self._targets()
        if self._snapshot is None:
            return
        try:
            snapshot = self._snapshot()
        except Exception:  # a scrape must still answer when the store is down
            if self._recorder is not None:
                self._recorder.count_store_error("snapshot")
            return
        yield from self._state(snapshot)

    def _families(self) -> _Families:
        queue = list(QUEUE_LABELS)
        return _Families(
            depth=GaugeMetricFamily(f"{PREFIX}_queue_depth", "Interactions waiting.",
                                    labels=queue),
            oldest=GaugeMetricFamily(
                f"{PREFIX}_queue_oldest_wait_seconds",
                "Wait of the oldest waiting interaction (0 when empty).",
                labels=queue,
            ),
            agents=GaugeMetricFamily(
                f"{PREFIX}_agents", "Agents by presence.", labels=["team", "presence"]
            ),
            occupancy=GaugeMetricFamily(
                f"{PREFIX}_team_occupancy_ratio",
                "Capacity slots in use / slots of agents not offline.",
                labels=["team"],
            ),
            received=CounterMetricFamily(
                f"{PREFIX}_interactions_received",
                "Interactions enqueued for the first time (counted by the store).",
                labels=queue,
            ),
            threshold=GaugeMetricFamily(
                f"{PREFIX}_sla_threshold_seconds",
                "Configured SLA threshold T.",
                labels=["team", "channel"],
            ),
            target=GaugeMetricFamily(
                f"{PREFIX}_sla_target_ratio",
                "Configured SLA target (fraction answered within T).",
                labels=["team", "channel"],
            ),
        )

    def _targets(self) -> Iterator[Metric]:
        if not self._sla_targets:
            return
        families = self._families()
        for team, channel, t, goal in self._sla_targets:
            families.threshold.add_metric([team, channel], t)
            families.target.add_metric([team, channel], goal)
        yield families.threshold
        yield families.target

    def _state(self, snapshot: Snapshot) -> Iterator[Metric]:
        f = self._families()
        for q in snapshot.queues:
            labels = [q.team, q.queue, q.channel]
            f.depth.add_metric(labels, q.depth)
            f.oldest.add_metric(labels, q.oldest_wait(snapshot.at))
            f.received.add_metric(labels, q.received)
        for team, presences in snapshot.agents_by_presence.items():
            for presence, count in presences.items():
                f.agents.add_metric([team, presence], count)
        for team, (used, total) in snapshot.occupancy.items():
            f.occupancy.add_metric([team], used / total if total > 0 else 0.0)
        yield from (f.depth, f.oldest, f.agents, f.occupancy, f.received)


class _Families(NamedTuple):
    """The collector's metric families, by name (a fresh set per scrape)."""

    depth: GaugeMetricFamily
    oldest: GaugeMetricFamily
    agents: GaugeMetricFamily
    occupancy: GaugeMetricFamily
    received: CounterMetricFamily
    threshold: GaugeMetricFamily
    target: GaugeMetricFamily


def render(registry: CollectorRegistry) -> bytes:
    """The text exposition for `/metrics` (serve with `CONTENT_TYPE_LATEST`)."""
    return generate_latest(registry)
