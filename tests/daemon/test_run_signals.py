"""`syncd run` and signals: SIGHUP reloads (a broken config is rejected), SIGTERM hands the Lease
back and exits 0, a second signal during shutdown exits at once with 128+signal."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from tests.daemon.conftest import DaemonProcess, daemon_config, owned, wait_until, web, write_registry
from tests.emulators.kube_api import KubeApiEmulator
from tests.factories import NAMESPACE

pytestmark = pytest.mark.timeout(60)


def test_reload_on_sighup_and_on_file_change_then_sigterm_releases_the_lease(
    kube_api: KubeApiEmulator, kubeconfig: Path, tmp_path: Path, spawn: Callable[..., DaemonProcess]
) -> None:
    registry = write_registry(tmp_path / "registry.yaml", web("web", "10.0.0.1"))
    more = write_registry(tmp_path / "more.yaml", web("cache", "10.0.1.1"))
    path = daemon_config(tmp_path / "config.yaml", kubeconfig, registry, daemon={"config_check_interval": 0})
    good = yaml.safe_load(path.read_text())
    daemon = spawn(path)
    assert wait_until(lambda: daemon.get("/readyz")[0] == 200, 30), daemon.log_text()

    # a broken config: rejected with its key paths, the old one keeps running
    path.write_text(yaml.safe_dump({**good, "adapters": [{"name": "Bad Name", "type": "file"}], "typo": 1}))
    daemon.signal(signal.SIGHUP)
    rejected = daemon.wait_for("config_reload_rejected")
    assert "typo: unknown key" in rejected["problems"]
    assert any(p.startswith("adapters[0].name:") for p in rejected["problems"])
    write_registry(registry, web("web", "10.0.0.1", "10.0.0.2"))
    assert wait_until(lambda: len(owned(kube_api)["files-web"]["spec"]["endpoints"]) == 2, 5)

    # a good one with a second adapter (and config checks every 300 ms from now on)
    extra = {"name": "more", "type": "file", "path": str(more), "interval": "30s", "watch_interval": "100ms"}
    path.write_text(
        yaml.safe_dump(
            {
                **good,
                "adapters": [*good["adapters"], extra],
                "daemon": {**good["daemon"], "config_check_interval": "300ms"},
            }
        )
    )
    daemon.signal(signal.SIGHUP)
    daemon.wait_for("config_reloaded", reason="sighup")
    assert wait_until(lambda: "more-cache" in owned(kube_api), 5), daemon.log_text()
    write_registry(more, web("cache", "10.0.1.1"), web("queue", "10.0.1.2"))  # its watch runs too
    assert wait_until(lambda: "more-queue" in owned(kube_api), 5)

    # a changed file is picked up without a signal; dropping the adapter deletes its entries
    path.write_text(yaml.safe_dump({**good, "daemon": {**good["daemon"], "config_check_interval": "300ms"}}))
    daemon.wait_for("config_reloaded", reason="file_changed")
    assert wait_until(lambda: sorted(owned(kube_api)) == ["files-web"], 5), daemon.log_text()

    started = time.monotonic()
    assert daemon.stop() == 0
    assert time.monotonic() - started < 10
    lease = kube_api.get_object("leases", NAMESPACE, "syncd")
    assert lease is not None and not lease["spec"].get("holderIdentity")
    assert daemon.logged("lease_released") and daemon.logged("shutdown_done", clean=True)


def test_a_second_signal_exits_at_once_while_the_first_waits_for_the_write(
    kube_api: KubeApiEmulator, kubeconfig: Path, tmp_path: Path, spawn: Callable[..., DaemonProcess]
) -> None:
    registry = write_registry(tmp_path / "registry.yaml", web("web", "10.0.0.1"))
    daemon = spawn(
        daemon_config(tmp_path / "config.yaml", kubeconfig, registry, daemon={"shutdown_timeout": "8s"})
    )
    assert wait_until(lambda: daemon.get("/readyz")[0] == 200, 30), daemon.log_text()
    kube_api.reset_counts()
    kube_api.set_faults(1.0, kinds=["slow"], slow_seconds=4.0, verbs=["create"])
    write_registry(registry, web("web", "10.0.0.1"), web("api", "10.0.0.2"))
    assert wait_until(lambda: kube_api.counts()["create"] >= 1, 5)  # a create is in flight now

    daemon.signal(signal.SIGTERM)
    daemon.wait_for("shutdown_started")
    time.sleep(0.5)
    assert daemon.proc.poll() is None, "the first SIGTERM must wait for the write in flight"
    started = time.monotonic()
    daemon.signal(signal.SIGTERM)
    assert daemon.proc.wait(5) == 128 + signal.SIGTERM
    assert time.monotonic() - started < 1.0
