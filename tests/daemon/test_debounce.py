"""The timing rules, with the clock passed in: no sleeping."""

from __future__ import annotations

import pytest

from syncd.daemon.debounce import Debouncer, hinted_delay, not_before


def test_single_wake_is_due_after_the_quiet_period() -> None:
    d = Debouncer(quiet=0.2, max_delay=2.0)
    assert not d.pending and d.due_at() is None and not d.take(100.0)
    d.poke(10.0)
    assert d.pending and d.due_at() == pytest.approx(10.2)
    assert not d.take(10.19)
    assert d.take(10.2)
    assert not d.pending and not d.take(10.3)


def test_a_burst_runs_once_after_it_goes_quiet() -> None:
    d = Debouncer(quiet=0.2, max_delay=2.0)
    for t in (10.0, 10.1, 10.25, 10.4):
        d.poke(t)
        assert not d.take(t + 0.1)
    assert d.due_at() == pytest.approx(10.6)
    assert d.take(10.6)


def test_a_never_ending_burst_still_runs_after_the_maximum_delay() -> None:
    d = Debouncer(quiet=0.25, max_delay=1.0)
    fired = []
    for step in range(24):  # a wake every 125 ms for 3 s (binary fractions: exact arithmetic)
        now = 10.0 + step * 0.125
        d.poke(now)
        if d.take(now):
            fired.append(now)
    # every wake restarts the quiet period, but a burst is cut max_delay after its first wake
    assert fired == [11.0, 12.125]


def test_the_floor_keeps_runs_apart() -> None:
    assert not_before(now=5.0, last_start=None, floor=1.0) == 5.0
    assert not_before(now=5.0, last_start=4.5, floor=1.0) == 5.5
    assert not_before(now=5.0, last_start=3.0, floor=1.0) == 5.0


@pytest.mark.parametrize(
    ("hint", "interval", "floor", "expected"),
    [
        (None, 30.0, 1.0, None),  # no hint: the interval rules
        (60.0, 30.0, 1.0, None),  # data lives longer than the interval
        (30.0, 30.0, 1.0, None),
        (5.0, 30.0, 1.0, 5.0),  # a DNS TTL of 5 s: read again in 5 s
        (0.0, 30.0, 1.0, 1.0),  # TTL 0: never more often than the floor
        (0.3, 30.0, 1.0, 1.0),
        (-1.0, 30.0, 1.0, None),
    ],
)
def test_hints_run_sooner_but_never_under_the_floor(
    hint: float | None, interval: float, floor: float, expected: float | None
) -> None:
    assert hinted_delay(hint, interval, floor) == expected
