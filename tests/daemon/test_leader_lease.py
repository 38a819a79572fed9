"""Leader election against the emulator's coordination.k8s.io/v1 Leases, stepped by a fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from syncd.config import LeaderElectionConfig
from syncd.daemon.guard import LeaderOnlyTarget
from syncd.daemon.leader import LeaderElector
from syncd.plan import AdapterState, plan
from syncd.targets import DirectoryTarget
from syncd.targets.kubernetes import api_client
from tests.emulators.kube_api import KubeApiEmulator
from tests.factories import NAMESPACE, OWNER, render, service

pytestmark = pytest.mark.timeout(30)
SETTINGS = LeaderElectionConfig(lease_duration=15, renew_deadline=10, retry_period=2)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def electors(kubeconfig: Path, clock: Clock) -> Iterator[list[LeaderElector]]:
    made: list[LeaderElector] = []
    yield made
    for elector in made:
        elector.stop(release=False)


def candidate(name: str, kubeconfig: Path, clock: Clock, made: list[LeaderElector]) -> LeaderElector:
    elector = LeaderElector(api_client(kubeconfig), SETTINGS, NAMESPACE, identity=name, clock=clock)
    made.append(elector)
    return elector


def lease(api: KubeApiEmulator) -> dict:
    found = api.get_object("leases", NAMESPACE, "syncd")
    assert found is not None
    return found["spec"]


def test_one_leader_then_takeover_after_the_lease_runs_out(
    kube_api: KubeApiEmulator, kubeconfig: Path, clock: Clock, electors: list[LeaderElector]
) -> None:
    a, b = candidate("a", kubeconfig, clock, electors), candidate("b", kubeconfig, clock, electors)
    a.step()
    b.step()
    assert a.is_leader() and not b.is_leader() and b.following()
    spec = lease(kube_api)
    assert (
        spec["holderIdentity"] == "a" and spec["leaseDurationSeconds"] == 15 and spec["leaseTransitions"] == 0
    )

    for _ in range(3):  # a renews every retry period; b keeps seeing a fresh record
        clock.now += 5
        a.step()
        b.step()
        assert a.is_leader() and not b.is_leader()

    clock.now += 10  # a stops renewing (say it hangs): it stops leading after renew_deadline...
    assert not a.is_leader()
    b.step()
    assert not b.is_leader()  # ...but b waits out the whole lease on its own clock
    clock.now += 5
    b.step()
    assert b.is_leader()
    spec = lease(kube_api)
    assert spec["holderIdentity"] == "b" and spec["leaseTransitions"] == 1
    a.step()  # a comes back: it sees b's lease and follows
    assert not a.is_leader() and a.following()


def test_the_leader_renews_without_reading_first(
    kube_api: KubeApiEmulator, kubeconfig: Path, clock: Clock, electors: list[LeaderElector]
) -> None:
    a = candidate("a", kubeconfig, clock, electors)
    a.step()
    kube_api.reset_counts()
    clock.now += 2
    a.step()
    counts = kube_api.counts()
    assert counts["update"] == 1 and counts["get"] == 0


def test_a_lost_race_rereads_and_follows(
    kube_api: KubeApiEmulator, kubeconfig: Path, clock: Clock, electors: list[LeaderElector]
) -> None:
    a = candidate("a", kubeconfig, clock, electors)
    a.step()
    stolen = kube_api.get_object("leases", NAMESPACE, "syncd")
    assert stolen is not None
    stolen["spec"]["holderIdentity"] = "intruder"
    kube_api.put_object(stolen)  # resourceVersion moves on: a's next renew gets 409
    clock.now += 2
    a.step()  # 409 on the fast path, then a read: someone else holds it, a stops at once
    assert not a.is_leader() and a.following()
    clock.now += 9
    a.step()
    assert not a.is_leader() and a.following()
    assert lease(kube_api)["holderIdentity"] == "intruder"


def test_release_clears_the_holder_so_a_follower_takes_over_at_once(
    kube_api: KubeApiEmulator, kubeconfig: Path, clock: Clock, electors: list[LeaderElector]
) -> None:
    a, b = candidate("a", kubeconfig, clock, electors), candidate("b", kubeconfig, clock, electors)
    a.step()
    b.step()
    assert a.release() and not a.is_leader()
    spec = lease(kube_api)
    assert spec["holderIdentity"] == "" and spec["leaseDurationSeconds"] == 1
    clock.now += 2
    b.step()
    assert b.is_leader() and lease(kube_api)["holderIdentity"] == "b"
    assert not a.release()  # not ours any more: nothing to release


def test_only_the_leader_writes(tmp_path: Path) -> None:
    leading = [True, False]
    target = LeaderOnlyTarget(DirectoryTarget(tmp_path), lambda: leading.pop(0))
    desired = render("a", service("web", "10.0.0.1"), service("api", "10.0.0.2"))
    changes = plan([AdapterState("a", True, desired)], [], owner=OWNER)
    result = target.apply(changes)
    assert [c.name for c in result.done] == ["a-api"]
    assert [(c.name, why) for c, why in result.failed] == [("a-web", "not the leader any more: not written")]
    assert [p.name for p in tmp_path.iterdir()] == ["serviceentry-a-api.yaml"]


def test_leadership_is_checked_before_each_batch(tmp_path: Path) -> None:
    leading = [True, False]
    target = LeaderOnlyTarget(DirectoryTarget(tmp_path), lambda: leading.pop(0), batch=2)
    desired = render("a", service("web", "10.0.0.1"), service("api", "10.0.0.2"), service("db", "10.0.0.3"))
    result = target.apply(plan([AdapterState("a", True, desired)], [], owner=OWNER))
    assert sorted(c.name for c in result.done) == ["a-api", "a-db"]
    assert [c.name for c, _ in result.failed] == ["a-web"]
