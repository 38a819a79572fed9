"""The pod: command, hardening, probes, secrets from existing Secrets, and scheduling knobs."""

from __future__ import annotations

from typing import Any

import pytest

from tests.chart.helm import ROLE_ARN, render, render_variant

CONFIG_ARGS = ["-c", "/etc/syncd/config.yaml"]


def env(container: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item.get("value", item.get("valueFrom")) for item in container["env"]}


def mounts(container: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["mountPath"]: m for m in container["volumeMounts"]}


def test_deployment_runs_the_daemon() -> None:
    container = render_variant("default").container()
    assert container["command"] == ["syncd"]
    assert container["args"] == ["run", *CONFIG_ARGS]
    assert container["image"] == "syncd:0.1.0"  # tag defaults to appVersion


def test_cronjob_runs_one_sync() -> None:
    container = render_variant("cronjob").container()
    assert container["args"] == ["sync", *CONFIG_ARGS]
    assert "ports" not in container and "livenessProbe" not in container and "readinessProbe" not in container


def test_extra_args_and_digest() -> None:
    container = render_variant("everything").container()
    assert container["args"] == ["run", *CONFIG_ARGS, "--log-level", "debug"]
    assert container["image"] == "registry.example.com/platform/syncd@sha256:" + "a" * 64


@pytest.mark.parametrize("variant", ["default", "cronjob"])
def test_hardened_security_context(variant: str) -> None:
    rendered = render_variant(variant)
    pod = rendered.pod_spec()
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 65532
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    context = rendered.container()["securityContext"]
    assert context["runAsNonRoot"] is True
    assert context["runAsUser"] == 65532
    assert context["readOnlyRootFilesystem"] is True
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"] == {"drop": ["ALL"]}
    assert context["seccompProfile"] == {"type": "RuntimeDefault"}
    # the only writable place is an emptyDir at /tmp
    assert mounts(rendered.container())["/tmp"]["name"] == "tmp"
    assert {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}} in pod["volumes"]
    assert pod["automountServiceAccountToken"] is True
    assert rendered.one("ServiceAccount")["automountServiceAccountToken"] is True


def test_probes_and_resources() -> None:
    container = render_variant("default").container()
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http-metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http-metrics"}
    assert container["resources"] == {
        "requests": {"cpu": "50m", "memory": "128Mi"},
        "limits": {"memory": "512Mi"},
    }


def test_pod_identity_from_the_downward_api() -> None:
    variables = env(render_variant("default").container())
    assert variables["POD_NAME"] == {"fieldRef": {"fieldPath": "metadata.name"}}
    assert variables["POD_NAMESPACE"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}
    assert "CONSUL_HTTP_TOKEN" not in variables


def test_consul_token_and_tls_come_from_existing_secrets() -> None:
    rendered = render_variant("consul")
    container = rendered.container()
    assert env(container)["CONSUL_HTTP_TOKEN"] == {"secretKeyRef": {"name": "consul-acl", "key": "token"}}
    tls = mounts(container)["/etc/syncd/consul-tls"]
    assert tls["readOnly"] is True
    volume = next(v for v in rendered.pod_spec()["volumes"] if v["name"] == tls["name"])
    assert volume["secret"]["secretName"] == "consul-ca"
    # nothing secret is ever inlined into the ConfigMap
    assert "token" not in rendered.config_text()


def test_irsa_annotation_on_the_service_account() -> None:
    rendered = render_variant("irsa")
    account = rendered.one("ServiceAccount")
    assert account["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": ROLE_ARN}
    assert rendered.pod_spec()["serviceAccountName"] == account["metadata"]["name"]
    assert env(rendered.container())["AWS_REGION"] == "eu-west-1"
    assert not any(k.startswith("AWS_SECRET") for k in env(rendered.container()))


def test_config_change_rolls_the_pods() -> None:
    def checksum(values: dict[str, Any]) -> str:
        annotations = render(values).one("Deployment")["spec"]["template"]["metadata"]["annotations"]
        value: str = annotations["checksum/config"]
        return value

    base = checksum({})
    assert base == checksum({"podLabels": {"x": "y"}})
    assert base != checksum({"config": {"safety": {"max_delete_percent": 10}}})
    assert base != checksum({"registry": {"services": [{"name": "a"}]}})


def test_generic_extras_and_scheduling() -> None:
    rendered = render_variant("everything")
    deployment = rendered.one("Deployment")
    pod, container = rendered.pod_spec(), rendered.container()
    assert deployment["metadata"]["name"] == "mesh-sync"
    assert deployment["spec"]["replicas"] == 3
    assert env(container)["SYNCD_OWNER"] == "mesh"
    assert container["envFrom"] == [{"configMapRef": {"name": "syncd-env"}}]
    assert mounts(container)["/etc/corp-ca"] == {
        "name": "certs",
        "mountPath": "/etc/corp-ca",
        "readOnly": True,
    }
    assert {"name": "certs", "secret": {"secretName": "corp-ca"}} in pod["volumes"]
    assert pod["imagePullSecrets"] == [{"name": "regcred"}]
    assert pod["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert pod["tolerations"][0]["key"] == "dedicated"
    assert "podAntiAffinity" in pod["affinity"]
    assert pod["topologySpreadConstraints"][0]["topologyKey"] == "topology.kubernetes.io/zone"
    assert pod["priorityClassName"] == "platform-critical"
    metadata = deployment["spec"]["template"]["metadata"]
    assert metadata["annotations"]["sidecar.istio.io/inject"] == "false"
    assert metadata["labels"]["team"] == "platform"


def test_rollout_without_leader_election_stops_the_old_pod_first() -> None:
    assert render_variant("default").one("Deployment")["spec"].get("strategy") is None
    no_election = render({"config": {"leader_election": {"enabled": False}}}).one("Deployment")
    assert no_election["spec"]["strategy"] == {"type": "Recreate"}
