"""WorkloadEntries in the plan: endpoint churn never trips the delete guard; vanished services do."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from syncd.model import Endpoint, Protocol, Service, ServicePort
from syncd.plan import AdapterState, plan
from syncd.render import Desired, RenderSettings, render_snapshot
from tests.factories import NAMESPACE, OWNER, as_owned, snapshot


def svc(name: str, endpoints: int, *, first: int = 0) -> Service:
    return Service(
        name=name,
        hosts=(f"{name}.example.com",),
        ports=(ServicePort(80, Protocol.HTTP),),
        endpoints=tuple(
            Endpoint(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}") for i in range(first, endpoints)
        ),
    )


def render(*services: Service) -> tuple[Desired, ...]:
    settings = RenderSettings(OWNER, NAMESPACE, endpoint_mode="workloadentry")
    rendered = render_snapshot(snapshot("reg", *services), settings)
    assert not rendered.refused
    return rendered.objects


def kinds(changes: tuple) -> dict[str, int]:
    out: dict[str, int] = {}
    for change in changes:
        out[change.kind] = out.get(change.kind, 0) + 1
    return out


@dataclass(frozen=True)
class Case:
    id: str
    before: tuple[Service, ...]
    after: tuple[Service, ...]
    deletes: dict[str, int]  # kind → deleted objects
    refused: tuple[int, int] | None = None  # (counted deletes, counted total) of the refusal


BIG = svc("big", 2000)
CASES = [
    Case(
        "half the endpoints go", (BIG, svc("a", 1)), (svc("big", 1000), svc("a", 1)), {"WorkloadEntry": 1000}
    ),
    Case("every endpoint goes", (BIG,), (svc("big", 0),), {"WorkloadEntry": 2000}),
    Case(
        "one of three services goes, with its endpoints",
        (BIG, svc("a", 1), svc("b", 1)),
        (svc("a", 1), svc("b", 1)),
        {"ServiceEntry": 1, "WorkloadEntry": 2000},
    ),
    Case(
        "two of three small services go: refused though they are few objects",
        (BIG, svc("a", 1), svc("b", 1)),
        (BIG,),
        {},
        refused=(2, 3),
    ),
    Case(
        "the big service and another go: refused, its endpoints withheld too",
        (BIG, svc("a", 1), svc("b", 1)),
        (svc("b", 1),),
        {},
        refused=(2, 3),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_delete_guard_counts_services_not_endpoints(case: Case) -> None:
    owned = [as_owned(o) for o in render(*case.before)]
    state = AdapterState("reg", True, render(*case.after))
    changes = plan([state], owned, owner=OWNER, max_delete_percent=50)
    assert kinds(changes.delete) == case.deletes
    assert changes.create == () and changes.update == ()
    if case.refused is None:
        assert changes.refusals == ()
    else:
        [refusal] = changes.refusals
        assert (refusal.deletes, refusal.owned) == case.refused


def test_endpoint_deletes_of_a_present_service_say_why() -> None:
    owned = [as_owned(o) for o in render(svc("big", 10))]
    changes = plan([AdapterState("reg", True, render(svc("big", 5)))], owned, owner=OWNER)
    assert {c.reason for c in changes.delete} == {
        "no longer rendered for this service (config or hosts changed)"
    }


def test_orphaned_workload_entries_are_counted_when_nothing_else_is_owned() -> None:
    # Their ServiceEntry was deleted by hand and the service is gone: only endpoint objects remain.
    orphans = [as_owned(o) for o in render(svc("big", 10)) if o.kind == "WorkloadEntry"]
    changes = plan([AdapterState("reg", True, ())], orphans, owner=OWNER, max_delete_percent=50)
    [refusal] = changes.refusals
    assert (refusal.deletes, refusal.owned) == (10, 10)
    forced = plan([AdapterState("reg", True, ())], orphans, owner=OWNER, force=True)
    assert len(forced.delete) == 10


def test_new_endpoints_are_creates_for_a_synced_service() -> None:
    owned = [as_owned(o) for o in render(svc("big", 3))]
    changes = plan([AdapterState("reg", True, render(svc("big", 5)))], owned, owner=OWNER)
    assert [c.name for c in changes.create] == ["reg-big-10-0-0-3", "reg-big-10-0-0-4"]
    assert {c.reason for c in changes.create} == {"new for a synced service"}
    assert changes.update == () and changes.delete == ()


def test_failed_adapter_keeps_its_workload_entries() -> None:
    owned = [as_owned(o) for o in render(svc("big", 5))]
    changes = plan([AdapterState("reg", False, ())], owned, owner=OWNER)
    assert not changes.delete and not changes.refusals


def test_entries_are_deleted_before_their_workload_entries() -> None:
    owned = [as_owned(o) for o in render(svc("big", 2), svc("a", 1), svc("b", 1))]
    changes = plan([AdapterState("reg", True, render(svc("a", 1), svc("b", 1)))], owned, owner=OWNER)
    assert [c.kind for c in changes.delete] == ["ServiceEntry", "WorkloadEntry", "WorkloadEntry"]
