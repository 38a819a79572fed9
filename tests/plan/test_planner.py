"""Plan rules, table-driven: creates, no-op steady state, updates, deletes, ownership and safety."""

from __future__ import annotations

import copy

import pytest

from syncd.plan import AdapterState, OwnedMemo, plan
from tests.factories import OWNER, as_owned, render, service

WEB = service("web", "10.0.0.1")
WEB2 = service("web", "10.0.0.1", "10.0.0.2")
API = service("api", "10.0.1.1")
DB = service("db", "10.0.2.1", port=5432)


def names(changes: tuple) -> list[str]:
    return [c.name for c in changes]


@pytest.mark.parametrize(
    ("wanted", "have", "create", "update", "delete"),
    [
        ([WEB, API], [], ["a-api", "a-web"], [], []),
        ([WEB, API], [WEB, API], [], [], []),
        ([WEB2, API], [WEB, API], [], ["a-web"], []),
        ([WEB, API], [WEB, API, DB], [], [], ["a-db"]),
        ([API, DB], [WEB, API, DB], [], [], ["a-web"]),
    ],
    ids=["cold", "steady", "endpoint-added", "service-gone", "one-of-three-gone"],
)
def test_basic_rules(wanted, have, create, update, delete) -> None:
    owned = [as_owned(d) for d in render("a", *have)]
    changes = plan([AdapterState("a", True, render("a", *wanted))], owned, owner=OWNER)
    assert (names(changes.create), names(changes.update), names(changes.delete)) == (create, update, delete)


def test_steady_state_is_empty_and_falsy() -> None:
    owned = [as_owned(d) for d in render("a", WEB, API)]
    assert not plan([AdapterState("a", True, render("a", WEB, API))], owned, owner=OWNER)


def test_failed_adapter_deletes_and_updates_nothing() -> None:
    owned = [as_owned(d) for d in render("a", WEB, API)] + [as_owned(d) for d in render("b", DB)]
    changes = plan(
        [AdapterState("a", False), AdapterState("b", True, render("b"))],
        owned,
        owner=OWNER,
        max_delete_percent=100,
    )
    assert names(changes.delete) == ["b-db"]


def test_kept_services_survive_while_others_go() -> None:
    owned = [as_owned(d) for d in render("a", WEB, API, DB)]
    state = AdapterState("a", True, render("a", API), keep=frozenset({"web"}))
    changes = plan([state], owned, owner=OWNER)
    assert names(changes.delete) == ["a-db"]


def test_foreign_objects_are_never_touched() -> None:
    foreign = as_owned(render("a", WEB)[0])
    foreign["metadata"]["labels"]["syncd.io/owner"] = "someone-else"
    unlabelled = copy.deepcopy(foreign)
    del unlabelled["metadata"]["labels"]
    changes = plan([AdapterState("a", True, ())], [foreign, unlabelled], owner=OWNER)
    assert not changes and not changes.refusals


@pytest.mark.parametrize(("percent", "force", "deleted"), [(50, False, 0), (66.7, False, 2), (50, True, 2)])
def test_delete_guard(percent: float, force: bool, deleted: int) -> None:
    owned = [as_owned(d) for d in render("a", WEB, API, DB)]
    changes = plan(
        [AdapterState("a", True, render("a", DB))],
        owned,
        owner=OWNER,
        max_delete_percent=percent,
        force=force,
    )
    assert len(changes.delete) == deleted
    assert bool(changes.refusals) == (deleted == 0)
    if changes.refusals:
        assert "2 of 3" in changes.refusals[0].reason


def test_exactly_half_is_allowed() -> None:
    owned = [as_owned(d) for d in render("a", WEB, API)]
    changes = plan([AdapterState("a", True, render("a", API))], owned, owner=OWNER, max_delete_percent=50)
    assert names(changes.delete) == ["a-web"]


def test_hand_edit_is_restored_even_with_our_hash_annotation() -> None:
    owned = as_owned(render("a", WEB)[0])
    owned["spec"]["endpoints"] = [{"address": "192.0.2.99"}]
    changes = plan([AdapterState("a", True, render("a", WEB))], [owned], owner=OWNER)
    assert [c.reason for c in changes.update] == ["edited outside syncd; restoring"]
    assert changes.update[0].current is owned


