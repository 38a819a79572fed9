"""The registry-neutral model: services, their ports and endpoints, and an adapter's snapshot.

Values are frozen: adapters build them, render reads them, nobody changes them in between.
Port protocols are Istio's names because they are what every registry maps onto in the end;
nothing else here knows about Istio.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum

from syncd.model.frozen import FrozenMap, freeze
from syncd.model.protocols import Protocol


class Location(str, Enum):
    """Whether the service is part of the mesh (sidecars, mTLS) or outside it."""

    MESH_EXTERNAL = "MESH_EXTERNAL"
    MESH_INTERNAL = "MESH_INTERNAL"


class Resolution(str, Enum):
    """How the proxy finds endpoints; ``None`` on a Service means "derive from the addresses"."""

    STATIC = "STATIC"
    DNS = "DNS"
    NONE = "NONE"


class Health(str, Enum):
    """What the registry says about an endpoint; adapters decide which ones to report."""

    HEALTHY = "HEALTHY"
    UNHEALTHY = "UNHEALTHY"
    UNKNOWN = "UNKNOWN"


@dataclass(frozen=True, slots=True)
class ServicePort:
    """A port the service offers: its number and protocol (``name`` derives from both)."""

    number: int
    protocol: Protocol = Protocol.TCP

    @property
    def name(self) -> str:
        return f"{self.protocol.value.lower()}-{self.number}"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One instance: an IP or host name, and where it listens when that differs from the service port.

    ``ports`` maps a service port number to this endpoint's own port number.
    """

    address: str
    ports: Mapping[int, int] = field(default_factory=FrozenMap)
    labels: Mapping[str, str] = field(default_factory=FrozenMap)
    locality: str | None = None
    weight: int | None = None
    network: str | None = None
    health: Health = Health.HEALTHY

    def __post_init__(self) -> None:
        object.__setattr__(self, "ports", freeze(self.ports))
        object.__setattr__(self, "labels", freeze(self.labels))


@dataclass(frozen=True, slots=True)
class Service:
    """A service as a registry describes it; ``origin`` names the adapter that found it.

    ``policy_hints`` are traffic-policy overrides the registry asks for (``tls.mode`` and friends,
    see :mod:`syncd.model.hints`); they are unchecked here, the renderer validates them.
    """

    name: str
    hosts: tuple[str, ...]
    ports: tuple[ServicePort, ...]
    endpoints: tuple[Endpoint, ...] = ()
    labels: Mapping[str, str] = field(default_factory=FrozenMap)
    location: Location | None = None
    resolution: Resolution | None = None
    origin: str = ""
    policy_hints: Mapping[str, str] = field(default_factory=FrozenMap)

    def __post_init__(self) -> None:
        object.__setattr__(self, "hosts", tuple(self.hosts))
        object.__setattr__(self, "ports", tuple(self.ports))
        object.__setattr__(self, "endpoints", tuple(self.endpoints))
        object.__setattr__(self, "labels", freeze(self.labels))
        object.__setattr__(self, "policy_hints", freeze(self.policy_hints))


@dataclass(frozen=True, slots=True)
class Dropped:
    """A record that was left out because it was invalid: what it was and why."""

    adapter: str
    service: str
    what: str
    reason: str


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one adapter saw in one cycle.

    ``error`` set means the adapter failed: its services are unknown, not empty, and nothing it
    owns may be deleted. ``unknown`` names single services whose state could not be read while
    the rest could; their existing entries are kept as they are.
    """

    adapter: str
    services: tuple[Service, ...] = ()
    error: str | None = None
    unknown: frozenset[str] = frozenset()
    dropped: tuple[Dropped, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None

    @classmethod
    def failed(cls, adapter: str, error: str) -> Snapshot:
        return cls(adapter=adapter, error=error)


def common_port_endpoints(
    protocol: Protocol, instances: Iterable[tuple[Endpoint, int]]
) -> tuple[ServicePort, tuple[Endpoint, ...]] | None:
    """Give instances that listen on different ports one service port and per-endpoint port maps.

    The service port is the number most instances use (the lowest on a tie), so the common case
    needs no per-endpoint map at all. Returns None when there are no instances.
    """
    pairs = list(instances)
    if not pairs:
        return None
    counts = Counter(port for _, port in pairs)
    number = min(counts, key=lambda p: (-counts[p], p))
    service_port = ServicePort(number, protocol)
    endpoints = tuple(ep if port == number else replace(ep, ports={number: port}) for ep, port in pairs)
    return service_port, endpoints
