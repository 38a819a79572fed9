"""Property-based: whatever a registry sends, every rendered object passes the CRD schema and Istio's
rules, or the bad part is dropped (and counted) or the service refused; render never crashes."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncd.model import Endpoint, Location, Protocol, Resolution, Service, ServicePort, Snapshot
from syncd.render import RenderSettings, render_snapshot
from syncd.render.validate import validate_manifest

SETTINGS = RenderSettings(owner="syncd", namespace="istio-system")

texts = st.text(min_size=0, max_size=80)
names = st.one_of(texts, st.from_regex(r"[a-z][a-z0-9-]{0,20}(\.[a-z]{2,6}){1,3}", fullmatch=True))
ipv4 = st.builds(lambda *o: ".".join(map(str, o)), *[st.integers(0, 300)] * 4)
ipv6 = st.ip_addresses(v=6).map(str)
addresses = st.one_of(ipv4, ipv6, names, st.just(""), st.just("unix:///var/run/x.sock"))
ports = st.integers(-5, 70000)
label_maps = st.dictionaries(texts, texts, max_size=6)

endpoints = st.builds(
    Endpoint,
    address=addresses,
    ports=st.dictionaries(ports, ports, max_size=3),
    labels=label_maps,
    locality=st.one_of(st.none(), texts, st.just("x" * 3000)),
    weight=st.one_of(st.none(), st.integers(-10, 2**33)),
    network=st.one_of(st.none(), texts),
)
services = st.builds(
    Service,
    name=texts,
    hosts=st.lists(st.one_of(names, st.just("*"), st.just("*.wild.example.com")), max_size=4).map(tuple),
    ports=st.lists(st.builds(ServicePort, ports, st.sampled_from(Protocol)), max_size=4).map(tuple),
    endpoints=st.lists(endpoints, max_size=6).map(tuple),
    location=st.one_of(st.none(), st.sampled_from(Location)),
    resolution=st.one_of(st.none(), st.sampled_from(Resolution)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(services, max_size=3))
def test_every_rendered_object_is_valid_or_the_record_is_accounted_for(batch: list[Service]) -> None:
    rendered = render_snapshot(Snapshot("hostile", tuple(batch)), SETTINGS)
    for obj in rendered.objects:
        assert validate_manifest(obj.body) == [], obj.body
    names_out = {o.name for o in rendered.objects}
    assert len(names_out) == len(rendered.objects)
    accounted = {o.service for o in rendered.objects} | {r.service for r in rendered.refused}
    accounted |= {d.service for d in rendered.dropped if d.what == "service"}
    assert {s.name for s in batch} <= accounted


def test_ten_thousand_endpoints_with_duplicates_is_refused_cleanly() -> None:
    eps = tuple(Endpoint(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}") for i in range(10_000))
    svc = Service("huge", ("huge.example.com",), (ServicePort(80, Protocol.HTTP),), eps + eps[:100])
    rendered = render_snapshot(Snapshot("a", (svc,)), SETTINGS)
    assert not rendered.objects and "10000 endpoints exceed" in rendered.refused[0].reason


def test_duplicate_instances_collapse_to_one_endpoint() -> None:
    svc = Service("dup", ("dup.example.com",), (ServicePort(80),), (Endpoint("10.0.0.1"),) * 50)
    (obj,) = render_snapshot(Snapshot("a", (svc,)), SETTINGS).objects
    assert obj.body["spec"]["endpoints"] == [{"address": "10.0.0.1"}]
