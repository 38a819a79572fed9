"""Rendering a service into a ServiceEntry: contract metadata, ports, resolution, validity, stability."""

from __future__ import annotations

import pytest

from syncd.model import Endpoint, Location, Protocol, Resolution, Service, ServicePort, common_port_endpoints
from syncd.render import RenderSettings, content_hash, render_snapshot
from syncd.render.validate import validate_manifest
from tests.factories import NAMESPACE, OWNER, service, snapshot

SETTINGS = RenderSettings(owner=OWNER, namespace=NAMESPACE)


def render_one(svc: Service, settings: RenderSettings = SETTINGS) -> dict:
    rendered = render_snapshot(snapshot("consul-dc1", svc), settings)
    assert not rendered.refused, rendered.refused
    body = rendered.objects[0].body
    assert validate_manifest(body) == []
    return body


def test_contract_labels_annotations_and_name() -> None:
    body = render_one(service("web", "10.0.0.1"))
    meta = body["metadata"]
    assert body["apiVersion"] == "networking.istio.io/v1" and body["kind"] == "ServiceEntry"
    assert meta["name"] == "consul-dc1-web" and meta["namespace"] == NAMESPACE
    assert meta["labels"] == {
        "app.kubernetes.io/managed-by": "syncd",
        "syncd.io/owner": OWNER,
        "syncd.io/adapter": "consul-dc1",
    }
    assert meta["annotations"]["syncd.io/content-hash"] == content_hash(body["spec"])
    assert meta["annotations"]["syncd.io/service"] == "web"


def test_ports_are_named_protocol_number_and_resolution_static_for_ips() -> None:
    spec = render_one(service("web", "10.0.0.2", "10.0.0.1", port=8443, protocol=Protocol.HTTPS))["spec"]
    assert spec["ports"] == [{"number": 8443, "protocol": "HTTPS", "name": "https-8443"}]
    assert spec["resolution"] == "STATIC" and spec["location"] == "MESH_EXTERNAL"
    assert [e["address"] for e in spec["endpoints"]] == ["10.0.0.1", "10.0.0.2"]


def test_hostnames_give_dns_resolution() -> None:
    spec = render_one(service("legacy", "mf-1.corp.example.com", "mf-2.corp.example.com"))["spec"]
    assert spec["resolution"] == "DNS"


def test_different_instance_ports_keep_one_service_port_and_per_endpoint_maps() -> None:
    port, endpoints = common_port_endpoints(
        Protocol.HTTP,
        [(Endpoint("10.0.0.1"), 8080), (Endpoint("10.0.0.2"), 8080), (Endpoint("10.0.0.3"), 9000)],
    ) or (None, ())
    assert port == ServicePort(8080, Protocol.HTTP)
    svc = Service("web", ("web.example.com",), (port,), endpoints)
    spec = render_one(svc)["spec"]
    assert spec["ports"] == [{"number": 8080, "protocol": "HTTP", "name": "http-8080"}]
    assert spec["endpoints"][2] == {"address": "10.0.0.3", "ports": {"http-8080": 9000}}
    assert "ports" not in spec["endpoints"][0]


def test_output_is_deterministic_whatever_the_input_order() -> None:
    eps = [Endpoint("10.0.0.3", labels={"b": "2", "a": "1"}), Endpoint("10.0.0.1"), Endpoint("10.0.0.2")]
    one = Service("web", ("b.example.com", "a.example.com"), (ServicePort(80, Protocol.HTTP),), eps)
    two = Service("web", ("a.example.com", "b.example.com"), (ServicePort(80, Protocol.HTTP),), eps[::-1])
    assert render_one(one) == render_one(two)


def test_location_and_export_to_from_settings_and_service_override() -> None:
    settings = RenderSettings(
        owner=OWNER, namespace=NAMESPACE, location=Location.MESH_INTERNAL, export_to=(".",)
    )
    spec = render_one(service("web", "10.0.0.1"), settings)["spec"]
    assert spec["location"] == "MESH_INTERNAL" and spec["exportTo"] == ["."]
    svc = Service(
        "web",
        ("web.example.com",),
        (ServicePort(80),),
        (Endpoint("10.0.0.1"),),
        location=Location.MESH_EXTERNAL,
    )
    assert render_one(svc, settings)["spec"]["location"] == "MESH_EXTERNAL"


def test_no_endpoints_stays_static_with_an_empty_list() -> None:
    spec = render_one(service("web"))["spec"]
    assert spec["resolution"] == "STATIC" and spec["endpoints"] == []


