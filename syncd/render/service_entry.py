"""Model → ServiceEntry manifests. Pure: no I/O, no clock; problems come back as values.

Every choice here aims at an object a real cluster accepts (CRD schema, CEL rules and istiod's
validation): invalid parts of a service are dropped and reported, and a service that cannot be
made valid at all is *refused*, which keeps its existing entry rather than deleting it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from syncd.model import (
    Dropped,
    Endpoint,
    Location,
    Protocol,
    Resolution,
    Service,
    ServicePort,
    Snapshot,
    is_dns_name,
    is_fqdn,
    is_ip,
    is_label_key,
    is_label_value,
    valid_port,
)
from syncd.render.destination_rule import TrafficPolicy, render_destination_rules
from syncd.render.manifest import Desired, build_manifest
from syncd.render.naming import object_name
from syncd.render.workload_entry import EndpointMode, WorkloadMemo, render_workload_entries, selector

KIND = "ServiceEntry"
MAX_HOSTS = 256
MAX_PORTS = 256
MAX_ENDPOINTS = 4096
MAX_ENDPOINT_LABELS = 256
MAX_LOCALITY = 2048
MAX_WEIGHT = 2**32 - 1
# istiod allows several hosts on one entry only when every port is HTTP-like or TLS-like.
_MULTI_HOST_PROTOCOLS = {Protocol.HTTP, Protocol.HTTP2, Protocol.GRPC, Protocol.HTTPS, Protocol.TLS}


@dataclass(frozen=True, slots=True)
class RenderSettings:
    """Per-adapter render options: ownership, where objects live, mesh location and visibility.

    ``traffic_policy`` set renders DestinationRules next to each ServiceEntry (see
    :mod:`syncd.render.destination_rule`); None renders none. ``endpoint_mode`` says where
    endpoints go: ``inline`` in the entry, ``workloadentry`` one WorkloadEntry each, ``auto``
    WorkloadEntries only above :data:`MAX_ENDPOINTS` (:mod:`syncd.render.workload_entry`).
    """

    owner: str
    namespace: str
    location: Location = Location.MESH_EXTERNAL
    export_to: tuple[str, ...] | None = None
    traffic_policy: TrafficPolicy | None = None
    endpoint_mode: EndpointMode = "inline"


@dataclass(frozen=True, slots=True)
class Refused:
    """A service that could not become a valid object; its existing entry is kept as it is."""

    adapter: str
    service: str
    reason: str


@dataclass(frozen=True, slots=True)
class Rendered:
    """Objects to exist for one adapter, plus what was dropped or refused on the way."""

    adapter: str
    objects: tuple[Desired, ...] = ()
    dropped: tuple[Dropped, ...] = ()
    refused: tuple[Refused, ...] = ()


@dataclass
class _Issues:
    adapter: str
    service: str
    dropped: list[Dropped] = field(default_factory=list)

    def drop(self, what: str, reason: str) -> None:
        self.dropped.append(Dropped(self.adapter, self.service, what, reason))


class _Refuse(Exception):
    pass


# One service's rendering: its ServiceEntry (None when refused), its WorkloadEntry specs, drops, refusal.
_ServiceResult = tuple["Desired | None", "list[dict[str, Any]] | None", tuple[Dropped, ...], "str | None"]


class RenderMemo:
    """Renderings of services from the last call, so an unchanged service is not rendered again.

    Render stays a pure function of its inputs: the memo only skips recomputing an equal result.
    Keep one memo per adapter and settings (the engine does); it holds only the last call's services.
    """

    def __init__(self) -> None:
        # By identity first (adapters that memoise hand back the same Service object, and hashing
        # a service with thousands of endpoints is not free), by value second.
        self._last_ids: dict[tuple[int, str], tuple[Service, _ServiceResult]] = {}
        self._last: dict[tuple[Service, str], _ServiceResult] = {}
        self._next_ids: dict[tuple[int, str], tuple[Service, _ServiceResult]] = {}
        self._next: dict[tuple[Service, str], _ServiceResult] = {}
        # object_name() per service name (a regex and maybe a hash each): kept for the last call's names.
        self._names: dict[tuple[str, str], str] = {}
        self._next_names: dict[tuple[str, str], str] = {}
        # WorkloadEntries per ServiceEntry (by identity), kept only when all got first-choice names.
        self._workloads: dict[int, tuple[Desired, list[Desired], list[Dropped]]] = {}
        self._next_workloads: dict[int, tuple[Desired, list[Desired], list[Dropped]]] = {}
        self.workload_memo = WorkloadMemo()  # per endpoint, for entries that did change

    def name(self, adapter: str, service: str) -> str:
        """``object_name(adapter, service)``, remembered."""
        key = (adapter, service)
        name = self._names.get(key)
        if name is None:
            name = object_name(adapter, service)
        self._next_names[key] = name
        return name

    def get(self, key: tuple[Service, str]) -> _ServiceResult | None:
        service, name = key
        same = self._last_ids.get((id(service), name))
        if same is not None and same[0] is service:
            self._next_ids[(id(service), name)] = same
            return same[1]
        hit = self._last.get(key)
        if hit is not None:
            self.put(key, hit)
        return hit

    def put(self, key: tuple[Service, str], result: _ServiceResult) -> None:
        self._next_ids[(id(key[0]), key[1])] = (key[0], result)
        self._next[key] = result

    def workload_entries(self, entry: Desired, taken: set[str]) -> tuple[list[Desired], list[Dropped]] | None:
        """The WorkloadEntries rendered last time for this very ``entry``, if their names are free.

        They were all first choices, so rendering again would give the same names (and objects)
        exactly when none of them is taken; they are then added to ``taken``.
        """
        found = self._workloads.get(id(entry))
        if found is None or found[0] is not entry or any(o.name in taken for o in found[1]):
            return None
        taken.update(o.name for o in found[1])
        self._next_workloads[id(entry)] = found
        self.workload_memo.keep(entry.name)
        return found[1], found[2]

    def put_workload_entries(self, entry: Desired, objects: list[Desired], dropped: list[Dropped]) -> None:
        self._next_workloads[id(entry)] = (entry, objects, dropped)

    def roll(self) -> None:
        self._last, self._next = self._next, {}
        self._last_ids, self._next_ids = self._next_ids, {}
        self._names, self._next_names = self._next_names, {}
        self._workloads, self._next_workloads = self._next_workloads, {}
        self.workload_memo.roll()


def render_snapshot(snapshot: Snapshot, settings: RenderSettings, memo: RenderMemo | None = None) -> Rendered:
    """Render every service of an adapter's snapshot; names that collide get a hash suffix.

    Each ServiceEntry is followed by its service's DestinationRules when a traffic policy is set,
    then by its WorkloadEntries when its endpoints go there.
    """
    objects: list[Desired] = []
    dropped: list[Dropped] = list(snapshot.dropped)
    refused: list[Refused] = []
    used: set[str] = set()
    entries: list[tuple[Service, Desired, list[dict[str, Any]] | None]] = []
    for service in sorted(snapshot.services, key=_service_name):
        if not service.ports and not service.endpoints:
            # A registry service with no instance tells us no port: nothing to route to, no entry.
            dropped.append(
                Dropped(snapshot.adapter, service.name, "service", "no instances and no port known")
            )
            continue
        if memo is not None:
            name = memo.name(snapshot.adapter, service.name)
        else:
            name = object_name(snapshot.adapter, service.name)
        if name in used:
            name = object_name(snapshot.adapter, service.name, force_hash=True)
        result = memo.get((service, name)) if memo is not None else None
        if result is None:
            issues = _Issues(snapshot.adapter, service.name)
            try:
                rendered_entry, specs = _render_service(service, snapshot.adapter, name, settings, issues)
                result = (rendered_entry, specs, tuple(issues.dropped), None)
            except _Refuse as exc:
                result = (None, None, tuple(issues.dropped), str(exc))
            if memo is not None:
                memo.put((service, name), result)
        entry_or_none, workloads, drops, refusal = result
        if entry_or_none is None:
            refused.append(Refused(snapshot.adapter, service.name, refusal or "refused"))
        else:
            used.add(name)
            entries.append((service, entry_or_none, workloads))
        dropped.extend(drops)
    taken = set(used)  # DestinationRule names: every entry's name is reserved for its own DR
    workload_names: set[str] = set()
    for service, entry, workloads in entries:
        objects.append(entry)
        if settings.traffic_policy is not None:
            rules, rule_drops = render_destination_rules(service, entry, settings, taken)
            objects.extend(rules)
            dropped.extend(rule_drops)
        if workloads is not None:
            reused = memo.workload_entries(entry, workload_names) if memo is not None else None
            if reused is not None:
                found, found_drops = reused
            else:
                found, found_drops, first_choices = render_workload_entries(
                    service.name,
                    entry,
                    workloads,
                    settings,
                    workload_names,
                    memo.workload_memo if memo is not None else None,
                )
                if memo is not None and first_choices:
                    memo.put_workload_entries(entry, found, found_drops)
            objects.extend(found)
            dropped.extend(found_drops)
    if memo is not None:
        memo.roll()
    return Rendered(snapshot.adapter, tuple(objects), tuple(dropped), tuple(refused))


def _service_name(service: Service) -> str:
    return service.name


def render_service(
    service: Service, adapter: str, name: str, settings: RenderSettings, issues: _Issues
) -> Desired:
    """The ServiceEntry alone (its WorkloadEntries, if any, come from :func:`render_snapshot`)."""
    return _render_service(service, adapter, name, settings, issues)[0]


def uses_workload_entries(mode: EndpointMode, resolution: Resolution, endpoints: int) -> bool:
    """Whether a service's endpoints become WorkloadEntries: STATIC services only (module doc)."""
    if mode == "inline" or resolution is not Resolution.STATIC:
        return False
    return mode == "workloadentry" or endpoints > MAX_ENDPOINTS


