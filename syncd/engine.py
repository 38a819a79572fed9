"""One reconcile cycle: collect snapshots → render → read owned → plan → validate → apply.

The only module that joins adapters, render, plan and targets. It never raises for registry or
target trouble: everything that went wrong is in the returned CycleReport.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field

import structlog

from syncd import metrics
from syncd.adapter import Adapter
from syncd.config import AdapterConfig, Config
from syncd.config_traffic import render_policy
from syncd.logs import redact_text
from syncd.model import Snapshot
from syncd.plan import AdapterState, Change, Changes, OwnedMemo, plan
from syncd.render import Desired, Rendered, RenderMemo, RenderSettings, render_snapshot
from syncd.render.destination_rule import TrafficPolicy
from syncd.render.validate import validate_manifest
from syncd.targets import ApplyResult, Target, TargetError

log = structlog.get_logger(__name__)
_MAX_DROP_LINES = 20


@dataclass
class CycleReport:
    """What one cycle saw, planned and did; ``ok`` is False when anything needs attention."""

    snapshots: list[Snapshot]
    rendered: list[Rendered]
    changes: Changes = field(default_factory=Changes)
    result: ApplyResult = field(default_factory=ApplyResult)
    invalid: list[tuple[str, list[str]]] = field(default_factory=list)
    target_error: str | None = None

    @property
    def failed_adapters(self) -> list[Snapshot]:
        return [s for s in self.snapshots if not s.ok]

    @property
    def ok(self) -> bool:
        return not (
            self.failed_adapters
            or any(r.refused for r in self.rendered)
            or self.changes.refusals
            or self.invalid
            or self.target_error
            or not self.result.ok
        )


class Engine:
    """Runs cycles for a fixed config, adapters and target (the daemon builds a new one on reload)."""

    def __init__(
        self,
        config: Config,
        adapters: Sequence[Adapter],
        target: Target,
        *,
        force: bool = False,
        adapter_timeout: float = 120.0,
        owned_memo: OwnedMemo | None = None,
    ) -> None:
        self.config = config
        self.adapters = list(adapters)
        self.target = target
        self.force = force
        self.adapter_timeout = adapter_timeout
        self._owned_memo = owned_memo  # only for targets whose listed objects are never mutated
        self._by_name: dict[str, AdapterConfig] = {a.name: a for a in config.adapters}
        # Snapshots are immutable: the same object twice renders the same (settings are fixed here).
        self._last_render: dict[str, tuple[Snapshot, Rendered]] = {}
        self._memos: dict[str, RenderMemo] = {}
        self._policies: dict[str, TrafficPolicy | None] = {
            a.name: _traffic_policy(config, a.name) for a in config.adapters
        }

    def cycle(self) -> CycleReport:
        return self.reconcile(self.collect())

    def collect(self, adapters: Sequence[Adapter] | None = None) -> list[Snapshot]:
        """Read every adapter concurrently; a crash or a hang becomes that adapter's failure."""
        chosen = list(adapters if adapters is not None else self.adapters)
        if not chosen:
            return []
        pool = ThreadPoolExecutor(max_workers=min(8, len(chosen)), thread_name_prefix="adapter")
        try:
            futures = [(a, pool.submit(_timed_discover, a)) for a in chosen]
            snapshots = []
            deadline = time.monotonic() + self.adapter_timeout
            for adapter, future in futures:
                try:
                    snapshot = future.result(timeout=max(0.0, deadline - time.monotonic()))
                except FutureTimeout:
                    snapshot = Snapshot.failed(adapter.name, f"no answer within {self.adapter_timeout:g}s")
                except Exception as exc:  # an adapter bug must not take the others down
                    snapshot = Snapshot.failed(adapter.name, f"adapter crashed: {type(exc).__name__}: {exc}")
                snapshots.append(snapshot)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        for snapshot in snapshots:
            _record_snapshot(snapshot)
        return snapshots

    def render(self, snapshots: Sequence[Snapshot]) -> list[Rendered]:
        """Render each snapshot; one the adapter handed back unchanged reuses its last rendering."""
        rendered = []
        fresh = []
        for snapshot in snapshots:
            if not snapshot.ok:
                rendered.append(Rendered(snapshot.adapter, dropped=snapshot.dropped))
                fresh.append(rendered[-1])
                continue
            last = self._last_render.get(snapshot.adapter)
            if last is not None and last[0] is snapshot:
                rendered.append(last[1])
                continue
            cfg = self._by_name[snapshot.adapter]
            settings = RenderSettings(
                owner=self.config.owner,
                namespace=self.config.target.namespace,
                location=cfg.location,
                export_to=cfg.export_to,
                traffic_policy=self._policies.get(snapshot.adapter),
                endpoint_mode=cfg.endpoint_mode,
            )
            memo = self._memos.setdefault(snapshot.adapter, RenderMemo())
            rendered.append(render_snapshot(snapshot, settings, memo))
            fresh.append(rendered[-1])
            self._last_render[snapshot.adapter] = (snapshot, rendered[-1])
        for item in fresh:  # reused renderings were logged and counted when they were new
            _log_render_issues(item)
        return rendered

    def reconcile(self, snapshots: Sequence[Snapshot]) -> CycleReport:
        """Plan and apply for these snapshots (in config order), using owned objects from the target."""
        order = {a.name: i for i, a in enumerate(self.config.adapters)}
        snapshots = sorted(snapshots, key=lambda s: order.get(s.adapter, len(order)))
        started = time.monotonic()
        rendered = self.render(snapshots)
        rendered_at = time.monotonic()
        report = CycleReport(list(snapshots), rendered)
        try:
            owned = self.target.list_owned(self.config.owner)
        except TargetError as exc:
            report.target_error = redact_text(str(exc))
            log.error("target_unreadable", error=report.target_error)
            metrics.CYCLES.labels("failed").inc()
            return report
        kinds = self.config.managed_kinds  # kinds syncd does not manage are never touched
        owned = [obj for obj in owned if obj.get("kind") in kinds]
        states = [_state(s, r) for s, r in zip(snapshots, rendered, strict=True)]
        changes = plan(
            states,
            owned,
            owner=self.config.owner,
            max_delete_percent=self.config.safety.max_delete_percent,
            policy=self.config.safety.policy,
            force=self.force,
            memo=self._owned_memo,
        )
        planned_at = time.monotonic()
        changes, report.invalid = _drop_invalid(changes)
        report.changes = changes
        _log_plan(changes)
        log.debug(
            "reconcile_timing",
            render_s=round(rendered_at - started, 4),
            list_and_plan_s=round(planned_at - rendered_at, 4),
            validate_s=round(time.monotonic() - planned_at, 4),
        )
        report.result = self.target.apply(changes)
        for change in report.result.done:
            metrics.WRITES.labels(change.action, "ok").inc()
        for change, error in report.result.failed:
            metrics.WRITES.labels(change.action, "error").inc()
            log.error(
                "write_failed",
                verb=change.action,
                kind=change.kind,
                name=change.name,
                error=redact_text(error),
            )
        metrics.CYCLES.labels("ok" if report.ok else "failed").inc()
        return report

    def desired(self, snapshots: Sequence[Snapshot]) -> list[Desired]:
        """Everything that should exist, in config order (``syncd render``)."""
        return [obj for r in self.render(snapshots) for obj in r.objects]

    def close(self) -> None:
        for adapter in self.adapters:
            try:
                adapter.close()
            except Exception as exc:
                log.warning("adapter_close_failed", adapter=adapter.name, error=str(exc))
        self.target.close()


