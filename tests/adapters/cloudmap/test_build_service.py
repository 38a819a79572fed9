"""build_service on its own (pure): ordering, duplicates, protocol majority, address precedence."""

from __future__ import annotations

from adapters.cloudmap_mapping import Instance, ServiceShape, build_service
from syncd.model import Protocol, Resolution, ServicePort

SHAPE = ServiceShape("cm", "api.example.local", "api.example.local", "eu-west-1", Protocol.TCP, None)


def inst(iid: str, **attrs: str) -> Instance:
    return Instance(iid, attrs, "HEALTHY")


def test_order_does_not_depend_on_the_answer_order() -> None:
    a = inst("i-a", AWS_INSTANCE_IPV4="10.0.0.2", AWS_INSTANCE_PORT="80")
    b = inst("i-b", AWS_INSTANCE_IPV4="10.0.0.1", AWS_INSTANCE_PORT="80")
    first, _ = build_service(SHAPE, [a, b])
    second, _ = build_service(SHAPE, [b, a])
    assert first == second
    assert [e.address for e in first.endpoints] == ["10.0.0.1", "10.0.0.2"]


def test_identical_endpoints_collapse() -> None:
    twins = [inst(f"i-{n}", AWS_INSTANCE_IPV4="10.0.0.1", AWS_INSTANCE_PORT="80") for n in range(2)]
    service, dropped = build_service(SHAPE, twins)
    assert len(service.endpoints) == 1 and dropped == []


def test_protocol_majority_and_tie_goes_to_default() -> None:
    http = [
        inst(f"h{n}", AWS_INSTANCE_IPV4=f"10.0.0.{n}", AWS_INSTANCE_PORT="80", protocol="http")
        for n in (1, 2)
    ]
    plain = inst("t1", AWS_INSTANCE_IPV4="10.0.0.9", AWS_INSTANCE_PORT="80")
    majority, _ = build_service(SHAPE, [*http, plain])
    assert majority.ports == (ServicePort(80, Protocol.HTTP),)
    tie, _ = build_service(SHAPE, [http[0], plain])
    assert tie.ports == (ServicePort(80, Protocol.TCP),)
    assert len(tie.endpoints) == 2  # a disagreeing instance is kept, not dropped


def test_ipv4_wins_over_ipv6_and_an_invalid_ipv4_falls_through() -> None:
    both = inst("i-1", AWS_INSTANCE_IPV4="10.0.0.1", AWS_INSTANCE_IPV6="2001:db8::1", AWS_INSTANCE_PORT="80")
    bad4 = inst(
        "i-2", AWS_INSTANCE_IPV4="2001:db8::2", AWS_INSTANCE_IPV6="2001:db8::3", AWS_INSTANCE_PORT="80"
    )
    service, dropped = build_service(SHAPE, [both, bad4])
    assert [e.address for e in service.endpoints] == ["10.0.0.1", "2001:db8::3"]
    assert dropped == [] and service.resolution is Resolution.STATIC


def test_mixed_ip_and_hostname_endpoints_resolve_by_dns() -> None:
    ip = inst("i-1", AWS_INSTANCE_IPV4="10.0.0.1", AWS_INSTANCE_PORT="80")
    name = inst("i-2", AWS_INSTANCE_CNAME="db.example.com", AWS_INSTANCE_PORT="80")
    service, _ = build_service(SHAPE, [ip, name])
    assert service.resolution is Resolution.DNS


def test_bad_zone_keeps_the_endpoint_without_locality() -> None:
    odd = inst("i-1", AWS_INSTANCE_IPV4="10.0.0.1", AWS_INSTANCE_PORT="80", AVAILABILITY_ZONE="a/b")
    service, dropped = build_service(SHAPE, [odd])
    assert service.endpoints[0].locality is None
    assert [d.what for d in dropped] == ["instance i-1 attribute zone='a/b'"]


def test_no_instances_gives_a_service_without_ports_or_resolution() -> None:
    service, dropped = build_service(SHAPE, [])
    assert (service.ports, service.endpoints, service.resolution) == ((), (), None)
    assert service.hosts == ("api.example.local",) and dropped == []
