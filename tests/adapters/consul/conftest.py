"""Fixtures: a Consul emulator on 127.0.0.1, adapters pointed at it, and watches run on a thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from adapters.consul import ConsulAdapter
from adapters.consul_settings import ConsulSettings
from syncd.model import Service, Snapshot
from tests.emulators.consul_api import ConsulEmulator

#: Short waits and delays so watch tests run in milliseconds, not minutes.
FAST: dict[str, Any] = {
    "wait": "2s",
    "timeout": "2s",
    "watch_rate_limit": "10ms",
    "watch_jitter": "10ms",
    "backoff_initial": "50ms",
    "backoff_max": "200ms",
    "datacenter_refresh": "200ms",
}


@pytest.fixture(autouse=True)
def _no_consul_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CONSUL_HTTP_ADDR", "CONSUL_HTTP_TOKEN", "CONSUL_HTTP_SSL", "CONSUL_HTTP_SSL_VERIFY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def consul() -> Iterator[ConsulEmulator]:
    emulator = ConsulEmulator("dc1").start()
    yield emulator
    emulator.stop()


@pytest.fixture
def make_adapter(consul: ConsulEmulator) -> Callable[..., ConsulAdapter]:
    def make(**keys: Any) -> ConsulAdapter:
        settings = ConsulSettings.model_validate({"address": consul.address, **FAST, **keys})
        return ConsulAdapter("consul-test", settings)

    return make


def register(
    consul: ConsulEmulator,
    name: str,
    instance: int = 1,
    *,
    dc: str = "dc1",
    port: int = 8080,
    checks: list[Any] | None = None,
    **service: Any,
) -> None:
    """Register instance ``instance`` of ``name`` on node ``node-<instance>`` (10.<dc>.0.<instance>)."""
    node = {"Node": f"node-{instance}", "Address": f"10.{int(dc[2:] or 0)}.0.{instance}"}
    consul.register(dc, node, {"Service": name, "ID": f"{name}-{instance}", "Port": port, **service}, checks)


def services(snapshot: Snapshot) -> dict[str, Service]:
    assert snapshot.ok, snapshot.error
    return {s.name: s for s in snapshot.services}


def addresses(service: Service) -> list[str]:
    return sorted(e.address for e in service.endpoints)


class WatchRun:
    """A running ``adapter.watch``: every ``wake()`` is timestamped."""

    def __init__(self, adapter: ConsulAdapter) -> None:
        self.adapter = adapter
        self.stop = threading.Event()
        self.wakes: list[float] = []
        self._changed = threading.Condition()
        self.thread = threading.Thread(target=adapter.watch, args=(self._wake, self.stop), daemon=True)

    def _wake(self) -> None:
        with self._changed:
            self.wakes.append(time.monotonic())
            self._changed.notify_all()

    def wait_for_wakes(self, count: int, timeout: float = 5.0) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: len(self.wakes) >= count, timeout)

    def latency_of(self, change: Callable[[], None], timeout: float = 5.0) -> float:
        """Seconds from making ``change`` to the next wake (fails the test when none comes)."""
        before = len(self.wakes)
        start = time.monotonic()
        change()
        assert self.wait_for_wakes(before + 1, timeout), "the watch did not wake"
        return self.wakes[before] - start


@pytest.fixture
def watching() -> Iterator[Callable[..., WatchRun]]:
    runs: list[WatchRun] = []

    def start(adapter: ConsulAdapter, prime_timeout: float = 10.0) -> WatchRun:
        run = WatchRun(adapter)
        runs.append(run)
        run.thread.start()
        assert run.wait_for_wakes(1, prime_timeout), "the watch never finished its first reads"
        return run

    yield start
    for run in runs:
        run.stop.set()
    for run in runs:
        run.thread.join(5.0)
        assert not run.thread.is_alive(), "the watch did not stop"