def _traffic_policy(config: Config, adapter: str) -> TrafficPolicy | None:
    """What render needs of ``adapter``'s merged traffic policy; None renders no DestinationRules."""
    policy = config.traffic_policy_for(adapter)
    return render_policy(policy) if policy is not None else None


def _timed_discover(adapter: Adapter) -> Snapshot:
    started = time.monotonic()
    snapshot = adapter.discover()
    seconds = time.monotonic() - started
    metrics.CYCLE_SECONDS.labels(adapter.name).observe(seconds)
    log.debug("adapter_read", adapter=adapter.name, seconds=round(seconds, 4), ok=snapshot.ok)
    return snapshot


def _record_snapshot(snapshot: Snapshot) -> None:
    if snapshot.ok:
        metrics.LAST_SUCCESS.labels(snapshot.adapter).set(time.time())
        metrics.SERVICES.labels(snapshot.adapter).set(len(snapshot.services))
        metrics.ENDPOINTS.labels(snapshot.adapter).set(sum(len(s.endpoints) for s in snapshot.services))
        if snapshot.unknown:
            log.warning("services_unknown", adapter=snapshot.adapter, services=sorted(snapshot.unknown)[:50])
    else:
        metrics.ADAPTER_FAILURES.labels(snapshot.adapter).inc()
        log.error(
            "adapter_failed",
            adapter=snapshot.adapter,
            error=redact_text(snapshot.error or ""),
            consequence="nothing it owns is changed or deleted this cycle",
        )


