"""A plain read (no watch running): instances, health, proxies, addresses and ports."""

from __future__ import annotations

from syncd.model import Protocol, ServicePort
from tests.adapters.consul.conftest import addresses, register, services


def test_registered_instances_become_endpoints(consul, make_adapter):
    register(consul, "web", 1, Meta={"protocol": "http"})
    register(consul, "web", 2, Meta={"protocol": "http"})
    snapshot = make_adapter().discover()
    web = services(snapshot)["web"]
    assert web.hosts == ("web.service.consul",)
    assert web.ports == (ServicePort(8080, Protocol.HTTP),)
    assert addresses(web) == ["10.1.0.1", "10.1.0.2"]
    assert web.origin == "consul-test"
    assert {e.locality for e in web.endpoints} == {"dc1"}
    assert snapshot.unknown == frozenset() and snapshot.dropped == ()


def test_deregistered_instance_and_service_disappear(consul, make_adapter):
    register(consul, "web", 1)
    register(consul, "web", 2)
    register(consul, "api", 1)
    adapter = make_adapter()
    assert set(services(adapter.discover())) == {"web", "api"}
    consul.deregister("dc1", "node-2", "web-2")
    consul.deregister("dc1", "node-1", "api-1")
    found = services(adapter.discover())
    assert set(found) == {"web"}
    assert addresses(found["web"]) == ["10.1.0.1"]


def test_critical_check_removes_the_endpoint_but_keeps_the_service(consul, make_adapter):
    register(consul, "web", 1)
    register(consul, "web", 2)
    adapter = make_adapter()
    consul.set_check_status("dc1", "node-2", "service:web-2", "critical")
    assert addresses(services(adapter.discover())["web"]) == ["10.1.0.1"]
    consul.set_check_status("dc1", "node-1", "serfHealth", "critical")  # a node check counts too
    web = services(adapter.discover())["web"]
    assert web.endpoints == ()
    assert web.ports == (ServicePort(8080, Protocol.TCP),)  # the entry stays, with no endpoints


def test_warning_counts_only_when_only_passing_is_off(consul, make_adapter):
    register(consul, "web", 1, checks=["warning"], Weights={"Passing": 10, "Warning": 2})
    register(consul, "web", 2, checks=["critical"])
    assert services(make_adapter().discover())["web"].endpoints == ()
    web = services(make_adapter(only_passing=False).discover())["web"]
    assert addresses(web) == ["10.1.0.1"]  # critical is never served
    assert web.endpoints[0].weight == 2  # Weights.Warning for an instance in warning


def test_weight_comes_from_weights_passing(consul, make_adapter):
    register(consul, "web", 1, Weights={"Passing": 10, "Warning": 1})
    register(consul, "web", 2)
    weights = {e.address: e.weight for e in services(make_adapter().discover())["web"].endpoints}
    assert weights == {"10.1.0.1": 10, "10.1.0.2": 1}


def test_connect_proxies_and_gateways_are_left_out_by_default(consul, make_adapter):
    register(consul, "web", 1)
    register(consul, "web-sidecar-proxy", 1, port=21000, Kind="connect-proxy")
    register(consul, "gw", 1, port=8443, Kind="mesh-gateway")
    assert set(services(make_adapter().discover())) == {"web"}
    assert set(services(make_adapter(include_kinds=["mesh-gateway"]).discover())) == {"web", "gw"}


def test_service_address_falls_back_to_node_address(consul, make_adapter):
    register(consul, "web", 1, Address="172.17.0.3")
    register(consul, "web", 2)  # no Service.Address
    assert addresses(services(make_adapter().discover())["web"]) == ["10.1.0.2", "172.17.0.3"]


def test_tagged_wan_address_of_service_then_node(consul, make_adapter):
    consul.register(
        "dc1",
        {"Node": "n1", "Address": "10.0.0.1", "TaggedAddresses": {"lan": "10.0.0.1", "wan": "198.18.0.1"}},
        {"Service": "web", "ID": "w1", "Port": 8080, "Address": "10.0.0.11"},
    )
    consul.register(
        "dc1",
        "n2",
        {
            "Service": "web",
            "ID": "w2",
            "Port": 8080,
            "Address": "10.0.0.12",
            "TaggedAddresses": {"wan": {"address": "198.18.0.2", "port": 8080}},
        },
    )
    web = services(make_adapter(tagged_address="wan").discover())["web"]
    assert addresses(web) == ["198.18.0.1", "198.18.0.2"]
    assert addresses(services(make_adapter().discover())["web"]) == ["10.0.0.11", "10.0.0.12"]


def test_instances_on_different_ports_get_per_endpoint_ports(consul, make_adapter):
    register(consul, "web", 1, port=8080)
    register(consul, "web", 2, port=8080)
    register(consul, "web", 3, port=9090)
    web = services(make_adapter().discover())["web"]
    assert web.ports == (ServicePort(8080, Protocol.TCP),)  # the port most instances use
    ports = {e.address: dict(e.ports) for e in web.endpoints}
    assert ports == {"10.1.0.1": {}, "10.1.0.2": {}, "10.1.0.3": {8080: 9090}}


def test_service_port_stays_when_the_majority_goes_critical(consul, make_adapter):
    register(consul, "web", 1, port=8080)
    register(consul, "web", 2, port=8080, checks=["critical"])
    register(consul, "web", 3, port=9090)
    web = services(make_adapter().discover())["web"]
    assert web.ports[0].number == 8080
    assert {e.address: dict(e.ports) for e in web.endpoints} == {"10.1.0.1": {}, "10.1.0.3": {8080: 9090}}


def test_protocol_from_meta_else_the_default(consul, make_adapter):
    register(consul, "grpc-svc", 1, Meta={"protocol": "grpc"})
    register(consul, "plain", 1)
    found = services(make_adapter(default_protocol="http").discover())
    assert found["grpc-svc"].ports[0].protocol is Protocol.GRPC
    assert found["plain"].ports[0].protocol is Protocol.HTTP


def test_locality_is_datacenter_and_node_zone(consul, make_adapter):
    consul.register(
        "dc1",
        {"Node": "n1", "Address": "10.0.0.1", "Meta": {"zone": "eu-1a"}},
        {"Service": "web", "Port": 80},
    )
    consul.register("dc1", {"Node": "n2", "Address": "10.0.0.2"}, {"Service": "web", "Port": 80})
    web = services(make_adapter().discover())["web"]
    assert {e.address: e.locality for e in web.endpoints} == {"10.0.0.1": "dc1/eu-1a", "10.0.0.2": "dc1"}


def test_host_template_and_invalid_host_names(consul, make_adapter):
    register(consul, "Web", 1)
    register(consul, "under_score", 1)
    snapshot = make_adapter(host="{service}.{namespace}.{datacenter}.mesh.internal").discover()
    assert services(snapshot)["Web"].hosts == ("web.default.dc1.mesh.internal",)
    assert "under_score" not in services(snapshot)
    assert [(d.service, d.what) for d in snapshot.dropped] == [("under_score", "service")]
