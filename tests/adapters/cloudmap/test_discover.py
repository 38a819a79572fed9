"""Registering and deregistering instances shows up in the next snapshot; names, hosts and selection."""

from __future__ import annotations

from syncd.model import Protocol, Resolution, ServicePort
from tests.adapters.cloudmap.conftest import MakeAdapter
from tests.adapters.cloudmap.registry import Registry, addresses, by_name


def test_register_then_deregister(registry: Registry, make_adapter: MakeAdapter) -> None:
    ns, ns_id = registry.namespace()
    api = registry.service(ns_id, "api")
    registry.register(api, "i-1", "10.0.0.1", 8080)
    adapter = make_adapter(namespaces=[ns])

    service = by_name(adapter.discover())[f"api.{ns}"]
    assert service.hosts == (f"api.{ns}",)
    assert service.ports == (ServicePort(8080, Protocol.TCP),)
    assert addresses(service) == ["10.0.0.1"]
    assert service.resolution is Resolution.STATIC
    assert service.origin == "cm"

    registry.register(api, "i-2", "10.0.0.2", 8080)
    assert addresses(by_name(adapter.discover())[f"api.{ns}"]) == ["10.0.0.1", "10.0.0.2"]

    registry.deregister(api, "i-1")
    assert addresses(by_name(adapter.discover())[f"api.{ns}"]) == ["10.0.0.2"]

    registry.deregister(api, "i-2")
    empty = by_name(adapter.discover())[f"api.{ns}"]
    assert empty.endpoints == () and empty.ports == ()


def test_deleted_service_disappears(registry: Registry, make_adapter: MakeAdapter) -> None:
    ns, ns_id = registry.namespace()
    api, web = registry.service(ns_id, "api"), registry.service(ns_id, "web")
    registry.register(api, "i-1", "10.0.0.1")
    registry.register(web, "i-2", "10.0.0.2")
    adapter = make_adapter(namespaces=[ns])
    assert set(by_name(adapter.discover())) == {f"api.{ns}", f"web.{ns}"}

    registry.delete_service(web)
    assert set(by_name(adapter.discover())) == {f"api.{ns}"}


def test_only_the_configured_namespaces(registry: Registry, make_adapter: MakeAdapter) -> None:
    wanted, wanted_id = registry.namespace("wanted")
    other, other_id = registry.namespace("other")
    registry.register(registry.service(wanted_id, "api"), "i-1", "10.0.0.1")
    registry.register(registry.service(other_id, "api"), "i-2", "10.0.0.2")
    registry.register(registry.service(other_id, "db"), "i-3", "10.0.0.3")

    selected = by_name(make_adapter(namespaces=[wanted]).discover())
    assert list(selected) == [f"api.{wanted}"]
    assert addresses(selected[f"api.{wanted}"]) == ["10.0.0.1"]

    everything = by_name(make_adapter().discover())
    assert set(everything) == {f"api.{wanted}", f"api.{other}", f"db.{other}"}
    assert addresses(everything[f"api.{other}"]) == ["10.0.0.2"]


def test_private_dns_namespace(registry: Registry, make_adapter: MakeAdapter) -> None:
    ns, ns_id = registry.namespace(dns=True)
    svc = registry.service(ns_id, "cache", DnsConfig={"DnsRecords": [{"Type": "A", "TTL": 10}]})
    registry.register(svc, "i-1", "10.1.0.1", 6379)
    assert addresses(by_name(make_adapter(namespaces=[ns]).discover())[f"cache.{ns}"]) == ["10.1.0.1"]


def test_include_exclude_globs(registry: Registry, make_adapter: MakeAdapter) -> None:
    ns, ns_id = registry.namespace()
    for name in ("api", "api-internal", "web", "batch"):
        registry.register(registry.service(ns_id, name), f"{name}-1", "10.0.0.1")

    adapter = make_adapter(namespaces=[ns], include=["api*", f"web.{ns}"], exclude=["*-internal"])
    assert set(by_name(adapter.discover())) == {f"api.{ns}", f"web.{ns}"}


def test_host_template(registry: Registry, make_adapter: MakeAdapter) -> None:
    ns, ns_id = registry.namespace()
    registry.register(registry.service(ns_id, "Orders"), "i-1", "10.0.0.1")

    snapshot = make_adapter(namespaces=[ns], host="{service}.cloudmap.example.com").discover()
    service = by_name(snapshot)[f"Orders.{ns}"]
    assert service.hosts == ("orders.cloudmap.example.com",)


def test_service_whose_host_is_not_a_dns_name_is_dropped(
    registry: Registry, make_adapter: MakeAdapter
) -> None:
    ns, ns_id = registry.namespace()
    registry.register(registry.service(ns_id, "_grpc"), "i-1", "10.0.0.1")
    registry.register(registry.service(ns_id, "ok"), "i-2", "10.0.0.2")

    snapshot = make_adapter(namespaces=[ns]).discover()
    assert set(by_name(snapshot)) == {f"ok.{ns}"}
    assert [(d.service, d.what) for d in snapshot.dropped] == [(f"_grpc.{ns}", "service")]
    assert "not a valid DNS name" in snapshot.dropped[0].reason


def test_dns_only_service_is_dropped(registry: Registry, make_adapter: MakeAdapter) -> None:
    ns, ns_id = registry.namespace(dns=True)
    registry.service(ns_id, "legacy", Type="DNS", DnsConfig={"DnsRecords": [{"Type": "A", "TTL": 10}]})

    snapshot = make_adapter(namespaces=[ns]).discover()
    assert snapshot.ok and snapshot.services == ()
    assert "DNS-only" in snapshot.dropped[0].reason


def test_unknown_namespace_fails_the_cycle(registry: Registry, make_adapter: MakeAdapter) -> None:
    registry.namespace()
    snapshot = make_adapter(namespaces=["typo.local"]).discover()
    assert not snapshot.ok
    assert "namespace 'typo.local' not found" in (snapshot.error or "")
