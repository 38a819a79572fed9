"""The ``traffic_policy`` config blocks (global and per adapter) and how they merge.

Rendered as one DestinationRule per synced host (docs/traffic-policy.md). Validation here says
everything Istio would otherwise reject later, by key path; the merged result is handed to render
as plain values (:class:`syncd.render.destination_rule.TrafficPolicy`), so render never sees
config.

Merge rules: an adapter's block overrides the global one *section by section* (``tls``,
``connection_pool``, ``outlier_detection``, ``load_balancer``, ``enabled``): a section the
adapter names replaces the global section whole (``null`` removes it), a section it leaves out is
inherited. No block at all (or ``traffic_policy: null``) inherits everything, as does ``{}``
(which also opts the adapter in when there is no global block). ``enabled: false`` renders no
DestinationRules for the adapter, and deletes the ones syncd made for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from syncd.model import is_dns_name, is_label_key
from syncd.model.durations import Duration
from syncd.render.destination_rule import (
    ConnectionPool,
    Failover,
    HttpPool,
    LoadBalancer,
    OutlierDetection,
    TcpPool,
    TlsSettings,
    TrafficPolicy,
    tls_problem,
)

if TYPE_CHECKING:
    from syncd.config import Config

SECTIONS = ("tls", "connection_pool", "outlier_detection", "load_balancer")
_INT32 = 2**31 - 1
_UINT32 = 2**32 - 1
_SECRET_NAME = r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$"
_TOPOLOGY_LABELS = frozenset(
    {"topology.kubernetes.io/region", "topology.kubernetes.io/zone", "topology.istio.io/subzone"}
)
_KEY_MATERIAL = (
    "syncd never writes key material or proxy file paths into the mesh config: put the client "
    "certificate, key and CA in a Kubernetes Secret and name it in credential_name"
)


def _proto_duration(seconds: float) -> float:
    """Istio takes durations of at least 1ms, to the millisecond."""
    if seconds < 0.001:
        raise ValueError("must be at least 1ms")
    if abs(seconds * 1000 - round(seconds * 1000)) > 1e-6:
        raise ValueError("only whole milliseconds are supported")
    return seconds


ProtoDuration = Annotated[Duration, AfterValidator(_proto_duration)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)

    @model_validator(mode="after")
    def _not_empty(self) -> Any:
        if not self.model_fields_set:
            keys = ", ".join(self._keys())
            raise ValueError(f"set at least one of {keys} (or leave the section out)")
        return self

    @classmethod
    def _keys(cls) -> list[str]:
        return [f.alias or name for name, f in cls.model_fields.items() if not f.exclude]


class TlsConfig(_Section):
    """``tls``: how the sidecar secures connections to the service (Istio ClientTLSSettings)."""

    mode: Literal["DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL"]
    sni: str | None = None
    credential_name: str | None = Field(None, pattern=_SECRET_NAME)
    subject_alt_names: tuple[str, ...] = ()
    insecure_skip_verify: bool = False
    # Accepted by Istio, refused here with a clear word rather than "unknown key".
    client_certificate: Any = Field(None, exclude=True)
    private_key: Any = Field(None, exclude=True)
    ca_certificates: Any = Field(None, exclude=True)
    ca_crl: Any = Field(None, exclude=True)

    @field_validator("client_certificate", "private_key", "ca_certificates", "ca_crl", mode="before")
    @classmethod
    def _no_key_material(cls, value: Any) -> Any:
        raise ValueError(_KEY_MATERIAL)

    @field_validator("sni")
    @classmethod
    def _sni(cls, value: str | None) -> str | None:
        if value is not None and not is_dns_name(value):
            raise ValueError(f"{value!r} is not a valid DNS name")
        return value

    @field_validator("subject_alt_names")
    @classmethod
    def _sans(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for name in value:
            if not name or any(c.isspace() for c in name):
                raise ValueError(f"{name!r} is not a name (empty or with spaces)")
        if len(set(value)) != len(value):
            raise ValueError("has duplicates")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> TlsConfig:
        problem = tls_problem(self.settings())
        if problem is not None:
            raise ValueError(problem)
        return self

    def settings(self) -> TlsSettings:
        return TlsSettings(
            self.mode, self.sni, self.credential_name, self.subject_alt_names, self.insecure_skip_verify
        )


class TcpPoolConfig(_Section):
    max_connections: int | None = Field(None, ge=0, le=_INT32)
    connect_timeout: ProtoDuration | None = None


class HttpPoolConfig(_Section):
    http1_max_pending_requests: int | None = Field(None, ge=0, le=_INT32)
    http2_max_requests: int | None = Field(None, ge=0, le=_INT32)
    max_requests_per_connection: int | None = Field(None, ge=0, le=_INT32)
    max_retries: int | None = Field(None, ge=0, le=_INT32)
    idle_timeout: ProtoDuration | None = None


class ConnectionPoolConfig(_Section):
    """``connection_pool``: limits that keep a fragile service from being overwhelmed."""

    tcp: TcpPoolConfig | None = None
    http: HttpPoolConfig | None = None


class OutlierDetectionConfig(_Section):
    """``outlier_detection``: eject instances that keep failing."""

    consecutive_5xx_errors: int | None = Field(None, ge=0, le=_UINT32)
    consecutive_gateway_errors: int | None = Field(None, ge=0, le=_UINT32)
    interval: ProtoDuration | None = None
    base_ejection_time: ProtoDuration | None = None
    max_ejection_percent: int | None = Field(None, ge=0, le=100)


class FailoverConfig(_Section):
    """One locality failover rule: when ``from``'s endpoints fail, use ``to``'s (regions only)."""

    source: str = Field(alias="from")
    to: str

    @field_validator("source", "to")
    @classmethod
    def _region(cls, value: str) -> str:
        if not value or "/" in value or "*" in value or any(c.isspace() for c in value):
            raise ValueError(f"{value!r} must be a region name (no '/', '*' or spaces)")
        return value

    @model_validator(mode="after")
    def _different(self) -> FailoverConfig:
        if self.source == self.to:
            raise ValueError("from and to must be different regions")
        return self


class LoadBalancerConfig(_Section):
    """``load_balancer``: the algorithm, and locality failover (e.g. between Consul datacenters)."""

    simple: Literal["ROUND_ROBIN", "LEAST_REQUEST", "RANDOM", "PASSTHROUGH"] | None = None
    failover: tuple[FailoverConfig, ...] = ()
    failover_priority: tuple[str, ...] = ()

    @field_validator("failover_priority")
    @classmethod
    def _labels(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            if not is_label_key(item.split("=", 1)[0]):
                raise ValueError(f"{item!r} is not a label name (or name=value)")
        if len(set(value)) != len(value):
            raise ValueError("has duplicates")
        return value

    @model_validator(mode="after")
    def _istio_rules(self) -> LoadBalancerConfig:
        sources = [f.source for f in self.failover]
        if len(set(sources)) != len(sources):
            raise ValueError("failover lists the same `from` region twice")
        topology = [p for p in self.failover_priority if p.split("=", 1)[0] in _TOPOLOGY_LABELS]
        if self.failover and topology:
            raise ValueError(
                f"failover cannot be combined with topology labels in failover_priority: {topology}"
            )
        return self


class TrafficPolicyConfig(BaseModel):
    """A ``traffic_policy`` block (top level = the default; per adapter = overrides)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    tls: TlsConfig | None = None
    connection_pool: ConnectionPoolConfig | None = None
    outlier_detection: OutlierDetectionConfig | None = None
    load_balancer: LoadBalancerConfig | None = None


