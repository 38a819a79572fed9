"""What plan reads of an object from the cluster: read once per object, and remembered. Pure.

An owned object is asked the same questions every cycle (its key, labels, annotations, hosts,
whether its spec is still the one syncd wrote). ``OwnedMemo`` keeps the answers per object for
as long as the caller hands ``plan`` the very same object again, which is what the daemon's
watch cache does: it never mutates an object it holds (every change stores a new dict). A
steady daemon cycle over 10,000 objects then costs a dictionary lookup per object. Only a caller
that guarantees that immutability may keep a memo across calls; without one, plan reads every
object afresh.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from syncd.render import (
    ANNOTATION_HASH,
    ANNOTATION_SERVICE,
    LABEL_ADAPTER,
    LABEL_MANAGED_BY,
    LABEL_OWNER,
    MANAGED_BY,
    Desired,
    Manifest,
)

Key = tuple[str, str]  # (kind, name)


def key_of(obj: Mapping[str, Any]) -> Key:
    return str(obj.get("kind", "")), str((obj.get("metadata") or {}).get("name", ""))


def rv_of(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


def is_owned(obj: Mapping[str, Any], owner: str) -> bool:
    """The object carries syncd's managed-by label and ``owner``'s owner label."""
    return _owned_by((obj.get("metadata") or {}).get("labels") or {}, owner)


def _owned_by(labels: Mapping[str, Any], owner: str) -> bool:
    return bool(labels.get(LABEL_MANAGED_BY) == MANAGED_BY and labels.get(LABEL_OWNER) == owner)


class Owned:
    """One object from the cluster, with what plan needs of it."""

    __slots__ = (
        "_same_as",
        "adapter",
        "body",
        "hash_annotation",
        "hosts",
        "key",
        "labels",
        "resource_version",
        "service",
    )

    def __init__(self, body: Manifest) -> None:
        meta = body.get("metadata") or {}
        labels = meta.get("labels") or {}
        annotations = meta.get("annotations") or {}
        self.body = body
        self.key = key_of(body)
        self.resource_version = rv_of(body)
        self.labels: Mapping[str, Any] = labels
        self.adapter = str(labels.get(LABEL_ADAPTER, ""))
        self.service = str(annotations.get(ANNOTATION_SERVICE, ""))
        self.hash_annotation = str(annotations.get(ANNOTATION_HASH, ""))
        self.hosts = _hosts(body.get("spec") or {})
        self._same_as: str | None = None  # the content hash of the last Desired found equal

    def owned_by(self, owner: str) -> bool:
        return _owned_by(self.labels, owner)

    def same_spec(self, want: Desired) -> bool:
        """True when the spec in the cluster is the one ``want`` renders; False after a hand edit.

        A dict comparison (0.6 µs for a 10-endpoint entry; hashing the spec takes 17 µs), done
        once per object and desired content.
        """
        if self._same_as == want.content_hash:
            return True
        same = bool((self.body.get("spec") or {}) == want.body["spec"])
        if same:
            self._same_as = want.content_hash
        return same


class OwnedMemo:
    """``Owned`` per object identity, kept for the objects of the last call (see the module doc).

    A new object for a known (kind, name, resourceVersion), as a relist hands out, reuses what
    was found of that version's spec: the resourceVersion pins the object's content.
    """

    def __init__(self) -> None:
        self._last: dict[int, Owned] = {}
        self._next: dict[int, Owned] = {}
        self._versions: dict[tuple[Key, str], Owned] | None = None  # built on the first miss only

    def get(self, obj: Manifest) -> Owned:
        found = self._last.get(id(obj))
        if found is None or found.body is not obj:
            found = Owned(obj)
            if found.resource_version:
                if self._versions is None:
                    self._versions = {(o.key, o.resource_version): o for o in self._last.values()}
                same = self._versions.get((found.key, found.resource_version))
                if same is not None:
                    found._same_as = same._same_as
        self._next[id(obj)] = found
        return found

    def roll(self) -> None:
        """Forget objects not asked for since the last roll (the memo holds them alive until then)."""
        self._last, self._next = self._next, {}
        self._versions = None

    def __len__(self) -> int:
        return len(self._last)


def _hosts(spec: Mapping[str, Any]) -> tuple[str, ...]:
    """The hosts an owned object claims: a ServiceEntry's ``hosts``, a DestinationRule's ``host``."""
    hosts = [h for h in spec.get("hosts") or () if isinstance(h, str)]
    if isinstance(spec.get("host"), str):
        hosts.append(spec["host"])
    return tuple(hosts)
