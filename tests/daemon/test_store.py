"""The watch cache's store: echoes of our own writes are not drift; anyone else's changes are."""

from __future__ import annotations

from typing import Any

from syncd.daemon.store import OwnedStore

OURS = {"app.kubernetes.io/managed-by": "syncd", "syncd.io/owner": "syncd", "syncd.io/adapter": "a"}
KEY = ("ServiceEntry", "a-web")


def obj(
    rv: int, name: str = "a-web", labels: dict[str, str] | None = None, spec: Any = None
) -> dict[str, Any]:
    return {
        "kind": "ServiceEntry",
        "metadata": {"name": name, "resourceVersion": str(rv), "labels": OURS if labels is None else labels},
        "spec": spec or {"hosts": ["web.example.com"]},
    }


def store_with(*objects: dict[str, Any]) -> OwnedStore:
    store = OwnedStore("syncd")
    store.replace("ServiceEntry", objects)
    return store


def test_list_keeps_only_owned_objects() -> None:
    store = store_with(
        obj(1), obj(2, "other", labels={"app": "x"}), obj(3, "b", labels={**OURS, "syncd.io/owner": "z"})
    )
    assert [o["metadata"]["name"] for o in store.items()] == ["a-web"]


def test_edits_and_deletes_by_someone_else_are_drift() -> None:
    store = store_with(obj(1))
    assert store.event("MODIFIED", obj(2), now=0.0) is True
    assert store.get(KEY)["metadata"]["resourceVersion"] == "2"  # type: ignore[index]
    assert store.event("DELETED", obj(3), now=0.0) is True
    assert store.get(KEY) is None
    assert store.event("DELETED", obj(3), now=0.0) is False  # nothing held: nothing changed


def test_an_owned_object_losing_its_owner_label_leaves_the_store() -> None:
    store = store_with(obj(1))
    assert store.event("MODIFIED", obj(2, labels={"app": "hijacked"}), now=0.0) is True
    assert store.items() == []


def test_the_answer_to_our_write_is_kept_and_its_echo_is_not_drift() -> None:
    store = store_with(obj(1))
    store.begin_write([KEY])
    store.wrote(obj(5), now=0.0)
    assert store.end_write([KEY]) is False
    assert store.get(KEY)["metadata"]["resourceVersion"] == "5"  # type: ignore[index]
    # an older event still in the pipe, then the echo: neither is drift, and the store stays at 5
    assert store.event("MODIFIED", obj(4), now=1.0) is False
    assert store.get(KEY)["metadata"]["resourceVersion"] == "5"  # type: ignore[index]
    assert store.event("MODIFIED", obj(5), now=1.0) is False
    # after the echo, the next change is someone else's
    assert store.event("MODIFIED", obj(6), now=1.0) is True


def test_an_echo_that_beat_the_answer_is_not_expected_again() -> None:
    store = store_with(obj(1))
    store.begin_write([KEY])
    assert store.event("MODIFIED", obj(5), now=0.0) is False  # in flight: ours
    store.wrote(obj(5), now=0.0)
    store.end_write([KEY])
    assert store.event("MODIFIED", obj(7), now=0.0) is True


def test_a_write_that_changed_nothing_expects_no_echo() -> None:
    store = store_with(obj(1))
    store.begin_write([KEY])
    store.wrote(obj(1), now=0.0)
    store.end_write([KEY])
    assert store.event("MODIFIED", obj(2), now=0.0) is True


def test_our_delete_and_its_event() -> None:
    store = store_with(obj(1))
    store.begin_write([KEY])
    store.deleted(KEY, now=0.0)
    store.end_write([KEY])
    assert store.items() == []
    assert store.event("MODIFIED", obj(1), now=0.0) is False  # older than our delete
    assert store.event("DELETED", obj(2), now=0.0) is False  # the echo
    assert store.items() == []
    assert store.event("ADDED", obj(3), now=0.0) is True  # someone re-created it


def test_a_lost_echo_stops_being_awaited() -> None:
    store = OwnedStore("syncd", expect_timeout=5.0)
    store.replace("ServiceEntry", [obj(1)])
    store.wrote(obj(5), now=0.0)
    assert store.event("MODIFIED", obj(9), now=6.0) is True


def test_a_failed_write_whose_object_changed_meanwhile_asks_for_a_look() -> None:
    store = store_with(obj(1))
    store.begin_write([KEY])
    assert store.event("MODIFIED", obj(2), now=0.0) is False
    assert store.end_write([KEY], failed=[KEY]) is True


def test_relist_reports_missed_changes_and_clears_expectations() -> None:
    store = store_with(obj(1))
    assert store.replace("ServiceEntry", [obj(1)]) is False
    store.wrote(obj(5), now=0.0)
    assert store.replace("ServiceEntry", [obj(5), obj(6, "a-api")]) is True
    assert store.event("MODIFIED", obj(7), now=0.0) is True  # no stale expectation left