def _render_service(
    service: Service, adapter: str, name: str, settings: RenderSettings, issues: _Issues
) -> tuple[Desired, list[dict[str, Any]] | None]:
    """The entry, and the endpoints to render as WorkloadEntries (None: they are inline)."""
    hosts = _hosts(service.hosts, issues)
    ports = _ports(service.ports, issues)
    multi_host_ok = all(p.protocol in _MULTI_HOST_PROTOCOLS for p in ports)
    if len(hosts) > 1 and not multi_host_ok and service.resolution is not Resolution.NONE:
        raise _Refuse("several hosts need HTTP or TLS ports only (istiod rejects TCP/MONGO)")
    endpoints = [e for e in (_endpoint(ep, ports, issues) for ep in service.endpoints) if e]
    resolution = service.resolution or _derive_resolution(endpoints)
    endpoints = _fit_resolution(resolution, endpoints, issues)
    endpoints = _dedupe_sorted(endpoints)
    workloads = uses_workload_entries(settings.endpoint_mode, resolution, len(endpoints))
    if len(endpoints) > MAX_ENDPOINTS and not workloads:
        if settings.endpoint_mode == "inline":
            hint = "set endpoint_mode: auto to write them as WorkloadEntries"
        else:
            hint = "WorkloadEntries need STATIC resolution (IP addresses), this service resolves by DNS"
        raise _Refuse(
            f"{len(endpoints)} endpoints exceed the {MAX_ENDPOINTS} one ServiceEntry may hold ({hint}); "
            "the existing entry is kept unchanged"
        )
    if resolution is Resolution.DNS and not endpoints and not all(is_fqdn(h) for h in hosts):
        raise _Refuse("DNS resolution without endpoints needs fully qualified hosts")
    spec: dict[str, Any] = {
        "hosts": hosts,
        "ports": [{"number": p.number, "protocol": p.protocol.value, "name": p.name} for p in ports],
        "location": (service.location or settings.location).value,
        "resolution": resolution.value,
    }
    if workloads:
        spec["workloadSelector"] = selector(name)  # CEL: never together with endpoints
    elif resolution is not Resolution.NONE:
        spec["endpoints"] = endpoints
    if settings.export_to is not None:
        spec["exportTo"] = list(settings.export_to)
    body, digest = build_manifest(
        kind=KIND,
        name=name,
        namespace=settings.namespace,
        owner=settings.owner,
        adapter=adapter,
        service=service.name,
        spec=spec,
    )
    entry = Desired(KIND, name, adapter, service.name, tuple(hosts), digest, body)
    return entry, (endpoints if workloads else None)


