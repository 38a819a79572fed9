"""Model helpers: label repair, address checks, durations, protocols, port selection, immutability."""

from __future__ import annotations

import dataclasses

import pytest

from syncd.model import (
    Endpoint,
    FrozenMap,
    Protocol,
    common_port_endpoints,
    is_dns_name,
    is_ip,
    parse_protocol,
    sanitize_labels,
)
from syncd.model.durations import parse_duration


@pytest.mark.parametrize(
    ("raw", "labels", "dropped"),
    [
        ({"version": "v1"}, {"version": "v1"}, []),
        ({"team name": "Stock Keeping"}, {"team_name": "Stock-Keeping"}, []),
        ({"example.com/tier": "gold"}, {"example.com/tier": "gold"}, []),
        ({"-x-": "_y_"}, {"x": "y"}, []),
        ({"k": "v" * 64}, {}, ["k=" + "v" * 64]),
        ({"!!!": "v"}, {}, ["!!!=v"]),
        ({"Bad_Prefix!/k": "v"}, {}, ["Bad_Prefix!/k=v"]),
    ],
)
def test_sanitize_labels(raw: dict[str, str], labels: dict[str, str], dropped: list[str]) -> None:
    result = sanitize_labels(raw)
    assert result.labels == labels and result.dropped == dropped


@pytest.mark.parametrize(
    ("text", "ip", "name"),
    [
        ("10.0.0.1", True, False),
        ("2001:db8::1", True, False),
        ("fe80::1%eth0", False, False),
        ("web.example.com", False, True),
        ("999.1.1.1", False, False),
        ("-bad.example.com", False, False),
        ("a" * 64 + ".com", False, False),
        ("", False, False),
        ("localhost", False, True),
    ],
)
def test_addresses(text: str, ip: bool, name: bool) -> None:
    assert (is_ip(text), is_dns_name(text)) == (ip, name)


def test_wildcards_only_when_allowed() -> None:
    assert is_dns_name("*.example.com", allow_wildcard=True)
    assert not is_dns_name("*.example.com") and not is_dns_name("a.*.com", allow_wildcard=True)


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("5m", 300), ("1h30m", 5400), ("250ms", 0.25), (12, 12), ("1.5s", 1.5)]
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5", "soon", "5 m", "-1s", True, None, "1y"])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "protocol"),
    [("http", Protocol.HTTP), ("GRPC", Protocol.GRPC), ("h2c", Protocol.HTTP2), ("udp", None), (None, None)],
)
def test_protocols(text: str | None, protocol: Protocol | None) -> None:
    assert parse_protocol(text) is protocol


def test_common_port_prefers_the_majority_then_the_lowest() -> None:
    pairs = [(Endpoint("10.0.0.1"), 9000), (Endpoint("10.0.0.2"), 8000)]
    port, endpoints = common_port_endpoints(Protocol.TCP, pairs) or (None, ())
    assert port is not None and port.number == 8000 and port.name == "tcp-8000"
    assert endpoints[0].ports == {8000: 9000} and endpoints[1].ports == {}
    assert common_port_endpoints(Protocol.TCP, []) is None


def test_values_are_frozen_and_hashable() -> None:
    ep = Endpoint("10.0.0.1", labels={"a": "1"})
    assert isinstance(ep.labels, FrozenMap) and hash(ep) == hash(Endpoint("10.0.0.1", labels={"a": "1"}))
    with pytest.raises(dataclasses.FrozenInstanceError):
        ep.address = "10.0.0.2"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ep.labels["b"] = "2"  # type: ignore[index]


@pytest.mark.parametrize(
    ("key", "ok"),
    [
        ("a..b/x", False),
        ("example.com/tier", True),
        ("-a.com/x", False),
        ("a/b/c", False),
        ("x", True),
        ("a" * 64, False),
    ],
)
def test_label_keys(key: str, ok: bool) -> None:
    from syncd.model import is_label_key

    assert is_label_key(key) is ok


@pytest.mark.parametrize(
    ("value", "expected"), [("http", Protocol.HTTP), ("GRPC", Protocol.GRPC), (Protocol.TLS, Protocol.TLS)]
)
def test_protocol_setting_accepts_registry_spellings(value: object, expected: Protocol) -> None:
    from pydantic import TypeAdapter

    from syncd.model.protocols import ProtocolSetting

    assert TypeAdapter(ProtocolSetting).validate_python(value) is expected


def test_protocol_setting_names_the_known_ones() -> None:
    from pydantic import TypeAdapter, ValidationError

    from syncd.model.protocols import ProtocolSetting

    with pytest.raises(ValidationError, match="unknown protocol 'smtp' \\(known: http, https"):
        TypeAdapter(ProtocolSetting).validate_python("smtp")
