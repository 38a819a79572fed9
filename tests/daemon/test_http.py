"""The HTTP endpoint in-process: probe answers follow the callables, /metrics is Prometheus text."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from prometheus_client.parser import text_string_to_metric_families

from syncd.daemon.http import HttpServer

pytestmark = pytest.mark.timeout(30)


class Probes:
    def __init__(self) -> None:
        self.healthy, self.ready = True, False

    def health(self) -> tuple[bool, str]:
        return self.healthy, "alive" if self.healthy else "dead: scheduler"

    def readiness(self) -> tuple[bool, str]:
        if self.ready == "crash":
            raise RuntimeError("boom")
        return bool(self.ready), "leader" if self.ready else "waiting"


@pytest.fixture
def served() -> Iterator[tuple[HttpServer, Probes]]:
    probes = Probes()
    server = HttpServer("127.0.0.1", 0, health=probes.health, ready=probes.readiness)
    server.start()
    yield server, probes
    server.stop()


def get(server: HttpServer, path: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}{path}", timeout=5) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def test_port_zero_binds_a_free_port(served: tuple[HttpServer, Probes]) -> None:
    server, _ = served
    assert server.port > 0


def test_probes_answer_200_or_503_with_the_reason(served: tuple[HttpServer, Probes]) -> None:
    server, probes = served
    assert get(server, "/healthz")[::2] == (200, "ok: alive\n")
    assert get(server, "/readyz")[::2] == (503, "not ok: waiting\n")
    probes.ready = True
    assert get(server, "/readyz")[::2] == (200, "ok: leader\n")
    probes.healthy = False
    assert get(server, "/healthz")[::2] == (503, "not ok: dead: scheduler\n")
    probes.ready = "crash"  # type: ignore[assignment]
    assert get(server, "/readyz")[0] == 503
    assert get(server, "/nope")[0] == 404


def test_metrics_are_prometheus_text(served: tuple[HttpServer, Probes]) -> None:
    server, _ = served
    status, content_type, body = get(server, "/metrics")
    assert status == 200 and content_type.startswith("text/plain")
    names = {family.name for family in text_string_to_metric_families(body)}
    assert {"syncd_leader", "syncd_reconcile_duration_seconds", "syncd_writes"} <= names