def test_invalid_parts_are_dropped_and_reported() -> None:
    svc = Service(
        "web",
        ("web.example.com", "bad host!", "*"),
        (ServicePort(80, Protocol.HTTP), ServicePort(0, Protocol.TCP), ServicePort(80, Protocol.TCP)),
        (
            Endpoint("10.0.0.1", labels={"ok": "yes", "bad key!": "x"}),
            Endpoint("999.1.1.1"),
            Endpoint("10.0.0.2", ports={80: 70000}),
            Endpoint("10.0.0.3", weight=0),
            Endpoint("10.0.0.1", labels={"ok": "yes", "bad key!": "x"}),
        ),
    )
    rendered = render_snapshot(snapshot("a", svc), SETTINGS)
    body = rendered.objects[0].body
    assert validate_manifest(body) == []
    assert body["spec"]["hosts"] == ["web.example.com"]
    assert [e["address"] for e in body["spec"]["endpoints"]] == ["10.0.0.1", "10.0.0.3"]
    assert body["spec"]["endpoints"][0]["labels"] == {"ok": "yes"}
    whats = sorted(d.what.split(" ")[0] for d in rendered.dropped)
    assert whats == [
        "endpoint",
        "endpoint",
        "endpoint",
        "endpoint",
        "endpoint",
        "host",
        "host",
        "port",
        "port",
    ]


def test_static_resolution_drops_hostname_endpoints_and_none_has_no_endpoints() -> None:
    static = Service(
        "s",
        ("s.example.com",),
        (ServicePort(80),),
        (Endpoint("10.0.0.1"), Endpoint("h.example.com")),
        resolution=Resolution.STATIC,
    )
    assert [e["address"] for e in render_one(static)["spec"]["endpoints"]] == ["10.0.0.1"]
    none = Service(
        "n", ("n.example.com",), (ServicePort(80),), (Endpoint("10.0.0.1"),), resolution=Resolution.NONE
    )
    assert "endpoints" not in render_one(none)["spec"]


@pytest.mark.parametrize(
    ("svc", "reason"),
    [
        (
            Service(
                "big",
                ("big.example.com",),
                (ServicePort(80),),
                tuple(Endpoint(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}") for i in range(4097)),
            ),
            "4096",
        ),
        (
            Service("multi", ("a.example.com", "b.example.com"), (ServicePort(5432, Protocol.TCP),)),
            "several hosts",
        ),
        (Service("nohost", ("not a host",), (ServicePort(80),)), "no valid host"),
        (Service("noport", ("p.example.com",), (ServicePort(0),)), "no valid port"),
    ],
)
def test_services_that_cannot_be_valid_are_refused_not_emitted(svc: Service, reason: str) -> None:
    rendered = render_snapshot(snapshot("a", svc), SETTINGS)
    assert not rendered.objects
    assert reason in rendered.refused[0].reason


def test_exactly_4096_endpoints_is_fine() -> None:
    svc = Service(
        "big",
        ("big.example.com",),
        (ServicePort(80),),
        tuple(Endpoint(f"10.0.{i // 256}.{i % 256}") for i in range(4096)),
    )
    assert len(render_one(svc)["spec"]["endpoints"]) == 4096


def test_colliding_names_get_distinct_hashed_names() -> None:
    rendered = render_snapshot(
        snapshot(
            "a",
            service("web.a", "10.0.0.1", host="x.example.com"),
            service("web-a", "10.0.0.2", host="y.example.com"),
        ),
        SETTINGS,
    )
    names = [o.name for o in rendered.objects]
    assert len(set(names)) == 2 and "a-web-a" in names


def test_service_without_instances_or_ports_is_left_out_not_refused() -> None:
    rendered = render_snapshot(snapshot("a", Service("idle", ("idle.example.com",), ())), SETTINGS)
    assert not rendered.objects and not rendered.refused
    assert [d.reason for d in rendered.dropped] == ["no instances and no port known"]


def test_memo_reuses_unchanged_services_and_gives_equal_results() -> None:
    from syncd.render import RenderMemo

    memo = RenderMemo()
    web, api = service("web", "10.0.0.1"), service("api", "10.0.0.2")
    first = render_snapshot(snapshot("a", web, api), SETTINGS, memo)
    changed = service("api", "10.0.0.3")
    second = render_snapshot(snapshot("a", web, changed), SETTINGS, memo)
    assert second.objects[1] is first.objects[1]  # web: reused (sorted: api, web)
    assert second.objects[0] is not first.objects[0]
    assert second == render_snapshot(snapshot("a", web, changed), SETTINGS)
