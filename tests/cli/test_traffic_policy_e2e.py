"""Traffic policy end to end: `syncd sync` / `render` against the Kubernetes API emulator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from syncd.render.validate import validate_manifest
from tests.cli.helpers import syncd, web, write_registry
from tests.emulators.kube_api import KubeApiEmulator
from tests.factories import NAMESPACE

WRITES = ("create", "update", "patch", "delete")
TLS = {"tls": {"mode": "SIMPLE"}, "connection_pool": {"tcp": {"max_connections": 50}}}


def write_config(tmp_path: Path, kubeconfig: Path, policy: Any = None, **top: Any) -> Path:
    """Two file adapters, ``secure`` (with ``policy`` when given) and ``plain``; ``top`` keys added."""
    secure = {"name": "secure", "type": "file", "path": str(tmp_path / "secure.yaml")}
    if policy is not None:
        secure["traffic_policy"] = policy
    config = {
        "owner": "syncd",
        "target": {"type": "kubernetes", "kubeconfig": str(kubeconfig)},
        "adapters": [secure, {"name": "plain", "type": "file", "path": str(tmp_path / "plain.yaml")}],
        **top,
    }
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def registries(tmp_path: Path) -> None:
    write_registry(tmp_path / "secure.yaml", [web("billing", "10.0.0.1"), web("ledger", "10.0.0.2")])
    write_registry(tmp_path / "plain.yaml", [web("wiki", "10.0.1.1")])


def rules(kube_api: KubeApiEmulator) -> dict[str, dict]:
    return {o["metadata"]["name"]: o for o in kube_api.objects("destinationrules", NAMESPACE)}


def entries(kube_api: KubeApiEmulator) -> list[str]:
    return sorted(o["metadata"]["name"] for o in kube_api.objects("serviceentries", NAMESPACE))


def writes(kube_api: KubeApiEmulator) -> int:
    return sum(kube_api.counts().get(v, 0) for v in WRITES)


def test_enable_steady_disable(kube_api: KubeApiEmulator, kubeconfig: Path, tmp_path: Path) -> None:
    registries(tmp_path)
    config = write_config(tmp_path, kubeconfig, TLS)

    first = syncd("sync", "-c", str(config))
    assert first.returncode == 0, first.stderr
    assert entries(kube_api) == ["plain-wiki", "secure-billing", "secure-ledger"]
    found = rules(kube_api)
    assert sorted(found) == ["secure-billing", "secure-ledger"]
    billing = found["secure-billing"]
    assert validate_manifest(billing) == []
    assert billing["spec"] == {
        "host": "billing.example.com",
        "trafficPolicy": {
            "connectionPool": {"tcp": {"maxConnections": 50}},
            "tls": {"mode": "SIMPLE", "sni": "billing.example.com"},
        },
    }
    assert billing["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "syncd",
        "syncd.io/owner": "syncd",
        "syncd.io/adapter": "secure",
    }
    assert billing["metadata"]["annotations"]["syncd.io/service"] == "billing"

    kube_api.reset_counts()
    steady = syncd("sync", "-c", str(config))
    assert steady.returncode == 0, steady.stderr
    assert writes(kube_api) == 0

    write_config(tmp_path, kubeconfig, {"enabled": False})
    kube_api.reset_counts()
    off = syncd("sync", "-c", str(config))
    assert off.returncode == 0, off.stderr
    assert rules(kube_api) == {}
    assert kube_api.counts()["delete"] == 2 and writes(kube_api) == 2
    assert entries(kube_api) == ["plain-wiki", "secure-billing", "secure-ledger"]


def test_service_gone_takes_its_rule_along(
    kube_api: KubeApiEmulator, kubeconfig: Path, tmp_path: Path
) -> None:
    registries(tmp_path)
    config = write_config(tmp_path, kubeconfig, TLS)
    assert syncd("sync", "-c", str(config)).returncode == 0
    write_registry(tmp_path / "secure.yaml", [web("billing", "10.0.0.1")])
    result = syncd("sync", "-c", str(config))
    assert result.returncode == 0, result.stderr
    assert sorted(rules(kube_api)) == ["secure-billing"]
    assert entries(kube_api) == ["plain-wiki", "secure-billing"]


def test_cleanup_after_removing_every_policy(
    kube_api: KubeApiEmulator, kubeconfig: Path, tmp_path: Path
) -> None:
    registries(tmp_path)
    assert syncd("sync", "-c", str(write_config(tmp_path, kubeconfig, TLS))).returncode == 0
    # With no traffic_policy left, auto stops listing DestinationRules: the old ones stay ...
    assert syncd("sync", "-c", str(write_config(tmp_path, kubeconfig))).returncode == 0
    assert sorted(rules(kube_api)) == ["secure-billing", "secure-ledger"]
    # ... until one run with manage_destination_rules: true deletes what syncd made.
    config = write_config(tmp_path, kubeconfig, manage_destination_rules=True)
    result = syncd("sync", "-c", str(config))
    assert result.returncode == 0, result.stderr
    assert rules(kube_api) == {}


def test_a_foreign_rule_of_the_same_name_is_left_alone_and_reported(
    kube_api: KubeApiEmulator, kubeconfig: Path, tmp_path: Path
) -> None:
    registries(tmp_path)
    foreign = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "DestinationRule",
        "metadata": {"name": "secure-billing", "namespace": NAMESPACE, "labels": {"team": "payments"}},
        "spec": {"host": "billing.example.com", "trafficPolicy": {"tls": {"mode": "DISABLE"}}},
    }
    kube_api.put_object(foreign)
    result = syncd("sync", "-c", str(write_config(tmp_path, kubeconfig, TLS)))
    assert result.returncode == 1
    assert "exists without syncd owner" in result.stderr
    kept = kube_api.get_object("destinationrules", NAMESPACE, "secure-billing")
    assert (
        kept is not None
        and kept["spec"] == foreign["spec"]
        and kept["metadata"]["labels"] == {"team": "payments"}
    )
    assert sorted(rules(kube_api)) == ["secure-billing", "secure-ledger"]  # the other one was written


def test_dry_run_shows_rules_with_their_entries(
    kube_api: KubeApiEmulator, kubeconfig: Path, tmp_path: Path
) -> None:
    registries(tmp_path)
    result = syncd("sync", "-c", str(write_config(tmp_path, kubeconfig, TLS)), "--dry-run")
    assert result.returncode == 0, result.stderr
    assert "create DestinationRule/secure-billing (adapter secure, service billing)" in result.stdout
    assert "create ServiceEntry/secure-billing" in result.stdout
    assert "plan: 5 to create" in result.stdout
    assert writes(kube_api) == 0


def test_render_prints_rules_after_their_entries(tmp_path: Path) -> None:
    registries(tmp_path)
    config = write_config(tmp_path, tmp_path / "no-kubeconfig", TLS)
    result = syncd("render", "-c", str(config))
    assert result.returncode == 0, result.stderr
    docs = list(yaml.safe_load_all(result.stdout))
    assert [(d["kind"], d["metadata"]["name"]) for d in docs] == [
        ("ServiceEntry", "secure-billing"),
        ("DestinationRule", "secure-billing"),
        ("ServiceEntry", "secure-ledger"),
        ("DestinationRule", "secure-ledger"),
        ("ServiceEntry", "plain-wiki"),
    ]
    assert all(validate_manifest(d) == [] for d in docs)
