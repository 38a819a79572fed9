"""The adapter interface, and how adapters are found: the ``syncd.adapters`` entry-point group.

An adapter knows one registry and nothing about Istio or targets. ``discover`` returns a
:class:`~syncd.model.Snapshot`; it must not raise for registry trouble (return
``Snapshot.failed``), because a failure means "unknown", which the plan treats very differently
from "empty". Built-in adapters register through the same entry points a third-party plugin uses.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from syncd.model import Snapshot

ENTRY_POINT_GROUP = "syncd.adapters"


class AdapterSettings(BaseModel):
    """Base for an adapter's own config keys; unknown keys are errors, as everywhere in the config."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Adapter:
    """Base class for adapters. Subclasses set ``settings_model`` and implement ``discover``."""

    settings_model: ClassVar[type[AdapterSettings]] = AdapterSettings
    #: True when ``watch`` is implemented (the daemon then runs it in a thread of its own).
    can_watch: ClassVar[bool] = False

    def __init__(self, name: str, settings: AdapterSettings) -> None:
        self.name = name
        self.settings = settings

    def discover(self) -> Snapshot:
        """Read the registry once. Registry errors come back as ``Snapshot.failed``, never raised."""
        raise NotImplementedError

    def watch(self, wake: Callable[[], None], stop: threading.Event) -> None:
        """Block until ``stop`` is set, calling ``wake()`` whenever the registry may have changed."""
        raise NotImplementedError(f"adapter {self.name!r} cannot watch")

    def poll_interval_hint(self) -> float | None:
        """Seconds until the data read last may be stale (a DNS TTL, say); None when unknown."""
        return None

    def close(self) -> None:
        """Release connections; called once when the adapter is no longer used."""


class UnknownAdapterType(LookupError):
    """No installed adapter is registered under the requested type."""


def available_adapter_types() -> dict[str, type[Adapter]]:
    """Every adapter registered in the entry-point group, by type name, loaded lazily on call."""
    found: dict[str, type[Adapter]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found[ep.name] = ep.load()
    return found


def load_adapter_type(type_name: str) -> type[Adapter]:
    """The adapter class registered as ``type_name``; raises UnknownAdapterType with the choices."""
    matches = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == type_name]
    if not matches:
        known = sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
        raise UnknownAdapterType(f"unknown adapter type {type_name!r} (installed: {', '.join(known)})")
    try:
        cls = matches[0].load()
    except Exception as exc:  # a broken plugin must be a config error, not a traceback
        raise UnknownAdapterType(f"adapter type {type_name!r} failed to load: {exc}") from exc
    if not (isinstance(cls, type) and issubclass(cls, Adapter)):
        raise UnknownAdapterType(f"entry point {type_name!r} is not a syncd Adapter class")
    return cls
