"""Model → DestinationRule manifests: the traffic policy toward each synced host. Pure.

A DestinationRule is rendered for every host of a rendered ServiceEntry, owned and labelled like
it and named after it (the ServiceEntry's own name when the service has one host), so the plan
creates, updates and deletes the two together. The policy comes from config (``TrafficPolicy``,
already merged and validated) and may be overridden per service by registry hints
(``Service.policy_hints``, see :mod:`syncd.model.hints`). A bad hint is dropped and reported;
the configured policy still applies.

TLS origination (``SIMPLE``/``MUTUAL``) goes only to ports that carry plaintext: an ``HTTPS`` or
``TLS`` port already carries the application's own TLS, and originating TLS on it again would
encrypt twice and break the connection. When a service has both kinds of ports the TLS settings
become port-level settings of its plaintext ports.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from syncd.model import Dropped, Protocol, Service, is_dns_name
from syncd.model.hints import HINT_KEYS, TLS_CREDENTIAL_NAME, TLS_MODE, TLS_SNI, TLS_SUBJECT_ALT_NAMES
from syncd.render.manifest import Desired, build_manifest
from syncd.render.naming import object_name

if TYPE_CHECKING:
    from syncd.render.service_entry import RenderSettings

KIND = "DestinationRule"
TLS_MODES = ("DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL")
#: Modes in which the sidecar originates TLS with its own view of the server (SNI, CA, SANs).
ORIGINATING = frozenset({"SIMPLE", "MUTUAL"})
LB_SIMPLE = ("ROUND_ROBIN", "LEAST_REQUEST", "RANDOM", "PASSTHROUGH")
#: Port protocols whose bytes are not TLS already (the ones TLS origination may apply to).
PLAINTEXT = frozenset({Protocol.HTTP, Protocol.HTTP2, Protocol.GRPC, Protocol.TCP, Protocol.MONGO})
_SECRET_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_MAX_SANS = 64
_SHOWN = 80


@dataclass(frozen=True, slots=True)
class TlsSettings:
    """``trafficPolicy.tls``; ``sni`` None means "the host" for SIMPLE and MUTUAL."""

    mode: str
    sni: str | None = None
    credential_name: str | None = None
    subject_alt_names: tuple[str, ...] = ()
    insecure_skip_verify: bool = False


@dataclass(frozen=True, slots=True)
class TcpPool:
    max_connections: int | None = None
    connect_timeout: float | None = None  # seconds


@dataclass(frozen=True, slots=True)
class HttpPool:
    http1_max_pending_requests: int | None = None
    http2_max_requests: int | None = None
    max_requests_per_connection: int | None = None
    max_retries: int | None = None
    idle_timeout: float | None = None  # seconds


@dataclass(frozen=True, slots=True)
class ConnectionPool:
    tcp: TcpPool | None = None
    http: HttpPool | None = None


@dataclass(frozen=True, slots=True)
class OutlierDetection:
    consecutive_5xx_errors: int | None = None
    consecutive_gateway_errors: int | None = None
    interval: float | None = None  # seconds
    base_ejection_time: float | None = None  # seconds
    max_ejection_percent: int | None = None


@dataclass(frozen=True, slots=True)
class Failover:
    """Locality failover between two regions (``from`` → ``to``)."""

    source: str
    target: str


@dataclass(frozen=True, slots=True)
class LoadBalancer:
    simple: str | None = None
    failover: tuple[Failover, ...] = ()
    failover_priority: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TrafficPolicy:
    """One adapter's effective policy (config merged); every section optional."""

    tls: TlsSettings | None = None
    connection_pool: ConnectionPool | None = None
    outlier_detection: OutlierDetection | None = None
    load_balancer: LoadBalancer | None = None


def tls_problem(tls: TlsSettings) -> str | None:
    """Why Istio would reject (or silently ignore part of) these TLS settings; None when fine.

    Shared by config validation and by the check of registry hints, so both say the same.
    """
    if tls.mode not in TLS_MODES:
        return f"unknown TLS mode {tls.mode!r} (one of {', '.join(TLS_MODES)})"
    if tls.mode not in ORIGINATING and (tls.sni or tls.credential_name):
        return f"sni and credential_name apply to SIMPLE and MUTUAL only, not {tls.mode}"
    if tls.mode == "DISABLE" and tls.subject_alt_names:
        return "subject_alt_names need a TLS mode other than DISABLE"
    if tls.insecure_skip_verify and tls.mode not in ORIGINATING:
        return f"insecure_skip_verify applies to SIMPLE and MUTUAL only, not {tls.mode}"
    if tls.mode == "MUTUAL" and not tls.credential_name:
        return (
            "MUTUAL needs credential_name: a Kubernetes Secret holding the client certificate and key "
            "(syncd never writes key material)"
        )
    if tls.insecure_skip_verify and tls.subject_alt_names:
        return "insecure_skip_verify cannot be combined with subject_alt_names"
    if tls.insecure_skip_verify and tls.mode == "SIMPLE" and tls.credential_name:
        return "insecure_skip_verify cannot be combined with credential_name in SIMPLE mode"
    return None


