"""Turn a validated Config into live adapters and a target (the wiring the CLI and daemon share)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, SecretStr

from syncd.adapter import Adapter, load_adapter_type
from syncd.config import Config
from syncd.logs import register_secrets
from syncd.targets import DirectoryTarget, DryRunTarget, StdoutTarget, Target


def build_adapters(config: Config) -> list[Adapter]:
    """One adapter per config entry, in config order (which decides host conflicts)."""
    adapters = []
    for entry in config.adapters:
        register_secrets(_secrets(entry.settings))
        adapters.append(load_adapter_type(entry.type)(entry.name, entry.settings))
    return adapters


def build_target(config: Config, *, dry_run: bool = False, kinds: tuple[str, ...] | None = None) -> Target:
    """The configured target; with ``dry_run`` it only reads and prints the plan.

    ``kinds`` defaults to ``config.managed_kinds``: ServiceEntry, plus DestinationRule when
    ``manage_destination_rules`` says so (docs/traffic-policy.md).
    """
    settings = config.target
    target: Target
    if settings.type == "directory":
        assert settings.path is not None
        target = DirectoryTarget(settings.path)
    elif settings.type == "stdout":
        target = StdoutTarget()
    else:
        from syncd.targets.kubernetes import KubernetesTarget, api_client
        from syncd.targets.retry import Backoff

        target = KubernetesTarget(
            api_client(settings.kubeconfig, settings.context),
            settings.namespace,
            kinds=kinds or config.managed_kinds,
            backoff=Backoff(retries=settings.max_retries),
            request_timeout=settings.request_timeout,
            concurrency=settings.concurrency,
        )
    return DryRunTarget(target) if dry_run else target


def _secrets(model: BaseModel) -> list[str]:
    found: list[str] = []
    for name in type(model).model_fields:
        value: Any = getattr(model, name)
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            found.extend(_secrets(value))
    return found
