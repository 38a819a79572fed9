"""The ``stdout`` target: print every desired object as multi-document YAML; owns nothing."""

from __future__ import annotations

import sys
from typing import TextIO

from syncd import yamlio
from syncd.plan import Changes
from syncd.render import Manifest
from syncd.targets.base import ApplyResult


def dump_manifests(manifests: list[Manifest], stream: TextIO) -> None:
    """Multi-document YAML, keys in the order rendered (apiVersion, kind, metadata, spec)."""
    yamlio.dump_all(manifests, stream)


class StdoutTarget:
    """Stateless: it owns nothing, so every cycle prints the full desired state."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def list_owned(self, owner: str) -> list[Manifest]:
        return []

    def apply(self, changes: Changes) -> ApplyResult:
        stream = self._stream or sys.stdout
        manifests = [c.desired for c in changes.create + changes.update if c.desired is not None]
        dump_manifests(manifests, stream)
        stream.flush()
        return ApplyResult(done=list(changes.create + changes.update))

    def close(self) -> None:
        pass
