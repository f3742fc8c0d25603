"""Service-level measurement driven by hand-built event sequences on virtual time."""

from __future__ import annotations

from dataclasses import asdict

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sla_helpers import abandoned, answered, completed, ev, expired, presence

from router.events import EventKind
from router.interaction import Channel
from router.snapshot import Snapshot
from sla.formula import SlFormula
from sla.measure import ServiceLevelTracker
from sla.policy import SlaPolicies

#: voice T = 20 s, short abandon 5 s (defaults); one interval [0, 900)
MIXED = [
    answered(10, waited=10),
    answered(20, waited=20),  # exactly T: still in time
    answered(30, waited=25),
    abandoned(40, waited=3),  # short
    abandoned(50, waited=5),  # exactly the short threshold: still short
    abandoned(60, waited=30),  # long
    expired(70, waited=600),
]


def feed(tracker: ServiceLevelTracker, events: list) -> ServiceLevelTracker:
    for event in events:
        tracker(event)
    return tracker


@pytest.mark.parametrize(
    ("formula", "level"),
    [
        (SlFormula.ABANDONS_AFTER_SHORT, 2 / 5),  # 2 / (3 answered + 1 long abandon + 1 expired)
        (SlFormula.ALL_OFFERED, 2 / 7),
        (SlFormula.ANSWERED_ONLY, 2 / 3),
    ],
)
def test_formulas(formula: SlFormula, level: float) -> None:
    stats = feed(ServiceLevelTracker(formula=formula), MIXED).stats(now=100)
    voice = stats.get("csr", Channel.VOICE)
    assert voice is not None
    assert voice.service_level_interval == pytest.approx(level)
    assert voice.service_level_now == pytest.approx(level)
    figures = voice.interval
    assert (figures.offered, figures.answered, figures.answered_within) == (7, 3, 2)
    assert (figures.abandoned, figures.short_abandoned, figures.expired) == (3, 2, 1)
    assert figures.asa == pytest.approx(55 / 3)
    assert figures.abandon_rate == pytest.approx(1 / 5)  # long abandons / (offered - short)
    assert voice.threshold == 20.0 and voice.target == 0.8 and voice.formula is formula
    assert voice.meets_target is False


def test_short_abandon_threshold_is_per_policy() -> None:
    policies = SlaPolicies.from_mapping(
        {
            "defaults": {"short_abandon": "10s"},
            "policies": [{"team": "csr", "channel": "voice", "threshold": 20, "target": 0.8}],
        }
    )
    tracker = feed(ServiceLevelTracker(policies), MIXED)
    figures = tracker.stats(now=100).team_channels[0].interval
    assert figures.short_abandoned == 2
    tracker(abandoned(80, waited=10))  # short under the 10 s rule
    tracker(abandoned(81, waited=10.5))
    figures = tracker.stats(now=100).team_channels[0].interval
    assert (figures.abandoned, figures.short_abandoned) == (5, 3)
    assert figures.service_level == pytest.approx(2 / 6)


@pytest.mark.parametrize(
    ("at", "interval_start"),
    [(0, 0), (899.999, 0), (900, 900), (1799.5, 900), (3600, 3600), (-1, -900)],
)
def test_interval_alignment(at: float, interval_start: float) -> None:
    assert ServiceLevelTracker().interval_start(at) == interval_start


def test_interval_boundaries() -> None:
    tracker = feed(
        ServiceLevelTracker(),
        [answered(899.999, waited=30), answered(900, waited=1), answered(1799, waited=2)],
    )
    stats = tracker.stats(now=1000)
    voice = stats.team_channels[0]
    assert stats.interval_start == 900 and stats.interval_length == 900
    assert voice.interval.answered == 2 and voice.service_level_interval == 1.0
    assert [(h.start, h.end, h.figures.answered) for h in voice.history] == [
        (0, 900, 1),
        (900, 1800, 2),
    ]
    assert voice.history[0].figures.service_level == 0.0
    # the same data read during the earlier interval does not see the later one
    earlier = tracker.stats(now=899.999).team_channels[0]
    assert [h.start for h in earlier.history] == [0]
    assert earlier.interval.answered == 1


def test_rolling_windows() -> None:
    tracker = feed(
        ServiceLevelTracker(),
        [
            answered(300, waited=60),  # exactly now - 5 min: outside the 5 min window
            answered(301, waited=1),
            answered(600, waited=2),  # exactly now: inside
            answered(601, waited=90),  # after now: not yet
        ],
    )
    voice = tracker.stats(now=600).team_channels[0]
    assert voice.now.answered == 2 and voice.service_level_now == 1.0
    assert voice.windows[300.0] == voice.now
    assert voice.windows[3600.0].answered == 3
    assert voice.windows[3600.0].service_level == pytest.approx(2 / 3)
    later = tracker.stats(now=3900).team_channels[0]
    assert later.now.answered == 0 and later.service_level_now is None
    assert later.windows[3600.0].answered == 3  # (300, 3900] still holds 301, 600 and 601