def _hosts(raw: Iterable[str], issues: _Issues) -> list[str]:
    hosts: set[str] = set()
    for host in raw:
        clean = host.strip().rstrip(".").lower()
        if clean != "*" and is_dns_name(clean, allow_wildcard=True):
            hosts.add(clean)
        else:
            issues.drop(f"host {host!r}", "not a valid DNS name")
    if not hosts:
        raise _Refuse("no valid host name")
    if len(hosts) > MAX_HOSTS:
        raise _Refuse(f"{len(hosts)} hosts exceed the limit of {MAX_HOSTS}")
    return sorted(hosts)


def _ports(raw: Iterable[ServicePort], issues: _Issues) -> list[ServicePort]:
    ports: dict[int, ServicePort] = {}
    for port in raw:
        if not valid_port(port.number):
            issues.drop(f"port {port.number}", "port number outside 1-65535")
        elif port.number in ports:
            issues.drop(f"port {port.number}/{port.protocol.value}", "duplicate port number")
        else:
            ports[port.number] = port
    if not ports:
        raise _Refuse("no valid port")
    if len(ports) > MAX_PORTS:
        raise _Refuse(f"{len(ports)} ports exceed the limit of {MAX_PORTS}")
    return [ports[n] for n in sorted(ports)]


def _endpoint(ep: Endpoint, ports: list[ServicePort], issues: _Issues) -> dict[str, Any] | None:
    what = f"endpoint {ep.address}"
    address = ep.address.strip()
    unix = address.startswith("unix://")
    if unix:
        # Istio: a socket path is absolute or abstract, not a folder; the service has exactly one port.
        if address[7:8] not in ("/", "@") or address.endswith("/"):
            issues.drop(what, "unix socket path must be absolute (unix:///path) or abstract (unix://@name)")
            return None
        if len(ports) != 1 or any(n != p for p, n in ep.ports.items()):
            issues.drop(what, "a unix socket endpoint needs a service with exactly one port and no port map")
            return None
    elif not (is_ip(address) or is_dns_name(address)):
        issues.drop(what, "address is neither an IP address nor a DNS name")
        return None
    out: dict[str, Any] = {"address": address if unix or is_ip(address) else address.lower()}
    names = {p.number: p.name for p in ports}
    port_map: dict[str, int] = {}
    for service_port, number in ep.ports.items():
        if service_port not in names:
            issues.drop(what, f"port map names {service_port}, which the service does not offer")
            return None
        if not valid_port(number):
            issues.drop(what, f"port {number} outside 1-65535")
            return None
        if number != service_port:
            port_map[names[service_port]] = number
    if port_map:
        out["ports"] = dict(sorted(port_map.items()))
    labels: dict[str, str] = {}
    for key, value in sorted(ep.labels.items()):
        if not (is_label_key(key) and is_label_value(value)):
            issues.drop(f"{what} label {key}={value}", "not valid Kubernetes label syntax")
        elif len(labels) >= MAX_ENDPOINT_LABELS:
            issues.drop(f"{what} label {key}", f"more than {MAX_ENDPOINT_LABELS} labels")
        else:
            labels[key] = value
    if labels:
        out["labels"] = labels
    extras: tuple[tuple[str, str | None], ...] = (("locality", ep.locality), ("network", ep.network))
    for field_name, text in extras:
        if text:
            if len(text) > MAX_LOCALITY:
                issues.drop(f"{what} {field_name}", f"longer than {MAX_LOCALITY} characters")
            else:
                out[field_name] = text
    if ep.weight is not None:
        if 0 < ep.weight <= MAX_WEIGHT:
            out["weight"] = ep.weight
        else:
            issues.drop(f"{what} weight {ep.weight}", "weight outside 1-4294967295")
    return out


