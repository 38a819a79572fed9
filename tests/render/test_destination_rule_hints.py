"""Registry hints and config merge rules as they reach the rendered DestinationRule (validated)."""

from __future__ import annotations

from typing import Any

import pytest

from syncd.config import parse_config
from syncd.config_traffic import render_policy
from syncd.model import Endpoint, Protocol, Service, ServicePort
from syncd.render import RenderSettings, render_snapshot
from syncd.render.destination_rule import TlsSettings, TrafficPolicy
from syncd.render.validate import validate_manifest
from tests.factories import NAMESPACE, OWNER, snapshot

HOST = "legacy.example.com"


def hinted(
    hints: dict[str, str], tls: TlsSettings | None
) -> tuple[dict[str, Any] | None, list[tuple[str, str]]]:
    """The rendered ``trafficPolicy.tls`` (None: no DR or no tls) and the dropped (what, reason)."""
    svc = Service(
        "legacy", (HOST,), (ServicePort(80, Protocol.HTTP),), (Endpoint("10.0.0.1"),), policy_hints=hints
    )
    settings = RenderSettings(OWNER, NAMESPACE, traffic_policy=TrafficPolicy(tls=tls))
    rendered = render_snapshot(snapshot("cloudmap", svc), settings)
    found = [o.body for o in rendered.objects if o.kind == "DestinationRule"]
    for body in found:
        assert validate_manifest(body) == [], body
    tls_body = found[0]["spec"]["trafficPolicy"].get("tls") if found else None
    return tls_body, [(d.what, d.reason) for d in rendered.dropped]


SIMPLE = TlsSettings("SIMPLE")
PINNED = TlsSettings("SIMPLE", sni="pinned.corp", credential_name="corp-ca")
SKIP = TlsSettings("SIMPLE", insecure_skip_verify=True)

GOOD = [
    ({"tls.mode": "SIMPLE"}, None, {"mode": "SIMPLE", "sni": HOST}),
    ({"tls.mode": "simple"}, None, {"mode": "SIMPLE", "sni": HOST}),
    ({"tls.mode": "istio-mutual"}, None, {"mode": "ISTIO_MUTUAL"}),
    ({"tls.mode": "DISABLE"}, PINNED, {"mode": "DISABLE"}),
    ({"tls.sni": "Other.Corp."}, SIMPLE, {"mode": "SIMPLE", "sni": "other.corp"}),
    (
        {"tls.credential_name": "team-ca"},
        PINNED,
        {"mode": "SIMPLE", "sni": "pinned.corp", "credentialName": "team-ca"},
    ),
    (
        {"tls.subject_alt_names": " a.corp, spiffe://corp/a ,a.corp"},
        SIMPLE,
        {"mode": "SIMPLE", "sni": HOST, "subjectAltNames": ["a.corp", "spiffe://corp/a"]},
    ),
    (
        {"tls.mode": "MUTUAL", "tls.credential_name": "legacy-client"},
        SIMPLE,
        {"mode": "MUTUAL", "sni": HOST, "credentialName": "legacy-client"},
    ),
    # The same mode as configured: hints override fields, the rest is kept.
    (
        {"tls.mode": "SIMPLE", "tls.sni": "x.corp"},
        PINNED,
        {"mode": "SIMPLE", "sni": "x.corp", "credentialName": "corp-ca"},
    ),
    # A different mode replaces the configured section (its SNI and Secret belong to SIMPLE).
    ({"tls.mode": "ISTIO_MUTUAL"}, PINNED, {"mode": "ISTIO_MUTUAL"}),
    # ... which also drops insecure_skip_verify: a registry can never switch verification off.
    (
        {"tls.mode": "MUTUAL", "tls.credential_name": "c"},
        SKIP,
        {"mode": "MUTUAL", "sni": HOST, "credentialName": "c"},
    ),
]


@pytest.mark.parametrize(("hints", "configured", "expected"), GOOD)
def test_good_hints_override_the_configured_tls(
    hints: dict, configured: TlsSettings | None, expected: dict
) -> None:
    tls, dropped = hinted(hints, configured)
    assert dropped == []
    assert tls == expected


BAD = [
    ({"tls.mode": "STRICT"}, SIMPLE, "hint tls.mode='STRICT'", "not a TLS mode"),
    ({"tls.sni": "-bad-"}, SIMPLE, "hint tls.sni='-bad-'", "not a valid DNS name"),
    ({"tls.sni": "*.corp"}, SIMPLE, "hint tls.sni='*.corp'", "not a valid DNS name"),
    ({"tls.credential_name": "Bad_Name"}, SIMPLE, "hint tls.credential_name='Bad_Name'", "Secret name"),
    ({"tls.subject_alt_names": "a b"}, SIMPLE, "hint tls.subject_alt_names='a b'", "without spaces"),
    ({"tls.subject_alt_names": "a,,b"}, SIMPLE, "hint tls.subject_alt_names='a,,b'", "without spaces"),
    ({"tls.ciphers": "RC4"}, SIMPLE, "hint tls.ciphers", "unknown policy hint"),
    ({"tls.mode": "MUTUAL"}, SIMPLE, "hint tls.mode='MUTUAL'", "MUTUAL needs credential_name"),
    ({"tls.sni": "a.corp"}, TlsSettings("ISTIO_MUTUAL"), "hint tls.sni='a.corp'", "SIMPLE and MUTUAL only"),
    (
        {"tls.subject_alt_names": "a.corp"},
        SKIP,
        "hint tls.subject_alt_names='a.corp'",
        "insecure_skip_verify",
    ),
]


