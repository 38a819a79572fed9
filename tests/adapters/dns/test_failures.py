"""Failures are never "empty": a dead or refusing server keeps every entry as it is."""

from __future__ import annotations

import time

from tests.adapters.dns.expect import MakeAdapter, addresses, service
from tests.servers.bind import BindServer, free_port

WEB = {"srv": "_http._tcp.web.example.test"}
OTHER = {"srv": "_http._tcp.web.other.test"}  # a zone BIND does not serve: REFUSED (no recursion)


def test_server_stopped_fails_the_snapshot(bind: BindServer, make_adapter: MakeAdapter) -> None:
    bind.add_a("web1", "10.0.0.1")
    bind.add_srv("_http._tcp.web", 10, 5, 8080, "web1")
    bind.add_srv("_http._tcp.api", 10, 5, 8080, "web1")
    adapter = make_adapter([WEB, {"srv": "_http._tcp.api.example.test"}])
    assert adapter.discover().ok

    bind.stop()
    started = time.monotonic()
    snapshot = adapter.discover()
    elapsed = time.monotonic() - started

    assert not snapshot.ok
    assert snapshot.services == ()
    assert snapshot.error is not None
    assert "all 2 SRV lookups failed" in snapshot.error
    assert f"{bind.nameserver}: no answer within 0.3s" in snapshot.error
    # The dead server is given up on after two timeouts, not asked once per question.
    assert elapsed < 1.5

    bind.start()
    assert addresses(service(adapter.discover())) == ["10.0.0.1"]


def test_refused_for_every_record_fails_the_snapshot(make_adapter: MakeAdapter) -> None:
    snapshot = make_adapter([OTHER]).discover()

    assert not snapshot.ok
    assert snapshot.error is not None
    assert "REFUSED" in snapshot.error


def test_refused_for_some_records_makes_only_those_unknown(
    bind: BindServer, make_adapter: MakeAdapter
) -> None:
    bind.add_a("web1", "10.0.0.1")
    bind.add_srv("_http._tcp.web", 10, 5, 8080, "web1")

    snapshot = make_adapter([WEB, {**OTHER, "name": "other"}]).discover()

    assert snapshot.ok
    assert addresses(service(snapshot)) == ["10.0.0.1"]
    assert snapshot.unknown == {"other"}


def test_target_lookup_failure_makes_the_service_unknown(bind: BindServer, make_adapter: MakeAdapter) -> None:
    # The target's zone is not served here: asking for its address is REFUSED. Publishing the
    # service without that endpoint would shrink it on a failure, so it stays as it was.
    bind.add_a("web1", "10.0.0.1")
    bind.add_srvs("_http._tcp.web", [(10, 5, 8080, "web1"), (10, 5, 8080, "web.other.test.")])
    bind.add_srv("_http._tcp.api", 10, 5, 8080, "web1")

    snapshot = make_adapter([WEB, {"srv": "_http._tcp.api.example.test"}]).discover()

    assert snapshot.ok
    assert snapshot.unknown == {"web.example.test"}
    assert [s.name for s in snapshot.services] == ["api.example.test"]


def test_second_nameserver_answers_when_the_first_is_dead(
    bind: BindServer, make_adapter: MakeAdapter
) -> None:
    bind.add_a("web1", "10.0.0.1")
    bind.add_srv("_http._tcp.web", 10, 5, 8080, "web1")
    nobody = f"127.0.0.1:{free_port()}"

    snapshot = make_adapter(nameservers=[nobody, bind.nameserver]).discover()

    assert addresses(service(snapshot)) == ["10.0.0.1"]
