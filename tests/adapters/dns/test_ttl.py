"""``poll_interval_hint``: the smallest TTL of the last answers, floored so TTL 0 is no storm."""

from __future__ import annotations

from tests.adapters.dns.expect import MakeAdapter
from tests.servers.bind import BindServer

SRV = "_http._tcp.web"


def test_no_hint_before_the_first_answer(make_adapter: MakeAdapter) -> None:
    assert make_adapter().poll_interval_hint() is None


def test_hint_is_the_smallest_ttl_of_srv_and_addresses(bind: BindServer, make_adapter: MakeAdapter) -> None:
    bind.add_a("web1", "10.0.0.1", ttl=45)
    bind.add_srv(SRV, 10, 5, 8080, "web1", ttl=300)
    adapter = make_adapter()

    adapter.discover()
    assert adapter.poll_interval_hint() == 45

    bind.add_a("api1", "10.0.0.2", ttl=600)
    bind.add_srv("_http._tcp.api", 10, 5, 8080, "api1", ttl=20)
    adapter = make_adapter([{"srv": "_http._tcp.web.example.test"}, {"srv": "_http._tcp.api.example.test"}])
    adapter.discover()
    assert adapter.poll_interval_hint() == 20


def test_ttl_zero_is_floored(bind: BindServer, make_adapter: MakeAdapter) -> None:
    bind.add_a("web1", "10.0.0.1", ttl=0)
    bind.add_srv(SRV, 10, 5, 8080, "web1", ttl=0)

    default = make_adapter()
    default.discover()
    assert default.poll_interval_hint() == 5.0

    custom = make_adapter(ttl_floor="30s")
    custom.discover()
    assert custom.poll_interval_hint() == 30.0


def test_negative_answers_hint_their_negative_ttl(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()

    adapter.discover()  # NXDOMAIN; the zone's SOA says to cache that for 30 s

    assert adapter.poll_interval_hint() == 30


def test_a_failed_cycle_gives_no_hint(bind: BindServer, make_adapter: MakeAdapter) -> None:
    bind.add_a("web1", "10.0.0.1", ttl=45)
    bind.add_srv(SRV, 10, 5, 8080, "web1", ttl=45)
    adapter = make_adapter()
    adapter.discover()
    bind.stop()

    adapter.discover()

    assert adapter.poll_interval_hint() is None
