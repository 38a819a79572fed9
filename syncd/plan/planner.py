"""Desired vs owned → Changes. Pure; owns the safety rules (ownership, failures, delete guard).

Rules, in the order they apply:
1. Only objects carrying our managed-by and owner labels are considered at all.
2. A host claimed by two services goes to the adapter listed first (then the first service name);
   the loser's objects are left out and the conflict reported. A service's objects (its
   ServiceEntry and DestinationRules) claim its hosts together and win or lose together. Objects
   kept for failed adapters still hold their hosts.
3. An owned object equal to the desired one (same content hash, and an unedited spec) is left
   alone: a steady state makes no writes.
4. Nothing owned by a failed adapter, or by a service in its ``keep`` set, is updated or deleted.
5. Deletes beyond ``max_delete_percent`` of what an adapter owns are refused unless forced. The
   guard is against registries that forget services: an object deleted while its service is
   still wanted (a DestinationRule whose traffic policy was switched off, a renamed object, the
   WorkloadEntry of an endpoint that went away) is a config or endpoint change and does not
   count towards it. WorkloadEntries are endpoints, not services: they are left out of both the
   count and the total (a service with 20,000 of them weighs what one without does), but those
   of a service that is gone are deleted, or withheld, together with its ServiceEntry.
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

_GONE = "gone from registry"
#: Kinds that stand for endpoints, not services: the delete guard does not weigh them (rule 5).
_ENDPOINT_KINDS = frozenset({"WorkloadEntry"})


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
    # "is None", not "or": a memo object with __len__ is falsy while still empty.
    hash_of = spec_hash if spec_hash is not None else (lambda obj: content_hash(obj.get("spec") or {}))
    current = {_key(obj): obj for obj in owned if is_owned(obj, owner)}
    by_adapter = {s.adapter: s for s in states}
    desired, conflicts = _resolve_conflicts(states, current.values())

    present = {(s.adapter, d.service) for s in states if s.ok for d in s.objects}
    synced = {(_label(o, LABEL_ADAPTER), _annotation(o, ANNOTATION_SERVICE)) for o in current.values()}
    create: list[Change] = []
    update: list[Change] = []
    for want in desired:
        have = current.get(want.key)
        if have is None:
            known = (want.adapter, want.service) in synced
            create.append(
                _change("create", want, "new for a synced service" if known else "new in registry", None)
            )
            continue
        reason = _update_reason(want, have, hash_of)
        if reason:
            update.append(_change("update", want, reason, have))

    wanted = {d.key for d in desired}
    deletes: dict[str, list[Change]] = defaultdict(list)
    owned_count: dict[str, int] = defaultdict(int)
    owned_all: dict[str, int] = defaultdict(int)
    allowed: list[Change] = []
    for key, obj in current.items():
        adapter = _label(obj, LABEL_ADAPTER)
        owned_all[adapter] += 1
        owned_count[adapter] += key[0] not in _ENDPOINT_KINDS
        if key in wanted:
            continue
        reason = _delete_reason(obj, by_adapter.get(adapter), conflicts)
        if not reason:
            continue
        if reason == _GONE and (adapter, _annotation(obj, ANNOTATION_SERVICE)) in present:
            # The service is still there; only this object is no longer rendered (rule 5).
            allowed.append(
                _delete(obj, adapter, "no longer rendered for this service (config or hosts changed)")
            )
        else:
            deletes[adapter].append(_delete(obj, adapter, reason))

    refusals: list[Refusal] = []
    for adapter, changes in sorted(deletes.items()):
        count, total = _guard_count(changes), owned_count[adapter]
        if total == 0:  # only endpoint objects are left (their entries deleted by hand): count them
            count, total = len(changes), owned_all[adapter]
        if not force and 100.0 * count / total > max_delete_percent:
            refusals.append(Refusal(adapter, count, total, max_delete_percent))
        else:
            allowed.extend(changes)

    result = Changes(
        create=tuple(sorted(create, key=_order)),
        update=tuple(sorted(update, key=_order)),
        delete=tuple(sorted(allowed, key=_delete_order)),
        conflicts=tuple(conflicts),
        refusals=tuple(refusals),
    )
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}; choose one of {', '.join(POLICIES)}")
    return POLICIES[policy](result)


def _guard_count(changes: Sequence[Change]) -> int:
    """Deletes the guard weighs: everything but endpoint objects (rule 5)."""
    return sum(change.kind not in _ENDPOINT_KINDS for change in changes)


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
                for host in _hosts(obj):
                    claims.setdefault(host, (state.adapter, _annotation(obj, ANNOTATION_SERVICE)))
        if not state.ok:
            continue
        by_service: dict[str, list[Desired]] = defaultdict(list)
        for want in state.objects:
            by_service[want.service].append(want)
        for service, wants in sorted(by_service.items()):
            me = (state.adapter, service)
            hosts = list(dict.fromkeys(h for want in wants for h in want.hosts))
            rival = next((claims[h] for h in hosts if h in claims and claims[h] != me), None)
            if rival is not None:
                host = next(h for h in hosts if claims.get(h) == rival)
                conflicts.append(Conflict(host, rival[0], state.adapter, service))
                continue
            for host in hosts:
                claims[host] = me
            kept.extend(wants)
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
    return _GONE


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


def _delete_order(change: Change) -> tuple[bool, str, str]:
    """ServiceEntries go first, so no traffic reaches a host whose TLS origination is gone."""
    return change.kind != "ServiceEntry", change.kind, change.name


def _hosts(obj: Mapping[str, Any]) -> list[str]:
    """The hosts an owned object claims: a ServiceEntry's ``hosts``, a DestinationRule's ``host``."""
    spec = obj.get("spec") or {}
    hosts = list(spec.get("hosts") or ())
    if isinstance(spec.get("host"), str):
        hosts.append(spec["host"])
    return hosts
