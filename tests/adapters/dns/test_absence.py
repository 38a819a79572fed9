"""A service is gone only after ``absent_after`` authoritative NXDOMAIN/NODATA answers in a row.

Until then it is reported unknown, so its entry is kept: one bad zone push or a record deleted
and re-added a moment later must not delete a live entry.
"""

from __future__ import annotations

from tests.adapters.dns.expect import MakeAdapter, addresses, service
from tests.servers.bind import BindServer

SRV = "_http._tcp.web"
NAME = "web.example.test"


def test_nxdomain_twice_means_gone(bind: BindServer, make_adapter: MakeAdapter) -> None:
    bind.add_a("web1", "10.0.0.1")
    bind.add_srv(SRV, 10, 5, 8080, "web1")
    adapter = make_adapter()
    assert addresses(service(adapter.discover())) == ["10.0.0.1"]

    bind.delete_name(SRV)  # NXDOMAIN from now on

    first = adapter.discover()
    assert first.ok
    assert first.services == ()
    assert first.unknown == {NAME}

    second = adapter.discover()
    assert second.ok
    assert second.services == ()
    assert second.unknown == frozenset()  # absent: the plan may delete its entry


def test_nodata_counts_like_nxdomain(bind: BindServer, make_adapter: MakeAdapter) -> None:
    bind.add_txt(SRV, "the name exists, with no SRV record")
    adapter = make_adapter()

    assert adapter.discover().unknown == {NAME}
    assert adapter.discover().unknown == frozenset()


def test_an_answer_in_between_starts_the_count_again(bind: BindServer, make_adapter: MakeAdapter) -> None:
    bind.add_a("web1", "10.0.0.1")
    adapter = make_adapter()

    assert adapter.discover().unknown == {NAME}  # absent once
    bind.add_srv(SRV, 10, 5, 8080, "web1")
    assert addresses(service(adapter.discover())) == ["10.0.0.1"]
    bind.delete_srv(SRV)
    assert adapter.discover().unknown == {NAME}  # absent once again, not twice
    assert adapter.discover().unknown == frozenset()


def test_a_failure_neither_counts_nor_resets(bind: BindServer, make_adapter: MakeAdapter) -> None:
    adapter = make_adapter(absent_after=2)

    assert adapter.discover().unknown == {NAME}
    bind.stop()
    assert not adapter.discover().ok
    bind.start()
    assert adapter.discover().unknown == frozenset()


def test_absent_after_one_trusts_the_first_answer(bind: BindServer, make_adapter: MakeAdapter) -> None:
    snapshot = make_adapter(absent_after=1).discover()

    assert snapshot.ok
    assert snapshot.services == ()
    assert snapshot.unknown == frozenset()


def test_absence_is_counted_per_service(bind: BindServer, make_adapter: MakeAdapter) -> None:
    bind.add_a("api1", "10.0.1.1")
    bind.add_srv("_grpc._tcp.api", 10, 5, 9000, "api1")
    adapter = make_adapter([{"srv": "_http._tcp.web.example.test"}, {"srv": "_grpc._tcp.api.example.test"}])

    first = adapter.discover()
    assert first.unknown == {NAME}
    assert addresses(service(first, "api.example.test")) == ["10.0.1.1"]
    assert adapter.discover().unknown == frozenset()
