"""Endpoints as WorkloadEntries: valid objects, 20,000 endpoints, stable names, one change = one object."""

from __future__ import annotations

import time

import pytest

from syncd.model import Endpoint, Protocol, Resolution, Service, ServicePort
from syncd.render import Desired, Rendered, RenderMemo, RenderSettings, render_snapshot
from syncd.render.validate import validate_manifest
from syncd.render.workload_entry import SELECTOR_LABEL
from tests.factories import NAMESPACE, OWNER, snapshot


def ip(i: int) -> str:
    return f"10.{i // 65536}.{i // 256 % 256}.{i % 256}"


def big(n: int, *, name: str = "big", change: int | None = None) -> Service:
    endpoints = [Endpoint(ip(i)) for i in range(n)]
    if change is not None:
        endpoints[change] = Endpoint("192.168.0.1")
    return Service(
        name=name,
        hosts=(f"{name}.example.com",),
        ports=(ServicePort(80, Protocol.HTTP), ServicePort(9090, Protocol.GRPC)),
        endpoints=tuple(endpoints),
    )


def render(*services: Service, mode: str = "workloadentry") -> Rendered:
    settings = RenderSettings(OWNER, NAMESPACE, endpoint_mode=mode)  # type: ignore[arg-type]
    return render_snapshot(snapshot("reg", *services), settings)


def of_kind(rendered: Rendered, kind: str) -> list[Desired]:
    return [o for o in rendered.objects if o.kind == kind]


def test_entry_selects_its_workload_entries() -> None:
    svc = Service(
        name="pay",
        hosts=("pay.example.com",),
        ports=(ServicePort(80, Protocol.HTTP), ServicePort(443, Protocol.HTTPS)),
        endpoints=(
            Endpoint("10.0.0.2", ports={80: 8080}, labels={"version": "v2"}, locality="eu/west-1/a"),
            Endpoint("10.0.0.1", weight=5, network="net-1"),
            Endpoint("fd00::1"),
        ),
    )
    rendered = render(svc)
    assert not rendered.refused and not rendered.dropped
    [entry] = of_kind(rendered, "ServiceEntry")
    assert entry.body["spec"]["resolution"] == "STATIC"
    assert entry.body["spec"]["workloadSelector"] == {"labels": {SELECTOR_LABEL: "reg-pay"}}
    assert "endpoints" not in entry.body["spec"]
    workloads = of_kind(rendered, "WorkloadEntry")
    assert [w.name for w in workloads] == ["reg-pay-10-0-0-1", "reg-pay-10-0-0-2-8080", "reg-pay-fd00-1"]
    assert workloads[1].body["spec"] == {
        "address": "10.0.0.2",
        "ports": {"http-80": 8080, "https-443": 443},
        "labels": {SELECTOR_LABEL: "reg-pay", "version": "v2"},
        "locality": "eu/west-1/a",
    }
    assert workloads[0].body["spec"]["weight"] == 5
    assert workloads[0].body["spec"]["network"] == "net-1"
    for obj in rendered.objects:
        assert validate_manifest(obj.body) == [], obj.name
        meta = obj.body["metadata"]
        assert meta["labels"]["syncd.io/adapter"] == "reg"
        assert meta["annotations"]["syncd.io/service"] == "pay"
        assert meta["namespace"] == NAMESPACE


def test_selector_label_from_the_registry_is_replaced() -> None:
    svc = Service(
        name="web",
        hosts=("web.example.com",),
        ports=(ServicePort(80, Protocol.HTTP),),
        endpoints=(Endpoint("10.0.0.1", labels={SELECTOR_LABEL: "someone-else"}),),
    )
    rendered = render(svc)
    [workload] = of_kind(rendered, "WorkloadEntry")
    assert workload.body["spec"]["labels"] == {SELECTOR_LABEL: "reg-web"}
    assert [d.what for d in rendered.dropped] == [f"endpoint 10.0.0.1 label {SELECTOR_LABEL}"]


def test_dns_service_keeps_its_endpoints_inline() -> None:
    svc = Service(
        name="ext",
        hosts=("ext.example.com",),
        ports=(ServicePort(443, Protocol.TLS),),
        endpoints=(Endpoint("a.example.net"), Endpoint("b.example.net")),
        resolution=Resolution.DNS,
    )
    rendered = render(svc)
    [entry] = rendered.objects
    assert len(entry.body["spec"]["endpoints"]) == 2
    assert validate_manifest(entry.body) == []


def test_twenty_thousand_endpoints() -> None:
    started = time.monotonic()
    rendered = render(big(20_000))
    elapsed = time.monotonic() - started
    assert not rendered.refused
    entries, workloads = of_kind(rendered, "ServiceEntry"), of_kind(rendered, "WorkloadEntry")
    assert len(entries) == 1 and len(workloads) == 20_000
    assert len({w.name for w in workloads}) == 20_000
    assert validate_manifest(entries[0].body) == []
    for workload in workloads[::97] + workloads[-3:]:  # every shape is the same; a sample suffices
        assert validate_manifest(workload.body) == [], workload.name
    assert all(len(w.name) <= 63 for w in workloads)
    assert elapsed < 20


