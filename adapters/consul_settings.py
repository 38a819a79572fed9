"""Config keys of the ``consul`` adapter (docs/adapters/consul.md is the reference).

Every default that comes from the environment (``CONSUL_HTTP_ADDR``, ``CONSUL_HTTP_TOKEN``) is read
here, once, when the config is validated; nothing else in the adapter reads the environment. The
token is a ``SecretStr`` so it never shows in a repr, a validation error or a log line.
"""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, SecretStr, field_validator, model_validator

from syncd.adapter import AdapterSettings
from syncd.model import Protocol
from syncd.model.durations import Duration
from syncd.model.protocols import ProtocolSetting
from syncd.model.templates import template_fields

DEFAULT_ADDRESS = "http://127.0.0.1:8500"
HOST_FIELDS = frozenset({"service", "datacenter", "namespace"})
#: Consul caps a blocking query's wait at 10 minutes.
MAX_WAIT = 600.0


def _datacenters(value: object) -> object:
    if isinstance(value, str) and value != "all":
        return [value]
    return value


class ConsulSettings(AdapterSettings):
    """The keys under an adapter with ``type: consul``. Durations are seconds (``30s``, ``5m``)."""

    # hide_input_in_errors: a validation error must not echo the token back.
    model_config = ConfigDict(validate_default=True, hide_input_in_errors=True)

    #: Agent URL: ``http(s)://host[:port]``; default ``$CONSUL_HTTP_ADDR``, then the local agent.
    address: str = Field(default_factory=lambda: os.environ.get("CONSUL_HTTP_ADDR") or DEFAULT_ADDRESS)
    #: ACL token (default ``$CONSUL_HTTP_TOKEN``); sent as ``X-Consul-Token``, never logged.
    token: SecretStr | None = None
    #: File holding the token, re-read when it changes (for rotated tokens); excludes ``token``.
    token_file: Path | None = None
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    #: Verify the agent's TLS certificate (against ``ca_file`` when given, else the system store).
    verify: bool = True
    #: ``None``: the agent's own datacenter; ``all``: every one in /v1/catalog/datacenters; or a list.
    datacenters: Annotated[Literal["all"] | tuple[str, ...] | None, BeforeValidator(_datacenters)] = None
    #: ``merge``: one service across datacenters (per-endpoint locality); ``split``: one per datacenter.
    datacenter_mode: Literal["merge", "split"] = "merge"
    #: How often the watch re-reads /v1/catalog/datacenters when ``datacenters: all`` (seconds).
    datacenter_refresh: Duration = 60.0
    #: Service names to sync (shell globs); ``exclude`` wins over ``include``.
    include: tuple[str, ...] = ("*",)
    exclude: tuple[str, ...] = ("consul",)
    #: Tags an instance must all carry to be synced (and a service must have to be watched).
    tags: tuple[str, ...] = ()
    #: A Consul filter expression for /v1/health/service, passed through (``Service.Meta.env == "prod"``).
    filter: str | None = None
    #: Service kinds synced besides typical services (``connect-proxy``, ``mesh-gateway``, ...).
    include_kinds: tuple[str, ...] = ()
    #: True: only instances whose checks all pass; False: passing and warning (never critical).
    only_passing: bool = True
    #: Consul Enterprise namespace and admin partition, passed as ``ns`` and ``partition``.
    namespace: str | None = None
    partition: str | None = None
    #: Host template; fields ``{service}``, ``{datacenter}``, ``{namespace}``. Default by mode.
    host: str | None = None
    #: Use this tagged address (``wan``, ``lan_ipv6`` ...) of the service, then of the node.
    tagged_address: str | None = None
    #: Protocol when ``Service.Meta.protocol`` is absent.
    default_protocol: ProtocolSetting = Protocol.TCP
    #: Node meta key whose value becomes the locality zone (``<datacenter>/<zone>``).
    zone_meta_key: str = "zone"
    #: Timeout of a non-blocking request; blocking ones add ``wait`` and Consul's jitter (wait/16).
    timeout: Duration = 10.0
    #: How long one blocking query may be held by Consul (``wait``; at most 10m).
    wait: Duration = 300.0
    #: Per blocking loop: a token bucket of 2 requests refilled one per this interval.
    watch_rate_limit: Duration = 1.0
    #: Each loop waits a random 0..this before re-arming, so loops woken together spread out.
    watch_jitter: Duration = 0.5
    #: Retry delay after an error: doubles from ``backoff_initial`` up to ``backoff_max``, jittered.
    backoff_initial: Duration = 0.5
    backoff_max: Duration = 30.0
    #: Cap on HTTP connections to the agent (each watched service holds one); None: no cap.
    max_connections: int | None = Field(default=None, ge=1)
    #: Non-blocking reads in flight at once (a plain read, and the watch's first reads).
    read_concurrency: int = Field(default=16, ge=1, le=256)

    @model_validator(mode="before")
    @classmethod
    def _token_default(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if data.get("token") is not None and data.get("token_file") is not None:
            raise ValueError("set either token or token_file, not both")
        if "token" not in data and data.get("token_file") is None and os.environ.get("CONSUL_HTTP_TOKEN"):
            return {**data, "token": os.environ["CONSUL_HTTP_TOKEN"]}
        return data

    @field_validator("address")
    @classmethod
    def _address(cls, value: str) -> str:
        parse_address(value)
        return value

    @field_validator("wait")
    @classmethod
    def _wait(cls, value: float) -> float:
        if not 0 < value <= MAX_WAIT:
            raise ValueError("wait must be more than 0 and at most 10m (Consul's limit)")
        return value

    @field_validator("timeout", "watch_rate_limit", "backoff_initial", "backoff_max", "datacenter_refresh")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be more than 0")
        return value

    @field_validator("datacenters")
    @classmethod
    def _dc_list(cls, value: Any) -> Any:
        if isinstance(value, tuple):
            if not value:
                raise ValueError("give at least one datacenter, `all`, or leave it out for the agent's own")
            if len(set(value)) != len(value) or not all(value):
                raise ValueError("datacenter names must be non-empty and unique")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ConsulSettings:
        if self.key_file is not None and self.cert_file is None:
            raise ValueError("key_file needs cert_file")
        if self.cert_file is not None and not self.verify:
            # py-consul's asyncio client loads the client certificate only when verifying.
            raise ValueError("cert_file needs verify: true")
        if self.backoff_initial > self.backoff_max:
            raise ValueError("backoff_initial must not exceed backoff_max")
        fields = template_fields(self.host_template, HOST_FIELDS)
        if self.datacenter_mode == "split" and "datacenter" not in fields:
            raise ValueError("host must contain {datacenter} with datacenter_mode: split (hosts must differ)")
        several = self.datacenters == "all" or (
            isinstance(self.datacenters, tuple) and len(self.datacenters) > 1
        )
        if self.datacenter_mode == "merge" and several and "datacenter" in fields:
            raise ValueError(
                "host cannot use {datacenter} when one merged entry spans several datacenters; "
                "use datacenter_mode: split"
            )
        return self

    @property
    def host_template(self) -> str:
        """The host template in force: ``host``, else Consul's DNS name for the mode."""
        if self.host is not None:
            return self.host
        if self.datacenter_mode == "split":
            return "{service}.service.{datacenter}.consul"
        return "{service}.service.consul"

    @property
    def display_address(self) -> str:
        """The agent URL as it may appear in logs and failure reasons."""
        scheme, host, port = parse_address(self.address)
        return f"{scheme}://{host}:{port}"

    def kinds(self) -> frozenset[str]:
        """Service kinds synced: typical services ("") plus ``include_kinds``."""
        return frozenset({"", *self.include_kinds})


def parse_address(address: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of an agent address; ``host:port`` alone means http."""
    text = address.strip()
    if "://" not in text:
        text = "http://" + text
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"address: scheme must be http or https, not {parts.scheme!r}")
    if parts.username or parts.password:
        raise ValueError("address: credentials do not belong in the URL; use token or token_file")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError("address: expected scheme://host[:port] with nothing after it")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"address: invalid port in {address!r}") from None
    if not parts.hostname:
        raise ValueError(f"address: no host in {address!r}")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return parts.scheme, host, port or (8501 if parts.scheme == "https" else 8500)
