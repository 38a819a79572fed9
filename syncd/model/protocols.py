"""Port protocols Istio accepts on a ServiceEntry, and the mapping from registry spellings to them."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

from pydantic import BeforeValidator


class Protocol(str, Enum):
    """The protocols istiod accepts for ServiceEntry ports (DESIGN.md, "Valid Istio output")."""

    HTTP = "HTTP"
    HTTPS = "HTTPS"
    GRPC = "GRPC"
    HTTP2 = "HTTP2"
    MONGO = "MONGO"
    TCP = "TCP"
    TLS = "TLS"


# Registries spell protocols many ways; Consul uses lowercase "http", "http2", "grpc", "tcp".
_ALIASES = {
    "h2": Protocol.HTTP2,
    "h2c": Protocol.HTTP2,
    "http/1.1": Protocol.HTTP,
    "http1": Protocol.HTTP,
    "grpc-web": Protocol.GRPC,
    "mongodb": Protocol.MONGO,
    "ssl": Protocol.TLS,
}


def parse_protocol(value: str | None) -> Protocol | None:
    """Return the Istio protocol for a registry spelling, or None when it is not one Istio knows."""
    if not value:
        return None
    text = value.strip()
    try:
        return Protocol(text.upper())
    except ValueError:
        return _ALIASES.get(text.lower())


def _setting(value: object) -> object:
    if value is None or isinstance(value, Protocol) or not isinstance(value, str):
        return value
    protocol = parse_protocol(value)
    if protocol is None:
        known = ", ".join(p.value.lower() for p in Protocol)
        raise ValueError(f"unknown protocol {value!r} (known: {known})")
    return protocol


ProtocolSetting = Annotated[Protocol, BeforeValidator(_setting)]
"""A pydantic field type for a protocol in config: any spelling ``parse_protocol`` knows."""
