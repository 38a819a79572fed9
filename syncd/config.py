"""The config file: load YAML, expand ``${VAR}``, validate with pydantic, name every bad key path.

Unknown keys are errors everywhere. Each adapter's own keys are validated by the settings model
its plugin declares, so a typo in ``adapters[1].adress`` is caught before anything runs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from syncd import yamlio
from syncd.adapter import AdapterSettings, UnknownAdapterType, load_adapter_type
from syncd.config_traffic import (
    TrafficPolicyConfig,
    effective_policy,
    traffic_policy_problems,
)
from syncd.model import Location
from syncd.model.durations import Duration

ADAPTER_NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$"
COMMON_ADAPTER_KEYS = frozenset(
    {"name", "type", "interval", "location", "export_to", "traffic_policy", "endpoint_mode"}
)
_DNS_LABEL = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
_ENV = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(Exception):
    """A config that cannot be used; ``problems`` are ``key.path: message`` strings."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TargetConfig(_Strict):
    """Where manifests go. ``namespace`` is where kubernetes entries live (default istio-system)."""

    type: Literal["kubernetes", "directory", "stdout"] = "kubernetes"
    namespace: str = Field("istio-system", pattern=_DNS_LABEL)
    path: Path | None = None
    kubeconfig: Path | None = None
    context: str | None = None
    request_timeout: Duration = 30.0
    max_retries: int = Field(5, ge=0, le=20)
    concurrency: int = Field(8, ge=1, le=64)

    @model_validator(mode="after")
    def _path_for_directory(self) -> TargetConfig:
        if self.type == "directory" and self.path is None:
            raise ValueError("path is required for the directory target")
        if self.type != "directory" and self.path is not None:
            raise ValueError("path is only valid for the directory target")
        return self


class SafetyConfig(_Strict):
    """Guards against deleting what a broken registry forgot to mention."""

    max_delete_percent: float = Field(50.0, ge=0, le=100)
    policy: Literal["sync", "upsert-only", "create-only"] = "sync"


class ServerConfig(_Strict):
    """The daemon's HTTP endpoint for /healthz, /readyz and /metrics."""

    host: str = "0.0.0.0"
    port: int = Field(8080, ge=0, le=65535)


class LeaderElectionConfig(_Strict):
    """Lease-based leader election; ``enabled`` unset means on with the kubernetes target."""

    enabled: bool | None = None
    lease_name: str = Field("syncd", pattern=_DNS_LABEL)
    namespace: str | None = Field(None, pattern=_DNS_LABEL)
    lease_duration: Duration = 15.0
    renew_deadline: Duration = 10.0
    retry_period: Duration = 2.0

    @model_validator(mode="after")
    def _ordered(self) -> LeaderElectionConfig:
        if not self.retry_period < self.renew_deadline < self.lease_duration:
            raise ValueError("need retry_period < renew_deadline < lease_duration")
        return self


class DaemonConfig(_Strict):
    """Tuning of ``syncd run`` (docs/daemon.md); durations in seconds, written like ``200ms`` or ``10m``.

    ``debounce_quiet``: a watch wake runs the adapter once no further wake came for this long;
    ``debounce_max``: ... but never later than this after the first wake of a burst;
    ``min_interval``: floor between two runs of one adapter (watch wakes and TTL hints included);
    ``jitter``: fraction of an adapter's ``interval`` added at random to each scheduled run;
    ``resync_interval``: full relist of the target and read of every adapter, ignoring the cache;
    ``config_check_interval``: how often the config file's mtime is checked (0 = only on SIGHUP);
    ``shutdown_timeout``: how long SIGTERM waits for the write in flight before giving up.
    """

    debounce_quiet: Duration = 0.2
    debounce_max: Duration = 2.0
    min_interval: Duration = 1.0
    jitter: float = Field(0.1, ge=0, le=1)
    resync_interval: Duration = 600.0
    config_check_interval: Duration = 5.0
    shutdown_timeout: Duration = 8.0

    @model_validator(mode="after")
    def _sane(self) -> DaemonConfig:
        if self.debounce_quiet > self.debounce_max:
            raise ValueError("need debounce_quiet <= debounce_max")
        if self.min_interval < 0.05:
            raise ValueError("min_interval must be at least 50ms")
        if self.resync_interval < 1:
            raise ValueError("resync_interval must be at least 1s")
        if not 0 < self.shutdown_timeout <= 60:
            raise ValueError("shutdown_timeout must be more than 0 and at most 60s")
        return self


