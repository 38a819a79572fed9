"""Only the leader writes: a target wrapper that checks leadership before every batch of writes.

Checking per batch (not per plan) means that losing the Lease in the middle of a large plan stops
writing at once; the writes held back are reported as failed, and the next leader redoes them.
"""

from __future__ import annotations

from collections.abc import Callable

from syncd.plan import Change, Changes
from syncd.render import Manifest
from syncd.targets import ApplyResult, Target


class LeaderOnlyTarget:
    """Wraps a target so that writes are sent only while this replica still leads.

    Leadership is checked before every batch of ``batch`` writes (the target's concurrency: the
    writes of one batch go out together), in plan order, so losing the Lease in the middle of a
    large plan stops writing at once; the writes held back are reported as failed.
    """

    def __init__(self, inner: Target, is_leader: Callable[[], bool], *, batch: int = 1) -> None:
        self.inner = inner
        self._is_leader = is_leader
        self._batch = max(1, batch)

    def list_owned(self, owner: str) -> list[Manifest]:
        return self.inner.list_owned(owner)

    def apply(self, changes: Changes) -> ApplyResult:
        result = ApplyResult()
        writes = changes.writes  # creates, updates, then deletes
        for start in range(0, len(writes), self._batch):
            chunk = writes[start : start + self._batch]
            if not self._is_leader():
                result.failed.extend((c, "not the leader any more: not written") for c in chunk)
                continue
            done = self.inner.apply(_changes(chunk))
            result.done.extend(done.done)
            result.failed.extend(done.failed)
        return result

    def close(self) -> None:
        self.inner.close()


def _changes(chunk: tuple[Change, ...]) -> Changes:
    def of(action: str) -> tuple[Change, ...]:
        return tuple(c for c in chunk if c.action == action)

    return Changes(create=of("create"), update=of("update"), delete=of("delete"))
