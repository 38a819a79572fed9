"""The plan's output: a frozen set of changes, each with the reason it is needed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from syncd.render import Desired, Manifest

Action = Literal["create", "update", "delete"]


@dataclass(frozen=True, slots=True)
class Change:
    """One write. ``desired`` is set for create/update; ``current`` (the owned object) for update/delete."""

    action: Action
    kind: str
    name: str
    adapter: str
    service: str
    reason: str
    desired: Manifest | None = None
    current: Manifest | None = None


@dataclass(frozen=True, slots=True)
class Conflict:
    """Two services claim one host: the adapter listed first keeps it, the other's object is left out."""

    host: str
    winner: str
    loser: str
    loser_service: str


@dataclass(frozen=True, slots=True)
class Refusal:
    """Deletes withheld for an adapter because they exceed ``safety.max_delete_percent``."""

    adapter: str
    deletes: int
    owned: int
    max_percent: float

    @property
    def reason(self) -> str:
        percent = 100.0 * self.deletes / self.owned if self.owned else 100.0
        return (
            f"refusing to delete {self.deletes} of {self.owned} entries ({percent:.0f}%) owned by "
            f"adapter {self.adapter!r}: more than safety.max_delete_percent={self.max_percent:g}; "
            "rerun with --force if this is intended"
        )


@dataclass(frozen=True, slots=True)
class AdapterState:
    """What one adapter wants this cycle. ``ok=False`` means unknown: keep everything it owns.

    ``keep`` names services whose current objects stay as they are (unknown or refused this cycle).
    """

    adapter: str
    ok: bool
    objects: tuple[Desired, ...] = ()
    keep: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Changes:
    """Everything a target must do, in the order it should do it, and what was held back."""

    create: tuple[Change, ...] = ()
    update: tuple[Change, ...] = ()
    delete: tuple[Change, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    refusals: tuple[Refusal, ...] = ()

    @property
    def writes(self) -> tuple[Change, ...]:
        return self.create + self.update + self.delete

    def __bool__(self) -> bool:
        return bool(self.create or self.update or self.delete)
