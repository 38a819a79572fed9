"""From one SRV record set (and its targets' addresses) to one Service: the RFC 2782 rules.

* Only the lowest priority group with a usable target counts; a group whose every target is
  unusable (port 0, no address, dropped alias) hands over to the next one.
* A target of ``.`` alone means "decidedly not available": the service has no endpoints.
* Weights follow the target's share (see :func:`spread_weights`); a target's lookup *failure*
  (timeout, SERVFAIL) makes the whole service unknown this cycle rather than shrinking it.

No DNS here: target addresses come through the ``lookup`` callable the adapter passes in.
"""

from __future__ import annotations

import ipaddress
import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import structlog

from adapters.dns_srv_settings import RecordSettings
from syncd.model import (
    Dropped,
    Endpoint,
    Resolution,
    Service,
    ServicePort,
    common_port_endpoints,
    is_dns_name,
)
from syncd.model.hints import from_dns_srv_name

log = structlog.get_logger(__name__)

#: Weights are split over a target's addresses only up to this common multiple (keeps sums small).
MAX_SPLIT = 16


@dataclass(frozen=True)
class SrvRecord:
    """One SRV rdata; ``target`` is lowercase without the final dot, ``""`` for the root ``.``."""

    priority: int
    weight: int
    port: int
    target: str

    def __str__(self) -> str:
        return f"SRV {self.priority} {self.weight} {self.port} {self.target or '.'}"


@dataclass(frozen=True)
class TargetAddresses:
    """A target's addresses; or why it has none (``missing``: drop it; ``failure``: could not ask)."""

    addresses: tuple[str, ...] = ()
    missing: str | None = None
    failure: str | None = None


@dataclass(frozen=True)
class Built:
    """The service, or the reason it is unknown this cycle, plus what was dropped on the way."""

    service: Service | None = None
    unknown: str | None = None
    dropped: tuple[Dropped, ...] = ()


def build_service(
    adapter: str,
    record: RecordSettings,
    srvs: Sequence[SrvRecord],
    lookup: Callable[[str], TargetAddresses] | None,
) -> Built:
    """Map one record set; ``lookup`` None keeps targets as host names (DNS resolution)."""
    name = record.service_name
    dropped: list[Dropped] = []

    def drop(srv: SrvRecord, reason: str) -> None:
        dropped.append(Dropped(adapter, name, f"{record.srv} {srv}", reason))
        log.warning("dns_srv_endpoint_dropped", adapter=adapter, service=name, record=str(srv), reason=reason)

    real = [srv for srv in srvs if srv.target]
    if not real:
        return _without_endpoints(adapter, record, srvs, dropped, "target '.': decidedly not available")
    for srv in srvs:
        if not srv.target:
            drop(srv, "target '.' next to real targets is ignored")

    skipped: list[int] = []
    chosen: list[tuple[SrvRecord, tuple[str, ...]]] = []
    for priority in sorted({srv.priority for srv in real}):
        for srv in sorted((s for s in real if s.priority == priority), key=_srv_order):
            if srv.port == 0:
                drop(srv, "port 0")
            elif lookup is None:
                if is_dns_name(srv.target):
                    chosen.append((srv, (srv.target,)))
                else:
                    drop(srv, "target is not a valid host name")
            else:
                found = lookup(srv.target)
                if found.failure is not None:
                    return Built(unknown=found.failure, dropped=tuple(dropped))
                if found.missing is not None:
                    drop(srv, found.missing)
                else:
                    chosen.append((srv, found.addresses))
        if chosen:
            break
        skipped.append(priority)
    if not chosen:
        return _without_endpoints(adapter, record, srvs, dropped, "no usable target in any priority group")
    if skipped:
        log.warning(
            "dns_srv_priority_fallback",
            adapter=adapter,
            service=name,
            unusable_priorities=skipped,
            used_priority=chosen[0][0].priority,
        )
    endpoints, service_port = _endpoints(adapter, name, record, chosen)
    resolution = Resolution.STATIC if lookup is not None else Resolution.DNS
    service = Service(
        name=name,
        hosts=(record.service_host,),
        ports=(service_port,),
        endpoints=endpoints,
        resolution=resolution,
        origin=adapter,
        policy_hints=from_dns_srv_name(record.srv),
    )
    return Built(service=service, dropped=tuple(dropped))


