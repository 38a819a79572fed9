"""Priority groups (RFC 2782): the lowest group with a usable target is the whole service.

Istio has no notion of SRV priorities, so a higher group is published only when every target of
the lower groups is unusable (no address, port 0): the failover then happens here, not never.
"""

from __future__ import annotations

from tests.adapters.dns.expect import MakeAdapter, addresses, dropped_reasons, service
from tests.servers.bind import BindServer

SRV = "_http._tcp.web"


def test_only_the_lowest_priority_group_becomes_endpoints(
    bind: BindServer, make_adapter: MakeAdapter
) -> None:
    for n in (1, 2, 3):
        bind.add_a(f"web{n}", f"10.0.0.{n}")
    bind.add_srvs(SRV, [(10, 5, 8080, "web1"), (10, 5, 8080, "web2"), (20, 5, 8080, "web3")])

    snapshot = make_adapter().discover()

    assert addresses(service(snapshot)) == ["10.0.0.1", "10.0.0.2"]
    assert snapshot.dropped == ()


def test_lower_number_wins_whatever_the_order(bind: BindServer, make_adapter: MakeAdapter) -> None:
    bind.add_a("primary", "10.0.0.1")
    bind.add_a("backup", "10.0.0.9")
    bind.add_srvs(SRV, [(65535, 5, 8080, "backup"), (0, 5, 8080, "primary")])

    assert addresses(service(make_adapter().discover())) == ["10.0.0.1"]


def test_next_group_is_used_while_the_lowest_has_no_usable_target(
    bind: BindServer, make_adapter: MakeAdapter
) -> None:
    bind.add_a("backup", "10.0.0.9")
    bind.add_srvs(SRV, [(10, 5, 8080, "primary"), (20, 5, 8080, "backup")])  # primary has no address
    adapter = make_adapter()

    snapshot = adapter.discover()
    assert addresses(service(snapshot)) == ["10.0.0.9"]
    assert (
        "target does not resolve"
        in dropped_reasons(snapshot)["_http._tcp.web.example.test SRV 10 5 8080 primary.example.test"]
    )

    bind.add_a("primary", "10.0.0.1")  # primary is back: the lowest group takes over again
    snapshot = adapter.discover()
    assert addresses(service(snapshot)) == ["10.0.0.1"]
    assert snapshot.dropped == ()


def test_port_zero_in_the_lowest_group_also_fails_over(bind: BindServer, make_adapter: MakeAdapter) -> None:
    bind.add_a("primary", "10.0.0.1")
    bind.add_a("backup", "10.0.0.9")
    bind.add_srvs(SRV, [(10, 5, 0, "primary"), (20, 5, 8080, "backup")])

    snapshot = make_adapter().discover()

    assert addresses(service(snapshot)) == ["10.0.0.9"]
    assert list(dropped_reasons(snapshot).values()) == ["port 0"]


def test_one_usable_target_keeps_the_group(bind: BindServer, make_adapter: MakeAdapter) -> None:
    bind.add_a("primary1", "10.0.0.1")
    bind.add_a("backup", "10.0.0.9")
    bind.add_srvs(SRV, [(10, 5, 8080, "primary1"), (10, 5, 8080, "primary2"), (20, 5, 8080, "backup")])

    snapshot = make_adapter().discover()

    assert addresses(service(snapshot)) == ["10.0.0.1"]
    assert len(snapshot.dropped) == 1
