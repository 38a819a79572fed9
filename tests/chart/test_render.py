"""Every variant renders with Helm's engine, lints clean, and every object is valid Kubernetes."""

from __future__ import annotations

import copy
import json
from typing import Any

import helm_python
import kubernetes_validate
import pytest

from tests.chart.helm import CHART_DIR, NAMESPACE, VARIANTS, render, render_variant

#: The newest Kubernetes version whose schemas kubernetes-validate ships.
KUBE_VERSION = kubernetes_validate.latest_version()
CLUSTER_SCOPED = {"ClusterRole", "ClusterRoleBinding"}
DAEMON_KINDS = {"ServiceAccount", "ConfigMap", "Role", "RoleBinding", "Deployment", "Service"}
CRONJOB_KINDS = {"ServiceAccount", "ConfigMap", "Role", "RoleBinding", "CronJob"}


def _check_service_monitor(obj: dict[str, Any]) -> None:
    """kubernetes-validate has no Prometheus Operator schema: check what Prometheus relies on."""
    assert obj["apiVersion"] == "monitoring.coreos.com/v1"
    spec = obj["spec"]
    assert set(spec) == {"namespaceSelector", "selector", "endpoints"}
    assert spec["namespaceSelector"] == {"matchNames": [NAMESPACE]}
    assert spec["selector"]["matchLabels"]["app.kubernetes.io/name"] == "syncd"
    (endpoint,) = spec["endpoints"]
    assert endpoint == {"port": "http-metrics", "path": "/metrics", "interval": "30s", "scrapeTimeout": "10s"}


_VALID: set[str] = set()


def _validate(obj: dict[str, Any]) -> None:
    """Kubernetes' own schema, once per distinct object (variants share most objects)."""
    key = json.dumps(obj, sort_keys=True)
    if key not in _VALID:
        kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
        _VALID.add(key)


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_object_is_valid_kubernetes(variant: str) -> None:
    rendered = render_variant(variant)
    assert rendered.objects
    for obj in rendered.objects:
        if obj["kind"] == "ServiceMonitor":
            _check_service_monitor(obj)
        else:
            _validate(obj)
        if obj["kind"] not in CLUSTER_SCOPED:
            assert obj["metadata"]["namespace"], f"{obj['kind']} has no namespace"
        assert obj["metadata"]["labels"]["app.kubernetes.io/instance"] == "syncd"


def test_strict_validation_catches_unknown_fields() -> None:
    deployment = copy.deepcopy(render_variant("default").one("Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["securityContxt"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBE_VERSION, strict=True)


@pytest.mark.parametrize("variant", VARIANTS)
def test_lint_is_clean(variant: str) -> None:
    report = helm_python.lint(CHART_DIR, VARIANTS[variant], strict=True, namespace=NAMESPACE)
    assert report["errors"] == []
    # severity 1 is info ("icon is recommended"); 2 warning, 3 error
    assert [m for m in report["messages"] if m["severity"] >= 2] == []


@pytest.mark.parametrize(
    ("variant", "kinds"),
    [
        ("default", DAEMON_KINDS),
        ("replicas2", DAEMON_KINDS | {"PodDisruptionBudget"}),
        ("servicemonitor", DAEMON_KINDS | {"ServiceMonitor"}),
        ("networkpolicy", DAEMON_KINDS | {"NetworkPolicy"}),
        ("clusterwide", DAEMON_KINDS | {"ClusterRole", "ClusterRoleBinding"}),
        ("cronjob", CRONJOB_KINDS),
        ("networkpolicy-cronjob", CRONJOB_KINDS | {"NetworkPolicy"}),
        # no kubernetes target, no leader election: nothing to grant
        ("stdout", DAEMON_KINDS - {"Role", "RoleBinding"}),
    ],
)
def test_kinds_per_variant(variant: str, kinds: set[str]) -> None:
    assert render_variant(variant).kinds() == kinds


def test_cronjob_mode_has_no_daemon_extras() -> None:
    rendered = render(
        {
            "mode": "cronjob",
            "replicas": 3,
            "metrics": {"serviceMonitor": {"enabled": True}},
            "podDisruptionBudget": {"enabled": True},
        }
    )
    assert rendered.kinds() == CRONJOB_KINDS


def test_cronjob_schedule_and_history() -> None:
    spec = render_variant("cronjob").one("CronJob")["spec"]
    assert spec["schedule"] == "*/10 * * * *"
    assert spec["timeZone"] == "Etc/UTC"
    assert spec["concurrencyPolicy"] == "Forbid"
    assert spec["successfulJobsHistoryLimit"] == 3
    assert spec["failedJobsHistoryLimit"] == 3
    assert spec["jobTemplate"]["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert render({"mode": "cronjob"}).one("CronJob")["spec"]["schedule"] == "*/5 * * * *"


def test_pdb_keeps_one_pod_when_replicated() -> None:
    pdb = render_variant("replicas2").one("PodDisruptionBudget")
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "syncd",
        "app.kubernetes.io/instance": "syncd",
    }


def test_service_exposes_metrics_port() -> None:
    service = render_variant("everything").one("Service")
    assert service["spec"]["ports"] == [
        {"name": "http-metrics", "port": 9102, "targetPort": "http-metrics", "protocol": "TCP"}
    ]
    assert render_variant("everything").container()["ports"][0]["containerPort"] == 9102


def test_network_policy_allows_only_dns_api_registries_and_metrics() -> None:
    spec = render_variant("networkpolicy").one("NetworkPolicy")["spec"]
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert spec["ingress"] == [
        {
            "ports": [{"port": "http-metrics", "protocol": "TCP"}],
            "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}],
        }
    ]
    dns, api, registry = spec["egress"]
    assert {(p["port"], p["protocol"]) for p in dns["ports"]} == {(53, "UDP"), (53, "TCP")}
    assert [t["ipBlock"]["cidr"] for t in api["to"]] == ["10.96.0.1/32", "172.18.0.2/32"]
    assert [p["port"] for p in api["ports"]] == [443, 6443]
    assert registry == {
        "to": [{"ipBlock": {"cidr": "10.20.0.0/16"}}],
        "ports": [{"port": 8500, "protocol": "TCP"}, {"port": 8501, "protocol": "TCP"}],
    }
    # the CronJob serves nothing: no ingress at all
    assert render_variant("networkpolicy-cronjob").one("NetworkPolicy")["spec"]["ingress"] == []


def test_network_policy_needs_the_api_server_address() -> None:
    with pytest.raises(helm_python.HelmError, match=r"networkPolicy\.apiServer\.cidrs"):
        render({"networkPolicy": {"enabled": True}})


def test_notes_say_how_to_check_it_works() -> None:
    notes = render_variant("default").notes
    assert "kubectl -n syncd logs deploy/syncd" in notes
    assert "port-forward svc/syncd 8080:8080" in notes
    assert "/readyz" in notes
    assert "kubectl -n istio-system get serviceentries -l app.kubernetes.io/managed-by=syncd" in notes
    cron_notes = render_variant("cronjob").notes
    assert "create job --from=cronjob/syncd" in cron_notes
    assert "get serviceentries -l app.kubernetes.io/managed-by=syncd" in cron_notes
