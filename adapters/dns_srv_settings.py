"""Config keys of the ``dns_srv`` adapter (see docs/adapters/dns_srv.md for the reference).

Everything that can be derived from an SRV name (host, protocol, service name) is derived here,
once, so the adapter and the docs agree on one rule.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from syncd.adapter import AdapterSettings
from syncd.model import Protocol, is_dns_name
from syncd.model.durations import Duration
from syncd.model.protocols import ProtocolSetting

# An SRV owner name: DNS labels that may start with "_" (RFC 2782 `_service._proto.name`).
_SRV_LABEL = re.compile(r"^[a-z0-9_-]{1,63}$", re.IGNORECASE)
_HOST_PORT = re.compile(r"^(?P<host>[^:\[\]]+)(?::(?P<port>[0-9]+))?$")
_BRACKETED = re.compile(r"^\[(?P<host>[^\]]+)\](?::(?P<port>[0-9]+))?$")

#: The service label of an SRV name decides the default protocol; anything else is TCP.
SERVICE_PROTOCOLS = {"http": Protocol.HTTP, "https": Protocol.TLS, "grpc": Protocol.GRPC}


def _port(text: str | None, original: str) -> int:
    if text is None:
        return 53
    number = int(text)
    if not 0 < number <= 65535:
        raise ValueError(f"invalid nameserver {original!r}: port must be 1-65535")
    return number


def parse_nameserver(value: object) -> object:
    """``host``, ``host:port``, ``[v6]`` or ``[v6]:port`` into ``{host, port}`` (port 53 by default).

    A bare IPv6 address (``::1``) is accepted too, always with port 53: without brackets a port
    could not be told apart from the address.
    """
    if not isinstance(value, str):
        return value
    text = value.strip()
    bracketed = _BRACKETED.match(text)
    if bracketed:
        host = bracketed["host"]
        if not _is_ipv6(host):
            raise ValueError(f"invalid nameserver {value!r}: only IPv6 addresses go in brackets")
        return {"host": host, "port": _port(bracketed["port"], value)}
    if _is_ipv6(text):
        return {"host": text, "port": 53}
    plain = _HOST_PORT.match(text)
    if not plain:
        raise ValueError(
            f"invalid nameserver {value!r}: expected host, host:port or [ipv6]:port, e.g. 10.0.0.2:53"
        )
    return {"host": plain["host"], "port": _port(plain["port"], value)}


def _is_ipv6(text: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(text), ipaddress.IPv6Address) and "%" not in text
    except ValueError:
        return False


class Nameserver(AdapterSettings):
    """One server to ask: an IP address or a host name (resolved by the system at query time)."""

    host: str
    port: int = Field(53, gt=0, le=65535)

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: Any) -> Any:
        return parse_nameserver(value)

    @model_validator(mode="after")
    def _check_host(self) -> Nameserver:
        try:
            ipaddress.ip_address(self.host)
        except ValueError:
            if not is_dns_name(self.host):
                raise ValueError(
                    f"invalid nameserver host {self.host!r}: not an IP address or DNS name"
                ) from None
        return self

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def _dns_name(value: object) -> object:
    """Lowercase without the trailing dot, so names compare equal however they were written."""
    return value.strip().rstrip(".").lower() if isinstance(value, str) else value


class RecordSettings(AdapterSettings):
    """One SRV name to watch; it becomes one Service."""

    srv: Annotated[str, BeforeValidator(_dns_name)]
    host: Annotated[str | None, BeforeValidator(_dns_name)] = None
    protocol: ProtocolSetting | None = None
    port: int | None = Field(None, gt=0, le=65535)
    name: str | None = Field(None, min_length=1, max_length=253)

    @model_validator(mode="after")
    def _check(self) -> RecordSettings:
        labels = self.srv.split(".")
        if len(self.srv) > 253 or not all(_SRV_LABEL.match(label) for label in labels):
            raise ValueError(f"srv {self.srv!r} is not a valid DNS name")
        if self.host is None and self._derived_host() is None:
            raise ValueError(
                f"srv {self.srv!r} has no `_service._proto.` prefix to derive the host from: set `host`"
            )
        if self.host is not None and not is_dns_name(self.host):
            raise ValueError(f"host {self.host!r} is not a valid DNS name")
        return self

    def _derived_host(self) -> str | None:
        labels = self.srv.split(".")
        if len(labels) < 3 or not (labels[0].startswith("_") and labels[1].startswith("_")):
            return None
        host = ".".join(labels[2:])
        return host if is_dns_name(host) else None

    @property
    def service_host(self) -> str:
        """``host``, or the SRV name without its ``_service._proto.`` labels."""
        host = self.host or self._derived_host()
        assert host is not None  # guaranteed by _check
        return host

    @property
    def service_protocol(self) -> Protocol:
        """``protocol``, or the one the service label implies (``_http`` → HTTP, ...; else TCP)."""
        if self.protocol is not None:
            return self.protocol
        label = self.srv.split(".")[0]
        return SERVICE_PROTOCOLS.get(label[1:], Protocol.TCP) if label.startswith("_") else Protocol.TCP

    @property
    def service_name(self) -> str:
        """``name``, or the host: readable, and unique as long as hosts are."""
        return self.name or self.service_host


class DnsSrvSettings(AdapterSettings):
    """Keys of an adapter with ``type: dns_srv``."""

    #: Servers to ask, in order; empty means the system resolver (/etc/resolv.conf).
    nameservers: tuple[Nameserver, ...] = ()
    #: Seconds to wait for one answer from one server (UDP, then TCP when truncated).
    timeout: Annotated[Duration, Field(gt=0)] = 2.0
    records: tuple[RecordSettings, ...] = Field(min_length=1)
    #: Which address records of a target become endpoints.
    address_family: Literal["ipv4", "ipv6", "both"] = "ipv4"
    #: False keeps targets as host names (the entry then uses DNS resolution).
    resolve_targets: bool = True
    #: A target that is a CNAME (RFC 2782 forbids it): follow it with a warning, or drop it.
    alias_targets: Literal["follow", "drop"] = "follow"
    #: Consecutive trusted NXDOMAIN/NODATA answers before a service counts as gone.
    absent_after: int = Field(2, ge=1)
    #: The poll-interval hint never goes below this, whatever the TTLs say (TTL 0 is no storm).
    ttl_floor: Annotated[Duration, Field(ge=0)] = 5.0

    @model_validator(mode="after")
    def _unique_names(self) -> DnsSrvSettings:
        seen: dict[str, str] = {}
        for record in self.records:
            name = record.service_name
            if name in seen:
                raise ValueError(
                    f"records {seen[name]!r} and {record.srv!r} both make service {name!r}:"
                    " give one of them a `name`"
                )
            seen[name] = record.srv
        return self
