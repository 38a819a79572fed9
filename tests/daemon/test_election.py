"""Leader election rules (``Election``) with a fake clock: who may take the Lease, and when."""

from __future__ import annotations

from datetime import datetime, timezone

from syncd.daemon.leader import Election, LeaseRecord

WALL = datetime(2030, 1, 1, tzinfo=timezone.utc)


def election(name: str = "a") -> Election:
    return Election(name, lease_duration=15.0, renew_deadline=10.0)


def held_by(holder: str, renewed: int = 0, transitions: int = 0) -> LeaseRecord:
    at = WALL.replace(second=renewed)
    return LeaseRecord(holder, 15.0, acquire_time=WALL, renew_time=at, transitions=transitions)


def test_a_missing_or_released_lease_is_free() -> None:
    e = election()
    e.observe(None, now=0.0)
    assert e.may_acquire(0.0)
    e.observe(LeaseRecord("", 1.0), now=1.0)
    assert e.may_acquire(1.0)


def test_a_live_lease_of_another_holder_is_waited_out_on_our_own_clock() -> None:
    e = election()
    e.observe(held_by("b"), now=100.0)
    assert not e.may_acquire(100.0) and not e.may_acquire(114.9)
    # the same record read again does not restart the clock...
    e.observe(held_by("b"), now=110.0)
    assert e.may_acquire(115.0)
    # ...but a renewal (any change of the record) does
    e.observe(held_by("b", renewed=5), now=116.0)
    assert not e.may_acquire(116.0) and not e.may_acquire(130.9)
    assert e.may_acquire(131.0)


def test_taking_over_counts_a_transition_and_keeping_it_keeps_the_acquire_time() -> None:
    e = election("a")
    e.observe(held_by("b", transitions=3), now=0.0)
    took = e.wanted(WALL.replace(minute=1))
    assert took.holder == "a" and took.transitions == 4 and took.acquire_time == WALL.replace(minute=1)
    e.renewed(took, started=20.0)
    kept = e.wanted(WALL.replace(minute=2))
    assert kept.transitions == 4 and kept.acquire_time == WALL.replace(minute=1)
    assert kept.renew_time == WALL.replace(minute=2) and kept.duration == 15.0


def test_a_new_lease_starts_with_no_transition() -> None:
    e = election()
    e.observe(None, now=0.0)
    assert e.wanted(WALL).transitions == 0


def test_leadership_ends_renew_deadline_after_the_last_renewal() -> None:
    e = election()
    assert not e.is_leader(0.0)
    e.renewed(held_by("a"), started=50.0)
    assert e.is_leader(50.0) and e.is_leader(59.9)
    assert not e.is_leader(60.0)  # renewals failed for renew_deadline: stop writing
    e.renewed(held_by("a", renewed=9), started=61.0)
    assert e.is_leader(61.0)
    e.step_down()
    assert not e.is_leader(61.0)


def test_our_own_record_is_always_ours_to_renew() -> None:
    e = election("a")
    e.observe(held_by("a"), now=0.0)
    assert e.may_acquire(0.1)


def test_release_clears_the_holder_as_client_go_does() -> None:
    e = election()
    e.observe(held_by("a", transitions=2), now=0.0)
    released = e.released(WALL)
    assert released.holder == "" and released.duration == 1 and released.transitions == 2
