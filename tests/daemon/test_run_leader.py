"""Two `syncd run` replicas: one leads and writes, the other follows ready; SIGTERM hands over."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.daemon.conftest import DaemonProcess, daemon_config, metric, owned, wait_until, web, write_registry
from tests.emulators.kube_api import KubeApiEmulator
from tests.factories import NAMESPACE

pytestmark = pytest.mark.timeout(60)
LEASE_SECONDS = 3.0


def holder(api: KubeApiEmulator) -> str:
    lease = api.get_object("leases", NAMESPACE, "syncd")
    return str(lease["spec"].get("holderIdentity") or "") if lease else ""


def leader_gauge(daemon: DaemonProcess) -> float | None:
    return metric(daemon.get("/metrics")[1], "syncd_leader")


def test_one_writer_and_a_fast_takeover(
    kube_api: KubeApiEmulator, kubeconfig: Path, tmp_path: Path, spawn: Callable[..., DaemonProcess]
) -> None:
    registry = write_registry(tmp_path / "registry.yaml", web("web", "10.0.0.1"))
    replicas = {
        name: spawn(daemon_config(tmp_path / f"{name}.yaml", kubeconfig, registry), name)
        for name in ("alpha", "beta")
    }
    for daemon in replicas.values():
        assert wait_until(lambda d=daemon: d.get("/readyz")[0] == 200, 30), daemon.log_text()
    assert wait_until(lambda: "files-web" in owned(kube_api), 5)
    lead_name = holder(kube_api).split("_")[0]
    assert lead_name in replicas
    follower_name = next(n for n in replicas if n != lead_name)
    leader, follower = replicas[lead_name], replicas[follower_name]
    assert follower.get("/readyz") == (200, "ok: follower\n")
    assert leader_gauge(leader) == 1 and leader_gauge(follower) == 0

    write_registry(registry, web("web", "10.0.0.1"), web("api", "10.0.0.2"))
    assert wait_until(lambda: "files-api" in owned(kube_api), 5)
    leader.wait_for("written", timeout=5, name="files-api")
    assert not follower.logged("written")
    assert not follower.logged("plan")  # a follower does not even read the registry

    assert leader.stop() == 0
    stopped_at = time.monotonic()
    # the Lease was handed back: the follower need not wait it out (3 s) to take over
    took_over = follower.wait_for("leader_acquired", timeout=LEASE_SECONDS)
    assert time.monotonic() - stopped_at < LEASE_SECONDS
    assert holder(kube_api) == took_over["identity"] and took_over["identity"].startswith(follower_name)

    write_registry(registry, web("web", "10.0.0.1"), web("api", "10.0.0.2"), web("db", "10.0.0.3"))
    assert wait_until(lambda: "files-db" in owned(kube_api), 5), follower.log_text()
    follower.wait_for("written", timeout=5, name="files-db")  # the log line trails the write
    assert follower.stop() == 0
