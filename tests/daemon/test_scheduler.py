"""The APScheduler wiring with real time and short durations: debounce, no overlap, reruns, hints."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from syncd.daemon.scheduler import Scheduler
from tests.daemon.conftest import wait_until

pytestmark = pytest.mark.timeout(30)


class Recorder:
    """A task body that records its runs and fails the test if two ever overlap."""

    def __init__(self, duration: float = 0.0, hints: list[float | None] | None = None) -> None:
        self.duration = duration
        self.hints = hints or []
        self.runs: list[tuple[str, float]] = []
        self.active = 0
        self.overlapped = False
        self._lock = threading.Lock()

    def __call__(self, trigger: str) -> float | None:
        with self._lock:
            self.active += 1
            self.overlapped |= self.active > 1
            self.runs.append((trigger, time.monotonic()))
        time.sleep(self.duration)
        with self._lock:
            self.active -= 1
        return self.hints.pop(0) if self.hints else None

    @property
    def triggers(self) -> list[str]:
        return [t for t, _ in self.runs]


@pytest.fixture
def scheduler() -> Iterator[Scheduler]:
    s = Scheduler(debounce_quiet=0.1, debounce_max=0.5, min_interval=0.3, jitter=0.0)
    s.start()
    yield s
    s.shutdown()


def test_interval_task_runs_first_after_first_in_then_every_interval(scheduler: Scheduler) -> None:
    task = Recorder()
    scheduler.add("adapter:a", task, interval=0.4, first_in=0.0)
    assert wait_until(lambda: len(task.runs) >= 3, 3)
    gaps = [b - a for (_, a), (_, b) in zip(task.runs, task.runs[1:], strict=False)]
    assert all(g > 0.3 for g in gaps) and task.triggers[:3] == ["interval"] * 3


def test_a_burst_of_wakes_runs_once(scheduler: Scheduler) -> None:
    task = Recorder()
    scheduler.add("adapter:a", task, interval=60)
    for _ in range(5):
        scheduler.wake("adapter:a")
        time.sleep(0.02)
    assert wait_until(lambda: task.runs, 2)
    time.sleep(0.5)
    assert task.triggers == ["watch"]


def test_a_wake_during_a_run_runs_again_after_it_never_alongside(scheduler: Scheduler) -> None:
    task = Recorder(duration=0.5)
    scheduler.add("adapter:a", task, interval=60)
    scheduler.run_soon("adapter:a", 0, "start")
    assert wait_until(lambda: task.active, 2)
    scheduler.wake("adapter:a")
    assert wait_until(lambda: len(task.runs) == 2, 3)
    assert task.triggers == ["start", "watch"] and not task.overlapped


def test_a_run_longer_than_its_interval_is_never_overlapped(scheduler: Scheduler) -> None:
    task = Recorder(duration=0.35)
    scheduler.add("adapter:a", task, interval=0.1, first_in=0.0)
    assert wait_until(lambda: len(task.runs) >= 3, 3)
    assert not task.overlapped


def test_runs_keep_min_interval_apart(scheduler: Scheduler) -> None:
    task = Recorder()
    scheduler.add("drift", task)
    scheduler.run_soon("drift", 0, "drift")
    assert wait_until(lambda: task.runs, 2)
    scheduler.run_soon("drift", 0, "drift")
    assert wait_until(lambda: len(task.runs) == 2, 2)
    assert task.runs[1][1] - task.runs[0][1] >= 0.29


def test_a_hint_runs_the_task_again_sooner_than_its_interval(scheduler: Scheduler) -> None:
    task = Recorder(hints=[0.4])
    scheduler.add("adapter:a", task, interval=60, first_in=0.0)
    assert wait_until(lambda: len(task.runs) == 2, 3)
    assert task.triggers == ["interval", "hint"]
    assert 0.35 <= task.runs[1][1] - task.runs[0][1] < 1.5


def test_a_removed_task_runs_no_more(scheduler: Scheduler) -> None:
    task = Recorder()
    scheduler.add("adapter:a", task, interval=0.3, first_in=0.0)
    assert wait_until(lambda: task.runs, 2)
    scheduler.remove("adapter:a")
    scheduler.wake("adapter:a")
    count = len(task.runs)
    time.sleep(0.7)
    assert len(task.runs) == count and "adapter:a" not in scheduler.names()


def test_a_failing_task_keeps_its_schedule(scheduler: Scheduler) -> None:
    calls: list[str] = []

    def broken(trigger: str) -> float | None:
        calls.append(trigger)
        raise RuntimeError("bug")

    scheduler.add("adapter:a", broken, interval=0.3, first_in=0.0)
    assert wait_until(lambda: len(calls) >= 2, 3)
    assert scheduler.alive()


def test_shutdown_stops_scheduling() -> None:
    s = Scheduler(debounce_quiet=0.05, debounce_max=0.2, min_interval=0.1, jitter=0.0)
    task = Recorder()
    s.add("adapter:a", task, interval=0.2, first_in=0.0)
    s.start()
    assert wait_until(lambda: task.runs, 2)
    s.shutdown()
    count = len(task.runs)
    s.wake("adapter:a")
    time.sleep(0.5)
    assert len(task.runs) == count and not s.alive()