def test_first_adapter_wins_a_host_and_loser_entry_goes() -> None:
    shared_a = service("shop", "10.0.0.1", host="shop.example.com")
    shared_b = service("store", "10.9.9.9", host="shop.example.com")
    owned_b = [as_owned(d) for d in render("b", shared_b, API)]
    changes = plan(
        [AdapterState("a", True, render("a", shared_a)), AdapterState("b", True, render("b", shared_b, API))],
        owned_b,
        owner=OWNER,
        max_delete_percent=100,
    )
    assert names(changes.create) == ["a-shop"]
    assert [(c.host, c.winner, c.loser) for c in changes.conflicts] == [("shop.example.com", "a", "b")]
    assert [(c.name, c.reason) for c in changes.delete] == [
        ("b-store", "host shop.example.com belongs to adapter 'a'")
    ]


def test_failed_first_adapter_still_holds_its_hosts() -> None:
    shared_a = service("shop", "10.0.0.1", host="shop.example.com")
    shared_b = service("store", "10.9.9.9", host="shop.example.com")
    owned = [as_owned(d) for d in render("a", shared_a)]
    changes = plan(
        [AdapterState("a", False), AdapterState("b", True, render("b", shared_b))], owned, owner=OWNER
    )
    assert not changes.create and len(changes.conflicts) == 1


def test_removed_adapter_entries_are_deleted_under_the_guard() -> None:
    owned = [as_owned(d) for d in render("gone", WEB)]
    assert plan([AdapterState("a", True, ())], owned, owner=OWNER).refusals
    forced = plan([AdapterState("a", True, ())], owned, owner=OWNER, force=True)
    assert [c.reason for c in forced.delete] == ["adapter 'gone' is no longer configured"]


@pytest.mark.parametrize(
    ("policy", "expected"), [("sync", (1, 1, 1)), ("upsert-only", (1, 1, 0)), ("create-only", (1, 0, 0))]
)
def test_policies(policy: str, expected: tuple[int, int, int]) -> None:
    owned = [as_owned(d) for d in render("a", WEB, DB)]
    changes = plan(
        [AdapterState("a", True, render("a", WEB2, API))],
        owned,
        owner=OWNER,
        policy=policy,
        max_delete_percent=100,
    )
    assert (len(changes.create), len(changes.update), len(changes.delete)) == expected


def test_memo_remembers_objects_by_identity_and_forgets_the_ones_not_handed_in() -> None:
    memo = OwnedMemo()
    owned = [as_owned(d) for d in render("a", WEB, API)]
    assert not plan([AdapterState("a", True, render("a", WEB, API))], owned, owner=OWNER, memo=memo)
    assert len(memo) == 2
    facts = memo.get(owned[0])
    memo.roll()
    assert memo.get(owned[0]) is facts  # the same object is not read again
    assert memo.get(copy.deepcopy(owned[0])) is not facts  # an equal copy is another object
    memo.roll()
    assert len(memo) == 2
    plan([AdapterState("a", True, render("a", WEB))], owned[:1], owner=OWNER, memo=memo)
    assert len(memo) == 1  # nothing holds on to objects the cluster no longer has


def test_memo_trusts_a_resource_version_it_has_checked_and_nothing_else() -> None:
    """A relist hands out new dicts for unchanged objects: their specs are not compared again."""
    memo = OwnedMemo()
    wanted = [AdapterState("a", True, render("a", WEB))]
    [obj] = [as_owned(d, rv="7") for d in render("a", WEB)]
    assert not plan(wanted, [obj], owner=OWNER, memo=memo)
    # Same (kind, name, resourceVersion): the server guarantees the same content, so the check is
    # reused; this spec is made different only to show that it is not compared again.
    relisted = copy.deepcopy(obj)
    relisted["spec"]["endpoints"] = [{"address": "10.9.9.9"}]
    assert not plan(wanted, [relisted], owner=OWNER, memo=memo)
    edited = copy.deepcopy(relisted)
    edited["metadata"]["resourceVersion"] = "8"  # a real edit moves the resourceVersion on
    changes = plan(wanted, [edited], owner=OWNER, memo=memo)
    assert [c.reason for c in changes.update] == ["edited outside syncd; restoring"]


def test_unknown_policy_is_an_error_before_anything_is_planned() -> None:
    with pytest.raises(ValueError, match="unknown policy 'merge'"):
        plan([AdapterState("a", True, render("a", WEB))], [], owner=OWNER, policy="merge")
