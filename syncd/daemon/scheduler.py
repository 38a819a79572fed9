"""When each task runs: APScheduler 3.x jobs, debounced wakes, hints and a floor between runs.

A *task* is a named function of its trigger: one per adapter (``adapter:<name>``, at its
``interval`` with jitter), the periodic ``resync``, and on-demand ones (``full``, ``drift``).
Every job is coalesced and never runs twice at once (``max_instances=1``). Three ways to ask for
an earlier run, all going through ``_schedule``, which keeps ``min_interval`` between two starts
of one task and never postpones a run already due sooner:

* ``wake(task)``: a watch saw a change; debounced (``Debouncer``, in a waker thread);
* ``run_soon(task, delay)``: now or later (startup, a new leader, a reload);
* the task's own return value: seconds until its data is stale (a DNS TTL hint).

A run requested while the task runs is remembered and runs right after it, so no wake is lost.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import structlog
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from syncd.daemon.debounce import Debouncer, not_before

log = structlog.get_logger(__name__)

#: A task's body: gets its trigger ("interval", "watch", ...), may return seconds until a rerun.
TaskFn = Callable[[str], float | None]


@dataclass
class _Task:
    job_id: str
    fn: TaskFn
    interval: float | None
    debounce: Debouncer
    trigger: str = "interval"  # why the next run happens
    wake_trigger: str = "watch"
    running: bool = False
    rerun: str | None = None  # asked for while running
    last_start: float | None = None
    runs: int = field(default=0)


class Scheduler:
    """Owns the BackgroundScheduler and the waker thread; ``clock`` is monotonic seconds."""

    def __init__(
        self,
        *,
        debounce_quiet: float,
        debounce_max: float,
        min_interval: float,
        jitter: float,
        max_workers: int = 8,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.debounce_quiet = debounce_quiet
        self.debounce_max = debounce_max
        self.min_interval = min_interval
        self.jitter = jitter
        self._clock = clock
        self._aps = BackgroundScheduler(
            timezone=timezone.utc,
            executors={"default": ThreadPoolExecutor(max_workers=max_workers)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        # A wake racing a starting run is skipped by APScheduler with a warning; that run reads
        # after the wake, so nothing is lost: keep the log quiet.
        logging.getLogger("apscheduler").setLevel(logging.ERROR)
        self._cond = threading.Condition()
        self._tasks: dict[str, _Task] = {}
        self._stopped = False
        self._waker = threading.Thread(target=self._wake_loop, name="scheduler-waker", daemon=True)

    # -- tasks -----------------------------------------------------------------------------------

    def add(
        self, name: str, fn: TaskFn, interval: float | None = None, *, first_in: float | None = None
    ) -> None:
        """Register a task; with ``interval`` it repeats (first after ``first_in``, default interval)."""
        with self._cond:
            self._remove_locked(name)
            task = _Task(name, fn, interval, Debouncer(self.debounce_quiet, self.debounce_max))
            self._tasks[name] = task
            if interval is not None:
                first = interval if first_in is None else first_in
                self._aps.add_job(
                    self._execute,
                    IntervalTrigger(
                        seconds=interval, jitter=interval * self.jitter or None, timezone=timezone.utc
                    ),
                    args=[name],
                    id=name,
                    name=name,
                    next_run_time=_wall(first),
                )
            elif first_in is not None:
                self._schedule_locked(task, first_in, "start")

    def remove(self, name: str) -> None:
        with self._cond:
            self._remove_locked(name)

    def names(self) -> list[str]:
        with self._cond:
            return list(self._tasks)

    def configure(
        self, *, debounce_quiet: float, debounce_max: float, min_interval: float, jitter: float
    ) -> None:
        """New settings after a reload; applies to tasks added from now on and to every wake."""
        with self._cond:
            self.debounce_quiet, self.debounce_max = debounce_quiet, debounce_max
            self.min_interval, self.jitter = min_interval, jitter
            for task in self._tasks.values():
                task.debounce.quiet, task.debounce.max_delay = debounce_quiet, debounce_max

    def wake(self, name: str, trigger: str = "watch") -> None:
        """Something changed: run ``name`` once the burst is over (debounced)."""
        with self._cond:
            task = self._tasks.get(name)
            if task is None or self._stopped:
                return
            task.debounce.poke(self._clock())
            task.wake_trigger = trigger
            self._cond.notify_all()

    def run_soon(self, name: str, delay: float = 0.0, trigger: str = "manual") -> None:
        """Run ``name`` after ``delay`` seconds (or sooner if already due sooner)."""
        with self._cond:
            task = self._tasks.get(name)
            if task is not None and not self._stopped:
                self._schedule_locked(task, delay, trigger)

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        self._aps.start()
        self._waker.start()

    def alive(self) -> bool:
        return bool(self._aps.running) and self._waker.is_alive()

    def shutdown(self) -> None:
        """Stop scheduling; a run in flight goes on (the caller waits for it through its own lock)."""
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        if self._aps.running:
            self._aps.shutdown(wait=False)
        if self._waker.is_alive():
            self._waker.join(timeout=2)

    # -- internals -------------------------------------------------------------------------------

    def _remove_locked(self, name: str) -> None:
        if self._tasks.pop(name, None) is not None and self._aps.get_job(name) is not None:
            self._aps.remove_job(name)

    def _schedule_locked(self, task: _Task, delay: float, trigger: str) -> None:
        """Run ``task`` at ``now + delay``, no sooner than ``min_interval`` after its last start."""
        if task.running:
            task.rerun = task.rerun or trigger
            return
        now = self._clock()
        at = max(now + delay, not_before(now, task.last_start, self.min_interval))
        when = _wall(at - now)
        job: Any = self._aps.get_job(task.job_id)
        if job is not None and job.next_run_time is not None and job.next_run_time <= when:
            return  # already due sooner; that run will see the change too
        task.trigger = trigger
        if job is not None:
            job.modify(next_run_time=when)
        else:
            self._aps.add_job(
                self._execute,
                DateTrigger(run_date=when),
                args=[task.job_id],
                id=task.job_id,
                name=task.job_id,
            )

    def _execute(self, name: str) -> None:
        with self._cond:
            task = self._tasks.get(name)
            if task is None or self._stopped:
                return
            if task.running:
                task.rerun = task.rerun or "rerun"
                return
            trigger, task.trigger = task.trigger, "interval"
            task.running, task.rerun = True, None
            task.last_start = self._clock()
            task.runs += 1
        hint: float | None = None
        try:
            hint = task.fn(trigger)
        except Exception as exc:  # a bug in one run must not stop the schedule
            log.error("task_failed", task=name, trigger=trigger, error=f"{type(exc).__name__}: {exc}")
            log.debug("task_failed_detail", task=name, exc_info=True)
        finally:
            with self._cond:
                task.running = False
                rerun, task.rerun = task.rerun, None
                if self._tasks.get(name) is task and not self._stopped:
                    if rerun is not None:
                        self._schedule_locked(task, 0.0, rerun)
                    elif hint is not None:
                        self._schedule_locked(task, hint, "hint")

    def _wake_loop(self) -> None:
        with self._cond:
            while not self._stopped:
                now = self._clock()
                for task in self._tasks.values():
                    if task.debounce.take(now):
                        self._schedule_locked(task, 0.0, task.wake_trigger)
                dues = [d for t in self._tasks.values() if (d := t.debounce.due_at()) is not None]
                self._cond.wait(max(0.0, min(dues) - now) if dues else None)


def _wall(delay: float) -> datetime:
    return datetime.now(timezone.utc) + timedelta(seconds=max(0.0, delay))