def effective_policy(
    default: TrafficPolicyConfig | None, own: TrafficPolicyConfig | None
) -> TrafficPolicyConfig | None:
    """The policy one adapter renders with (merge rules in the module docstring); None: no DRs."""
    if default is None or own is None:
        merged = own or default
    else:
        values = {
            name: getattr(own if name in own.model_fields_set else default, name)
            for name in ("enabled", *SECTIONS)
        }
        merged = default.model_copy(update=values)
    return merged if merged is not None and merged.enabled else None


def render_policy(policy: TrafficPolicyConfig) -> TrafficPolicy:
    """The render-side value of a validated, merged policy."""
    pool = policy.connection_pool
    outlier = policy.outlier_detection
    lb = policy.load_balancer
    return TrafficPolicy(
        tls=policy.tls.settings() if policy.tls else None,
        connection_pool=None
        if pool is None
        else ConnectionPool(
            tcp=TcpPool(**pool.tcp.model_dump()) if pool.tcp else None,
            http=HttpPool(**pool.http.model_dump()) if pool.http else None,
        ),
        outlier_detection=None if outlier is None else OutlierDetection(**outlier.model_dump()),
        load_balancer=None
        if lb is None
        else LoadBalancer(
            simple=lb.simple,
            failover=tuple(Failover(f.source, f.to) for f in lb.failover),
            failover_priority=lb.failover_priority,
        ),
    )


def configured_paths(config: Config) -> list[str]:
    """Key paths of every ``traffic_policy`` block present in the config."""
    paths = ["traffic_policy"] if config.traffic_policy is not None else []
    paths += [
        f"adapters[{i}].traffic_policy" for i, a in enumerate(config.adapters) if a.traffic_policy is not None
    ]
    return paths


def traffic_policy_problems(config: Config) -> list[str]:
    """Rules across blocks, each naming its key path (run after the config itself validated)."""
    problems: list[str] = []
    if config.manage_destination_rules is False and configured_paths(config):
        problems.append(
            "manage_destination_rules: is false, but traffic_policy is set at "
            f"{', '.join(configured_paths(config))}: remove it, or set manage_destination_rules to auto"
        )
    for index, adapter in enumerate(config.adapters):
        policy = effective_policy(config.traffic_policy, adapter.traffic_policy)
        lb = policy.load_balancer if policy else None
        if policy is None or lb is None or not (lb.failover or lb.failover_priority):
            continue
        if policy.outlier_detection is None:
            own = adapter.traffic_policy
            from_own = own is not None and "load_balancer" in own.model_fields_set
            where = f"adapters[{index}].traffic_policy" if from_own else "traffic_policy"
            problems.append(
                f"{where}.load_balancer: locality failover needs outlier_detection (Istio ignores "
                f"failover without it), and adapter {adapter.name!r} has none"
            )
    return problems