def proto_duration(seconds: float) -> str:
    """Seconds as a protobuf JSON duration at millisecond precision: ``5s``, ``0.250s``."""
    millis = round(seconds * 1000)
    whole, rest = divmod(millis, 1000)
    return f"{whole}s" if rest == 0 else f"{whole}.{rest:03d}s"


def render_destination_rules(
    service: Service, entry: Desired, settings: RenderSettings, taken: set[str]
) -> tuple[list[Desired], list[Dropped]]:
    """The DestinationRules for ``service`` whose ServiceEntry is ``entry``, and what was dropped.

    ``taken`` holds every ServiceEntry name of the adapter and the DestinationRule names given so
    far; names chosen here are added to it. A service with one host gets its entry's name; with
    several, each DR is named after service and host, with a hash when that name is taken.
    """
    policy = settings.traffic_policy
    if policy is None:
        return [], []
    dropped: list[Dropped] = []

    def drop(what: str, reason: str) -> None:
        dropped.append(Dropped(entry.adapter, service.name, what, reason))

    tls = effective_tls(policy.tls, service.policy_hints, drop)
    ports = [(p["number"], Protocol(p["protocol"])) for p in entry.body["spec"]["ports"]]
    tls_ports: list[int] | None = None  # None: TLS applies to the whole host
    if tls is not None and tls.mode in ORIGINATING:
        plain = [number for number, protocol in ports if protocol in PLAINTEXT]
        if not plain:
            drop(
                f"tls {tls.mode}",
                "every port is HTTPS or TLS, so the application already sends TLS; originating TLS "
                "again would encrypt twice. Declare the port HTTP (or TCP) to let the sidecar "
                "originate TLS (docs/traffic-policy.md); other policy sections still apply",
            )
            tls = None
        elif len(plain) < len(ports):
            tls_ports = plain
    shared = _shared_sections(policy)
    if not shared and tls is None:
        return [], dropped
    rules: list[Desired] = []
    for host in entry.hosts:
        body = dict(shared)
        if tls is not None:
            tls_body = _tls_body(tls, host)
            if tls_ports is None:
                body["tls"] = tls_body
            else:
                body["portLevelSettings"] = [{"port": {"number": n}, "tls": tls_body} for n in tls_ports]
        spec: dict[str, Any] = {"host": host, "trafficPolicy": body}
        if settings.export_to is not None:
            spec["exportTo"] = list(settings.export_to)
        name = _name(entry, service.name, host, taken)
        manifest, digest = build_manifest(
            kind=KIND,
            name=name,
            namespace=settings.namespace,
            owner=settings.owner,
            adapter=entry.adapter,
            service=service.name,
            spec=spec,
        )
        rules.append(Desired(KIND, name, entry.adapter, service.name, (host,), digest, manifest))
    return rules, dropped


def _name(entry: Desired, service: str, host: str, taken: set[str]) -> str:
    if len(entry.hosts) == 1:
        taken.add(entry.name)
        return entry.name
    name = object_name(entry.adapter, f"{service}-{host}")
    if name in taken:
        name = object_name(entry.adapter, f"{service}-{host}", force_hash=True)
    taken.add(name)
    return name


def effective_tls(
    configured: TlsSettings | None, hints: Mapping[str, str], drop: Callable[[str, str], None]
) -> TlsSettings | None:
    """The configured TLS settings with the registry's valid hints applied.

    A hinted ``tls.mode`` different from the configured one replaces the configured TLS section
    (its SNI, Secret and SANs belong to another mode); otherwise each hint overrides one field.
    Hints that cannot be used are reported through ``drop(what, reason)`` and left out.
    """
    valid: dict[str, Any] = {}
    for key, value in sorted(hints.items()):
        what = f"hint {key}={_show(value)}"
        if key not in HINT_KEYS:
            drop(f"hint {key}", f"unknown policy hint (known: {', '.join(HINT_KEYS)})")
            continue
        parsed, why = _parse_hint(key, value)
        if why is not None:
            drop(what, f"{why}; the configured policy applies")
        else:
            valid[key] = parsed
    if not valid:
        return configured
    mode = valid.get(TLS_MODE)
    if mode is not None and (configured is None or mode != configured.mode):
        base = TlsSettings(mode)
    elif configured is not None:
        base = configured
    else:
        for key in valid:
            drop(f"hint {key}={_show(hints[key])}", "needs a TLS mode (hint tls.mode or traffic_policy.tls)")
        return configured
    fields = {
        "sni": valid.get(TLS_SNI, base.sni),
        "credential_name": valid.get(TLS_CREDENTIAL_NAME, base.credential_name),
        "subject_alt_names": valid.get(TLS_SUBJECT_ALT_NAMES, base.subject_alt_names),
    }
    composed = replace(base, **fields)
    problem = tls_problem(composed)
    if problem is not None:
        keys = ", ".join(f"{k}={_show(hints[k])}" for k in valid)
        drop(f"hint {keys}", f"{problem}; the configured policy applies")
        return configured
    return composed


