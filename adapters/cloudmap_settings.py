"""Config keys of the AWS Cloud Map adapter (``type: cloudmap``); docs/adapters/cloudmap.md explains each.

Credentials never appear here: the adapter uses the standard AWS chain (environment, shared
profile, web identity / IRSA, container or instance role). Keys that look like secrets are
refused with an error naming that chain, and the model hides input values in its errors so a
pasted secret is not echoed back into logs.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from syncd.adapter import AdapterSettings
from syncd.model import Protocol, is_dns_name, valid_port
from syncd.model.durations import Duration
from syncd.model.protocols import ProtocolSetting
from syncd.model.templates import template_fields

HOST_PLACEHOLDERS = frozenset({"service", "namespace"})

_CREDENTIAL_KEYS = frozenset(
    {
        "access_key",
        "access_key_id",
        "secret_key",
        "secret_access_key",
        "session_token",
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "credentials",
        "password",
    }
)
CREDENTIAL_CHAIN_HELP = (
    "credentials are not accepted in the config file; use the standard AWS credential chain: "
    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE in the environment, the `profile` key, "
    "web identity / IRSA (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE), or the container/instance role"
)


class RetrySettings(BaseModel):
    """How throttled or failed requests are retried.

    botocore retries every request (``mode``, ``max_attempts``: transient errors and throttling,
    with its own jittered backoff). When a request is still throttled after that, syncd waits
    ``backoff * 2**n`` (full jitter, at most ``backoff_max``) and tries it again, ``throttle_rounds``
    times, before the cycle fails.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: botocore retry mode: ``standard``, or ``adaptive`` (adds client-side rate limiting).
    mode: Literal["standard", "adaptive"] = "standard"
    #: botocore attempts per request, the first one included (1 = no botocore retries).
    max_attempts: int = Field(default=5, ge=1, le=20)
    #: extra rounds syncd adds when a request is still throttled after botocore's attempts.
    throttle_rounds: int = Field(default=2, ge=0, le=10)
    #: base of syncd's own backoff between throttle rounds, seconds (doubles each round).
    backoff: Duration = 1.0
    #: ceiling of one backoff wait, seconds.
    backoff_max: Duration = 20.0


class CloudMapSettings(AdapterSettings):
    """The adapter's own keys; ``name``, ``type``, ``interval`` and friends are parsed by syncd.config."""

    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    #: AWS region; default: the chain's (AWS_REGION / AWS_DEFAULT_REGION / the profile's region).
    region: str | None = None
    #: shared-config profile to use instead of the default chain entry.
    profile: str | None = None
    #: API endpoint for local emulators (moto, LocalStack); also stops the ``data-`` host prefix.
    endpoint_url: str | None = None
    #: namespace names (Name or HttpName) to read; None = every namespace the credentials can see.
    namespaces: tuple[str, ...] | None = None
    #: service name globs (fnmatch, case-sensitive) against ``svc`` and ``svc.namespace``.
    include: tuple[str, ...] = ("*",)
    exclude: tuple[str, ...] = ()
    #: DiscoverInstances HealthStatus filter; HEALTHY_OR_ELSE_ALL fails open.
    health_status: Literal["HEALTHY", "HEALTHY_OR_ELSE_ALL", "ALL"] = "HEALTHY"
    #: DiscoverInstances QueryParameters: instances must carry all these attribute values.
    query_parameters: dict[str, str] = Field(default_factory=dict)
    #: host template; placeholders {service} and {namespace}.
    host: str = "{service}.{namespace}"
    #: port protocol when an instance has no ``protocol`` attribute.
    protocol: ProtocolSetting = Protocol.TCP
    #: port for instances without AWS_INSTANCE_PORT (alias / DNS-only records); None = drop them.
    default_port: int | None = None
    #: longest time a result is reused on an unchanged revision, seconds (0 = never reuse).
    full_refresh: Duration = 300.0
    #: connect and read timeout of one request, seconds.
    timeout: Duration = 10.0
    #: DiscoverInstances requests in flight at once.
    concurrency: int = Field(default=4, ge=1, le=32)
    retry: RetrySettings = Field(default_factory=RetrySettings)

    @model_validator(mode="before")
    @classmethod
    def _no_credentials(cls, data: Any) -> Any:
        if isinstance(data, dict):
            found = sorted(k for k in data if isinstance(k, str) and k.lower() in _CREDENTIAL_KEYS)
            if found:
                raise ValueError(f"key {found[0]!r}: {CREDENTIAL_CHAIN_HELP}")
        return data

    @field_validator("region")
    @classmethod
    def _region(cls, value: str | None) -> str | None:
        if value is not None and not is_dns_name(value):
            raise ValueError(f"{value!r} is not an AWS region name such as us-east-1")
        return value

    @field_validator("profile")
    @classmethod
    def _profile(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("profile must not be empty (leave the key out to use the default chain)")
        return value

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("endpoint_url must be an http:// or https:// URL")
        if parts.username or parts.password:
            raise ValueError(f"endpoint_url must not carry user or password; {CREDENTIAL_CHAIN_HELP}")
        if parts.query or parts.fragment:
            raise ValueError("endpoint_url must not have a query or fragment")
        return value

    @field_validator("namespaces")
    @classmethod
    def _namespaces(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("list at least one namespace, or leave the key out to read every namespace")
        if any(not name.strip() for name in value):
            raise ValueError("namespace names must not be empty")
        if len(set(value)) != len(value):
            raise ValueError("namespace names must be unique")
        return value

    @field_validator("include", "exclude")
    @classmethod
    def _globs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not glob for glob in value):
            raise ValueError("globs must not be empty")
        return value

    @field_validator("health_status", mode="before")
    @classmethod
    def _health_upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("query_parameters")
    @classmethod
    def _query(cls, value: dict[str, str]) -> dict[str, str]:
        for key, val in value.items():
            if not 1 <= len(key) <= 255 or len(val) > 1024:
                raise ValueError("query_parameters keys are 1-255 characters, values at most 1024")
        return value

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        template_fields(value, HOST_PLACEHOLDERS)
        sample = value.format(service="svc", namespace="example.local")
        if not is_dns_name(sample):
            raise ValueError(f"host template gives {sample!r} for a sample service, not a DNS name")
        return value

    @field_validator("default_port")
    @classmethod
    def _port(cls, value: int | None) -> int | None:
        if value is not None and not valid_port(value):
            raise ValueError("default_port must be 1-65535")
        return value


def render_host(template: str, service: str, namespace: str) -> str:
    """The host for one service: the template filled in, lowercased (DNS names are case-insensitive)."""
    return template.format(service=service, namespace=namespace).lower().rstrip(".")
