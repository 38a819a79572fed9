"""Tags and meta become endpoint labels; invalid records are dropped and reported, never fatal."""

from __future__ import annotations

from syncd.model import Protocol
from tests.adapters.consul.conftest import addresses, register, services


def test_kv_tags_and_meta_become_labels(consul, make_adapter):
    register(consul, "web", 1, Tags=["version=v2", "tier|frontend", "primary"], Meta={"team": "payments"})
    snapshot = make_adapter().discover()
    labels = dict(services(snapshot)["web"].endpoints[0].labels)
    assert labels == {"version": "v2", "tier": "frontend", "team": "payments"}  # plain tags are not labels
    assert snapshot.dropped == ()


def test_meta_wins_over_a_tag_with_the_same_key(consul, make_adapter):
    register(consul, "web", 1, Tags=["version=v1"], Meta={"version": "v2"})
    assert services(make_adapter().discover())["web"].endpoints[0].labels["version"] == "v2"


def test_repairable_labels_are_sanitised_and_invalid_ones_dropped_and_counted(consul, make_adapter):
    long_value = "x" * 64
    register(
        consul,
        "web",
        1,
        Tags=["build id=2024 01", "=orphan"],
        Meta={"owner@team": "a b", "notes": long_value, "ok": "yes"},
    )
    register(consul, "web", 2, Meta={"notes": long_value})
    snapshot = make_adapter().discover()
    web = services(snapshot)["web"]
    first = dict(next(e for e in web.endpoints if e.address == "10.1.0.1").labels)
    assert first == {"build_id": "2024-01", "owner_team": "a-b", "ok": "yes"}
    assert addresses(web) == ["10.1.0.1", "10.1.0.2"]  # a bad label never costs the endpoint
    dropped = [(d.service, d.what) for d in snapshot.dropped]
    assert dropped == [("web", f"label notes={long_value}")]  # once per service, not per instance
    assert "label syntax" in snapshot.dropped[0].reason


def test_invalid_addresses_and_ports_drop_the_instance(consul, make_adapter):
    register(consul, "web", 1)
    register(consul, "web", 2, port=0)
    register(consul, "web", 3, port=70000)
    consul.register("dc1", {"Node": "blank", "Address": ""}, {"Service": "web", "ID": "w4", "Port": 80})
    register(consul, "web", 5, Address="not an address!")
    snapshot = make_adapter().discover()
    assert addresses(services(snapshot)["web"]) == ["10.1.0.1"]
    reasons = sorted(d.reason for d in snapshot.dropped)
    assert reasons == [
        "invalid address ''",
        "invalid address 'not an address!'",
        "invalid port 0",
        "invalid port 70000",
    ]
    assert all(d.service == "web" and d.what.startswith("instance ") for d in snapshot.dropped)


def test_a_service_with_no_valid_instance_is_left_out(consul, make_adapter):
    register(consul, "broken", 1, port=0)
    snapshot = make_adapter().discover()
    assert "broken" not in services(snapshot)
    assert [d.service for d in snapshot.dropped] == ["broken"]


def test_unknown_protocol_falls_back_to_tcp_with_a_note(consul, make_adapter):
    register(consul, "thrifty", 1, Meta={"protocol": "thrift"})
    snapshot = make_adapter(default_protocol="http").discover()
    assert services(snapshot)["thrifty"].ports[0].protocol is Protocol.TCP
    assert [(d.what, d.reason) for d in snapshot.dropped] == [
        ("protocol thrift", "unknown protocol 'thrift'; treated as TCP")
    ]
