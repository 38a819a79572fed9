"""Instance attributes → endpoints: address kinds, ports, protocol, locality, labels, dropped records."""

from __future__ import annotations

from syncd.model import Health, Protocol, Resolution, ServicePort
from tests.adapters.cloudmap.conftest import MakeAdapter
from tests.adapters.cloudmap.registry import Registry, by_name


def test_ipv6_instances_are_static(registry: Registry, make_adapter: MakeAdapter) -> None:
    ns, ns_id = registry.namespace()
    svc = registry.service(ns_id, "v6")
    registry.register(svc, "i-1", AWS_INSTANCE_IPV6="2001:DB8:0:0::1")
    service = by_name(make_adapter(namespaces=[ns]).discover())[f"v6.{ns}"]
    assert [e.address for e in service.endpoints] == ["2001:db8::1"]
    assert service.resolution is Resolution.STATIC


def test_cname_instances_are_dns(registry: Registry, make_adapter: MakeAdapter) -> None:
    ns, ns_id = registry.namespace()
    svc = registry.service(ns_id, "legacy")
    registry.register(svc, "i-1", AWS_INSTANCE_CNAME="DB.Example.COM.")
    service = by_name(make_adapter(namespaces=[ns]).discover())[f"legacy.{ns}"]
    assert [e.address for e in service.endpoints] == ["db.example.com"]
    assert service.resolution is Resolution.DNS


def test_alias_instances_use_default_port(registry: Registry, make_adapter: MakeAdapter) -> None:
    ns, ns_id = registry.namespace()
    svc = registry.service(ns_id, "lb")
    registry.register(svc, "i-1", port=None, AWS_ALIAS_DNS_NAME="my-lb-1.us-east-1.elb.amazonaws.com")

    without = make_adapter(namespaces=[ns]).discover()
    assert by_name(without)[f"lb.{ns}"].endpoints == ()
    assert "no AWS_INSTANCE_PORT attribute and no default_port" in without.dropped[0].reason

    service = by_name(make_adapter(namespaces=[ns], default_port=443).discover())[f"lb.{ns}"]
    assert [e.address for e in service.endpoints] == ["my-lb-1.us-east-1.elb.amazonaws.com"]
    assert service.ports == (ServicePort(443, Protocol.TCP),)
    assert service.resolution is Resolution.DNS


def test_zone_attribute_gives_locality(registry: Registry, make_adapter: MakeAdapter) -> None:
    ns, ns_id = registry.namespace()
    svc = registry.service(ns_id, "api")
    registry.register(svc, "i-1", "10.0.0.1", AVAILABILITY_ZONE="us-east-1a")
    registry.register(svc, "i-2", "10.0.0.2", AWS_INSTANCE_AZ="us-east-1b")
    registry.register(svc, "i-3", "10.0.0.3", availability_zone="use1-az3")
    registry.register(svc, "i-4", "10.0.0.4")
    service = by_name(make_adapter(namespaces=[ns]).discover())[f"api.{ns}"]
    assert {e.address: e.locality for e in service.endpoints} == {
        "10.0.0.1": "us-east-1/us-east-1a",
        "10.0.0.2": "us-east-1/us-east-1b",
        "10.0.0.3": "us-east-1/use1-az3",
        "10.0.0.4": None,
    }
    assert all(not e.labels for e in service.endpoints)  # zone keys are not labels


def test_custom_attributes_become_labels(registry: Registry, make_adapter: MakeAdapter) -> None:
    ns, ns_id = registry.namespace()
    svc = registry.service(ns_id, "api")
    attrs = {"stage": "beta", "team owner": "payments/core", "ECS_CLUSTER_NAME": "prod", "huge": "x" * 80}
    registry.register(svc, "i-1", "10.0.0.1", 80, **attrs)
    snapshot = make_adapter(namespaces=[ns]).discover()
    (endpoint,) = by_name(snapshot)[f"api.{ns}"].endpoints
    assert dict(endpoint.labels) == {
        "stage": "beta",
        "team_owner": "payments-core",
        "ECS_CLUSTER_NAME": "prod",
    }
    assert [(d.what, d.service) for d in snapshot.dropped] == [
        (f"instance i-1 label huge={'x' * 80}", f"api.{ns}")
    ]


