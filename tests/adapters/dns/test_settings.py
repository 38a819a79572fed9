"""Config keys: defaults derived from the SRV name, and errors that name the bad value."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from adapters.dns_srv import DnsSrvAdapter, DnsSrvSettings
from syncd.adapter import load_adapter_type
from syncd.model import Protocol, ServicePort
from tests.adapters.dns.expect import MakeAdapter, service
from tests.servers.bind import BindServer


def settings(**keys: Any) -> DnsSrvSettings:
    keys.setdefault("records", [{"srv": "_http._tcp.web.example.test"}])
    return DnsSrvSettings.model_validate(keys)


def test_defaults() -> None:
    s = settings()
    assert s.nameservers == ()  # the system resolver
    assert s.timeout == 2.0
    assert s.address_family == "ipv4"
    assert s.resolve_targets is True
    assert s.alias_targets == "follow"
    assert s.absent_after == 2
    assert s.ttl_floor == 5.0


@pytest.mark.parametrize(
    ("srv", "host", "protocol"),
    [
        ("_http._tcp.web.example.test", "web.example.test", Protocol.HTTP),
        ("_https._tcp.shop.example.test.", "shop.example.test", Protocol.TLS),
        ("_grpc._tcp.API.Example.Test", "api.example.test", Protocol.GRPC),
        ("_ldap._tcp.dc.example.test", "dc.example.test", Protocol.TCP),
    ],
)
def test_host_protocol_and_name_derive_from_the_srv_name(srv: str, host: str, protocol: Protocol) -> None:
    (record,) = settings(records=[{"srv": srv}]).records
    assert (record.service_host, record.service_protocol, record.service_name) == (host, protocol, host)


def test_explicit_keys_win() -> None:
    keys = {
        "srv": "_http._tcp.web.example.test",
        "host": "www.example.com",
        "protocol": "http2",
        "name": "www",
    }
    (record,) = settings(records=[keys]).records
    assert (record.service_host, record.service_protocol, record.service_name) == (
        "www.example.com",
        Protocol.HTTP2,
        "www",
    )


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        ("10.0.0.2", "10.0.0.2", 53),
        ("10.0.0.2:5353", "10.0.0.2", 5353),
        ("[::1]:53", "::1", 53),
        ("[fd00::53]", "fd00::53", 53),
        ("::1", "::1", 53),
        ("dns.example.test:1053", "dns.example.test", 1053),
    ],
)
def test_nameserver_forms(text: str, host: str, port: int) -> None:
    (ns,) = settings(nameservers=[text]).nameservers
    assert (ns.host, ns.port) == (host, port)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10.0.0.2:0", "port must be 1-65535"),
        ("10.0.0.2:99999", "port must be 1-65535"),
        ("10.0.0.2:dns", "expected host, host:port or [ipv6]:port"),
        ("[10.0.0.2]:53", "only IPv6 addresses go in brackets"),
        ("fd00::1:53:x", "expected host, host:port"),
        ("bad_host!:53", "not an IP address or DNS name"),
        ("", "expected host, host:port"),
    ],
)
def test_bad_nameserver_is_a_config_error(text: str, message: str) -> None:
    with pytest.raises(ValidationError) as error:
        settings(nameservers=[text])
    assert error.value.errors()[0]["loc"][:2] == ("nameservers", 0)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ({"records": []}, "at least 1 item"),
        ({"records": [{"srv": "web.example.test"}]}, "set `host`"),
        ({"records": [{"srv": "_x._tcp.web.example.test", "protocol": "smtp"}]}, "unknown protocol 'smtp'"),
        ({"records": [{"srv": "_x._tcp.web.example.test", "port": 0}]}, "greater than 0"),
        ({"records": [{"srv": "_x._tcp.web.example.test", "host": "*"}]}, "not a valid DNS name"),
        ({"records": [{"srv": "_x._tcp.web.example.test", "weight": 1}]}, "Extra inputs are not permitted"),
        ({"address_family": "ipv5"}, "'ipv4', 'ipv6' or 'both'"),
        ({"timeout": "0s"}, "greater than 0"),
        ({"timeout": "soon"}, "invalid duration"),
        ({"absent_after": 0}, "greater than or equal to 1"),
        ({"interval": "30s"}, "Extra inputs are not permitted"),
        (
            {"records": [{"srv": "_http._tcp.web.example.test"}, {"srv": "_grpc._tcp.web.example.test"}]},
            "both make service 'web.example.test': give one of them a `name`",
        ),
    ],
)
def test_bad_config(keys: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as error:
        settings(**keys)
    assert message in str(error.value)


def test_registered_under_dns_srv() -> None:
    assert load_adapter_type("dns_srv") is DnsSrvAdapter
    assert DnsSrvAdapter.settings_model is DnsSrvSettings


def test_derived_defaults_through_discover(bind: BindServer, make_adapter: MakeAdapter) -> None:
    bind.add_a("api1", "10.0.1.1")
    bind.add_srv("_grpc._tcp.api", 10, 0, 9000, "api1")
    bind.add_srv("_https._tcp.api", 10, 0, 443, "api1")

    snapshot = make_adapter(
        [{"srv": "_grpc._tcp.api.example.test"}, {"srv": "_https._tcp.api.example.test", "name": "api-tls"}]
    ).discover()

    grpc = service(snapshot, "api.example.test")
    assert grpc.hosts == ("api.example.test",)
    assert grpc.ports == (ServicePort(9000, Protocol.GRPC),)
    tls = service(snapshot, "api-tls")
    assert tls.hosts == ("api.example.test",)
    assert tls.ports == (ServicePort(443, Protocol.TLS),)