def _derive_resolution(endpoints: list[dict[str, Any]]) -> Resolution:
    # No endpoints stays STATIC: "no healthy instance" must not turn into "resolve the host name".
    if all(is_ip(e["address"]) or e["address"].startswith("unix://") for e in endpoints):
        return Resolution.STATIC
    return Resolution.DNS


def _fit_resolution(
    resolution: Resolution, endpoints: list[dict[str, Any]], issues: _Issues
) -> list[dict[str, Any]]:
    if resolution is Resolution.NONE:
        return []
    keep = []
    for ep in endpoints:
        address = ep["address"]
        if resolution is Resolution.STATIC and not (is_ip(address) or address.startswith("unix://")):
            issues.drop(f"endpoint {address}", "STATIC resolution needs IP addresses")
        elif resolution is Resolution.DNS and address.startswith("unix://"):
            issues.drop(f"endpoint {address}", "DNS resolution cannot use unix sockets")
        else:
            keep.append(ep)
    return keep


def _dedupe_sorted(endpoints: list[dict[str, Any]]) -> list[dict[str, Any]]:
    unique: dict[tuple[Any, ...], dict[str, Any]] = {}
    for ep in endpoints:
        key = (ep["address"], tuple(sorted(ep.get("ports", {}).items())))
        unique.setdefault(key, ep)  # the same instance listed twice is one endpoint
    return [unique[k] for k in sorted(unique)]
