"""Cloud Map instances → syncd model values. Pure: no I/O, no clock.

One DiscoverInstances answer becomes one :class:`~syncd.model.Service`:

- ``AWS_INSTANCE_IPV4`` / ``AWS_INSTANCE_IPV6`` → an IP endpoint (STATIC resolution);
  ``AWS_INSTANCE_CNAME`` and ``AWS_ALIAS_DNS_NAME`` → a host-name endpoint (DNS resolution).
  The first attribute in that order holding a valid value wins.
- ``AWS_INSTANCE_PORT`` → the port (``default_port`` when absent; alias instances never have one);
  instances on different ports share one service port through ``common_port_endpoints``.
- ``protocol`` → the port protocol (the setting's default otherwise); the most common one wins.
- ``AVAILABILITY_ZONE`` / ``AWS_INSTANCE_AZ`` / ``availability_zone`` → locality ``region/zone``.
- every other non-``AWS_`` attribute → an endpoint label, through ``sanitize_labels``.

Invalid records are left out and reported as ``Dropped``; they never fail the cycle.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from syncd.model import (
    Dropped,
    Endpoint,
    Health,
    Protocol,
    Resolution,
    Service,
    common_port_endpoints,
    is_dns_name,
    is_ip,
    parse_protocol,
    sanitize_labels,
    valid_port,
)
from syncd.model.hints import agreed, from_cloudmap_attributes, is_hint_key

IPV4 = "AWS_INSTANCE_IPV4"
IPV6 = "AWS_INSTANCE_IPV6"
CNAME = "AWS_INSTANCE_CNAME"
ALIAS = "AWS_ALIAS_DNS_NAME"
PORT = "AWS_INSTANCE_PORT"
PROTOCOL = "protocol"
ZONE_KEYS = ("AVAILABILITY_ZONE", "AWS_INSTANCE_AZ", "availability_zone")
_ADDRESS_KEYS = (IPV4, IPV6, CNAME, ALIAS)
_NOT_LABELS = frozenset({PROTOCOL, *ZONE_KEYS})
_DIGITS = re.compile(r"^[0-9]{1,5}$")
_ZONE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_HEALTH = {"HEALTHY": Health.HEALTHY, "UNHEALTHY": Health.UNHEALTHY}


@dataclass(frozen=True, slots=True)
class Instance:
    """One entry of a DiscoverInstances answer."""

    id: str
    attributes: Mapping[str, str]
    health: str = "UNKNOWN"

    @classmethod
    def from_api(cls, item: Mapping[str, object]) -> Instance:
        attributes = item.get("Attributes")
        attrs = {str(k): str(v) for k, v in attributes.items()} if isinstance(attributes, dict) else {}
        return cls(str(item.get("InstanceId", "")), attrs, str(item.get("HealthStatus", "UNKNOWN")))


@dataclass(frozen=True, slots=True)
class ServiceShape:
    """What a Cloud Map service becomes, apart from its instances."""

    adapter: str
    name: str
    host: str
    region: str
    protocol: Protocol
    default_port: int | None


def build_service(shape: ServiceShape, instances: Iterable[Instance]) -> tuple[Service, list[Dropped]]:
    """The service with every valid instance as an endpoint, and the records left out."""
    dropped: list[Dropped] = []
    found: list[tuple[Endpoint, int, Protocol]] = []
    ordered = sorted(instances, key=lambda i: i.id)
    for instance in ordered:
        built = _endpoint(shape, instance, dropped)
        if built is not None:
            found.append(built)
    protocol = _common_protocol(shape.protocol, [proto for _, _, proto in found])
    picked = common_port_endpoints(protocol, [(ep, port) for ep, port, _ in found])
    if picked is None:
        service = Service(name=shape.name, hosts=(shape.host,), ports=(), origin=shape.adapter)
        return service, dropped
    port, endpoints = picked
    unique = sorted(set(endpoints), key=lambda e: (e.address, sorted(e.ports.items())))
    resolution = Resolution.STATIC if all(is_ip(e.address) for e in unique) else Resolution.DNS
    service = Service(
        name=shape.name,
        hosts=(shape.host,),
        ports=(port,),
        endpoints=tuple(unique),
        resolution=resolution,
        origin=shape.adapter,
        policy_hints=agreed(from_cloudmap_attributes(i.attributes) for i in ordered),
    )
    return service, dropped


def _endpoint(
    shape: ServiceShape, instance: Instance, dropped: list[Dropped]
) -> tuple[Endpoint, int, Protocol] | None:
    attrs = instance.attributes

    def drop(what: str, reason: str) -> None:
        dropped.append(Dropped(shape.adapter, shape.name, f"instance {instance.id}{what}", reason))

    address = _address(attrs)
    if address is None:
        present = [f"{k}={attrs[k]!r}" for k in _ADDRESS_KEYS if k in attrs]
        reason = f"invalid address ({', '.join(present)})" if present else "no address attribute"
        drop("", f"{reason}; expected one of {', '.join(_ADDRESS_KEYS)}")
        return None
    port = _port(attrs.get(PORT), shape.default_port)
    if port is None:
        if PORT in attrs:
            drop("", f"invalid port {PORT}={attrs[PORT]!r} (1-65535)")
        else:
            drop("", f"no {PORT} attribute and no default_port")
        return None
    protocol = shape.protocol
    if PROTOCOL in attrs:
        parsed = parse_protocol(attrs[PROTOCOL])
        if parsed is None:
            drop(f" attribute protocol={attrs[PROTOCOL]!r}", f"unknown protocol, using {protocol.value}")
        else:
            protocol = parsed
    locality = None
    zone = next((attrs[k] for k in ZONE_KEYS if k in attrs), None)
    if zone is not None and shape.region:
        if _ZONE.match(zone):
            locality = f"{shape.region}/{zone}"
        else:
            drop(f" attribute zone={zone!r}", "not a usable zone name; endpoint kept without locality")
    custom = {
        k: v
        for k, v in attrs.items()
        if not k.startswith("AWS_") and k not in _NOT_LABELS and not is_hint_key(k)
    }
    labels = sanitize_labels(sorted(custom.items()))
    for pair in labels.dropped:
        drop(f" label {pair}", "cannot be made a valid Kubernetes label; endpoint kept without it")
    endpoint = Endpoint(
        address=address,
        labels=labels.labels,
        locality=locality,
        health=_HEALTH.get(instance.health, Health.UNKNOWN),
    )
    return endpoint, port, protocol


def _address(attrs: Mapping[str, str]) -> str | None:
    ipv4 = attrs.get(IPV4, "").strip()
    if ipv4 and is_ip(ipv4) and ipaddress.ip_address(ipv4).version == 4:
        return ipv4
    ipv6 = attrs.get(IPV6, "").strip()
    if ipv6 and is_ip(ipv6) and ipaddress.ip_address(ipv6).version == 6:
        return ipaddress.ip_address(ipv6).compressed
    for key in (CNAME, ALIAS):
        name = attrs.get(key, "").strip().rstrip(".").lower()
        if name and is_dns_name(name):
            return name
    return None


def _port(raw: str | None, default: int | None) -> int | None:
    if raw is None:
        return default
    text = raw.strip()
    if not _DIGITS.match(text):
        return None
    number = int(text)
    return number if valid_port(number) else None


def _common_protocol(default: Protocol, protocols: list[Protocol]) -> Protocol:
    """The protocol most endpoints declare; a tie goes to the default, then to the name order."""
    if not protocols:
        return default
    counts = Counter(protocols)
    best = max(counts.values())
    tied = [p for p, n in counts.items() if n == best]
    return default if default in tied else min(tied, key=lambda p: p.value)
