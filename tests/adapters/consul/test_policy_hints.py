"""``syncd-tls-*`` keys in Service.Meta become the service's policy hints (and its DR's TLS)."""

from __future__ import annotations

from syncd.render import RenderSettings, render_snapshot
from syncd.render.destination_rule import TrafficPolicy
from syncd.render.validate import validate_manifest
from tests.adapters.consul.conftest import register, services

MUTUAL = {
    "syncd-tls-mode": "MUTUAL",
    "syncd-tls-credential-name": "billing-client",
    "syncd-tls-san": "a.corp,b.corp",
}


def test_meta_becomes_hints_and_reaches_the_destination_rule(consul, make_adapter):
    register(consul, "billing", 1, Meta={**MUTUAL, "team": "payments"})
    register(consul, "wiki", 1, Meta={"team": "docs"})
    snapshot = make_adapter().discover()
    found = services(snapshot)
    assert found["billing"].policy_hints == {
        "tls.mode": "MUTUAL",
        "tls.credential_name": "billing-client",
        "tls.subject_alt_names": "a.corp,b.corp",
    }
    assert found["wiki"].policy_hints == {}
    # requests to syncd are not workload labels (and so are never dropped as bad ones each cycle)
    assert dict(found["billing"].endpoints[0].labels) == {"team": "payments"}

    rendered = render_snapshot(
        snapshot, RenderSettings("syncd", "istio-system", traffic_policy=TrafficPolicy())
    )
    rules = {o.service: o.body for o in rendered.objects if o.kind == "DestinationRule"}
    assert sorted(rules) == ["billing"]  # an empty policy plus no hint: no DR for wiki
    assert validate_manifest(rules["billing"]) == []
    host = rules["billing"]["spec"]["host"]
    assert rules["billing"]["spec"]["trafficPolicy"] == {
        "tls": {
            "mode": "MUTUAL",
            "sni": host,
            "credentialName": "billing-client",
            "subjectAltNames": ["a.corp", "b.corp"],
        }
    }


def test_instances_that_disagree_follow_the_majority(consul, make_adapter):
    register(consul, "api", 1, Meta={"syncd-tls-mode": "SIMPLE", "syncd-tls-sni": "api.corp"})
    register(consul, "api", 2, Meta={"syncd-tls-mode": "SIMPLE"})
    register(consul, "api", 3, Meta={"syncd-tls-mode": "DISABLE"})
    # sni: one instance says api.corp, two say nothing -> no override.
    assert services(make_adapter().discover())["api"].policy_hints == {"tls.mode": "SIMPLE"}


def test_a_bad_hint_costs_the_override_not_the_service(consul, make_adapter):
    register(consul, "api", 1, Meta={"syncd-tls-mode": "STRICT"})
    snapshot = make_adapter().discover()
    assert services(snapshot)["api"].policy_hints == {"tls.mode": "STRICT"}  # checked by render
    rendered = render_snapshot(
        snapshot, RenderSettings("syncd", "istio-system", traffic_policy=TrafficPolicy())
    )
    assert [o.kind for o in rendered.objects] == ["ServiceEntry"]
    assert [(d.service, d.what) for d in rendered.dropped] == [("api", "hint tls.mode='STRICT'")]