class AdapterConfig(_Strict):
    """Keys every adapter has; ``settings`` holds the adapter type's own validated keys."""

    name: str = Field(pattern=ADAPTER_NAME_PATTERN)
    type: str
    interval: Duration = 30.0
    location: Location = Location.MESH_EXTERNAL
    export_to: tuple[str, ...] | None = None
    traffic_policy: TrafficPolicyConfig | None = None  # docs/traffic-policy.md; None: inherit
    #: How endpoints are written (docs/large-services.md): inline in the ServiceEntry, one
    #: WorkloadEntry each, or ``auto`` (WorkloadEntries only above the 4096 inline limit).
    endpoint_mode: Literal["inline", "workloadentry", "auto"] = "inline"
    settings: AdapterSettings = Field(default_factory=AdapterSettings)

    @field_validator("interval")
    @classmethod
    def _positive(cls, value: float) -> float:
        if value < 1:
            raise ValueError("interval must be at least 1s")
        return value

    @field_validator("export_to")
    @classmethod
    def _unique_export(cls, value: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if value is not None and len(set(value)) != len(value):
            raise ValueError("export_to has duplicates")
        return value


class Config(_Strict):
    """The whole config file."""

    owner: str = Field("syncd", pattern=r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$")
    target: TargetConfig = Field(default_factory=TargetConfig)  # type: ignore[arg-type]
    adapters: tuple[AdapterConfig, ...] = Field(min_length=1)
    safety: SafetyConfig = Field(default_factory=SafetyConfig)  # type: ignore[arg-type]
    server: ServerConfig = Field(default_factory=ServerConfig)  # type: ignore[arg-type]
    leader_election: LeaderElectionConfig = Field(default_factory=LeaderElectionConfig)  # type: ignore[arg-type]
    daemon: DaemonConfig = Field(default_factory=DaemonConfig)  # type: ignore[arg-type]
    #: The default traffic policy of every adapter (docs/traffic-policy.md).
    traffic_policy: TrafficPolicyConfig | None = None
    #: Whether syncd lists and writes DestinationRules; auto: when any traffic_policy block is set.
    manage_destination_rules: Literal["auto", True, False] = "auto"
    #: Whether syncd lists and writes WorkloadEntries; auto: when any adapter's endpoint_mode is
    #: not ``inline`` (docs/large-services.md, "Switching back").
    manage_workload_entries: Literal["auto", True, False] = "auto"

    @property
    def destination_rules_managed(self) -> bool:
        if self.manage_destination_rules != "auto":
            return bool(self.manage_destination_rules)
        return self.traffic_policy is not None or any(a.traffic_policy is not None for a in self.adapters)

    @property
    def workload_entries_managed(self) -> bool:
        if self.manage_workload_entries != "auto":
            return bool(self.manage_workload_entries)
        return any(a.endpoint_mode != "inline" for a in self.adapters)

    @property
    def managed_kinds(self) -> tuple[str, ...]:
        """The kinds syncd lists, writes and deletes (targets and the plan see only these)."""
        kinds = ["ServiceEntry"]
        if self.destination_rules_managed:
            kinds.append("DestinationRule")
        if self.workload_entries_managed:
            kinds.append("WorkloadEntry")
        return tuple(kinds)

    def traffic_policy_for(self, adapter: str) -> TrafficPolicyConfig | None:
        """The merged policy ``adapter`` renders DestinationRules with; None renders none."""
        if not self.destination_rules_managed:
            return None
        own = next((a.traffic_policy for a in self.adapters if a.name == adapter), None)
        return effective_policy(self.traffic_policy, own)

    @property
    def leader_election_enabled(self) -> bool:
        enabled = self.leader_election.enabled
        return self.target.type == "kubernetes" if enabled is None else enabled


def default_config_path() -> Path:
    """``$SYNCD_CONFIG``, else ``./config.yaml``."""
    return Path(os.environ.get("SYNCD_CONFIG") or "config.yaml")


def load_config(path: Path, environ: Mapping[str, str] | None = None) -> Config:
    """Read, expand and validate ``path``; raises ConfigError listing every problem by key path."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read config file: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError:
        raise ConfigError([f"{path}: config file is not UTF-8 text"]) from None
    return parse_config(text, environ, source=str(path), base_dir=path.parent)


def parse_config(
    text: str,
    environ: Mapping[str, str] | None = None,
    *,
    source: str = "config",
    base_dir: Path | None = None,
) -> Config:
    """Validate config text; relative file paths in it are taken from ``base_dir``."""
    try:
        raw = yamlio.load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ConfigError([f"{source}: not valid YAML{where}: {getattr(exc, 'problem', exc)}"]) from None
    if not isinstance(raw, dict):
        raise ConfigError([f"{source}: the top level must be a mapping of keys"])
    problems: list[str] = []
    expanded = _expand(raw, os.environ if environ is None else environ, "", problems)
    if problems:
        raise ConfigError(problems)
    if base_dir is not None:
        _resolve_relative_paths(expanded, base_dir)
    return _validate(expanded)


def _expand(value: Any, environ: Mapping[str, str], path: str, problems: list[str]) -> Any:
    if isinstance(value, dict):
        return {k: _expand(v, environ, _join(path, str(k)), problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, environ, f"{path}[{i}]", problems) for i, v in enumerate(value)]
    if not isinstance(value, str) or "$" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, default = match.group(1), match.group(2)
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        problems.append(f"{path or '<root>'}: environment variable {name} is not set")
        return ""

    return _ENV.sub(substitute, value)


_TARGET_PATH_KEYS: tuple[str, ...] = ("path", "kubeconfig")
_ADAPTER_PATH_KEYS: tuple[str, ...] = ("path", "token_file", "ca_file", "cert_file", "key_file")


def _resolve_relative_paths(raw: dict[str, Any], base_dir: Path) -> None:
    """``~`` expands to the home folder; other relative paths are taken from the config's folder."""
    sections: list[tuple[Any, tuple[str, ...]]] = [(raw.get("target"), _TARGET_PATH_KEYS)]
    sections += [(adapter, _ADAPTER_PATH_KEYS) for adapter in raw.get("adapters") or []]
    for section, keys in sections:
        if not isinstance(section, dict):
            continue
        for key in keys:
            value = section.get(key)
            if isinstance(value, str) and value:
                path = os.path.expanduser(value)
                section[key] = path if os.path.isabs(path) else str(base_dir / path)


def _validate(raw: dict[str, Any]) -> Config:
    problems: list[str] = []
    adapters_raw = raw.get("adapters")
    adapters: list[Any] = []
    if isinstance(adapters_raw, list):
        for index, item in enumerate(adapters_raw):
            adapters.append(_adapter_with_settings(item, f"adapters[{index}]", problems))
        names = [a.get("name") for a in adapters_raw if isinstance(a, dict)]
        for index, name in enumerate(names):
            if name is not None and names.index(name) != index:
                problems.append(f"adapters[{index}].name: duplicate adapter name {name!r}")
        raw = {**raw, "adapters": adapters}
    try:
        config = Config.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_format_errors(exc, ""))
        raise ConfigError(sorted(set(problems), key=problems.index)) from None
    problems.extend(traffic_policy_problems(config))
    problems.extend(_endpoint_mode_problems(config))
    if problems:
        raise ConfigError(problems)
    return config


def _endpoint_mode_problems(config: Config) -> list[str]:
    """WorkloadEntry endpoints need syncd to manage WorkloadEntries."""
    if config.manage_workload_entries is not False:
        return []
    return [
        f"adapters[{index}].endpoint_mode: is {adapter.endpoint_mode!r}, but manage_workload_entries "
        "is false: use endpoint_mode inline, or set manage_workload_entries to auto"
        for index, adapter in enumerate(config.adapters)
        if adapter.endpoint_mode != "inline"
    ]


def _adapter_with_settings(item: Any, path: str, problems: list[str]) -> Any:
    """Split an adapter's common keys from its type's own keys and validate the latter."""
    if not isinstance(item, dict):
        return item
    common = {k: v for k, v in item.items() if k in COMMON_ADAPTER_KEYS}
    own = {k: v for k, v in item.items() if k not in COMMON_ADAPTER_KEYS}
    type_name = item.get("type")
    if not isinstance(type_name, str):
        return common
    try:
        adapter_type = load_adapter_type(type_name)
    except UnknownAdapterType as exc:
        problems.append(f"{path}.type: {exc}")
        return common
    try:
        common["settings"] = adapter_type.settings_model.model_validate(own)
    except ValidationError as exc:
        problems.extend(_format_errors(exc, path))
    return common


def _format_errors(exc: ValidationError, prefix: str) -> list[str]:
    out = []
    for error in exc.errors(include_url=False):
        loc = prefix
        for part in error["loc"]:
            if isinstance(part, int):
                loc += f"[{part}]"
            elif part not in ("function-after", "function-before") and not str(part).startswith(
                ("function-", "literal[", "lax-or-strict", "json-or-python")
            ):
                loc = _join(loc, str(part))
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = "unknown key"
        elif error["type"] == "missing":
            message = "required key is missing"
        message = message.removeprefix("Value error, ")
        out.append(f"{loc or '<root>'}: {message}")
    return out


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
