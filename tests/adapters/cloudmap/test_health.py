"""Health: flips are noticed although the revision does not move; fail-open; ALL."""

from __future__ import annotations

from syncd.model import Health
from tests.adapters.cloudmap.conftest import MakeAdapter
from tests.adapters.cloudmap.proxy import CloudMapProxy
from tests.adapters.cloudmap.registry import Registry, addresses, by_name


def test_health_flip_to_unhealthy_is_noticed(
    registry: Registry, make_adapter: MakeAdapter, proxy: CloudMapProxy
) -> None:
    ns, ns_id = registry.namespace()
    svc = registry.service(ns_id, "api", health=True)
    registry.register(svc, "i-1", "10.0.0.1")
    registry.register(svc, "i-2", "10.0.0.2")
    adapter = make_adapter(namespaces=[ns])
    assert addresses(by_name(adapter.discover())[f"api.{ns}"]) == ["10.0.0.1", "10.0.0.2"]
    revision = registry.client.discover_instances_revision(NamespaceName=ns, ServiceName="api")[
        "InstancesRevision"
    ]

    registry.set_health(svc, "i-2", "UNHEALTHY")
    assert (
        registry.client.discover_instances_revision(NamespaceName=ns, ServiceName="api")["InstancesRevision"]
        == revision
    )
    assert addresses(by_name(adapter.discover())[f"api.{ns}"]) == ["10.0.0.1"]

    registry.set_health(svc, "i-1", "UNHEALTHY")
    assert by_name(adapter.discover())[f"api.{ns}"].endpoints == ()

    registry.set_health(svc, "i-2", "HEALTHY")
    assert addresses(by_name(adapter.discover())[f"api.{ns}"]) == ["10.0.0.2"]
    # A health-checked service is read in full every cycle; no revision round-trip is spent on it.
    assert proxy.count("DiscoverInstancesRevision") == 0
    assert proxy.count("DiscoverInstances") == 4


def test_fail_open_returns_all_when_none_is_healthy(registry: Registry, make_adapter: MakeAdapter) -> None:
    ns, ns_id = registry.namespace()
    svc = registry.service(ns_id, "api", health=True)
    for n in (1, 2):
        registry.register(svc, f"i-{n}", f"10.0.0.{n}")
    adapter = make_adapter(namespaces=[ns], health_status="HEALTHY_OR_ELSE_ALL")

    registry.set_health(svc, "i-1", "UNHEALTHY")
    assert addresses(by_name(adapter.discover())[f"api.{ns}"]) == ["10.0.0.2"]

    registry.set_health(svc, "i-2", "UNHEALTHY")
    service = by_name(adapter.discover())[f"api.{ns}"]
    assert addresses(service) == ["10.0.0.1", "10.0.0.2"]
    assert {e.health for e in service.endpoints} == {Health.UNHEALTHY}

    strict = make_adapter(namespaces=[ns])
    assert by_name(strict.discover())[f"api.{ns}"].endpoints == ()


def test_all_keeps_unhealthy_instances(registry: Registry, make_adapter: MakeAdapter) -> None:
    ns, ns_id = registry.namespace()
    svc = registry.service(ns_id, "api", health=True)
    for n in (1, 2):
        registry.register(svc, f"i-{n}", f"10.0.0.{n}")
    registry.set_health(svc, "i-2", "UNHEALTHY")

    service = by_name(make_adapter(namespaces=[ns], health_status="all").discover())[f"api.{ns}"]
    assert {e.address: e.health for e in service.endpoints} == {
        "10.0.0.1": Health.HEALTHY,
        "10.0.0.2": Health.UNHEALTHY,
    }
