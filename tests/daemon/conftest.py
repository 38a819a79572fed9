"""Fixtures for the daemon tests: a watch-cached target on the emulator, and `syncd run` processes.

``DaemonProcess`` runs ``python -m syncd run -c FILE`` as users do, reads its JSON log lines in a
thread, and is killed in teardown if a test left it running.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from syncd.config import TargetConfig
from syncd.daemon.watch_cache import CachedTarget, build_cached_target
from syncd.plan import AdapterState, Changes, plan
from syncd.targets import ApplyResult
from tests.emulators.kube_api import KubeApiEmulator
from tests.factories import NAMESPACE, OWNER, render

WRITE_VERBS = ("create", "update", "patch", "delete")
REPO = Path(__file__).resolve().parents[2]


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it is truthy; its last value (falsy on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


def se_writes(api: KubeApiEmulator) -> list[str]:
    """Write requests to ServiceEntries since the last reset ("create /apis/...")."""
    return [
        f"{r.verb} {r.path}" for r in api.request_log if r.verb in WRITE_VERBS and "serviceentries" in r.path
    ]


def se_lists(api: KubeApiEmulator) -> int:
    return sum(1 for r in api.request_log if r.verb == "list" and "serviceentries" in r.path)


def metric(text: str, sample: str, **labels: str) -> float | None:
    """The value of one sample (``syncd_writes_total``) with these labels in Prometheus text."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == sample and all(found.labels.get(k) == v for k, v in labels.items()):
                return float(found.value)
    return None


def owned(api: KubeApiEmulator) -> dict[str, dict[str, Any]]:
    return {
        o["metadata"]["name"]: o
        for o in api.objects("serviceentries", NAMESPACE)
        if (o["metadata"].get("labels") or {}).get("syncd.io/owner") == OWNER
    }


# -- in-process: the cached target -------------------------------------------------------------


@pytest.fixture
def cached(kubeconfig: Path) -> Iterator[CachedTarget]:
    """A started, synced CachedTarget on ``kube_api``; stopped afterwards."""
    target = build_cached_target(TargetConfig(kubeconfig=kubeconfig, max_retries=2), OWNER)
    target.cache.start()
    assert target.cache.wait_synced(5)
    yield target
    target.close()


def sync(target: CachedTarget, *services: Any, adapter: str = "a") -> tuple[Changes, ApplyResult]:
    changes = plan(
        [AdapterState(adapter, True, render(adapter, *services))], target.list_owned(OWNER), owner=OWNER
    )
    result = target.apply(changes)
    assert result.ok, result.failed
    return changes, result


# -- subprocess: syncd run ----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def web(name: str, *addresses: str, port: int = 80) -> dict[str, Any]:
    return {
        "name": name,
        "hosts": [f"{name}.example.com"],
        "ports": [{"number": port, "protocol": "HTTP"}],
        "endpoints": [{"address": a} for a in (addresses or ("10.0.0.1",))],
    }


def write_registry(path: Path, *services: dict[str, Any]) -> Path:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump({"services": list(services)}))
    os.replace(tmp, path)  # atomic, as a real registry writer would do it
    return path


def daemon_config(
    path: Path,
    kubeconfig: Path,
    registry: Path,
    *,
    port: int | None = None,
    adapters: list[dict[str, Any]] | None = None,
    **overrides: Any,
) -> Path:
    """A config for `syncd run` against the emulator with short intervals and a 3 s lease."""
    config: dict[str, Any] = {
        "owner": OWNER,
        "target": {
            "type": "kubernetes",
            "kubeconfig": str(kubeconfig),
            "max_retries": 1,
            "request_timeout": "5s",
        },
        "adapters": adapters
        or [
            {
                "name": "files",
                "type": "file",
                "path": str(registry),
                "interval": "30s",
                "watch_interval": "100ms",
            }
        ],
        "server": {"host": "127.0.0.1", "port": port or free_port()},
        "leader_election": {"lease_duration": "3s", "renew_deadline": "2s", "retry_period": "500ms"},
        "daemon": {
            "debounce_quiet": "100ms",
            "debounce_max": "1s",
            "min_interval": "200ms",
            "shutdown_timeout": "5s",
        },
        "safety": {"max_delete_percent": 100},
    }
    for key, value in overrides.items():
        config[key] = {**config[key], **value} if isinstance(config.get(key), dict) else value
    path.write_text(yaml.safe_dump(config))
    return path


class DaemonProcess:
    """One `syncd run` subprocess; its stderr JSON log lines are collected as they come."""

    def __init__(self, config: Path, name: str = "syncd") -> None:
        self.config = config
        self.port = int(yaml.safe_load(config.read_text())["server"]["port"])
        env = {**os.environ, "POD_NAME": name, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "syncd",
                "run",
                "-c",
                str(config),
                "--log-format",
                "json",
                "--log-level",
                "debug",
            ],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.events: list[dict[str, Any]] = []
        self.raw: list[str] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._lock:
                self.raw.append(line)
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if isinstance(event, dict):
                    self.events.append(event)

    def logged(self, event: str, **match: Any) -> list[dict[str, Any]]:
        with self._lock:
            return [
                e
                for e in self.events
                if e.get("event") == event and all(e.get(k) == v for k, v in match.items())
            ]

    def wait_for(self, event: str, timeout: float = 15, **match: Any) -> dict[str, Any]:
        wait_until(lambda: self.logged(event, **match) or self.proc.poll() is not None, timeout)
        hits = self.logged(event, **match)
        assert hits, f"no {event} {match} within {timeout}s; log:\n{self.log_text()}"
        return hits[-1]

    def log_text(self) -> str:
        with self._lock:
            return "".join(self.raw[-60:])

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()
        except OSError:
            return 0, ""

    def signal(self, sig: int = signal.SIGTERM) -> None:
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 10) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout)
        self._reader.join(timeout=2)
        return rc

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


@pytest.fixture
def spawn() -> Iterator[Callable[..., DaemonProcess]]:
    """Start `syncd run` processes; any still running at teardown are killed."""
    started: list[DaemonProcess] = []

    def start(config: Path, name: str = "syncd") -> DaemonProcess:
        process = DaemonProcess(config, name)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


def foreign_copy(obj: dict[str, Any], name: str, labels: dict[str, str]) -> dict[str, Any]:
    """A copy of ``obj`` under another name and labels, without server-set fields."""
    other = copy.deepcopy(obj)
    meta = other["metadata"]
    for key in ("resourceVersion", "uid", "creationTimestamp", "generation"):
        meta.pop(key, None)
    meta.update(name=name, labels=labels)
    return other