@pytest.mark.parametrize(("hints", "configured", "what", "reason"), BAD)
def test_bad_hints_are_dropped_and_the_configured_tls_applies(
    hints: dict, configured: TlsSettings, what: str, reason: str
) -> None:
    tls, dropped = hinted(hints, configured)
    assert [w for w, _ in dropped] == [what]
    assert reason in dropped[0][1]
    expected = {"mode": configured.mode}
    if configured.mode == "SIMPLE":
        expected["sni"] = HOST
    if configured.insecure_skip_verify:
        expected["insecureSkipVerify"] = True
    assert tls == expected


def test_a_bad_hint_drops_only_itself() -> None:
    tls, dropped = hinted({"tls.mode": "SIMPLE", "tls.sni": "not a name"}, None)
    assert tls == {"mode": "SIMPLE", "sni": HOST}
    assert [w for w, _ in dropped] == ["hint tls.sni='not a name'"]


def test_hints_without_a_mode_need_a_configured_tls_section() -> None:
    tls, dropped = hinted({"tls.sni": "a.corp"}, None)
    assert tls is None and [w for w, _ in dropped] == ["hint tls.sni='a.corp'"]
    assert "needs a TLS mode" in dropped[0][1]


def test_hints_are_ignored_when_the_adapter_renders_no_rules() -> None:
    svc = Service("legacy", (HOST,), (ServicePort(80, Protocol.HTTP),), policy_hints={"tls.mode": "bogus"})
    rendered = render_snapshot(snapshot("cloudmap", svc), RenderSettings(OWNER, NAMESPACE))
    assert [o.kind for o in rendered.objects] == ["ServiceEntry"] and rendered.dropped == ()


def test_long_hint_values_are_cut_in_reports() -> None:
    _, dropped = hinted({"tls.sni": "x" * 500}, SIMPLE)
    assert len(dropped[0][0]) < 120


ADAPTERS = "adapters:\n  - {name: a, type: file, path: /r.yaml%s}\n  - {name: b, type: file, path: /r.yaml}\n"
GLOBAL = (
    "traffic_policy: {tls: {mode: SIMPLE}, connection_pool: {tcp: {max_connections: 10}},"
    " load_balancer: {simple: RANDOM}}\n"
)
MERGES = [
    ("", "", None, None),
    ("", ", traffic_policy: {tls: {mode: DISABLE}}", {"tls"}, None),
    (GLOBAL, "", {"tls", "connection_pool", "load_balancer"}, {"tls", "connection_pool", "load_balancer"}),
    (
        GLOBAL,
        ", traffic_policy: null",
        {"tls", "connection_pool", "load_balancer"},
        {"tls", "connection_pool", "load_balancer"},
    ),
    (
        GLOBAL,
        ", traffic_policy: {}",
        {"tls", "connection_pool", "load_balancer"},
        {"tls", "connection_pool", "load_balancer"},
    ),
    (GLOBAL, ", traffic_policy: {enabled: false}", None, {"tls", "connection_pool", "load_balancer"}),
    (
        GLOBAL,
        ", traffic_policy: {tls: null}",
        {"connection_pool", "load_balancer"},
        {"tls", "connection_pool", "load_balancer"},
    ),
    (
        GLOBAL,
        ", traffic_policy: {outlier_detection: {interval: 1s}}",
        {"tls", "connection_pool", "load_balancer", "outlier_detection"},
        {"tls", "connection_pool", "load_balancer"},
    ),
    (
        GLOBAL.replace("{tls", "{enabled: false, tls"),
        ", traffic_policy: {enabled: true}",
        {"tls", "connection_pool", "load_balancer"},
        None,
    ),
]


@pytest.mark.parametrize(("top", "own", "sections_a", "sections_b"), MERGES)
def test_merge_rules(top: str, own: str, sections_a: set[str] | None, sections_b: set[str] | None) -> None:
    config = parse_config(top + ADAPTERS % own, {})
    for name, expected in (("a", sections_a), ("b", sections_b)):
        merged = config.traffic_policy_for(name)
        if expected is None:
            assert merged is None
            continue
        assert merged is not None
        present = {
            s for s in ("tls", "connection_pool", "outlier_detection", "load_balancer") if getattr(merged, s)
        }
        assert present == expected


def test_an_adapter_section_replaces_the_global_section_whole() -> None:
    text = GLOBAL + ADAPTERS % ", traffic_policy: {connection_pool: {http: {max_retries: 1}}}"
    merged = parse_config(text, {}).traffic_policy_for("a")
    assert merged is not None
    pool = render_policy(merged).connection_pool
    assert pool is not None and pool.tcp is None and pool.http is not None and pool.http.max_retries == 1