def _endpoints(
    adapter: str, name: str, record: RecordSettings, chosen: list[tuple[SrvRecord, tuple[str, ...]]]
) -> tuple[tuple[Endpoint, ...], ServicePort]:
    per_address = spread_weights([(srv.weight, len(addresses)) for srv, addresses in chosen])
    merged: dict[tuple[str, int], int] = {}
    for (srv, addresses), weight in zip(chosen, per_address, strict=True):
        for address in addresses:
            key = (address, srv.port)
            if key in merged:
                log.info(
                    "dns_srv_duplicate_endpoint",
                    adapter=adapter,
                    service=name,
                    address=address,
                    port=srv.port,
                )
            merged[key] = merged.get(key, 0) + weight
    uniform = len(set(merged.values())) == 1
    pairs = [
        (Endpoint(address=address, weight=None if uniform else weight), port)
        for (address, port), weight in sorted(merged.items(), key=lambda item: _address_order(*item[0]))
    ]
    protocol = record.service_protocol
    if record.port is None:
        common = common_port_endpoints(protocol, pairs)
        assert common is not None  # pairs is never empty here
        return common[1], common[0]
    number = record.port
    endpoints = tuple(
        ep if port == number else Endpoint(address=ep.address, ports={number: port}, weight=ep.weight)
        for ep, port in pairs
    )
    return endpoints, ServicePort(number, protocol)


def spread_weights(targets: Sequence[tuple[int, int]]) -> list[int]:
    """Weight of each address, for targets given as ``(SRV weight, number of addresses)``.

    RFC 2782 picks a *target* by weight; Istio picks an *address*. So weight 0 counts as 1 (equal
    shares when every weight is 0; the smallest share next to non-zero weights), and when targets
    have different numbers of addresses each address gets ``weight * L / n`` (L the least common
    multiple of the counts) so every target keeps its share. When L passes ``MAX_SPLIT`` the split
    is skipped (each address then carries its target's weight), which keeps the sum of 4096
    endpoints' weights within Envoy's 32-bit limit.
    """
    if not targets:
        return []
    counts = {count for _, count in targets}
    common = math.lcm(*counts)
    split = len(counts) > 1 and common <= MAX_SPLIT
    return [max(weight, 1) * (common // count if split else 1) for weight, count in targets]


def _without_endpoints(
    adapter: str, record: RecordSettings, srvs: Sequence[SrvRecord], dropped: list[Dropped], why: str
) -> Built:
    """A service that exists with no usable endpoint: STATIC with none (no traffic goes anywhere)."""
    name = record.service_name
    ports = Counter(srv.port for srv in srvs if srv.port)
    number = record.port or (min(ports, key=lambda p: (-ports[p], p)) if ports else None)
    if number is None:
        reason = f"{why}, and no port is known: set `port` for this record"
        log.warning("dns_srv_service_dropped", adapter=adapter, service=name, reason=reason)
        dropped.append(Dropped(adapter, name, record.srv, reason))
        return Built(dropped=tuple(dropped))
    log.warning("dns_srv_no_endpoints", adapter=adapter, service=name, reason=why)
    service = Service(
        name=name,
        hosts=(record.service_host,),
        ports=(ServicePort(number, record.service_protocol),),
        endpoints=(),
        resolution=Resolution.STATIC,
        origin=adapter,
        policy_hints=from_dns_srv_name(record.srv),
    )
    return Built(service=service, dropped=tuple(dropped))


def _srv_order(srv: SrvRecord) -> tuple[str, int, int]:
    return (srv.target, srv.port, srv.weight)


def _address_order(address: str, port: int) -> tuple[int, int, str, int]:
    """IPv4 before IPv6, numerically; host names after addresses, alphabetically."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return (10, 0, address, port)
    return (ip.version, int(ip), "", port)
