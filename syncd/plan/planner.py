"""Desired vs owned → Changes. Pure; owns the safety rules (ownership, failures, delete guard).

Rules, in the order they apply:
1. Only objects carrying our managed-by and owner labels are considered at all.
2. A host claimed by two services goes to the adapter listed first (then the first service name);
   the loser's object is left out and the conflict reported. Objects kept for failed adapters
   still hold their hosts.
3. An owned object equal to the desired one (same content hash, and an unedited spec) is left
   alone: a steady state makes no writes.
4. Nothing owned by a failed adapter, or by a service in its ``keep`` set, is updated or deleted.
5. Deletes beyond ``max_delete_percent`` of what an adapter owns are refused unless forced.
6. The policy then filters: ``upsert-only`` never deletes, ``create-only`` only creates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from syncd.plan.changes import AdapterState, Change, Changes, Conflict, Refusal
from syncd.render import (
    ANNOTATION_HASH,
    ANNOTATION_SERVICE,
    LABEL_ADAPTER,
    LABEL_MANAGED_BY,
    LABEL_OWNER,
    MANAGED_BY,
    Desired,
    Manifest,
    content_hash,
)


def _sync(changes: Changes) -> Changes:
    return changes


def _upsert_only(changes: Changes) -> Changes:
    return Changes(changes.create, changes.update, (), changes.conflicts, changes.refusals)


def _create_only(changes: Changes) -> Changes:
    return Changes(changes.create, (), (), changes.conflicts, changes.refusals)


POLICIES: dict[str, Callable[[Changes], Changes]] = {
    "sync": _sync,
    "upsert-only": _upsert_only,
    "create-only": _create_only,
}


def is_owned(obj: Mapping[str, Any], owner: str) -> bool:
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return bool(labels.get(LABEL_MANAGED_BY) == MANAGED_BY and labels.get(LABEL_OWNER) == owner)


def plan(
    states: Sequence[AdapterState],
    owned: Iterable[Manifest],
    *,
    owner: str,
    max_delete_percent: float = 50.0,
    policy: str = "sync",
    force: bool = False,
    spec_hash: Callable[[Manifest], str] | None = None,
) -> Changes:
    """Compute the changes that make ``owned`` equal to what ``states`` want.

    ``spec_hash`` hashes an owned object's spec (to notice hand edits); the daemon passes a
    memoised one so a steady cycle does not rehash thousands of unchanged objects.
    """
    hash_of = spec_hash or (lambda obj: content_hash(obj.get("spec") or {}))
    current = {_key(obj): obj for obj in owned if is_owned(obj, owner)}
    by_adapter = {s.adapter: s for s in states}
    desired, conflicts = _resolve_conflicts(states, current.values())

    create: list[Change] = []
    update: list[Change] = []
    for want in desired:
        have = current.get(want.key)
        if have is None:
            create.append(_change("create", want, "new in registry", None))
            continue
        reason = _update_reason(want, have, hash_of)
        if reason:
            update.append(_change("update", want, reason, have))

    wanted = {d.key for d in desired}
    deletes: dict[str, list[Change]] = defaultdict(list)
    owned_count: dict[str, int] = defaultdict(int)
    for key, obj in current.items():
        adapter = _label(obj, LABEL_ADAPTER)
        owned_count[adapter] += 1
        if key in wanted:
            continue
        reason = _delete_reason(obj, by_adapter.get(adapter), conflicts)
        if reason:
            deletes[adapter].append(_delete(obj, adapter, reason))

    allowed: list[Change] = []
    refusals: list[Refusal] = []
    for adapter, changes in sorted(deletes.items()):
        total = owned_count[adapter]
        if not force and 100.0 * len(changes) / total > max_delete_percent:
            refusals.append(Refusal(adapter, len(changes), total, max_delete_percent))
        else:
            allowed.extend(changes)

    result = Changes(
        create=tuple(sorted(create, key=_order)),
        update=tuple(sorted(update, key=_order)),
        delete=tuple(sorted(allowed, key=_order)),
        conflicts=tuple(conflicts),
        refusals=tuple(refusals),
    )
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}; choose one of {', '.join(POLICIES)}")
    return POLICIES[policy](result)


def _resolve_conflicts(
    states: Sequence[AdapterState], owned: Iterable[Manifest]
) -> tuple[list[Desired], list[Conflict]]:
    held: dict[str, list[Manifest]] = defaultdict(list)
    for obj in owned:
        held[_label(obj, LABEL_ADAPTER)].append(obj)
    claims: dict[str, tuple[str, str]] = {}
    kept: list[Desired] = []
    conflicts: list[Conflict] = []
    for state in states:
        # Objects this adapter keeps unchanged still hold their hosts against later adapters.
        for obj in held.get(state.adapter, ()):
            if not state.ok or _annotation(obj, ANNOTATION_SERVICE) in state.keep:
                for host in (obj.get("spec") or {}).get("hosts") or ():
                    claims.setdefault(host, (state.adapter, _annotation(obj, ANNOTATION_SERVICE)))
        if not state.ok:
            continue
        for want in sorted(state.objects, key=lambda d: d.service):
            rival = next(
                (claims[h] for h in want.hosts if h in claims and claims[h] != (want.adapter, want.service)),
                None,
            )
            if rival is not None:
                host = next(h for h in want.hosts if claims.get(h) == rival)
                conflicts.append(Conflict(host, rival[0], want.adapter, want.service))
                continue
            for host in want.hosts:
                claims[host] = (want.adapter, want.service)
            kept.append(want)
    return kept, conflicts


def _update_reason(want: Desired, have: Manifest, hash_of: Callable[[Manifest], str]) -> str | None:
    if _annotation(have, ANNOTATION_HASH) != want.content_hash:
        return "changed in registry"
    if hash_of(have) != want.content_hash:
        return "edited outside syncd; restoring"
    meta = have.get("metadata") or {}
    want_meta = want.body["metadata"]
    if meta.get("labels") != want_meta["labels"]:
        return "labels differ"
    if _annotation(have, ANNOTATION_SERVICE) != want.service:
        return "annotations differ"
    return None


def _delete_reason(obj: Manifest, state: AdapterState | None, conflicts: list[Conflict]) -> str | None:
    if state is None:
        return f"adapter {_label(obj, LABEL_ADAPTER)!r} is no longer configured"
    if not state.ok:
        return None
    service = _annotation(obj, ANNOTATION_SERVICE)
    if service in state.keep:
        return None
    lost = next((c for c in conflicts if c.loser == state.adapter and c.loser_service == service), None)
    if lost is not None:
        return f"host {lost.host} belongs to adapter {lost.winner!r}"
    return "gone from registry"


def _change(action: str, want: Desired, reason: str, have: Manifest | None) -> Change:
    return Change(
        action,  # type: ignore[arg-type]
        want.kind,
        want.name,
        want.adapter,
        want.service,
        reason,
        desired=want.body,
        current=have,
    )


def _delete(obj: Manifest, adapter: str, reason: str) -> Change:
    kind, name = _key(obj)
    return Change("delete", kind, name, adapter, _annotation(obj, ANNOTATION_SERVICE), reason, current=obj)


def _key(obj: Mapping[str, Any]) -> tuple[str, str]:
    return str(obj.get("kind", "")), str((obj.get("metadata") or {}).get("name", ""))


def _label(obj: Mapping[str, Any], key: str) -> str:
    return str(((obj.get("metadata") or {}).get("labels") or {}).get(key, ""))


def _annotation(obj: Mapping[str, Any], key: str) -> str:
    return str(((obj.get("metadata") or {}).get("annotations") or {}).get(key, ""))


def _order(change: Change) -> tuple[str, str]:
    return change.kind, change.name
