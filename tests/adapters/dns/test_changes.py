"""Instances come and go, weights and ports change: each discover shows DNS as it is now."""

from __future__ import annotations

from syncd.model import Protocol, Resolution, ServicePort
from tests.adapters.dns.expect import MakeAdapter, addresses, endpoints, service
from tests.servers.bind import BindServer

SRV = "_http._tcp.web"


def test_one_instance_becomes_one_static_endpoint(bind: BindServer, make_adapter: MakeAdapter) -> None:
    bind.add_a("web1", "10.0.0.1")
    bind.add_srv(SRV, 10, 5, 8080, "web1")

    svc = service(make_adapter().discover())

    assert svc.hosts == ("web.example.test",)
    assert svc.ports == (ServicePort(8080, Protocol.HTTP),)
    assert svc.resolution is Resolution.STATIC
    assert svc.origin == "dns"
    assert endpoints(svc) == {"10.0.0.1": (8080, None)}
    assert dict(svc.endpoints[0].labels) == {}


def test_instance_added_then_removed(bind: BindServer, make_adapter: MakeAdapter) -> None:
    bind.add_a("web1", "10.0.0.1")
    bind.add_a("web2", "10.0.0.2")
    bind.add_srv(SRV, 10, 5, 8080, "web1")
    adapter = make_adapter()
    assert addresses(service(adapter.discover())) == ["10.0.0.1"]

    bind.add_srv(SRV, 10, 5, 8080, "web2")
    assert addresses(service(adapter.discover())) == ["10.0.0.1", "10.0.0.2"]

    bind.delete_srv(SRV, 10, 5, 8080, "web1")
    assert addresses(service(adapter.discover())) == ["10.0.0.2"]


def test_weight_change_shows_as_endpoint_weights(bind: BindServer, make_adapter: MakeAdapter) -> None:
    bind.add_a("web1", "10.0.0.1")
    bind.add_a("web2", "10.0.0.2")
    bind.add_srv(SRV, 10, 5, 8080, "web1")
    bind.add_srv(SRV, 10, 5, 8080, "web2")
    adapter = make_adapter()
    # Equal weights change nothing, so none are written.
    assert endpoints(service(adapter.discover())) == {"10.0.0.1": (8080, None), "10.0.0.2": (8080, None)}

    bind.delete_srv(SRV, 10, 5, 8080, "web2")
    bind.add_srv(SRV, 10, 15, 8080, "web2")
    assert endpoints(service(adapter.discover())) == {"10.0.0.1": (8080, 5), "10.0.0.2": (8080, 15)}


def test_port_change_moves_the_service_port_when_all_agree(
    bind: BindServer, make_adapter: MakeAdapter
) -> None:
    bind.add_a("web1", "10.0.0.1")
    bind.add_srv(SRV, 10, 5, 8080, "web1")
    adapter = make_adapter()
    assert service(adapter.discover()).ports == (ServicePort(8080, Protocol.HTTP),)

    bind.delete_srv(SRV)
    bind.add_srv(SRV, 10, 5, 9090, "web1")
    svc = service(adapter.discover())
    assert svc.ports == (ServicePort(9090, Protocol.HTTP),)
    assert endpoints(svc) == {"10.0.0.1": (9090, None)}


def test_differing_ports_use_the_common_one_and_map_the_rest(
    bind: BindServer, make_adapter: MakeAdapter
) -> None:
    for n in (1, 2, 3):
        bind.add_a(f"web{n}", f"10.0.0.{n}")
    bind.add_srvs(SRV, [(10, 0, 8080, "web1"), (10, 0, 8080, "web2"), (10, 0, 9090, "web3")])

    svc = service(make_adapter().discover())

    assert svc.ports == (ServicePort(8080, Protocol.HTTP),)
    assert dict(svc.endpoints[2].ports) == {8080: 9090}
    assert endpoints(svc) == {"10.0.0.1": (8080, None), "10.0.0.2": (8080, None), "10.0.0.3": (9090, None)}


def test_configured_port_maps_every_endpoint_that_differs(
    bind: BindServer, make_adapter: MakeAdapter
) -> None:
    bind.add_a("web1", "10.0.0.1")
    bind.add_srv(SRV, 10, 5, 8080, "web1")

    svc = service(make_adapter([{"srv": "_http._tcp.web.example.test", "port": 80}]).discover())

    assert svc.ports == (ServicePort(80, Protocol.HTTP),)
    assert dict(svc.endpoints[0].ports) == {80: 8080}