def test_one_endpoint_change_changes_one_workload_entry() -> None:
    before = {o.key: o.content_hash for o in render(big(5000)).objects}
    after = {o.key: o.content_hash for o in render(big(5000, change=1234)).objects}
    removed = before.keys() - after.keys()
    added = after.keys() - before.keys()
    changed = {k for k in before.keys() & after.keys() if before[k] != after[k]}
    assert removed == {("WorkloadEntry", "reg-big-10-0-4-210")}
    assert added == {("WorkloadEntry", "reg-big-192-168-0-1")}
    assert changed == set()  # the ServiceEntry does not list endpoints, so it stays as it was


def test_one_endpoint_port_change_updates_one_workload_entry_in_place() -> None:
    svc = big(100)
    moved = Endpoint(ip(7), ports={80: 8080})
    changed_svc = Service(svc.name, svc.hosts, svc.ports, (*svc.endpoints[:7], moved, *svc.endpoints[8:]))
    before = {o.key: o.content_hash for o in render(svc).objects}
    after = {o.key: o.content_hash for o in render(changed_svc).objects}
    assert before.keys() - after.keys() == {("WorkloadEntry", "reg-big-10-0-0-7")}
    assert after.keys() - before.keys() == {("WorkloadEntry", "reg-big-10-0-0-7-8080")}


@pytest.mark.parametrize(
    ("count", "mode", "workloads"),
    [
        (4096, "auto", 0),
        (4097, "auto", 4097),
        (10, "auto", 0),
        (0, "auto", 0),
        (10, "workloadentry", 10),
        (0, "workloadentry", 0),
        (10, "inline", 0),
    ],
)
def test_auto_switches_above_the_inline_limit(count: int, mode: str, workloads: int) -> None:
    rendered = render(big(count), mode=mode)
    assert not rendered.refused
    [entry] = of_kind(rendered, "ServiceEntry")
    assert len(of_kind(rendered, "WorkloadEntry")) == workloads
    selected = mode == "workloadentry" or workloads > 0
    assert ("workloadSelector" in entry.body["spec"]) is selected
    assert ("endpoints" in entry.body["spec"]) is not selected
    assert validate_manifest(entry.body) == []


def test_inline_mode_still_refuses_too_many_endpoints() -> None:
    rendered = render(big(4097), mode="inline")
    [refused] = rendered.refused
    assert "endpoint_mode: auto" in refused.reason
    assert rendered.objects == ()


def test_names_stay_unique_when_sanitised_names_collide() -> None:
    ports = (ServicePort(80, Protocol.HTTP),)
    # "x" + 10.0.0.1 on port 8 and "x-10" + 0.0.1.8 both sanitise to reg-x-10-0-0-1-8.
    one = Service("x", ("x.example.com",), ports, (Endpoint("10.0.0.1", ports={80: 8}),))
    two = Service("x-10", ("y.example.com",), ports, (Endpoint("0.0.1.8"),))
    rendered = render(one, two)
    names = [w.name for w in of_kind(rendered, "WorkloadEntry")]
    assert names[0] == "reg-x-10-0-0-1-8"
    assert names[1].startswith("reg-x-10-0-0-1-8-") and len(names[1]) == len("reg-x-10-0-0-1-8") + 9
    assert names == [w.name for w in of_kind(render(one, two), "WorkloadEntry")]  # stable
    for obj in rendered.objects:
        assert validate_manifest(obj.body) == [], obj.name


# -- memo: one endpoint changed re-renders one WorkloadEntry -------------------------------------


def render_with(memo: RenderMemo, *services: Service) -> Rendered:
    settings = RenderSettings(OWNER, NAMESPACE, endpoint_mode="workloadentry")
    return render_snapshot(snapshot("reg", *services), settings, memo)


def test_memo_rebuilds_only_the_workload_entry_of_the_changed_endpoint() -> None:
    memo = RenderMemo()
    first = {o.name: o for o in of_kind(render_with(memo, big(2000)), "WorkloadEntry")}
    render_with(memo, big(2000))  # unchanged: the entry is reused, its endpoints are kept too
    changed = render_with(memo, big(2000, change=7))
    fresh = [o.name for o in of_kind(changed, "WorkloadEntry") if first.get(o.name) is not o]
    assert fresh == ["reg-big-192-168-0-1"]
    assert changed == render(big(2000, change=7))  # the memo never changes what render gives


def test_memo_gives_what_render_gives_when_names_collide_and_come_free_again() -> None:
    """`x` at 10.0.0.1 and `x-10-0` at 0::1 both want WorkloadEntry `reg-x-10-0-0-1`."""
    ports = (ServicePort(80, Protocol.HTTP),)
    x = Service("x", ("x.example.com",), ports, (Endpoint("10.0.0.1"),))
    x10 = Service("x-10-0", ("x10.example.com",), ports, (Endpoint("0::1"),))
    memo = RenderMemo()
    for services in ([x10], [x, x10], [x10], [x], [x, x10], [x10], [x10, x]):
        with_memo = render_with(memo, *services)
        assert with_memo == render(*services)
        names = [o.name for o in with_memo.objects if o.kind == "WorkloadEntry"]
        assert len(names) == len(set(names)) == len(services)


def test_memo_follows_a_change_of_hosts_with_the_same_endpoints() -> None:
    """The hosts are not in a WorkloadEntry's body, but plan weighs conflicts by them."""
    memo = RenderMemo()
    render_with(memo, big(50))
    moved = Service("big", ("moved.example.com",), big(50).ports, big(50).endpoints)
    workloads = of_kind(render_with(memo, moved), "WorkloadEntry")
    assert {w.hosts for w in workloads} == {("moved.example.com",)}
