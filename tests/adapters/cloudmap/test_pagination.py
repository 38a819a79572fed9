"""Listings are read to the last page (the proxy pages moto's answers as AWS does: 100 per page)."""

from __future__ import annotations

from tests.adapters.cloudmap.conftest import MakeAdapter
from tests.adapters.cloudmap.proxy import CloudMapProxy
from tests.adapters.cloudmap.registry import Registry, addresses, by_name


def test_namespace_with_150_services(
    registry: Registry, make_adapter: MakeAdapter, proxy: CloudMapProxy
) -> None:
    ns, ns_id = registry.namespace("big")
    ids = [registry.service(ns_id, f"svc-{n:03d}") for n in range(150)]
    for n in range(0, 150, 10):
        registry.register(ids[n], f"i-{n}", f"10.0.{n}.1")
    adapter = make_adapter(namespaces=[ns], concurrency=8)

    services = by_name(adapter.discover())
    assert len(services) == 150
    assert addresses(services[f"svc-140.{ns}"]) == ["10.0.140.1"]
    assert services[f"svc-141.{ns}"].endpoints == ()
    assert proxy.pages_served["ListServices"] == 2
    assert proxy.count("ListServices") == 2


def test_every_namespace_across_pages(
    registry: Registry, make_adapter: MakeAdapter, proxy: CloudMapProxy
) -> None:
    for n in range(100):
        registry.client.create_http_namespace(Name=f"filler-{n:03d}.local")
    name, ns_id = registry.namespace("last")
    registry.register(registry.service(ns_id, "api"), "i-1", "10.9.9.9")

    services = by_name(make_adapter().discover())
    assert list(services) == [f"api.{name}"]
    assert proxy.pages_served["ListNamespaces"] == 2
