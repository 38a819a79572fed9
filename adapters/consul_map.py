"""Consul records → syncd.model values. Pure functions: no I/O, no clock, no logging.

Two steps, so the watch can compare small values instead of raw responses:
``view_from_health`` turns one ``/v1/health/service/<name>`` answer of one datacenter into a
:class:`ServiceView` (valid instances plus what was dropped and why); ``assemble`` joins the views
that make one syncd service (several datacenters in ``merge`` mode, one in ``split`` mode).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from syncd.model import (
    Dropped,
    Endpoint,
    FrozenMap,
    Health,
    Protocol,
    Service,
    common_port_endpoints,
    is_dns_name,
    is_ip,
    parse_protocol,
    sanitize_labels,
    valid_port,
)
from syncd.model.hints import agreed, from_consul_meta, is_hint_key

#: Check statuses Consul reports; anything else (``maintenance``, typos) counts as critical.
_STATUS_RANK = {"passing": 0, "warning": 1, "critical": 2}
_MAX_WEIGHT = 2**32 - 1


@dataclass(frozen=True)
class MapOptions:
    """The settings the mapping needs, as plain values (kept apart from pydantic on purpose)."""

    adapter: str
    only_passing: bool = True
    default_protocol: Protocol = Protocol.TCP
    tagged_address: str | None = None
    zone_meta_key: str = "zone"
    required_tags: tuple[str, ...] = ()
    kinds: frozenset[str] = frozenset({""})


@dataclass(frozen=True)
class Instance:
    """One valid Consul service instance: its endpoint, the port it listens on, its protocol.

    ``serving`` is False for instances health rules exclude; they still count when the service
    port is chosen, so an instance going critical never changes the port of the whole service.
    ``hints`` are the traffic-policy hints of its ``Service.Meta`` (``syncd-tls-*``).
    """

    endpoint: Endpoint
    port: int
    protocol: Protocol
    serving: bool
    hints: Mapping[str, str] = field(default_factory=FrozenMap)


@dataclass(frozen=True)
class ServiceView:
    """One Consul service in one datacenter: its selected instances, sorted, and what was dropped."""

    datacenter: str
    name: str
    instances: tuple[Instance, ...] = ()
    dropped: tuple[Dropped, ...] = ()


@dataclass(frozen=True)
class DcRead:
    """What one read (plain, or the watch cache) saw of one datacenter.

    ``error`` set: the datacenter's service list could not be read. ``failed`` names selected
    services whose instances could not be read (with why); ``pending`` ones the watch has not
    read yet. Both become ``Snapshot.unknown``.
    """

    datacenter: str
    error: str | None = None
    views: Mapping[str, ServiceView] = field(default_factory=dict)
    failed: Mapping[str, str] = field(default_factory=dict)
    pending: frozenset[str] = frozenset()

    def selected(self) -> frozenset[str]:
        """Every selected service name of this datacenter, read or not."""
        return frozenset(self.views) | frozenset(self.failed) | self.pending


def select_services(
    catalog: Mapping[str, Sequence[str]],
    include: Sequence[str],
    exclude: Sequence[str],
    tags: Sequence[str],
) -> frozenset[str]:
    """Service names from ``/v1/catalog/services`` (name → tags) that the selection keys keep."""
    return frozenset(
        name
        for name, service_tags in catalog.items()
        if any(fnmatchcase(name, pattern) for pattern in include)
        and not any(fnmatchcase(name, pattern) for pattern in exclude)
        and set(tags) <= set(service_tags or ())
    )


def check_status(checks: Iterable[Mapping[str, Any]]) -> str:
    """Consul's aggregate: critical if any check is, else warning if any is, else passing."""
    worst = 0
    for check in checks:
        worst = max(worst, _STATUS_RANK.get(str(check.get("Status", "")), 2))
    return next(status for status, rank in _STATUS_RANK.items() if rank == worst)


def labels_from(tags: Iterable[Any], meta: Mapping[str, Any]) -> tuple[dict[str, str], list[str]]:
    """Labels from ``k=v`` / ``k|v`` tags and Service.Meta (meta wins), sanitised; plus dropped pairs.

    Tags without ``=`` or ``|`` are plain tags, not labels, and are ignored.
    """
    pairs: dict[str, str] = {}
    for tag in tags:
        text = str(tag)
        cut = min((i for i in (text.find("="), text.find("|")) if i >= 0), default=-1)
        if cut > 0:
            pairs[text[:cut]] = text[cut + 1 :]
    for key, value in meta.items():
        if not is_hint_key(key):  # syncd-tls-* asks syncd for TLS; it is no workload label
            pairs[str(key)] = "" if value is None else str(value)
    result = sanitize_labels(pairs)
    return result.labels, result.dropped


def view_from_health(opts: MapOptions, datacenter: str, name: str, entries: Any) -> ServiceView:
    """A :class:`ServiceView` from the entries of ``/v1/health/service/<name>?dc=<datacenter>``."""
    dropped: dict[tuple[str, str], Dropped] = {}
    instances: list[Instance] = []
    for entry in entries if isinstance(entries, list) else ():
        if not isinstance(entry, dict):
            continue
        instance = _instance(opts, datacenter, name, entry, dropped)
        if instance is not None:
            instances.append(instance)
    instances.sort(key=lambda i: (i.endpoint.locality or "", i.endpoint.address, i.port))
    return ServiceView(datacenter, name, tuple(instances), tuple(dropped.values()))


