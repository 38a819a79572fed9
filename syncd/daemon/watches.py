"""Adapter watches: ``Adapter.watch(wake, stop)`` in a thread of its own per adapter that can watch.

A watch that raises, or returns while not asked to stop, is restarted after a backoff (1 s,
doubling to 30 s), so one flaky registry connection never leaves the adapter on polling alone
without a log line saying so.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import structlog

from syncd.adapter import Adapter

log = structlog.get_logger(__name__)

_MAX_BACKOFF = 30.0


class AdapterWatches:
    """Runs the watches of one set of adapters; ``wake(name)`` is called on every change."""

    def __init__(self, adapters: Sequence[Adapter], wake: Callable[[str], None]) -> None:
        self._adapters = [a for a in adapters if a.can_watch]
        self._wake = wake
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for adapter in self._adapters:
            thread = threading.Thread(
                target=self._run, args=(adapter,), name=f"adapter-watch-{adapter.name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def alive(self) -> bool:
        return all(t.is_alive() for t in self._threads) or self._stop.is_set()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=timeout / max(1, len(self._threads)))

    def _run(self, adapter: Adapter) -> None:
        failures = 0
        log.info("adapter_watch_started", adapter=adapter.name)
        while not self._stop.is_set():
            try:
                adapter.watch(lambda: self._wake(adapter.name), self._stop)
            except Exception as exc:
                failures += 1
                log.warning(
                    "adapter_watch_failed", adapter=adapter.name, error=f"{type(exc).__name__}: {exc}"
                )
            else:
                if self._stop.is_set():
                    break
                failures += 1
                log.warning("adapter_watch_returned", adapter=adapter.name)
            self._stop.wait(min(_MAX_BACKOFF, 2.0 ** (failures - 1)))
