"""What the adapter reports renders into ServiceEntries a cluster accepts (validate_manifest)."""

from __future__ import annotations

from typing import Any

from syncd.model import Snapshot
from syncd.render import RenderSettings, render_snapshot
from syncd.render.validate import validate_manifest
from tests.adapters.dns.expect import MakeAdapter
from tests.servers.bind import BindServer

SRV = "_http._tcp.web"


def render(snapshot: Snapshot) -> dict[str, dict[str, Any]]:
    """Service name → spec, each manifest checked against Istio's schema and istiod's rules."""
    rendered = render_snapshot(snapshot, RenderSettings(owner="test", namespace="istio-system"))
    assert rendered.refused == ()
    specs = {}
    for desired in rendered.objects:
        assert validate_manifest(desired.body) == [], desired.body
        specs[desired.service] = desired.body["spec"]
    return specs


def test_weighted_dual_stack_endpoints_with_port_maps(bind: BindServer, make_adapter: MakeAdapter) -> None:
    bind.add_a("web1", "10.0.0.1")
    bind.add_aaaa("web1", "fd00::1")
    bind.add_aaaa("web6", "fd00::6")
    bind.add_srvs(SRV, [(10, 0, 8080, "web1"), (10, 30, 9090, "web6")])

    spec = render(make_adapter(address_family="both").discover())["web.example.test"]

    assert spec["resolution"] == "STATIC"
    assert spec["ports"] == [{"number": 8080, "protocol": "HTTP", "name": "http-8080"}]
    assert spec["endpoints"] == [
        {"address": "10.0.0.1", "weight": 1},  # weight 0 counts 1, split over 2 addresses
        {"address": "fd00::1", "weight": 1},
        {"address": "fd00::6", "ports": {"http-8080": 9090}, "weight": 60},
    ]


def test_host_name_endpoints_use_dns_resolution(bind: BindServer, make_adapter: MakeAdapter) -> None:
    bind.add_srvs(SRV, [(10, 0, 8080, "web1"), (10, 0, 8080, "web2")])

    spec = render(make_adapter(resolve_targets=False).discover())["web.example.test"]

    assert spec["resolution"] == "DNS"
    assert [ep["address"] for ep in spec["endpoints"]] == ["web1.example.test", "web2.example.test"]


def test_a_service_without_endpoints_is_an_empty_static_entry(
    bind: BindServer, make_adapter: MakeAdapter
) -> None:
    bind.add_srv(SRV, 0, 0, 0, ".")
    bind.add_srv("_grpc._tcp.api", 10, 0, 9000, "nowhere")

    specs = render(
        make_adapter(
            [{"srv": "_http._tcp.web.example.test", "port": 80}, {"srv": "_grpc._tcp.api.example.test"}]
        ).discover()
    )

    for spec in specs.values():
        assert spec["resolution"] == "STATIC"
        assert spec.get("endpoints", []) == []
    assert specs["api.example.test"]["ports"] == [{"number": 9000, "protocol": "GRPC", "name": "grpc-9000"}]