def test_old_samples_and_intervals_are_pruned() -> None:
    tracker = ServiceLevelTracker(windows=(60,), history=2)
    feed(tracker, [answered(t, waited=1) for t in (0, 100, 1000, 2000)])
    voice = tracker.stats(now=2000).team_channels[0]
    assert [h.start for h in voice.history] == [900, 1800]
    assert voice.now.answered == 1
    # a late stats() call for an old time sees only what is left
    assert tracker.stats(now=100).team_channels[0].now.answered == 0


def test_aht_breaches_and_at_risk() -> None:
    events = [
        answered(5, waited=5),
        completed(200, handled=180),
        completed(300, handled=240),
        ev(EventKind.SLA_AT_RISK, 16, waited=16),
        ev(EventKind.SLA_AT_RISK, 17, waited=16),
        ev(EventKind.SLA_BREACHED, 21, waited=20),
        ev(EventKind.QUEUED, 1),  # not an outcome: ignored
        ev(EventKind.RESERVED, 4),
        presence(2),  # agent events carry no service level
    ]
    voice = feed(ServiceLevelTracker(), events).stats(now=400).team_channels[0]
    figures = voice.interval
    assert figures.aht == pytest.approx(210.0)
    assert figures.completed == 2
    assert (figures.breaches, figures.at_risk) == (1, 2)
    assert (figures.offered, figures.answered) == (1, 1)


def test_per_team_and_channel_with_event_thresholds() -> None:
    policies = SlaPolicies.load("config/sla.yaml")
    tracker = ServiceLevelTracker(policies)
    social = {"team": "social_care", "channel": Channel.SOCIAL}
    feed(
        tracker,
        [
            answered(1000, waited=1000, public=True, **social),  # public T = 15 min: late
            answered(1001, waited=1000, public=False, **social),  # private T = 30 min: in time
            answered(1002, waited=1000, **social),  # no flag: treated as private
            answered(1003, waited=12, sla_class="vip"),  # csr vip voice T = 10 s: late
            answered(1004, waited=12),  # csr voice T = 20 s: in time
            answered(1005, waited=12, threshold=5.0),  # the core's own deadline wins
        ],
    )
    stats = tracker.stats(now=1100)
    care = stats.get("social_care", "social")
    voice = stats.get("csr", Channel.VOICE)
    assert care is not None and voice is not None
    assert care.threshold == 900.0 and care.target == 0.9  # reported against public posts
    assert (care.interval.answered, care.interval.answered_within) == (3, 2)
    assert (voice.interval.answered, voice.interval.answered_within) == (3, 1)
    # configured pairs with no traffic are listed, with no data rather than zeros
    email = stats.get("csr", Channel.EMAIL)
    assert email is not None
    assert email.interval.offered == 0 and email.service_level_interval is None
    assert email.meets_target is None and email.threshold == 14400.0
    assert stats.get("nobody", Channel.VOICE) is None


def test_occupancy_from_snapshot() -> None:
    snapshot = Snapshot(
        at=10.0,
        queues=(),
        agents_by_presence={"csr": {"available": 2}},
        occupancy={"csr": (3, 4), "social_care": (0, 0)},
    )
    stats = ServiceLevelTracker().stats(now=10.0, snapshot=snapshot)
    assert stats.occupancy == {"csr": 0.75, "social_care": 0.0}
    assert ServiceLevelTracker().stats(now=10.0).occupancy == {}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"interval": 0}, "interval must be > 0 seconds, got 0"),
        ({"windows": ()}, "windows must be non-empty and > 0 seconds, got ()"),
        ({"history": 0}, "history must be >= 1 interval, got 0"),
    ],
)
def test_rejects_bad_settings(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError) as info:
        ServiceLevelTracker(**kwargs)
    assert str(info.value) == message


_OUTCOMES = st.sampled_from([EventKind.ASSIGNED, EventKind.ABANDONED, EventKind.EXPIRED])
#: (at, outcome, waited) rows within one hour
_ROWS = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=3599, allow_nan=False),
        _OUTCOMES,
        st.floats(min_value=0, max_value=120, allow_nan=False),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=80, deadline=None)
