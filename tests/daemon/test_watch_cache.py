"""The watch cache against the API emulator: no LIST and no write in a steady cycle, drift seen."""

from __future__ import annotations

import copy
import threading
from pathlib import Path

import pytest

from syncd.config import TargetConfig
from syncd.daemon.watch_cache import CachedTarget, build_cached_target
from tests.daemon.conftest import owned, se_lists, se_writes, sync, wait_until
from tests.emulators.kube_api import KubeApiEmulator
from tests.factories import NAMESPACE, OWNER, service

pytestmark = pytest.mark.timeout(30)


def test_steady_cycles_list_nothing_and_write_nothing(
    cached: CachedTarget, kube_api: KubeApiEmulator
) -> None:
    sync(cached, service("web", "10.0.0.1"), service("api", "10.0.0.2"))
    kube_api.reset_counts()
    for _ in range(3):  # right after the writes: the answers are in the cache already
        changes, _ = sync(cached, service("web", "10.0.0.1"), service("api", "10.0.0.2"))
        assert not changes
    assert se_writes(kube_api) == [] and se_lists(kube_api) == 0
    # an update rewrites once, then the cache holds the new version
    sync(cached, service("web", "10.0.0.1", "10.0.0.3"), service("api", "10.0.0.2"))
    assert len(se_writes(kube_api)) == 1
    changes, _ = sync(cached, service("web", "10.0.0.1", "10.0.0.3"), service("api", "10.0.0.2"))
    assert not changes and len(se_writes(kube_api)) == 1 and se_lists(kube_api) == 0


def test_hand_edits_and_deletes_are_drift_our_writes_are_not(
    cached: CachedTarget, kube_api: KubeApiEmulator
) -> None:
    drift = threading.Event()
    cached.cache.set_on_drift(drift.set)
    sync(cached, service("web", "10.0.0.1"), service("api", "10.0.0.2"))
    sync(cached, service("web", "10.0.0.1", "10.0.0.5"), service("api", "10.0.0.2"))
    assert not drift.wait(0.5), "echoes of our own writes were taken for drift"

    edited = owned(kube_api)["a-web"]
    edited["spec"]["endpoints"] = [{"address": "10.6.6.6"}]
    kube_api.put_object(edited)
    assert drift.wait(3)
    assert wait_until(lambda: cached.list_owned(OWNER) and _endpoints(cached, "a-web") == ["10.6.6.6"], 3)
    changes, _ = sync(cached, service("web", "10.0.0.1", "10.0.0.5"), service("api", "10.0.0.2"))
    assert [c.reason for c in changes.update] == ["edited outside syncd; restoring"]

    drift.clear()
    kube_api.delete_object("serviceentries", NAMESPACE, "a-api")
    assert drift.wait(3)
    assert wait_until(lambda: {o["metadata"]["name"] for o in cached.list_owned(OWNER)} == {"a-web"}, 3)


def test_foreign_objects_are_not_cached(cached: CachedTarget, kube_api: KubeApiEmulator) -> None:
    drift = threading.Event()
    cached.cache.set_on_drift(drift.set)
    sync(cached, service("web", "10.0.0.1"))
    stranger = owned(kube_api)["a-web"]
    for key in ("resourceVersion", "uid", "creationTimestamp", "generation"):
        stranger["metadata"].pop(key)
    stranger["metadata"].update(
        name="b-web", labels={**stranger["metadata"]["labels"], "syncd.io/owner": "other"}
    )
    kube_api.put_object(stranger)
    assert not drift.wait(0.5)
    assert [o["metadata"]["name"] for o in cached.list_owned(OWNER)] == ["a-web"]


def test_410_gone_relists_and_the_cache_stays_correct(
    cached: CachedTarget, kube_api: KubeApiEmulator
) -> None:
    drift = threading.Event()
    cached.cache.set_on_drift(drift.set)
    sync(cached, service("web", "10.0.0.1"), service("api", "10.0.0.2"))
    kube_api.reset_counts()
    # a change the watch would have told us about, lost with the history: the relist must find it
    kube_api.stop()
    kube_api.delete_object("serviceentries", NAMESPACE, "a-api")
    kube_api.expire_history()
    kube_api.start()
    assert wait_until(lambda: se_lists(kube_api) >= 1, 10), kube_api.request_log
    assert wait_until(lambda: [o["metadata"]["name"] for o in cached.list_owned(OWNER)] == ["a-web"], 5)
    assert drift.wait(3)
    # the watch goes on from the fresh list: later changes still arrive
    edited = owned(kube_api)["a-web"]
    edited["spec"]["endpoints"] = [{"address": "10.7.7.7"}]
    kube_api.put_object(edited)
    assert wait_until(lambda: _endpoints(cached, "a-web") == ["10.7.7.7"], 3)


def test_expired_history_under_a_live_watch_relists(cached: CachedTarget, kube_api: KubeApiEmulator) -> None:
    sync(cached, service("web", "10.0.0.1"))
    kube_api.reset_counts()
    kube_api.expire_history()
    assert wait_until(lambda: se_lists(kube_api) >= 1, 5)
    edited = owned(kube_api)["a-web"]
    edited["spec"]["endpoints"] = [{"address": "10.8.8.8"}]
    kube_api.put_object(edited)
    assert wait_until(lambda: _endpoints(cached, "a-web") == ["10.8.8.8"], 3)


def test_resync_lists_again(cached: CachedTarget, kube_api: KubeApiEmulator) -> None:
    sync(cached, service("web", "10.0.0.1"))
    kube_api.reset_counts()
    assert cached.resync(5)
    assert se_lists(kube_api) == 1
    assert [o["metadata"]["name"] for o in cached.list_owned(OWNER)] == ["a-web"]


def test_cache_hands_out_the_same_objects_until_they_change(cached: CachedTarget) -> None:
    """What lets the daemon's plan remember objects by identity (syncd.plan.owned)."""
    sync(cached, service("web", "10.0.0.1"), service("api", "10.0.0.2"))
    first = {o["metadata"]["name"]: o for o in cached.list_owned(OWNER)}
    snapshot = copy.deepcopy(first)
    sync(cached, service("web", "10.0.0.1", "10.0.0.3"), service("api", "10.0.0.2"))
    again = {o["metadata"]["name"]: o for o in cached.list_owned(OWNER)}
    assert again["a-api"] is first["a-api"]
    assert again["a-web"] is not first["a-web"]
    assert first == snapshot  # the replaced object was not mutated in place


def _endpoints(target: CachedTarget, name: str) -> list[str]:
    for obj in target.list_owned(OWNER):
        if obj["metadata"]["name"] == name:
            return [e["address"] for e in obj["spec"].get("endpoints", [])]
    return []


def test_every_managed_kind_is_watched(kube_api: KubeApiEmulator, kubeconfig: Path) -> None:
    target = build_cached_target(
        TargetConfig(kubeconfig=kubeconfig), OWNER, ("ServiceEntry", "DestinationRule")
    )
    target.cache.start()
    try:
        assert target.cache.wait_synced(5)
        labels = {"app.kubernetes.io/managed-by": "syncd", "syncd.io/owner": OWNER, "syncd.io/adapter": "a"}
        rule = {
            "apiVersion": "networking.istio.io/v1",
            "kind": "DestinationRule",
            "metadata": {"name": "a-web", "namespace": NAMESPACE, "labels": labels},
            "spec": {"host": "web.example.com"},
        }
        kube_api.put_object(rule)
        assert wait_until(lambda: [o["kind"] for o in target.list_owned(OWNER)] == ["DestinationRule"], 3)
    finally:
        target.close()
