"""A thousand services: a plain read stays quick, and the watch still sees a single registration."""

from __future__ import annotations

import time

from tests.adapters.consul.conftest import addresses, services

SERVICES = 1000


def _seed(consul, instances: int = 2) -> None:
    for s in range(SERVICES):
        for i in range(instances):
            consul.register(
                "dc1",
                {"Node": f"node-{i}", "Address": f"10.0.0.{i + 1}"},
                {"Service": f"svc-{s:04d}", "ID": f"svc-{s:04d}-{i}", "Port": 8080},
            )


def test_a_thousand_services_read_quickly(consul, make_adapter):
    _seed(consul)
    started = time.monotonic()
    snapshot = make_adapter().discover()
    elapsed = time.monotonic() - started
    assert len(services(snapshot)) == SERVICES
    assert elapsed < 15.0, f"plain read of {SERVICES} services took {elapsed:.1f}s"


def test_a_thousand_watched_services_notice_one_registration(consul, make_adapter, watching):
    _seed(consul)
    run = watching(make_adapter(wait="30s", watch_jitter="200ms"), prime_timeout=30.0)
    deadline = time.monotonic() + 15
    while consul.waiting < SERVICES + 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert consul.waiting == SERVICES + 1  # one blocking query per service, plus the catalog
    before = consul.requests["/v1/health/service"]

    def register_one() -> None:
        consul.register(
            "dc1", {"Node": "node-9", "Address": "10.0.0.9"}, {"Service": "svc-0500", "Port": 8080}
        )

    assert run.latency_of(register_one) < 1.0
    assert "10.0.0.9" in addresses(services(run.adapter.discover())["svc-0500"])
    assert consul.requests["/v1/health/service"] - before <= 2  # only that service's loop moved