@given(
    _ROWS,
    st.sampled_from(list(SlFormula)),
)
def test_intervals_and_window_agree_with_brute_force(
    rows: list[tuple[float, EventKind, float]], formula: SlFormula
) -> None:
    rows.sort(key=lambda row: row[0])
    tracker = ServiceLevelTracker(formula=formula, windows=(300, 3600))
    for at, kind, waited in rows:
        tracker(ev(kind, at, waited=waited))
    voice = tracker.stats(now=3599).get("csr", Channel.VOICE)
    assert voice is not None
    hour = voice.windows[3600.0]
    # every event is inside (-1, 3599]: the hour window is the sum of the intervals
    assert hour.offered == len(rows) == sum(h.figures.offered for h in voice.history)
    within = sum(1 for _, k, w in rows if k is EventKind.ASSIGNED and w <= 20)
    answered_n = sum(1 for _, k, _ in rows if k is EventKind.ASSIGNED)
    short = sum(1 for _, k, w in rows if k is EventKind.ABANDONED and w <= 5)
    denominator = {
        SlFormula.ANSWERED_ONLY: answered_n,
        SlFormula.ALL_OFFERED: len(rows),
        SlFormula.ABANDONS_AFTER_SHORT: len(rows) - short,
    }[formula]
    if denominator == 0:
        assert hour.service_level is None
    else:
        assert hour.service_level == pytest.approx(within / denominator)
        assert 0.0 <= hour.service_level <= 1.0


@settings(max_examples=60, deadline=None)
@given(
    _ROWS,
    st.randoms(use_true_random=False),
)
def test_arrival_order_does_not_change_the_figures(
    rows: list[tuple[float, EventKind, float]], rng: object
) -> None:
    """Events reach a worker late or out of order (several workers, one stream): the
    tracker caches the latest second's tallies, and a late event must still land in
    its own second and interval."""
    in_order = sorted(rows, key=lambda row: row[0])
    shuffled = list(rows)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    trackers = []
    for order in (in_order, shuffled):
        tracker = ServiceLevelTracker(windows=(60, 3600))
        for at, kind, waited in order:
            tracker(ev(kind, at, waited=waited))
        trackers.append(tracker.stats(now=3599).get("csr", Channel.VOICE))
    expected, got = trackers
    assert expected is not None and got is not None
    # Sums of waits may differ in the last bit with the order of addition.
    figures = [(w, got.windows[w], expected.windows[w]) for w in expected.windows]
    assert [h.start for h in got.history] == [h.start for h in expected.history]
    pairs = zip(got.history, expected.history, strict=True)
    figures += [(h.start, h.figures, e.figures) for h, e in pairs]
    for _, mine, theirs in figures:
        for name, value in asdict(theirs).items():
            assert getattr(mine, name) == (value if value is None else pytest.approx(value))


def test_live_policy_change_applies_to_what_is_counted_next() -> None:
    from sla.policy import SlaPolicy

    strict = SlaPolicies([SlaPolicy("csr", Channel.VOICE, threshold=10.0, target=0.9,
                                    short_abandon=2.0)])
    tracker = ServiceLevelTracker(SlaPolicies.defaults())
    tracker(abandoned(10, waited=4))  # short under the defaults (5 s)
    tracker.set_policies(strict)
    tracker(abandoned(20, waited=4))  # long under the new policy (2 s)
    voice = tracker.stats(now=30).get("csr", Channel.VOICE)
    assert voice is not None
    assert (voice.threshold, voice.target) == (10.0, 0.9)
    assert (voice.interval.abandoned, voice.interval.short_abandoned) == (2, 1)


@settings(max_examples=60, deadline=None)
@given(_ROWS, st.sets(st.integers(min_value=0, max_value=59)))
def test_reading_mid_stream_changes_nothing(
    rows: list[tuple[float, EventKind, float]], read_after: set[int]
) -> None:
    """`stats` counts the held events and reads the latest second without folding it:
    reading between events (as /stats and scrapes do) must not change what is counted."""
    rows.sort(key=lambda row: row[0])
    read, unread = ServiceLevelTracker(windows=(60, 3600)), ServiceLevelTracker(windows=(60, 3600))
    for n, (at, kind, waited) in enumerate(rows):
        for tracker in (read, unread):
            tracker(ev(kind, at, waited=waited))
        if n in read_after:
            read.stats(now=at)
    mine, theirs = (t.stats(now=3599).get("csr", Channel.VOICE) for t in (read, unread))
    assert mine is not None and theirs is not None
    assert mine.windows == theirs.windows and mine.history == theirs.history


def test_events_of_the_second_before_zero_are_counted() -> None:
    """Virtual clocks may run around 0: no second is a 'nothing pending' marker."""
    tracker = ServiceLevelTracker()
    tracker(answered(-0.5, waited=3))
    tracker(answered(-0.25, waited=30))
    tracker(answered(0.5, waited=3))
    voice = tracker.stats(now=1).get("csr", Channel.VOICE)
    assert voice is not None
    assert voice.windows[300.0].answered == 3
    assert sum(h.figures.answered for h in voice.history) == 3