def _parse_hint(key: str, value: str) -> tuple[Any, str | None]:
    text = value.strip()
    if key == TLS_MODE:
        mode = text.upper().replace("-", "_")
        if mode not in TLS_MODES:
            return None, f"not a TLS mode (one of {', '.join(TLS_MODES)})"
        return mode, None
    if key == TLS_SNI:
        sni = text.rstrip(".").lower()
        return (sni, None) if is_dns_name(sni) else (None, "not a valid DNS name")
    if key == TLS_CREDENTIAL_NAME:
        ok = _SECRET_NAME.match(text) is not None
        return (text, None) if ok else (None, "not a valid Kubernetes Secret name")
    names: list[str] = []
    for part in text.split(","):
        item = part.strip()
        if not item or any(c.isspace() or not c.isprintable() for c in item) or len(item) > 1024:
            return None, "a comma-separated list of names without spaces is expected"
        if item not in names:
            names.append(item)
    if len(names) > _MAX_SANS:
        return None, f"more than {_MAX_SANS} names"
    return tuple(names), None


def _tls_body(tls: TlsSettings, host: str) -> dict[str, Any]:
    body: dict[str, Any] = {"mode": tls.mode}
    if tls.mode in ORIGINATING:
        sni = tls.sni or (host if not host.startswith("*") else None)
        if sni:
            body["sni"] = sni
        if tls.credential_name:
            body["credentialName"] = tls.credential_name
    if tls.subject_alt_names:
        body["subjectAltNames"] = list(tls.subject_alt_names)
    if tls.insecure_skip_verify:
        body["insecureSkipVerify"] = True
    return body


def _shared_sections(policy: TrafficPolicy) -> dict[str, Any]:
    """The parts of the policy that are the same for every host and port."""
    out: dict[str, Any] = {}
    pool = policy.connection_pool
    if pool is not None:
        body: dict[str, Any] = {}
        if pool.tcp is not None:
            body["tcp"] = _fields(
                (
                    ("maxConnections", pool.tcp.max_connections),
                    ("connectTimeout", _duration(pool.tcp.connect_timeout)),
                )
            )
        if pool.http is not None:
            http = pool.http
            body["http"] = _fields(
                (
                    ("http1MaxPendingRequests", http.http1_max_pending_requests),
                    ("http2MaxRequests", http.http2_max_requests),
                    ("maxRequestsPerConnection", http.max_requests_per_connection),
                    ("maxRetries", http.max_retries),
                    ("idleTimeout", _duration(http.idle_timeout)),
                )
            )
        out["connectionPool"] = body
    outlier = policy.outlier_detection
    if outlier is not None:
        out["outlierDetection"] = _fields(
            (
                ("consecutive5xxErrors", outlier.consecutive_5xx_errors),
                ("consecutiveGatewayErrors", outlier.consecutive_gateway_errors),
                ("interval", _duration(outlier.interval)),
                ("baseEjectionTime", _duration(outlier.base_ejection_time)),
                ("maxEjectionPercent", outlier.max_ejection_percent),
            )
        )
    lb = policy.load_balancer
    if lb is not None:
        balancer: dict[str, Any] = {}
        if lb.simple is not None:
            balancer["simple"] = lb.simple
        if lb.failover or lb.failover_priority:
            locality: dict[str, Any] = {"enabled": True}
            if lb.failover:
                locality["failover"] = [{"from": f.source, "to": f.target} for f in lb.failover]
            if lb.failover_priority:
                locality["failoverPriority"] = list(lb.failover_priority)
            balancer["localityLbSetting"] = locality
        out["loadBalancer"] = balancer
    return out


def _fields(pairs: Sequence[tuple[str, int | str | None]]) -> dict[str, Any]:
    """Istio field → value, leaving out unset ones."""
    return {key: value for key, value in pairs if value is not None}


def _duration(seconds: float | None) -> str | None:
    return None if seconds is None else proto_duration(seconds)


def _show(value: str) -> str:
    return repr(value if len(value) <= _SHOWN else value[:_SHOWN] + "…")
