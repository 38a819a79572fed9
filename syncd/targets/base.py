"""The target interface: list what we own, apply a plan, report what failed as values."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from syncd.plan import Change, Changes
from syncd.render import Manifest


class TargetError(Exception):
    """The target cannot be read at all (unreachable API, missing CRD): the cycle cannot plan."""


@dataclass
class ApplyResult:
    """Which changes were written and which failed, with why."""

    done: list[Change] = field(default_factory=list)
    failed: list[tuple[Change, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


class Target(Protocol):
    """Where manifests go. ``list_owned`` returns only objects labelled with our owner id."""

    def list_owned(self, owner: str) -> list[Manifest]: ...

    def apply(self, changes: Changes) -> ApplyResult: ...

    def close(self) -> None: ...
