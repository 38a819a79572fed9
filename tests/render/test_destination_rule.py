"""Rendering DestinationRules: every option, naming, the double-TLS guard; each DR is validated."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from syncd.config import parse_config
from syncd.config_traffic import render_policy
from syncd.model import Endpoint, Protocol, Service, ServicePort
from syncd.render import RenderSettings, content_hash, render_snapshot
from syncd.render.destination_rule import TlsSettings, TrafficPolicy, proto_duration
from syncd.render.validate import validate_manifest
from tests.factories import NAMESPACE, OWNER, service, snapshot

ADAPTER = "consul-dc1"


def policy(block: str) -> TrafficPolicy:
    """The render-side policy of a ``traffic_policy`` block written as YAML (validated as config)."""
    text = f"traffic_policy: {block}\nadapters: [{{name: {ADAPTER}, type: file, path: /tmp/r.yaml}}]\n"
    merged = parse_config(text, {}).traffic_policy_for(ADAPTER)
    assert merged is not None
    return render_policy(merged)


def render(*services: Service, tp: TrafficPolicy | None, **settings: Any) -> tuple[list[dict], list]:
    """Every object rendered (each one validated) and the dropped records."""
    rendered = render_snapshot(
        snapshot(ADAPTER, *services), RenderSettings(OWNER, NAMESPACE, traffic_policy=tp, **settings)
    )
    assert not rendered.refused, rendered.refused
    bodies = [o.body for o in rendered.objects]
    for body in bodies:
        assert validate_manifest(body) == [], body
    return bodies, list(rendered.dropped)


def rules(*services: Service, tp: TrafficPolicy | None, **settings: Any) -> list[dict]:
    return [b for b in render(*services, tp=tp, **settings)[0] if b["kind"] == "DestinationRule"]


WEB = service("web", "10.0.0.1")

OPTIONS = [
    ("{tls: {mode: SIMPLE}}", {"tls": {"mode": "SIMPLE", "sni": "web.example.com"}}),
    ("{tls: {mode: SIMPLE, sni: legacy.corp}}", {"tls": {"mode": "SIMPLE", "sni": "legacy.corp"}}),
    (
        "{tls: {mode: SIMPLE, credential_name: corp-ca, subject_alt_names: [legacy.corp]}}",
        {
            "tls": {
                "mode": "SIMPLE",
                "sni": "web.example.com",
                "credentialName": "corp-ca",
                "subjectAltNames": ["legacy.corp"],
            }
        },
    ),
    (
        "{tls: {mode: MUTUAL, credential_name: web-client}}",
        {"tls": {"mode": "MUTUAL", "sni": "web.example.com", "credentialName": "web-client"}},
    ),
    (
        "{tls: {mode: SIMPLE, insecure_skip_verify: true}}",
        {"tls": {"mode": "SIMPLE", "sni": "web.example.com", "insecureSkipVerify": True}},
    ),
    (
        "{tls: {mode: SIMPLE, insecure_skip_verify: false}}",
        {"tls": {"mode": "SIMPLE", "sni": "web.example.com"}},
    ),
    ("{tls: {mode: ISTIO_MUTUAL}}", {"tls": {"mode": "ISTIO_MUTUAL"}}),
    (
        "{tls: {mode: ISTIO_MUTUAL, subject_alt_names: ['spiffe://td/ns/a/sa/b']}}",
        {"tls": {"mode": "ISTIO_MUTUAL", "subjectAltNames": ["spiffe://td/ns/a/sa/b"]}},
    ),
    ("{tls: {mode: DISABLE}}", {"tls": {"mode": "DISABLE"}}),
    (
        "{connection_pool: {tcp: {max_connections: 10, connect_timeout: 250ms}}}",
        {"connectionPool": {"tcp": {"maxConnections": 10, "connectTimeout": "0.250s"}}},
    ),
    (
        "{connection_pool: {http: {http1_max_pending_requests: 5, http2_max_requests: 50,"
        " max_requests_per_connection: 1, max_retries: 0, idle_timeout: 1m}}}",
        {
            "connectionPool": {
                "http": {
                    "http1MaxPendingRequests": 5,
                    "http2MaxRequests": 50,
                    "maxRequestsPerConnection": 1,
                    "maxRetries": 0,
                    "idleTimeout": "60s",
                }
            }
        },
    ),
    (
        "{outlier_detection: {consecutive_5xx_errors: 5, consecutive_gateway_errors: 3, interval: 10s,"
        " base_ejection_time: 1.5s, max_ejection_percent: 50}}",
        {
            "outlierDetection": {
                "consecutive5xxErrors": 5,
                "consecutiveGatewayErrors": 3,
                "interval": "10s",
                "baseEjectionTime": "1.500s",
                "maxEjectionPercent": 50,
            }
        },
    ),
    ("{load_balancer: {simple: LEAST_REQUEST}}", {"loadBalancer": {"simple": "LEAST_REQUEST"}}),
    ("{load_balancer: {simple: PASSTHROUGH}}", {"loadBalancer": {"simple": "PASSTHROUGH"}}),
    (
        "{outlier_detection: {consecutive_5xx_errors: 3},"
        " load_balancer: {failover: [{from: dc1, to: dc2}, {from: dc2, to: dc1}]}}",
        {
            "outlierDetection": {"consecutive5xxErrors": 3},
            "loadBalancer": {
                "localityLbSetting": {
                    "enabled": True,
                    "failover": [{"from": "dc1", "to": "dc2"}, {"from": "dc2", "to": "dc1"}],
                }
            },
        },
    ),
    (
        "{outlier_detection: {interval: 5s}, load_balancer: {simple: RANDOM,"
        " failover_priority: [topology.istio.io/network, topology.kubernetes.io/region]}}",
        {
            "outlierDetection": {"interval": "5s"},
            "loadBalancer": {
                "simple": "RANDOM",
                "localityLbSetting": {
                    "enabled": True,
                    "failoverPriority": ["topology.istio.io/network", "topology.kubernetes.io/region"],
                },
            },
        },
    ),
]


@pytest.mark.parametrize(("block", "expected"), OPTIONS, ids=[o[0][:50] for o in OPTIONS])
def test_policy_options(block: str, expected: dict[str, Any]) -> None:
    [rule] = rules(WEB, tp=policy(block))
    assert rule["spec"] == {"host": "web.example.com", "trafficPolicy": expected}


def test_contract_metadata_matches_the_service_entry() -> None:
    entry, rule = render(WEB, tp=policy("{tls: {mode: SIMPLE}}"))[0]
    assert (rule["apiVersion"], rule["kind"]) == ("networking.istio.io/v1", "DestinationRule")
    assert rule["metadata"]["name"] == entry["metadata"]["name"] == "consul-dc1-web"
    assert rule["metadata"]["namespace"] == NAMESPACE
    assert rule["metadata"]["labels"] == entry["metadata"]["labels"]
    assert rule["metadata"]["annotations"] == {
        "syncd.io/content-hash": content_hash(rule["spec"]),
        "syncd.io/service": "web",
    }


def test_no_policy_or_an_empty_one_renders_no_rule() -> None:
    assert rules(WEB, tp=None) == []
    assert rules(WEB, tp=TrafficPolicy()) == []


def test_each_service_entry_is_followed_by_its_rules() -> None:
    bodies, _ = render(WEB, service("api", "10.0.0.2"), tp=policy("{tls: {mode: SIMPLE}}"))
    assert [(b["kind"], b["metadata"]["name"]) for b in bodies] == [
        ("ServiceEntry", "consul-dc1-api"),
        ("DestinationRule", "consul-dc1-api"),
        ("ServiceEntry", "consul-dc1-web"),
        ("DestinationRule", "consul-dc1-web"),
    ]


def test_several_hosts_give_one_rule_per_host_named_after_service_and_host() -> None:
    svc = Service("web", ("web.example.com", "www.example.com"), (ServicePort(80, Protocol.HTTP),))
    found = rules(svc, tp=policy("{tls: {mode: SIMPLE}}"))
    assert [
        (r["metadata"]["name"], r["spec"]["host"], r["spec"]["trafficPolicy"]["tls"]["sni"]) for r in found
    ] == [
        ("consul-dc1-web-web-example-com", "web.example.com", "web.example.com"),
        ("consul-dc1-web-www-example-com", "www.example.com", "www.example.com"),
    ]


def test_a_rule_name_taken_by_another_service_gets_a_hash() -> None:
    # "web" with host "b.com" would be named consul-dc1-web-b-com, the name of service "web-b.com".
    multi = Service("web", ("b.com", "c.com"), (ServicePort(80, Protocol.HTTP),))
    single = Service("web-b.com", ("x.example.com",), (ServicePort(80, Protocol.HTTP),))
    found = rules(multi, single, tp=policy("{tls: {mode: SIMPLE}}"))
    names = [r["metadata"]["name"] for r in found]
    assert "consul-dc1-web-b-com" in names  # the single-host service keeps its entry's name
    assert len(set(names)) == 3
    hashed = next(r for r in found if r["spec"]["host"] == "b.com")
    assert hashed["metadata"]["name"].startswith("consul-dc1-web-b-com-")


def test_names_are_cut_to_63_characters() -> None:
    long = "x" * 70
    svc = Service(long, (f"{long[:60]}.example.com", "b.example.com"), (ServicePort(80, Protocol.HTTP),))
    assert all(len(r["metadata"]["name"]) <= 63 for r in rules(svc, tp=policy("{tls: {mode: SIMPLE}}")))


def test_wildcard_hosts_get_no_default_sni() -> None:
    svc = Service("all", ("*.example.com",), (ServicePort(80, Protocol.HTTP),), resolution=None)
    [rule] = rules(svc, tp=policy("{tls: {mode: SIMPLE}}"))
    assert rule["spec"]["trafficPolicy"]["tls"] == {"mode": "SIMPLE"}


def test_export_to_follows_the_service_entry() -> None:
    [rule] = rules(WEB, tp=policy("{tls: {mode: SIMPLE}}"), export_to=(".", "mesh"))
    assert rule["spec"]["exportTo"] == [".", "mesh"]


def _ports(*ports: tuple[int, Protocol]) -> Service:
    return Service(
        "web", ("web.example.com",), tuple(ServicePort(n, p) for n, p in ports), (Endpoint("10.0.0.1"),)
    )


def test_tls_origination_goes_to_plaintext_ports_only() -> None:
    svc = _ports((80, Protocol.HTTP), (443, Protocol.HTTPS))
    [rule] = rules(svc, tp=policy("{tls: {mode: SIMPLE}, outlier_detection: {interval: 5s}}"))
    assert rule["spec"]["trafficPolicy"] == {
        "outlierDetection": {"interval": "5s"},
        "portLevelSettings": [{"port": {"number": 80}, "tls": {"mode": "SIMPLE", "sni": "web.example.com"}}],
    }


@pytest.mark.parametrize("protocol", [Protocol.HTTPS, Protocol.TLS])
def test_tls_origination_on_tls_ports_only_is_dropped_not_doubled(protocol: Protocol) -> None:
    svc = _ports((443, protocol))
    bodies, dropped = render(svc, tp=policy("{tls: {mode: SIMPLE}}"))
    assert [b["kind"] for b in bodies] == ["ServiceEntry"]
    assert [(d.what, d.service) for d in dropped] == [("tls SIMPLE", "web")]
    assert "encrypt twice" in dropped[0].reason
    with_pool = rules(svc, tp=policy("{tls: {mode: SIMPLE}, connection_pool: {tcp: {max_connections: 5}}}"))
    assert with_pool[0]["spec"]["trafficPolicy"] == {"connectionPool": {"tcp": {"maxConnections": 5}}}


@pytest.mark.parametrize("mode", ["ISTIO_MUTUAL", "DISABLE"])
def test_non_originating_modes_apply_to_every_port(mode: str) -> None:
    [rule] = rules(_ports((443, Protocol.TLS), (80, Protocol.HTTP)), tp=policy(f"{{tls: {{mode: {mode}}}}}"))
    assert rule["spec"]["trafficPolicy"] == {"tls": {"mode": mode}}


@pytest.mark.parametrize(
    ("seconds", "text"), [(5.0, "5s"), (0.25, "0.250s"), (0.001, "0.001s"), (90.0, "90s"), (1.5, "1.500s")]
)
def test_durations_render_as_protobuf_durations(seconds: float, text: str) -> None:
    assert proto_duration(seconds) == text


def test_rendering_is_stable() -> None:
    tp = policy("{tls: {mode: SIMPLE}, load_balancer: {simple: ROUND_ROBIN}}")
    first = yaml.safe_dump(rules(WEB, tp=tp))
    assert yaml.safe_dump(rules(WEB, tp=tp)) == first
    assert rules(WEB, tp=tp) != rules(
        WEB, tp=TrafficPolicy(tls=TlsSettings("SIMPLE", sni="other.example.com"))
    )