def test_invalid_port_or_address_drops_only_that_endpoint(
    registry: Registry, make_adapter: MakeAdapter
) -> None:
    ns, ns_id = registry.namespace()
    svc = registry.service(ns_id, "api")
    registry.register(svc, "good", "10.0.0.1", 80)
    registry.register(svc, "port-zero", "10.0.0.2", 0)
    registry.register(svc, "port-text", "10.0.0.3", port=None, AWS_INSTANCE_PORT="http")
    registry.register(svc, "no-port", "10.0.0.4", port=None)
    registry.register(svc, "bad-ip", "10.0.0.300", 80)
    registry.register(svc, "no-address", None, 80, color="blue")

    snapshot = make_adapter(namespaces=[ns]).discover()
    assert [e.address for e in by_name(snapshot)[f"api.{ns}"].endpoints] == ["10.0.0.1"]
    reasons = {d.what.removeprefix("instance "): d.reason for d in snapshot.dropped}
    assert set(reasons) == {"port-zero", "port-text", "no-port", "bad-ip", "no-address"}
    assert "invalid port" in reasons["port-zero"] and "invalid port" in reasons["port-text"]
    assert "invalid address" in reasons["bad-ip"] and "no address attribute" in reasons["no-address"]


def test_different_ports_share_one_service_port(registry: Registry, make_adapter: MakeAdapter) -> None:
    ns, ns_id = registry.namespace()
    svc = registry.service(ns_id, "api")
    registry.register(svc, "i-1", "10.0.0.1", 8080)
    registry.register(svc, "i-2", "10.0.0.2", 8080)
    registry.register(svc, "i-3", "10.0.0.3", 9090)
    service = by_name(make_adapter(namespaces=[ns]).discover())[f"api.{ns}"]
    assert service.ports == (ServicePort(8080, Protocol.TCP),)
    assert {e.address: dict(e.ports) for e in service.endpoints} == {
        "10.0.0.1": {},
        "10.0.0.2": {},
        "10.0.0.3": {8080: 9090},
    }


def test_protocol_attribute_and_default(registry: Registry, make_adapter: MakeAdapter) -> None:
    ns, ns_id = registry.namespace()
    grpc, plain, odd = (registry.service(ns_id, n) for n in ("grpc", "plain", "odd"))
    registry.register(grpc, "i-1", "10.0.0.1", 50051, protocol="grpc")
    registry.register(plain, "i-2", "10.0.0.2", 80)
    registry.register(odd, "i-3", "10.0.0.3", 80, protocol="carrier-pigeon")

    snapshot = make_adapter(namespaces=[ns], protocol="http").discover()
    services = by_name(snapshot)
    assert services[f"grpc.{ns}"].ports == (ServicePort(50051, Protocol.GRPC),)
    assert services[f"plain.{ns}"].ports == (ServicePort(80, Protocol.HTTP),)
    assert services[f"odd.{ns}"].ports == (ServicePort(80, Protocol.HTTP),)
    assert [d.what for d in snapshot.dropped] == ["instance i-3 attribute protocol='carrier-pigeon'"]
    assert all(not e.labels for s in services.values() for e in s.endpoints)


def test_health_status_is_carried(registry: Registry, make_adapter: MakeAdapter) -> None:
    ns, ns_id = registry.namespace()
    svc = registry.service(ns_id, "api", health=True)
    registry.register(svc, "i-1", "10.0.0.1")
    (endpoint,) = by_name(make_adapter(namespaces=[ns]).discover())[f"api.{ns}"].endpoints
    assert endpoint.health is Health.HEALTHY