def _log_render_issues(rendered: Rendered) -> None:
    for i, drop in enumerate(rendered.dropped):
        metrics.DROPPED.labels(drop.adapter, drop.what.split(" ", 1)[0]).inc()
        if i < _MAX_DROP_LINES:
            log.warning(
                "record_dropped",
                adapter=drop.adapter,
                service=drop.service,
                what=drop.what,
                reason=drop.reason,
            )
    if len(rendered.dropped) > _MAX_DROP_LINES:
        log.warning(
            "records_dropped", adapter=rendered.adapter, count=len(rendered.dropped), shown=_MAX_DROP_LINES
        )
    for refused in rendered.refused:
        metrics.REFUSED.labels(refused.adapter).inc()
        log.error(
            "service_refused",
            adapter=refused.adapter,
            service=refused.service,
            reason=refused.reason,
            consequence="its current entry is kept unchanged",
        )


def _state(snapshot: Snapshot, rendered: Rendered) -> AdapterState:
    keep = set(snapshot.unknown) | {r.service for r in rendered.refused}
    return AdapterState(snapshot.adapter, snapshot.ok, rendered.objects, frozenset(keep))


def _drop_invalid(changes: Changes) -> tuple[Changes, list[tuple[str, list[str]]]]:
    """Last line of defence: an object the API server or istiod would reject is never sent."""
    invalid: list[tuple[str, list[str]]] = []

    def valid(change: Change) -> bool:
        assert change.desired is not None
        problems = validate_manifest(change.desired)
        if problems:
            invalid.append((f"{change.kind}/{change.name}", problems))
            metrics.INVALID_OBJECTS.labels(change.kind).inc()
            log.error(
                "invalid_object_not_written", kind=change.kind, name=change.name, problems=problems[:10]
            )
        return not problems

    create = tuple(c for c in changes.create if valid(c))
    update = tuple(c for c in changes.update if valid(c))
    return Changes(create, update, changes.delete, changes.conflicts, changes.refusals), invalid


def _log_plan(changes: Changes) -> None:
    for action, items in (("create", changes.create), ("update", changes.update), ("delete", changes.delete)):
        metrics.PLAN_CHANGES.labels(action).set(len(items))
    for conflict in changes.conflicts:
        metrics.CONFLICTS.labels(conflict.loser).inc()
        log.warning(
            "host_conflict",
            host=conflict.host,
            kept_by=conflict.winner,
            left_out=conflict.loser,
            service=conflict.loser_service,
        )
    for refusal in changes.refusals:
        metrics.DELETE_REFUSALS.labels(refusal.adapter).inc()
        log.error(
            "deletes_refused",
            adapter=refusal.adapter,
            deletes=refusal.deletes,
            owned=refusal.owned,
            reason=refusal.reason,
        )
    counts = {"create": len(changes.create), "update": len(changes.update), "delete": len(changes.delete)}
    (log.info if changes else log.debug)("plan", **counts)