def _instance(
    opts: MapOptions,
    datacenter: str,
    name: str,
    entry: Mapping[str, Any],
    dropped: dict[tuple[str, str], Dropped],
) -> Instance | None:
    service = _mapping(entry.get("Service"))
    node = _mapping(entry.get("Node"))
    if (service.get("Kind") or "") not in opts.kinds:
        return None  # Connect sidecars and gateways unless asked for: a selection, not an error
    tags = service.get("Tags") or []
    if not set(opts.required_tags) <= set(tags):
        return None
    what = f"instance {service.get('ID') or '?'} on node {node.get('Node') or '?'}"

    def drop(reason: str, about: str = what) -> None:
        dropped.setdefault((about, reason), Dropped(opts.adapter, name, about, reason))

    address, port = _address_and_port(opts.tagged_address, service, node)
    if not address or not (is_ip(address) or is_dns_name(address)):
        drop(f"invalid address {address!r}")
        return None
    if not valid_port(port):
        drop(f"invalid port {port!r}")
        return None
    meta = _mapping(service.get("Meta"))
    protocol = _protocol(opts, meta.get("protocol"), drop)
    labels, bad_labels = labels_from(tags, meta)
    for pair in bad_labels:
        drop("not valid Kubernetes label syntax; label left out", f"label {pair}")
    status = check_status(c for c in entry.get("Checks") or () if isinstance(c, dict))
    serving = status == "passing" or (status == "warning" and not opts.only_passing)
    weights = _mapping(service.get("Weights"))
    weight = weights.get("Warning" if status == "warning" else "Passing")
    zone = _mapping(node.get("Meta")).get(opts.zone_meta_key)
    endpoint = Endpoint(
        address=address,
        labels=labels,
        locality=f"{datacenter}/{zone}" if isinstance(zone, str) and zone else datacenter,
        weight=weight if isinstance(weight, int) and 0 < weight <= _MAX_WEIGHT else None,
        health=Health.HEALTHY if serving else Health.UNHEALTHY,
    )
    return Instance(endpoint, port, protocol, serving, FrozenMap(from_consul_meta(meta)))


def _address_and_port(
    tag: str | None, service: Mapping[str, Any], node: Mapping[str, Any]
) -> tuple[str, Any]:
    """Service.Address, else Node.Address; with ``tag``, that tagged address first (service, then node)."""
    port = service.get("Port")
    if tag:
        tagged = _mapping(_mapping(service.get("TaggedAddresses")).get(tag))
        if tagged.get("address"):
            return str(tagged["address"]), tagged.get("port") or port
        node_tagged = _mapping(node.get("TaggedAddresses")).get(tag)
        if isinstance(node_tagged, str) and node_tagged:
            return node_tagged, port
    return str(service.get("Address") or node.get("Address") or ""), port


def _protocol(opts: MapOptions, raw: Any, drop: Any) -> Protocol:
    if raw is None or raw == "":
        return opts.default_protocol
    protocol = parse_protocol(str(raw))
    if protocol is None:
        # Istio cannot speak it; opaque TCP proxying always works, so the instance is kept.
        drop(f"unknown protocol {raw!r}; treated as TCP", f"protocol {raw}")
        return Protocol.TCP
    return protocol


def assemble(
    opts: MapOptions, name: str, hosts: Sequence[str], views: Iterable[ServiceView]
) -> Service | None:
    """One syncd service from its views; None when no instance is left to take a port from."""
    instances = [i for view in views for i in view.instances]
    if not instances:
        return None
    protocol = _majority(i.protocol for i in instances)
    chosen = common_port_endpoints(protocol, ((i.endpoint, i.port) for i in instances))
    assert chosen is not None
    port, endpoints = chosen
    serving = tuple(ep for ep, inst in zip(endpoints, instances, strict=True) if inst.serving)
    return Service(
        name=name,
        hosts=tuple(hosts),
        ports=(port,),
        endpoints=serving,
        origin=opts.adapter,
        policy_hints=agreed(i.hints for i in instances),
    )


def _majority(protocols: Iterable[Protocol]) -> Protocol:
    counts = Counter(protocols)
    order = list(Protocol)
    return min(counts, key=lambda p: (-counts[p], order.index(p)))


def render_host(template: str, service: str, datacenter: str, namespace: str | None) -> str:
    """The host for a service from the ``host`` template (lowercase: DNS names in Istio are)."""
    return template.format(
        service=service.lower(), datacenter=datacenter.lower(), namespace=(namespace or "default").lower()
    )


def host_or_drop(opts: MapOptions, host: str, service: str, dropped: list[Dropped]) -> str | None:
    """``host`` when it is a valid DNS name; otherwise a Dropped record for the service and None."""
    if is_dns_name(host):
        return host
    dropped.append(Dropped(opts.adapter, service, "service", f"host {host!r} is not a valid DNS name"))
    return None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}
