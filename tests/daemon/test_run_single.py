"""`syncd run` end to end with one replica on the emulator: changes, steady state, drift, 410.

One daemon serves the whole module (starting one costs seconds); each test leaves it converged.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.daemon.conftest import (
    DaemonProcess,
    daemon_config,
    foreign_copy,
    metric,
    owned,
    se_lists,
    se_writes,
    wait_until,
    web,
    write_registry,
)
from tests.emulators.kube_api import KubeApiEmulator
from tests.factories import NAMESPACE

pytestmark = pytest.mark.timeout(60)


@dataclass
class Running:
    api: KubeApiEmulator
    daemon: DaemonProcess
    registry: Path

    def endpoints(self, name: str) -> list[str]:
        obj = owned(self.api).get(name)
        return [e["address"] for e in obj["spec"].get("endpoints", [])] if obj else []

    def cycles(self) -> int:
        return len(self.daemon.logged("plan"))


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    tmp = tmp_path_factory.mktemp("run")
    api = KubeApiEmulator(bookmark_interval=1.0).start()
    registry = write_registry(tmp / "registry.yaml", web("web", "10.0.0.1"), web("api", "10.0.0.2"))
    adapters = [
        {"name": "files", "type": "file", "path": str(registry), "interval": "1s", "watch_interval": "100ms"}
    ]
    config = daemon_config(
        tmp / "config.yaml", api.write_kubeconfig(tmp / "kubeconfig"), registry, adapters=adapters
    )
    daemon = DaemonProcess(config, "solo")
    try:
        assert wait_until(lambda: daemon.get("/readyz")[0] == 200, 30), daemon.log_text()
        assert wait_until(lambda: sorted(owned(api)) == ["files-api", "files-web"], 5)
        yield Running(api, daemon, registry)
    finally:
        daemon.kill()
        api.stop()


def test_a_registry_change_reaches_the_target_within_a_second(running: Running) -> None:
    started = time.monotonic()
    write_registry(running.registry, web("web", "10.0.0.1", "10.0.0.3"), web("api", "10.0.0.2"))
    assert wait_until(lambda: running.endpoints("files-web") == ["10.0.0.1", "10.0.0.3"], 5)
    assert time.monotonic() - started < 2.0  # file watch 100 ms + debounce 100 ms, typically ~0.3 s
    write_registry(running.registry, web("web", "10.0.0.1", "10.0.0.3"))
    assert wait_until(lambda: sorted(owned(running.api)) == ["files-web"], 5)
    write_registry(running.registry, web("web", "10.0.0.1", "10.0.0.3"), web("api", "10.0.0.2"))
    assert wait_until(lambda: sorted(owned(running.api)) == ["files-api", "files-web"], 5)


def test_a_steady_state_makes_no_write_and_no_list(running: Running) -> None:
    time.sleep(0.5)  # let the previous test's writes echo back
    running.api.reset_counts()
    before = running.cycles()
    assert wait_until(lambda: running.cycles() >= before + 3, 10)  # the adapter runs every second
    assert se_writes(running.api) == []
    assert se_lists(running.api) == 0


def test_hand_edits_and_deletes_are_repaired(running: Running) -> None:
    edited = owned(running.api)["files-web"]
    edited["spec"]["endpoints"] = [{"address": "10.66.66.66"}]
    running.api.put_object(edited)
    assert wait_until(lambda: running.endpoints("files-web") == ["10.0.0.1", "10.0.0.3"], 5)
    running.daemon.wait_for("drift_detected", timeout=5)

    running.api.delete_object("serviceentries", NAMESPACE, "files-api")
    assert wait_until(lambda: "files-api" in owned(running.api), 5)


def test_foreign_entries_are_left_alone(running: Running) -> None:
    template = owned(running.api)["files-web"]
    unlabelled = running.api.put_object(foreign_copy(template, "files-legacy", {"app": "legacy"}))
    labels = {**template["metadata"]["labels"], "syncd.io/owner": "someone-else"}
    other_owner = running.api.put_object(foreign_copy(template, "files-theirs", labels))
    running.api.reset_counts()
    before = running.cycles()
    assert wait_until(lambda: running.cycles() >= before + 2, 10)
    assert se_writes(running.api) == []
    for obj in (unlabelled, other_owner):
        stored = running.api.get_object("serviceentries", NAMESPACE, obj["metadata"]["name"])
        assert (
            stored is not None and stored["metadata"]["resourceVersion"] == obj["metadata"]["resourceVersion"]
        )


def test_410_gone_relists_and_the_cache_stays_correct(running: Running) -> None:
    api = running.api
    api.reset_counts()
    # lose a deletion together with the watch history: only a relist can notice it
    api.stop()
    api.delete_object("serviceentries", NAMESPACE, "files-api")
    api.expire_history()
    api.start()
    assert wait_until(lambda: "files-api" in owned(api), 10), running.daemon.log_text()
    assert se_lists(api) >= 1
    _, metrics = running.daemon.get("/metrics")
    assert (metric(metrics, "syncd_watch_restarts_total", reason="gone") or 0) >= 1
    # the watch goes on from the fresh list: drift is still seen, and steady cycles list nothing
    edited = owned(api)["files-web"]
    edited["spec"]["endpoints"] = [{"address": "10.77.77.77"}]
    api.put_object(edited)
    assert wait_until(lambda: running.endpoints("files-web") == ["10.0.0.1", "10.0.0.3"], 5)
    time.sleep(0.5)
    api.reset_counts()
    before = running.cycles()
    assert wait_until(lambda: running.cycles() >= before + 2, 10)
    assert se_lists(api) == 0 and se_writes(api) == []
