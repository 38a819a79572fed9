"""``SYNCD_TLS_*`` instance attributes become the service's policy hints (and its DR's TLS)."""

from __future__ import annotations

from syncd.render import RenderSettings, render_snapshot
from syncd.render.destination_rule import TlsSettings, TrafficPolicy
from syncd.render.validate import validate_manifest
from tests.adapters.cloudmap.conftest import MakeAdapter
from tests.adapters.cloudmap.registry import Registry, by_name


def test_attributes_become_hints_and_reach_the_destination_rule(
    registry: Registry, make_adapter: MakeAdapter
) -> None:
    ns, ns_id = registry.namespace()
    svc = registry.service(ns_id, "ledger")
    tls = {
        "SYNCD_TLS_MODE": "SIMPLE",
        "SYNCD_TLS_SNI": "ledger.corp.example.com",
        "SYNCD_TLS_SAN": "ledger.corp",
    }
    registry.register(svc, "i-1", "10.0.0.1", **tls)
    registry.register(svc, "i-2", "10.0.0.2", **tls)
    plain = registry.service(ns_id, "plain")
    registry.register(plain, "i-1", "10.0.0.9")
    snapshot = make_adapter(namespaces=[ns]).discover()
    found = by_name(snapshot)
    assert found[f"ledger.{ns}"].policy_hints == {
        "tls.mode": "SIMPLE",
        "tls.sni": "ledger.corp.example.com",
        "tls.subject_alt_names": "ledger.corp",
    }
    assert found[f"plain.{ns}"].policy_hints == {}
    assert all(not k.startswith("SYNCD") for e in found[f"ledger.{ns}"].endpoints for k in e.labels)
    assert not [d for d in snapshot.dropped if "SYNCD" in d.what]

    policy = TrafficPolicy(tls=TlsSettings("ISTIO_MUTUAL"))
    rendered = render_snapshot(snapshot, RenderSettings("syncd", "istio-system", traffic_policy=policy))
    rules = {o.service: o.body for o in rendered.objects if o.kind == "DestinationRule"}
    assert all(validate_manifest(body) == [] for body in rules.values())
    assert rules[f"ledger.{ns}"]["spec"]["trafficPolicy"]["tls"] == {
        "mode": "SIMPLE",
        "sni": "ledger.corp.example.com",
        "subjectAltNames": ["ledger.corp"],
    }
    assert rules[f"plain.{ns}"]["spec"]["trafficPolicy"]["tls"] == {"mode": "ISTIO_MUTUAL"}


def test_a_minority_of_instances_changes_nothing(registry: Registry, make_adapter: MakeAdapter) -> None:
    ns, ns_id = registry.namespace()
    svc = registry.service(ns_id, "api")
    registry.register(svc, "i-1", "10.0.0.1", SYNCD_TLS_MODE="MUTUAL", SYNCD_TLS_CREDENTIAL_NAME="api-client")
    registry.register(svc, "i-2", "10.0.0.2")
    registry.register(svc, "i-3", "10.0.0.3")
    assert by_name(make_adapter(namespaces=[ns]).discover())[f"api.{ns}"].policy_hints == {}
