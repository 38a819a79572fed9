"""When to run next: debounce watch wakes, honour TTL hints, keep a floor between runs. Pure.

Every function and method takes ``now`` (seconds on a monotonic clock) instead of reading a
clock, so the rules are tested without sleeping, as external-dns tests its ``should_run(now)``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Debouncer:
    """Collapses a burst of wakes into one run.

    A burst is due ``quiet`` seconds after its last wake, but never later than ``max_delay``
    seconds after its first one, so a registry that changes constantly still gets read.
    """

    quiet: float
    max_delay: float
    first: float | None = None
    last: float | None = None

    def poke(self, now: float) -> None:
        """Record a wake."""
        if self.first is None:
            self.first = now
        self.last = now

    @property
    def pending(self) -> bool:
        return self.first is not None

    def due_at(self) -> float | None:
        """When the pending burst should run; None when nothing is pending."""
        if self.first is None or self.last is None:
            return None
        return min(self.last + self.quiet, self.first + self.max_delay)

    def take(self, now: float) -> bool:
        """True (and reset) when a burst is pending and due at ``now``."""
        due = self.due_at()
        if due is None or now < due:
            return False
        self.first = self.last = None
        return True


def not_before(now: float, last_start: float | None, floor: float) -> float:
    """The earliest time a run may start: ``floor`` seconds after the previous start."""
    if last_start is None:
        return now
    return max(now, last_start + floor)


def hinted_delay(hint: float | None, interval: float, floor: float) -> float | None:
    """Delay before an extra run because the data just read expires sooner than ``interval``.

    ``hint`` is ``Adapter.poll_interval_hint()`` (say, the smallest DNS TTL). None when the hint
    is unknown or not sooner than the regular interval; never less than ``floor``.
    """
    if hint is None or hint < 0 or hint >= interval:
        return None
    return max(hint, floor)
