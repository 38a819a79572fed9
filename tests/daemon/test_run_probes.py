"""`syncd run`: /readyz waits for the first cycle, /healthz answers, /metrics has every family."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.daemon.conftest import DaemonProcess, daemon_config, metric, owned, wait_until, web, write_registry
from tests.emulators.kube_api import KubeApiEmulator

pytestmark = pytest.mark.timeout(60)

FAMILIES = {
    "syncd_adapter_cycle_duration_seconds",
    "syncd_adapter_last_success_timestamp_seconds",
    "syncd_adapter_services",
    "syncd_adapter_endpoints",
    "syncd_adapter_failures",
    "syncd_writes",
    "syncd_plan_changes",
    "syncd_host_conflicts",
    "syncd_dropped_records",
    "syncd_leader",
    "syncd_watch_restarts",
    "syncd_reconcile_duration_seconds",
    "syncd_cycles",
}


def test_readyz_turns_200_after_the_first_cycle_and_metrics_tell_the_story(
    kube_api: KubeApiEmulator, kubeconfig: Path, tmp_path: Path, spawn: Callable[..., DaemonProcess]
) -> None:
    registry = write_registry(
        tmp_path / "registry.yaml",
        web("web", "10.0.0.1", "10.0.0.2"),
        web("api", "10.0.0.3"),
        {**web("bad", "not an address!"), "name": "bad"},
    )
    adapters = [{"name": "files", "type": "file", "path": str(registry), "interval": "1s"}]
    # the target cannot be listed at first: no cycle can complete
    kube_api.set_faults(1.0, kinds=["500"], verbs=["list"])
    daemon = spawn(daemon_config(tmp_path / "config.yaml", kubeconfig, registry, adapters=adapters))
    assert wait_until(lambda: daemon.get("/healthz")[0] == 200, 30), daemon.log_text()
    for _ in range(3):
        status, body = daemon.get("/readyz")
        assert status == 503, body
        time.sleep(0.3)
    daemon.wait_for("target_unreadable", timeout=5)

    kube_api.clear_faults()
    assert wait_until(lambda: daemon.get("/readyz") == (200, "ok: leader\n"), 10), daemon.log_text()
    assert sorted(owned(kube_api)) == ["files-api", "files-bad", "files-web"]  # "bad" lost its endpoint
    assert daemon.get("/healthz") == (200, "ok: alive\n")

    status, text = daemon.get("/metrics")
    assert status == 200
    names = {family.name for family in text_string_to_metric_families(text)}
    assert names >= FAMILIES, FAMILIES - names
    assert metric(text, "syncd_leader") == 1
    assert metric(text, "syncd_adapter_services", adapter="files") == 3
    assert metric(text, "syncd_adapter_endpoints", adapter="files") == 3
    assert metric(text, "syncd_writes_total", verb="create", result="ok") == 3
    assert (metric(text, "syncd_dropped_records_total", adapter="files", what="endpoint") or 0) >= 1
    assert (metric(text, "syncd_adapter_cycle_duration_seconds_count", adapter="files") or 0) >= 1
    assert (metric(text, "syncd_reconcile_duration_seconds_count") or 0) >= 1
    assert (
        metric(text, "syncd_adapter_last_success_timestamp_seconds", adapter="files") or 0
    ) > time.time() - 60
    assert daemon.stop() == 0
