"""RBAC is least privilege: exactly the rules syncd uses, where it uses them, and nothing else."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.chart.helm import VARIANTS, render_variant

ISTIO = "networking.istio.io"
ISTIO_VERBS = ["get", "list", "watch", "create", "update", "patch", "delete"]
SUBJECT = [{"kind": "ServiceAccount", "name": "syncd", "namespace": "syncd"}]


def istio_rule(*resources: str) -> dict[str, Any]:
    return {"apiGroups": [ISTIO], "resources": list(resources), "verbs": ISTIO_VERBS}


def lease_rules(name: str = "syncd") -> list[dict[str, Any]]:
    return [
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": [name],
            "verbs": ["get", "update"],
        },
    ]


SE = [istio_rule("serviceentries")]


def grants(variant: str) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    """(kind, namespace, name) → rules, for every Role and ClusterRole the variant renders."""
    rendered = render_variant(variant)
    return {
        (obj["kind"], obj["metadata"].get("namespace", ""), obj["metadata"]["name"]): obj["rules"]
        for obj in rendered.of_kind("Role") + rendered.of_kind("ClusterRole")
    }


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        (
            "default",
            {
                ("Role", "istio-system", "syncd"): SE,
                ("Role", "syncd", "syncd-leader-election"): lease_rules(),
            },
        ),
        (
            "features",
            {
                ("Role", "istio-system", "syncd"): [
                    istio_rule("serviceentries", "destinationrules", "workloadentries")
                ],
                ("Role", "syncd", "syncd-leader-election"): lease_rules(),
            },
        ),
        (
            "namespaces",  # istio-system listed again is not granted twice
            {
                ("Role", "istio-system", "syncd"): SE,
                ("Role", "team-a", "syncd"): SE,
                ("Role", "team-b", "syncd"): SE,
                ("Role", "syncd", "syncd-leader-election"): lease_rules(),
            },
        ),
        (
            "clusterwide",
            {
                ("ClusterRole", "", "syncd-syncd"): SE,
                ("Role", "syncd", "syncd-leader-election"): lease_rules(),
            },
        ),
        ("cronjob", {("Role", "istio-system", "syncd"): SE}),
        (
            "lease-namespace",
            {
                ("Role", "istio-system", "syncd"): SE,
                ("Role", "syncd-leases", "syncd-leader-election"): lease_rules("syncd-a"),
            },
        ),
        ("stdout", {}),
    ],
)
def test_rules_exactly(variant: str, expected: dict[tuple[str, str, str], list[dict[str, Any]]]) -> None:
    assert grants(variant) == expected


@pytest.mark.parametrize("variant", VARIANTS)
def test_no_wildcards_and_nothing_beyond_what_syncd_uses(variant: str) -> None:
    allowed = {
        (ISTIO, r, v) for r in ("serviceentries", "destinationrules", "workloadentries") for v in ISTIO_VERBS
    }
    allowed |= {("coordination.k8s.io", "leases", v) for v in ("get", "create", "update")}
    for rules in grants(variant).values():
        for rule in rules:
            assert set(rule) <= {"apiGroups", "resources", "verbs", "resourceNames"}
            values = rule["apiGroups"] + rule["resources"] + rule["verbs"] + rule.get("resourceNames", [])
            assert not any("*" in value for value in values)
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    for verb in rule["verbs"]:
                        assert (group, resource, verb) in allowed


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_binding_binds_its_role_to_syncd_only(variant: str) -> None:
    rendered = render_variant(variant)
    roles = {(r["metadata"].get("namespace"), r["metadata"]["name"]) for r in rendered.of_kind("Role")}
    bindings = rendered.of_kind("RoleBinding")
    assert {(b["metadata"]["namespace"], b["roleRef"]["name"]) for b in bindings} == roles
    for binding in bindings + rendered.of_kind("ClusterRoleBinding"):
        sa = rendered.one("ServiceAccount")["metadata"]["name"]
        assert binding["subjects"] == [{**SUBJECT[0], "name": sa}]
    for binding in rendered.of_kind("ClusterRoleBinding"):
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": binding["metadata"]["name"],
        }


def test_cluster_wide_replaces_namespaced_istio_roles() -> None:
    assert [r["metadata"]["name"] for r in render_variant("clusterwide").of_kind("Role")] == [
        "syncd-leader-election"
    ]


@pytest.mark.parametrize(
    ("config", "resources"),
    [
        ({"traffic_policy": {"tls": {"mode": "SIMPLE"}}}, ["serviceentries", "destinationrules"]),
        ({"manage_destination_rules": True}, ["serviceentries", "destinationrules"]),
        (
            {
                "adapters": [
                    {
                        "name": "files",
                        "type": "file",
                        "path": "/etc/syncd/registry.yaml",
                        "endpoint_mode": "auto",
                        "traffic_policy": {"tls": {"mode": "SIMPLE"}},
                    }
                ]
            },
            ["serviceentries", "destinationrules", "workloadentries"],
        ),
        (
            {
                "adapters": [
                    {
                        "name": "files",
                        "type": "file",
                        "path": "/etc/syncd/registry.yaml",
                        "endpoint_mode": "inline",
                    }
                ]
            },
            ["serviceentries"],
        ),
    ],
)
def test_rbac_follows_what_the_config_produces(
    config: dict[str, Any], resources: list[str], tmp_path: Path
) -> None:
    from tests.chart.helm import render

    rendered = render({"config": config})
    (role,) = [r for r in rendered.of_kind("Role") if r["metadata"]["namespace"] == "istio-system"]
    assert role["rules"] == [istio_rule(*resources)]
    path = tmp_path / "config.yaml"
    path.write_text(rendered.config_text())
    result = subprocess.run(
        [sys.executable, "-m", "syncd", "check-config", "-c", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
