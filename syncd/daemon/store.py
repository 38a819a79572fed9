"""The watch cache's memory: the owned objects, and which watch events echo our own writes. Pure.

Fed by three sources, each through one method: a full list (``replace``), watch events
(``event``) and the answers to our own writes (``wrote`` / ``deleted``). Every method that learns
of a change someone else made returns True, so the daemon can repair drift.

Echoes: after our write answered with resourceVersion R, the watch will deliver R too, possibly
after older events for the same object. The store keeps the answer at once (so the next cycle
sees what we wrote and does not write again), *expects* R, and skips that object's events until
R arrives. resourceVersions are compared for equality only (they are opaque). Events that arrive
while a write to that object is in flight are never taken for drift. An expectation that is not
met within ``expect_timeout`` (a lost event) is dropped; a relist drops them all.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from syncd.plan import is_owned, key_of, rv_of
from syncd.plan.owned import Key
from syncd.render import Manifest

GONE = "<deleted>"


class OwnedStore:
    """Owned objects by (kind, name); thread-safe; ``now`` is a monotonic time in seconds."""

    def __init__(self, owner: str, *, expect_timeout: float = 30.0) -> None:
        self.owner = owner
        self._expect_timeout = expect_timeout
        self._lock = threading.Lock()
        self._objects: dict[Key, Manifest] = {}
        self._expect: dict[Key, tuple[str, float]] = {}  # key -> (resourceVersion or GONE, deadline)
        self._inflight: dict[Key, set[str]] = {}  # keys being written -> versions seen meanwhile

    def __len__(self) -> int:
        with self._lock:
            return len(self._objects)

    def items(self) -> list[Manifest]:
        """The owned objects (shared, never mutated: each change stores a new dict)."""
        with self._lock:
            return list(self._objects.values())

    def get(self, key: Key) -> Manifest | None:
        with self._lock:
            return self._objects.get(key)

    def replace(self, kind: str, objects: Iterable[Manifest]) -> bool:
        """A full list of ``kind``; True when it differs from what the store held (missed events)."""
        fresh = {key_of(o): o for o in objects if is_owned(o, self.owner)}
        with self._lock:
            old = {k: o for k, o in self._objects.items() if k[0] == kind}
            changed = {
                k for k in old.keys() | fresh.keys() if rv_of(old.get(k, {})) != rv_of(fresh.get(k, {}))
            }
            changed -= self._inflight.keys()
            for key in old:
                del self._objects[key]
            self._objects.update(fresh)
            for key in [k for k in self._expect if k[0] == kind]:
                del self._expect[key]
        return bool(changed)

    def event(self, kind: str, obj: Manifest, now: float) -> bool:
        """A watch event; True when it is a change that was not ours."""
        key = key_of(obj)
        rv = rv_of(obj)
        gone = kind == "DELETED" or not is_owned(obj, self.owner)
        with self._lock:
            seen = self._inflight.get(key)
            if seen is not None:
                seen.add(GONE if gone else rv)
            expected = self._expect.get(key)
            if expected is not None and now < expected[1]:
                if expected[0] == (GONE if gone else rv):
                    del self._expect[key]  # the echo of our write; everything before it was older
                return False
            self._expect.pop(key, None)
            held = self._objects.get(key)
            if gone:
                self._objects.pop(key, None)
                changed = held is not None
            else:
                self._objects[key] = obj
                changed = held is None or rv_of(held) != rv
            return changed and seen is None

    def begin_write(self, keys: Iterable[Key]) -> None:
        with self._lock:
            for key in keys:
                self._inflight.setdefault(key, set())

    def end_write(self, keys: Iterable[Key], failed: Iterable[Key] = ()) -> bool:
        """Writes done; True when an object whose write failed changed meanwhile (check it again)."""
        failed = set(failed)
        drift = False
        with self._lock:
            for key in keys:
                seen = self._inflight.pop(key, set())
                drift = drift or (key in failed and bool(seen))
        return drift

    def wrote(self, obj: Manifest, now: float) -> None:
        """The answer to our create or replace: keep it now, expect its echo."""
        if not is_owned(obj, self.owner):
            return
        key, rv = key_of(obj), rv_of(obj)
        with self._lock:
            if rv in self._inflight.get(key, ()):
                return  # the watch was quicker: the store is already as new as this, or newer
            held = self._objects.get(key)
            self._objects[key] = obj
            if held is None or rv_of(held) != rv:  # an unchanged object is not written: no echo
                self._expect[key] = (rv, now + self._expect_timeout)

    def deleted(self, key: Key, now: float) -> None:
        """Our delete succeeded (or found nothing): forget the object, expect its DELETED event."""
        with self._lock:
            if GONE in self._inflight.get(key, ()) or key not in self._objects:
                return
            del self._objects[key]
            self._expect[key] = (GONE, now + self._expect_timeout)
