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

from syncd.plan.changes import AdapterState, Change, Changes, Conflict, Refusal
from syncd.plan.owned import Key, Owned, OwnedMemo
from syncd.render import Desired, Manifest

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


def plan(
    states: Sequence[AdapterState],
    owned: Iterable[Manifest],
    *,
    owner: str,
    max_delete_percent: float = 50.0,
    policy: str = "sync",
    force: bool = False,
    memo: OwnedMemo | None = None,
) -> Changes:
    """Compute the changes that make ``owned`` equal to what ``states`` want.

    ``memo`` remembers what was read of each owned object (and whether its spec matched) across
    calls; pass one only when the objects handed in are never mutated (see :mod:`syncd.plan.owned`).
    """
    if policy not in POLICIES:
        raise ValueError(f"unknown policy {policy!r}; choose one of {', '.join(POLICIES)}")
    facts = memo if memo is not None else OwnedMemo()
    current: dict[Key, Owned] = {}
    for obj in owned:
        item = facts.get(obj)
        if item.owned_by(owner):
            current[item.key] = item
    facts.roll()
    by_adapter = {s.adapter: s for s in states}
    desired, conflicts = _resolve_conflicts(states, current.values())

    synced: set[tuple[str, str]] | None = None  # only needed when something is created
    create: list[Change] = []
    update: list[Change] = []
    for want in desired:
        have = current.get(want.key)
        if have is None:
            if synced is None:
                synced = {(o.adapter, o.service) for o in current.values()}
            known = (want.adapter, want.service) in synced
            create.append(
                _change("create", want, "new for a synced service" if known else "new in registry", None)
            )
            continue
        reason = _update_reason(want, have)
        if reason:
            update.append(_change("update", want, reason, have.body))

    wanted = {d.key for d in desired}
    present: set[tuple[str, str]] | None = None  # only needed when something is deleted
    deletes: dict[str, list[Change]] = defaultdict(list)
    owned_count: dict[str, int] = defaultdict(int)
    owned_all: dict[str, int] = defaultdict(int)
    allowed: list[Change] = []
    for key, item in current.items():
        adapter = item.adapter
        owned_all[adapter] += 1
        owned_count[adapter] += key[0] not in _ENDPOINT_KINDS
        if key in wanted:
            continue
        reason = _delete_reason(item, by_adapter.get(adapter), conflicts)
        if not reason:
            continue
        if present is None:
            present = {(s.adapter, d.service) for s in states if s.ok for d in s.objects}
        if reason == _GONE and (adapter, item.service) in present:
            # The service is still there; only this object is no longer rendered (rule 5).
            allowed.append(_delete(item, "no longer rendered for this service (config or hosts changed)"))
        else:
            deletes[adapter].append(_delete(item, reason))

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
    return POLICIES[policy](result)


def _guard_count(changes: Sequence[Change]) -> int:
    """Deletes the guard weighs: everything but endpoint objects (rule 5)."""
    return sum(change.kind not in _ENDPOINT_KINDS for change in changes)


def _resolve_conflicts(
    states: Sequence[AdapterState], owned: Iterable[Owned]
) -> tuple[list[Desired], list[Conflict]]:
    held: dict[str, list[Owned]] = defaultdict(list)
    for item in owned:
        held[item.adapter].append(item)
    claims: dict[str, tuple[str, str]] = {}
    kept: list[Desired] = []
    conflicts: list[Conflict] = []
    for state in states:
        # Objects this adapter keeps unchanged still hold their hosts against later adapters.
        for item in held.get(state.adapter, ()):
            if not state.ok or item.service in state.keep:
                for host in item.hosts:
                    claims.setdefault(host, (state.adapter, item.service))
        if not state.ok:
            continue
        for service, wants in _by_service(state.objects):
            me = (state.adapter, service)
            rival = _rival(wants, claims, me)
            if rival is not None:
                conflicts.append(Conflict(rival[0], rival[1][0], state.adapter, service))
                continue
            for want in wants:
                for host in want.hosts:
                    claims[host] = me
            kept.extend(wants)
    return kept, conflicts


def _by_service(objects: Sequence[Desired]) -> list[tuple[str, list[Desired]]]:
    """Objects grouped by service, in service order (render's output already is: one pass then)."""
    groups: list[tuple[str, list[Desired]]] = []
    for want in objects:
        if groups and groups[-1][0] == want.service:
            groups[-1][1].append(want)
        elif not groups or groups[-1][0] < want.service:
            groups.append((want.service, [want]))
        else:  # not in order: group the general way
            by_service: dict[str, list[Desired]] = defaultdict(list)
            for item in objects:
                by_service[item.service].append(item)
            return sorted(by_service.items())
    return groups


def _rival(
    wants: Sequence[Desired], claims: Mapping[str, tuple[str, str]], me: tuple[str, str]
) -> tuple[str, tuple[str, str]] | None:
    """The first of these objects' hosts already claimed by another service, and who claims it."""
    for want in wants:
        for host in want.hosts:
            claim = claims.get(host)
            if claim is not None and claim != me:
                return host, claim
    return None


def _update_reason(want: Desired, have: Owned) -> str | None:
    if have.hash_annotation != want.content_hash:
        return "changed in registry"
    if not have.same_spec(want):
        return "edited outside syncd; restoring"
    if have.labels != want.body["metadata"]["labels"]:
        return "labels differ"
    if have.service != want.service:
        return "annotations differ"
    return None


def _delete_reason(item: Owned, state: AdapterState | None, conflicts: list[Conflict]) -> str | None:
    if state is None:
        return f"adapter {item.adapter!r} is no longer configured"
    if not state.ok:
        return None
    if item.service in state.keep:
        return None
    lost = next((c for c in conflicts if c.loser == state.adapter and c.loser_service == item.service), None)
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


def _delete(item: Owned, reason: str) -> Change:
    kind, name = item.key
    return Change("delete", kind, name, item.adapter, item.service, reason, current=item.body)


def _order(change: Change) -> tuple[str, str]:
    return change.kind, change.name


def _delete_order(change: Change) -> tuple[bool, str, str]:
    """ServiceEntries go first, so no traffic reaches a host whose TLS origination is gone."""
    return change.kind != "ServiceEntry", change.kind, change.name
