"""An ``_https`` SRV service label asks for TLS (``tls.mode=SIMPLE``), checked against real BIND9."""

from __future__ import annotations

from syncd.render import RenderSettings, render_snapshot
from syncd.render.destination_rule import TrafficPolicy
from syncd.render.validate import validate_manifest
from tests.adapters.dns.expect import MakeAdapter
from tests.servers.bind import BindServer


def test_https_label_becomes_a_tls_hint(bind: BindServer, make_adapter: MakeAdapter) -> None:
    bind.add_a("api1", "10.0.0.1")
    bind.add_srvs("_https._tcp.api", [(10, 0, 443, "api1")])
    bind.add_srvs("_http._tcp.web", [(10, 0, 80, "api1")])
    adapter = make_adapter(
        [
            {"srv": "_https._tcp.api.example.test", "protocol": "HTTP"},  # the app sends plain HTTP
            {"srv": "_https._tcp.api.example.test", "name": "api-tls"},  # default: protocol TLS
            {"srv": "_http._tcp.web.example.test"},
        ]
    )
    snapshot = adapter.discover()
    found = {s.name: s for s in snapshot.services}
    assert found["api.example.test"].policy_hints == {"tls.mode": "SIMPLE"}
    assert found["api-tls"].policy_hints == {"tls.mode": "SIMPLE"}
    assert found["web.example.test"].policy_hints == {}

    rendered = render_snapshot(
        snapshot, RenderSettings("syncd", "istio-system", traffic_policy=TrafficPolicy())
    )
    rules = {o.service: o.body for o in rendered.objects if o.kind == "DestinationRule"}
    assert sorted(rules) == ["api.example.test"]
    assert validate_manifest(rules["api.example.test"]) == []
    assert rules["api.example.test"]["spec"]["trafficPolicy"] == {
        "tls": {"mode": "SIMPLE", "sni": "api.example.test"}
    }
    # On a TLS port the application already speaks TLS: originating it again is refused, reported.
    assert [(d.service, d.what) for d in rendered.dropped] == [("api-tls", "tls SIMPLE")]


def test_a_service_without_endpoints_keeps_its_hint(bind: BindServer, make_adapter: MakeAdapter) -> None:
    bind.add_srvs("_https._tcp.gone", [(0, 0, 0, ".")])
    snapshot = make_adapter([{"srv": "_https._tcp.gone.example.test", "port": 443}]).discover()
    (service,) = snapshot.services
    assert service.endpoints == () and service.policy_hints == {"tls.mode": "SIMPLE"}
