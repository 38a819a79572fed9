"""Hostile or odd DNS data: each case dropped or handled and logged, never a crash."""

from __future__ import annotations

from syncd.model import Resolution
from tests.adapters.dns.expect import MakeAdapter, addresses, dropped_reasons, endpoints, service
from tests.servers.bind import BindServer

SRV = "_http._tcp.web"
WHAT = "_http._tcp.web.example.test SRV"


def test_target_root_means_no_endpoints(bind: BindServer, make_adapter: MakeAdapter) -> None:
    bind.add_srv(SRV, 0, 0, 0, ".")  # RFC 2782: "decidedly not available"

    snapshot = make_adapter([{"srv": "_http._tcp.web.example.test", "port": 80}]).discover()

    svc = service(snapshot)
    assert svc.endpoints == ()
    assert svc.resolution is Resolution.STATIC
    assert [p.number for p in svc.ports] == [80]
    assert snapshot.dropped == ()


def test_target_root_without_a_known_port_drops_the_service(
    bind: BindServer, make_adapter: MakeAdapter
) -> None:
    bind.add_srv(SRV, 0, 0, 0, ".")

    snapshot = make_adapter().discover()

    assert snapshot.ok
    assert snapshot.services == ()
    assert snapshot.unknown == frozenset()
    assert "set `port`" in dropped_reasons(snapshot)["_http._tcp.web.example.test"]


def test_target_root_next_to_real_targets_is_dropped(bind: BindServer, make_adapter: MakeAdapter) -> None:
    bind.add_a("web1", "10.0.0.1")
    bind.add_srvs(SRV, [(10, 0, 8080, "web1"), (10, 0, 0, ".")])

    snapshot = make_adapter().discover()

    assert addresses(service(snapshot)) == ["10.0.0.1"]
    assert list(dropped_reasons(snapshot)) == [f"{WHAT} 10 0 0 ."]


def test_port_zero_drops_the_endpoint(bind: BindServer, make_adapter: MakeAdapter) -> None:
    bind.add_a("web1", "10.0.0.1")
    bind.add_a("web2", "10.0.0.2")
    bind.add_srvs(SRV, [(10, 0, 8080, "web1"), (10, 0, 0, "web2")])

    snapshot = make_adapter().discover()

    assert addresses(service(snapshot)) == ["10.0.0.1"]
    assert dropped_reasons(snapshot) == {f"{WHAT} 10 0 0 web2.example.test": "port 0"}


def test_unresolvable_target_drops_the_endpoint(bind: BindServer, make_adapter: MakeAdapter) -> None:
    bind.add_a("web1", "10.0.0.1")
    bind.add_srvs(SRV, [(10, 0, 8080, "web1"), (10, 0, 8080, "ghost")])

    snapshot = make_adapter().discover()

    assert addresses(service(snapshot)) == ["10.0.0.1"]
    assert dropped_reasons(snapshot) == {
        f"{WHAT} 10 0 8080 ghost.example.test": "target does not resolve: no A record (NXDOMAIN)"
    }


def test_no_target_resolves_leaves_the_service_without_endpoints(
    bind: BindServer, make_adapter: MakeAdapter
) -> None:
    bind.add_a("web1", "10.0.0.1")
    bind.add_srv(SRV, 10, 0, 8080, "web1")
    adapter = make_adapter()
    assert addresses(service(adapter.discover())) == ["10.0.0.1"]

    bind.delete_name("web1")
    snapshot = adapter.discover()

    svc = service(snapshot)
    assert svc.endpoints == ()
    assert [p.number for p in svc.ports] == [8080]
    assert len(snapshot.dropped) == 1


def test_alias_target_is_followed_by_default(bind: BindServer, make_adapter: MakeAdapter) -> None:
    bind.add_a("web1", "10.0.0.1")
    bind.add_cname("alias", "web1")
    bind.add_srv(SRV, 10, 0, 8080, "alias")

    snapshot = make_adapter().discover()

    assert addresses(service(snapshot)) == ["10.0.0.1"]
    assert snapshot.dropped == ()


def test_alias_target_can_be_dropped_as_rfc_2782_says(bind: BindServer, make_adapter: MakeAdapter) -> None:
    bind.add_a("web1", "10.0.0.1")
    bind.add_a("web2", "10.0.0.2")
    bind.add_cname("alias", "web1")
    bind.add_srvs(SRV, [(10, 0, 8080, "alias"), (10, 0, 8080, "web2")])

    snapshot = make_adapter(alias_targets="drop").discover()

    assert addresses(service(snapshot)) == ["10.0.0.2"]
    reason = "target is an alias (CNAME at alias.example.test); RFC 2782 forbids it"
    assert dropped_reasons(snapshot) == {f"{WHAT} 10 0 8080 alias.example.test": reason}


def test_duplicate_targets_become_one_endpoint_with_both_weights(
    bind: BindServer, make_adapter: MakeAdapter
) -> None:
    bind.add_a("web1", "10.0.0.1")
    bind.add_a("web2", "10.0.0.2")
    bind.add_a("same-as-web2", "10.0.0.2")
    bind.add_srvs(
        SRV,
        [
            (10, 10, 8080, "web1"),
            (10, 2, 8080, "web1"),  # the same target twice: RFC 2782 clients would add the weights
            (10, 5, 8080, "web2"),
            (10, 10, 8080, "same-as-web2"),  # another name for the same address
        ],
    )

    svc = service(make_adapter().discover())

    assert endpoints(svc) == {"10.0.0.1": (8080, 12), "10.0.0.2": (8080, 15)}


def test_same_target_on_two_ports_gives_two_endpoints(bind: BindServer, make_adapter: MakeAdapter) -> None:
    bind.add_a("web1", "10.0.0.1")
    bind.add_srvs(SRV, [(10, 0, 8080, "web1"), (10, 0, 8081, "web1")])

    svc = service(make_adapter().discover())

    assert [(ep.address, dict(ep.ports)) for ep in svc.endpoints] == [
        ("10.0.0.1", {}),
        ("10.0.0.1", {8080: 8081}),
    ]


def test_invalid_host_name_target_is_dropped_when_kept_as_name(
    bind: BindServer, make_adapter: MakeAdapter
) -> None:
    bind.add_srvs(SRV, [(10, 0, 8080, "web1"), (10, 0, 8080, "bad_name")])

    snapshot = make_adapter(resolve_targets=False).discover()

    assert addresses(service(snapshot)) == ["web1.example.test"]
    assert dropped_reasons(snapshot) == {
        f"{WHAT} 10 0 8080 bad_name.example.test": "target is not a valid host name"
    }
