"""The latest snapshot of every adapter, and reconciles serialised by one lock.

A run for one adapter re-reads only that adapter (outside the lock, so adapters read in
parallel), then reconciles with the other adapters' last known snapshots under the lock, so two
reconciles never apply at once. An adapter not read yet counts as failed ("unknown"): nothing it
owns is changed or deleted. Followers do not read registries or reconcile; only the leader writes.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import structlog

from syncd import metrics
from syncd.engine import CycleReport, Engine
from syncd.model import Snapshot

log = structlog.get_logger(__name__)

NOT_READ_YET = "not read yet since start or reload"


class Reconciler:
    """Runs adapter reads and reconciles for the current engine (swapped on reload)."""

    def __init__(
        self,
        engine: Engine,
        is_leader: Callable[[], bool],
        *,
        relist: Callable[[float], bool] | None = None,
        relist_timeout: float = 30.0,
    ) -> None:
        self._engine = engine
        self._is_leader = is_leader
        self._relist = relist
        self._relist_timeout = relist_timeout
        self.lock = threading.Lock()  # held for every reconcile and for swaps
        self._latest: dict[str, Snapshot] = {}
        self.cycles_done = 0  # reconciles that could read the target, as leader
        self.stopping = False

    @property
    def engine(self) -> Engine:
        return self._engine

    def swap(self, engine: Engine, relist: Callable[[float], bool] | None) -> Engine:
        """Use a new engine (after a reload); returns the old one. Snapshots start over."""
        with self.lock:
            old, self._engine = self._engine, engine
            self._relist = relist
            self._latest.clear()
        return old

    def run_adapter(self, name: str, trigger: str) -> float | None:
        """Re-read one adapter and reconcile; returns its poll-interval hint (seconds) if any."""
        engine = self._engine
        adapter = next((a for a in engine.adapters if a.name == name), None)
        if adapter is None or self.stopping or not self._is_leader():
            return None
        metrics.ADAPTER_RUNS.labels(name, trigger).inc()
        [snapshot] = engine.collect([adapter])
        with self.lock:
            if engine is not self._engine:
                return None  # reloaded meanwhile: this read belongs to the old config
            self._latest[name] = snapshot
            self._reconcile(trigger)
        return adapter.poll_interval_hint() if snapshot.ok else None

    def run_full(self, trigger: str, *, relist: bool = False) -> None:
        """Read every adapter and reconcile; with ``relist`` refresh the target's cache first."""
        relisted = not relist or self._relist is None or self.stopping or self._relist(self._relist_timeout)
        if not relisted:
            log.warning("resync_relist_incomplete", timeout=self._relist_timeout)
        engine = self._engine
        if self.stopping or not self._is_leader():
            return
        for adapter in engine.adapters:
            metrics.ADAPTER_RUNS.labels(adapter.name, trigger).inc()
        snapshots = engine.collect()
        with self.lock:
            if engine is not self._engine:
                return
            self._latest.update({s.adapter: s for s in snapshots})
            self._reconcile(trigger)

    def run_reconcile(self, trigger: str) -> None:
        """Reconcile with the snapshots at hand (drift repair: the registries did not change)."""
        with self.lock:
            self._reconcile(trigger)

    def _reconcile(self, trigger: str) -> None:
        if self.stopping or not self._is_leader():
            return
        engine = self._engine
        snapshots = [
            self._latest.get(a.name) or Snapshot.failed(a.name, NOT_READ_YET) for a in engine.adapters
        ]
        started = time.monotonic()
        report = engine.reconcile(snapshots)
        metrics.RECONCILE_SECONDS.observe(time.monotonic() - started)
        if report.target_error is None:
            self.cycles_done += 1
        _log_report(report, trigger)


def _log_report(report: CycleReport, trigger: str) -> None:
    done = report.result.done
    wrote = bool(done or report.result.failed)
    (log.info if wrote or not report.ok else log.debug)(
        "cycle_done",
        trigger=trigger,
        ok=report.ok,
        created=sum(c.action == "create" for c in done),
        updated=sum(c.action == "update" for c in done),
        deleted=sum(c.action == "delete" for c in done),
        failed_writes=len(report.result.failed),
        failed_adapters=[s.adapter for s in report.failed_adapters if s.error != NOT_READ_YET],
        not_read_yet=[s.adapter for s in report.failed_adapters if s.error == NOT_READ_YET],
    )
