"""Throttling (injected by the proxy, moto never throttles) backs off and then succeeds."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from tests.adapters.cloudmap.conftest import MakeAdapter
from tests.adapters.cloudmap.proxy import CloudMapProxy
from tests.adapters.cloudmap.registry import Registry, addresses, by_name


@pytest.fixture
def namespace(registry: Registry) -> str:
    ns, ns_id = registry.namespace()
    registry.register(registry.service(ns_id, "api"), "i-1", "10.0.0.1")
    return ns


def test_request_limit_exceeded_backs_off_then_succeeds(
    namespace: str, make_adapter: MakeAdapter, proxy: CloudMapProxy
) -> None:
    # botocore makes 2 attempts per request; the 3rd throttled answer is past botocore,
    # so syncd's own backoff round has to carry the request through.
    adapter = make_adapter(namespaces=[namespace], retry={"max_attempts": 2, "backoff": "10ms"})
    proxy.fail("ListNamespaces", times=3, status=400, code="RequestLimitExceeded")
    with capture_logs() as logs:
        snapshot = adapter.discover()
    assert addresses(by_name(snapshot)[f"api.{namespace}"]) == ["10.0.0.1"]
    assert proxy.count("ListNamespaces") == 4
    rounds = [e for e in logs if e["event"] == "cloudmap_throttled"]
    assert [(e["operation"], e["round"]) for e in rounds] == [("ListNamespaces", 1)]
    assert 0 <= rounds[0]["delay"] <= 0.01


def test_429_throttling_on_discover(namespace: str, make_adapter: MakeAdapter, proxy: CloudMapProxy) -> None:
    adapter = make_adapter(
        namespaces=[namespace], retry={"max_attempts": 1, "throttle_rounds": 3, "backoff": "5ms"}
    )
    proxy.fail("DiscoverInstances", times=2, status=429, code="ThrottlingException")
    snapshot = adapter.discover()
    assert addresses(by_name(snapshot)[f"api.{namespace}"]) == ["10.0.0.1"]
    assert proxy.count("DiscoverInstances") == 3


def test_endless_throttling_fails_the_cycle(
    namespace: str, make_adapter: MakeAdapter, proxy: CloudMapProxy
) -> None:
    adapter = make_adapter(
        namespaces=[namespace], retry={"max_attempts": 1, "throttle_rounds": 2, "backoff": "5ms"}
    )
    proxy.fail("ListServices", times=1000)
    snapshot = adapter.discover()
    assert not snapshot.ok and snapshot.services == ()
    assert "ListServices: still throttled (RequestLimitExceeded)" in (snapshot.error or "")
    assert proxy.count("ListServices") == 3

    proxy.heal()
    assert addresses(by_name(adapter.discover())[f"api.{namespace}"]) == ["10.0.0.1"]
