"""Targets become addresses (A, AAAA per ``address_family``) or stay host names."""

from __future__ import annotations

import pytest

from syncd.model import Resolution
from tests.adapters.dns.expect import MakeAdapter, addresses, dropped_reasons, endpoints, service
from tests.servers.bind import BindServer

SRV = "_http._tcp.web"


@pytest.fixture
def dual_stack(bind: BindServer) -> BindServer:
    bind.add_a("web1", "10.0.0.1")
    bind.add_aaaa("web1", "fd00::1")
    bind.add_aaaa("web6", "fd00::6")
    bind.add_srvs(SRV, [(10, 0, 8080, "web1"), (10, 0, 8080, "web6")])
    return bind


def test_default_family_is_ipv4(dual_stack: BindServer, make_adapter: MakeAdapter) -> None:
    snapshot = make_adapter().discover()

    assert addresses(service(snapshot)) == ["10.0.0.1"]
    assert dropped_reasons(snapshot) == {
        "_http._tcp.web.example.test SRV 10 0 8080 web6.example.test": "target does not resolve: no A record"
    }


def test_ipv6_uses_aaaa_records(dual_stack: BindServer, make_adapter: MakeAdapter) -> None:
    snapshot = make_adapter(address_family="ipv6").discover()

    assert addresses(service(snapshot)) == ["fd00::1", "fd00::6"]
    assert snapshot.dropped == ()


def test_both_families_give_every_address(dual_stack: BindServer, make_adapter: MakeAdapter) -> None:
    svc = service(make_adapter(address_family="both").discover())

    # web1 has two addresses and web6 one: each address of web1 gets half web6's share.
    assert endpoints(svc) == {"10.0.0.1": (8080, 1), "fd00::1": (8080, 1), "fd00::6": (8080, 2)}


def test_addresses_come_from_the_additional_section(
    dual_stack: BindServer, make_adapter: MakeAdapter
) -> None:
    adapter = make_adapter(address_family="both")
    dual_stack.mark_queries()

    adapter.discover()

    # BIND puts the targets' A and AAAA records in the SRV answer; web6 has no A record, and an
    # absent record cannot be told apart from one left out, so that one question remains.
    asked = [(name, rdtype) for name, rdtype, _ in dual_stack.queries()]
    assert asked == [("_http._tcp.web.example.test", "SRV"), ("web6.example.test", "A")]


def test_targets_kept_as_host_names(dual_stack: BindServer, make_adapter: MakeAdapter) -> None:
    dual_stack.add_srv(SRV, 10, 0, 8080, "nowhere")  # not resolved, so not dropped either
    dual_stack.mark_queries()

    svc = service(make_adapter(resolve_targets=False).discover())

    assert svc.resolution is Resolution.DNS
    assert addresses(svc) == ["nowhere.example.test", "web1.example.test", "web6.example.test"]
    assert [rdtype for _, rdtype, _ in dual_stack.queries()] == ["SRV"]


def test_several_addresses_of_one_target(bind: BindServer, make_adapter: MakeAdapter) -> None:
    bind.add_a("web1", "10.0.0.2")
    bind.add_a("web1", "10.0.0.1")
    bind.add_srv(SRV, 10, 0, 8080, "web1")

    assert addresses(service(make_adapter().discover())) == ["10.0.0.1", "10.0.0.2"]
