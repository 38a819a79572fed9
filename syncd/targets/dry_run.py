"""Dry run as a target: read owned objects from the real target, print the plan, write nothing."""

from __future__ import annotations

import sys
from typing import TextIO

from syncd.plan import Changes
from syncd.render import Manifest
from syncd.targets.base import ApplyResult, Target


def describe(changes: Changes) -> list[str]:
    """One line per change, conflict and refusal: what, which object, and why."""
    lines = [
        f"{c.action} {c.kind}/{c.name} (adapter {c.adapter}, service {c.service}): {c.reason}"
        for c in changes.writes
    ]
    lines += [
        f"conflict host {c.host}: kept by adapter {c.winner}, left out for {c.loser}/{c.loser_service}"
        for c in changes.conflicts
    ]
    lines += [f"refused: {r.reason}" for r in changes.refusals]
    return lines


class DryRunTarget:
    """Wraps a real target for reading; ``apply`` only prints."""

    def __init__(self, inner: Target, stream: TextIO | None = None) -> None:
        self._inner = inner
        self._stream = stream

    def list_owned(self, owner: str) -> list[Manifest]:
        return self._inner.list_owned(owner)

    def apply(self, changes: Changes) -> ApplyResult:
        stream = self._stream or sys.stdout
        lines = describe(changes)
        counts = f"{len(changes.create)} to create, {len(changes.update)} to update, "
        counts += f"{len(changes.delete)} to delete"
        stream.write("\n".join([*lines, f"plan: {counts} (dry run: nothing written)"]) + "\n")
        stream.flush()
        return ApplyResult()

    def close(self) -> None:
        self._inner.close()
