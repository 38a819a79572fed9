"""Cheap change detection: an unchanged service costs one DiscoverInstancesRevision call."""

from __future__ import annotations

from tests.adapters.cloudmap.conftest import MakeAdapter
from tests.adapters.cloudmap.proxy import CloudMapProxy
from tests.adapters.cloudmap.registry import Registry, addresses, by_name


def _three_services(registry: Registry) -> tuple[str, dict[str, str]]:
    ns, ns_id = registry.namespace()
    ids = {name: registry.service(ns_id, name) for name in ("a", "b", "c")}
    for n, sid in enumerate(ids.values(), start=1):
        registry.register(sid, f"i-{n}", f"10.0.0.{n}")
    return ns, ids


def test_unchanged_revision_makes_only_revision_calls(
    registry: Registry, make_adapter: MakeAdapter, proxy: CloudMapProxy
) -> None:
    ns, _ = _three_services(registry)
    adapter = make_adapter(namespaces=[ns])
    first = adapter.discover()
    assert proxy.count("DiscoverInstances") == 3
    assert proxy.count("GetService") == 3

    proxy.clear()
    second = adapter.discover()
    assert second.services == first.services
    assert sorted(set(proxy.calls)) == ["DiscoverInstancesRevision", "ListNamespaces", "ListServices"]
    assert proxy.count("DiscoverInstancesRevision") == 3


def test_changed_revision_reads_only_that_service(
    registry: Registry, make_adapter: MakeAdapter, proxy: CloudMapProxy
) -> None:
    ns, ids = _three_services(registry)
    adapter = make_adapter(namespaces=[ns])
    adapter.discover()

    registry.register(ids["b"], "i-9", "10.0.0.9")
    proxy.clear()
    services = by_name(adapter.discover())
    assert addresses(services[f"b.{ns}"]) == ["10.0.0.2", "10.0.0.9"]
    assert addresses(services[f"a.{ns}"]) == ["10.0.0.1"]
    assert proxy.count("DiscoverInstancesRevision") == 3
    assert proxy.count("DiscoverInstances") == 1

    registry.deregister(ids["b"], "i-9")
    assert addresses(by_name(adapter.discover())[f"b.{ns}"]) == ["10.0.0.2"]


def test_full_refresh_zero_always_reads_in_full(
    registry: Registry, make_adapter: MakeAdapter, proxy: CloudMapProxy
) -> None:
    ns, _ = _three_services(registry)
    adapter = make_adapter(namespaces=[ns], full_refresh=0)
    adapter.discover()
    adapter.discover()
    assert proxy.count("DiscoverInstances") == 6
    assert proxy.count("DiscoverInstancesRevision") == 0


def test_health_checked_services_skip_the_revision(
    registry: Registry, make_adapter: MakeAdapter, proxy: CloudMapProxy
) -> None:
    ns, ns_id = registry.namespace()
    registry.register(registry.service(ns_id, "checked", health=True), "i-1", "10.0.0.1")
    registry.register(registry.service(ns_id, "plain"), "i-2", "10.0.0.2")
    adapter = make_adapter(namespaces=[ns])
    adapter.discover()
    proxy.clear()
    adapter.discover()
    assert proxy.count("DiscoverInstances") == 1
    assert proxy.count("DiscoverInstancesRevision") == 1
