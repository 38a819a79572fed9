"""`syncd run` with 20 % of Kubernetes API requests failing (409, 429 + Retry-After, 500, reset
connections, slow answers): it converges to the registry, touches nothing foreign, never dies."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.daemon.conftest import (
    DaemonProcess,
    daemon_config,
    foreign_copy,
    owned,
    wait_until,
    web,
    write_registry,
)
from tests.emulators.kube_api import KubeApiEmulator
from tests.factories import NAMESPACE, render, service


def test_converges_under_api_faults_and_stays_up(
    kube_api: KubeApiEmulator, kubeconfig: Path, tmp_path: Path, spawn: Callable[..., DaemonProcess]
) -> None:
    foreign = foreign_copy(render("files", service("x", "10.9.9.9"))[0].body, "hand-made", {"team": "a"})
    kube_api.put_object(foreign)
    services = [web(f"s{i}", f"10.0.0.{i + 1}") for i in range(20)]
    registry = write_registry(tmp_path / "registry.yaml", *services)
    config = daemon_config(tmp_path / "c.yaml", kubeconfig, registry, target={"max_retries": 3})
    kube_api.set_faults(
        0.2, kinds=("409", "429", "500", "reset", "slow"), seed=11, slow_seconds=0.3, retry_after=0
    )
    daemon = spawn(config)

    for step in range(3):  # churn while the faults go on
        wait_until(lambda: len(owned(kube_api)) >= 5, 20)
        services = [*services[1:], web(f"n{step}", f"10.1.0.{step + 1}")]
        write_registry(registry, *services)
    want = {f"files-{s['name']}" for s in services}
    assert wait_until(lambda: set(owned(kube_api)) == want, 60), sorted(owned(kube_api))
    assert kube_api.faults_injected > 0
    assert daemon.proc.poll() is None
    kube_api.clear_faults()
    assert daemon.get("/healthz")[0] == 200
    stored = kube_api.objects("serviceentries", NAMESPACE)
    names = [o["metadata"]["name"] for o in stored]
    assert len(names) == len(set(names))
    hand_made = kube_api.get_object("serviceentries", NAMESPACE, "hand-made")
    assert hand_made is not None and hand_made["spec"] == foreign["spec"]
    assert daemon.stop() == 0
