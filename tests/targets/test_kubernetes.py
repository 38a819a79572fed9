"""The kubernetes target over HTTP against the API emulator: ownership, no-op cycles, races, faults."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from syncd.plan import AdapterState, plan
from syncd.render.validate import validate_manifest
from syncd.targets.kubernetes import KubernetesTarget, api_client
from syncd.targets.retry import Backoff
from tests.emulators.kube_api import KubeApiEmulator
from tests.factories import NAMESPACE, OWNER, render, service

WRITES = ("create", "update", "patch", "delete")


@pytest.fixture
def target(kubeconfig: Path) -> KubernetesTarget:
    return KubernetesTarget(
        api_client(kubeconfig), NAMESPACE, backoff=Backoff(retries=6, base=0.01, cap=0.05)
    )


def sync(target: KubernetesTarget, *services, adapter: str = "a", force: bool = False):
    changes = plan(
        [AdapterState(adapter, True, render(adapter, *services))],
        target.list_owned(OWNER),
        owner=OWNER,
        max_delete_percent=100,
        force=force,
    )
    result = target.apply(changes)
    assert result.ok, result.failed
    return changes


def writes(api: KubeApiEmulator) -> int:
    counts = api.counts()
    return sum(counts.get(v, 0) for v in WRITES)


def test_create_then_steady_then_update_then_delete(
    target: KubernetesTarget, kube_api: KubeApiEmulator
) -> None:
    sync(target, service("web", "10.0.0.1"), service("api", "10.0.0.2"))
    stored = kube_api.objects("serviceentries", NAMESPACE)
    assert sorted(o["metadata"]["name"] for o in stored) == ["a-api", "a-web"]
    for obj in stored:
        assert obj["metadata"]["labels"]["syncd.io/owner"] == OWNER and obj["metadata"]["uid"]
        assert validate_manifest({k: v for k, v in obj.items() if k != "status"}) == []

    kube_api.reset_counts()
    assert not sync(target, service("web", "10.0.0.1"), service("api", "10.0.0.2"))
    assert writes(kube_api) == 0 and kube_api.counts().get("list") == 1

    kube_api.reset_counts()
    sync(target, service("web", "10.0.0.1", "10.0.0.3"), service("api", "10.0.0.2"))
    assert kube_api.counts().get("update") == 1 and writes(kube_api) == 1

    kube_api.reset_counts()
    sync(target, service("web", "10.0.0.1", "10.0.0.3"))
    assert kube_api.counts().get("delete") == 1 and writes(kube_api) == 1
    assert [o["metadata"]["name"] for o in kube_api.objects("serviceentries", NAMESPACE)] == ["a-web"]


def test_foreign_objects_are_never_listed_changed_or_deleted(
    target: KubernetesTarget, kube_api: KubeApiEmulator
) -> None:
    foreign = copy.deepcopy(render("a", service("web", "10.9.9.9"))[0].body)
    foreign["metadata"]["labels"] = {"team": "theirs"}
    kube_api.put_object(foreign)
    other_owner = copy.deepcopy(render("a", service("api", "10.9.9.8"))[0].body)
    other_owner["metadata"]["labels"]["syncd.io/owner"] = "other"
    kube_api.put_object(other_owner)

    assert target.list_owned(OWNER) == []
    changes = plan([AdapterState("a", True, render("a", service("web", "10.0.0.1")))], [], owner=OWNER)
    result = target.apply(changes)
    assert not result.ok and "left alone" in result.failed[0][1]
    assert kube_api.get_object("serviceentries", NAMESPACE, "a-web")["spec"]["endpoints"] == [
        {"address": "10.9.9.9"}
    ]
    sync(target)  # nothing desired: must not delete either foreign object
    assert len(kube_api.objects("serviceentries", NAMESPACE)) == 2


def test_update_conflict_is_retried_on_a_fresh_read(
    target: KubernetesTarget, kube_api: KubeApiEmulator
) -> None:
    sync(target, service("web", "10.0.0.1"))
    owned = target.list_owned(OWNER)
    bumped = copy.deepcopy(owned[0])
    bumped["metadata"]["annotations"]["note"] = "touched by a human"
    kube_api.put_object(bumped)  # the resourceVersion we hold is now stale
    changes = plan([AdapterState("a", True, render("a", service("web", "10.0.0.2")))], owned, owner=OWNER)
    result = target.apply(changes)
    assert result.ok, result.failed
    assert kube_api.get_object("serviceentries", NAMESPACE, "a-web")["spec"]["endpoints"] == [
        {"address": "10.0.0.2"}
    ]


def test_stale_list_create_adopts_own_object(target: KubernetesTarget, kube_api: KubeApiEmulator) -> None:
    sync(target, service("web", "10.0.0.1"))
    changes = plan([AdapterState("a", True, render("a", service("web", "10.0.0.5")))], [], owner=OWNER)
    assert target.apply(changes).ok
    assert kube_api.get_object("serviceentries", NAMESPACE, "a-web")["spec"]["endpoints"] == [
        {"address": "10.0.0.5"}
    ]


def test_delete_is_pinned_to_the_listed_uid(target: KubernetesTarget, kube_api: KubeApiEmulator) -> None:
    sync(target, service("web", "10.0.0.1"))
    owned = target.list_owned(OWNER)
    kube_api.delete_object("serviceentries", NAMESPACE, "a-web")
    impostor = copy.deepcopy(render("a", service("web", "10.9.9.9"))[0].body)
    impostor["metadata"]["labels"] = {"team": "theirs"}
    kube_api.put_object(impostor)
    changes = plan([AdapterState("a", True, ())], owned, owner=OWNER, force=True)
    result = target.apply(changes)
    assert not result.ok
    assert kube_api.get_object("serviceentries", NAMESPACE, "a-web") is not None


def test_converges_through_injected_faults(target: KubernetesTarget, kube_api: KubeApiEmulator) -> None:
    kube_api.set_faults(0.2, kinds=("409", "429", "500", "reset"), seed=7, retry_after=0)
    services = [service(f"svc{i}", f"10.0.1.{i}") for i in range(30)]
    for _ in range(5):
        changes = plan(
            [AdapterState("a", True, render("a", *services))], target.list_owned(OWNER), owner=OWNER
        )
        if not changes:
            break
        target.apply(changes)
    assert kube_api.faults_injected > 0
    kube_api.clear_faults()
    assert not plan([AdapterState("a", True, render("a", *services))], target.list_owned(OWNER), owner=OWNER)
    assert len(kube_api.objects("serviceentries", NAMESPACE)) == 30


def test_pagination_lists_everything(target: KubernetesTarget, kube_api: KubeApiEmulator) -> None:
    for obj in render("a", *[service(f"s{i}", "10.0.0.1") for i in range(1203)]):
        kube_api.put_object(obj.body)
    assert len(target.list_owned(OWNER)) == 1203
    assert kube_api.counts()["list"] == 3


def test_missing_crd_or_unreachable_api_is_a_target_error(tmp_path: Path) -> None:
    from syncd.targets import TargetError

    with KubeApiEmulator() as api:
        config = api.write_kubeconfig(tmp_path / "kc")
    dead = KubernetesTarget(
        api_client(config), NAMESPACE, backoff=Backoff(retries=1, base=0.01), request_timeout=2
    )
    with pytest.raises(TargetError, match="cannot list ServiceEntry"):
        dead.list_owned(OWNER)
