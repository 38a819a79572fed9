"""Render charts/syncd with Helm's own engine and read the result back as Kubernetes objects.

``helm_python`` embeds Helm's Go SDK as a shared library (no ``helm`` binary): ``Chart.load`` reads
the chart, ``Chart.render`` coalesces values, validates them against values.schema.json and runs
the templates offline, ``lint`` is ``helm lint``. Each named variant is rendered once per session.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import helm_python
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = ROOT / "charts" / "syncd"
RELEASE = "syncd"
NAMESPACE = "syncd"
ROLE_ARN = "arn:aws:iam::123456789012:role/syncd"

CONSUL_ADAPTER = {
    "name": "consul-dc1",
    "type": "consul",
    "address": "https://consul-server.consul.svc:8501",
    "ca_file": "/etc/syncd/consul-tls/ca.crt",
    "cert_file": "/etc/syncd/consul-tls/tls.crt",
    "key_file": "/etc/syncd/consul-tls/tls.key",
    "interval": "30s",
}
CLOUDMAP_ADAPTER = {
    "name": "cloudmap",
    "type": "cloudmap",
    "region": "eu-west-1",
    "namespaces": ["prod.local"],
}

#: Values a platform team would plausibly write; every one must render, lint and validate.
VARIANTS: dict[str, dict[str, Any]] = {
    "default": {},
    # replicas > 1 forces leader election on, whatever the config says.
    "replicas2": {"replicas": 2, "config": {"leader_election": {"enabled": False}}},
    "cronjob": {"mode": "cronjob", "cronjob": {"schedule": "*/10 * * * *", "timeZone": "Etc/UTC"}},
    "namespaces": {"rbac": {"extraNamespaces": ["team-a", "team-b", "istio-system"]}},
    "clusterwide": {"rbac": {"clusterWide": True}},
    "features": {"features": {"destinationRules": True, "workloadEntries": True}},
    "lease-namespace": {
        "config": {"leader_election": {"namespace": "syncd-leases", "lease_name": "syncd-a"}}
    },
    "stdout": {"config": {"target": {"type": "stdout"}}},
    "servicemonitor": {
        "metrics": {"serviceMonitor": {"enabled": True, "labels": {"release": "kube-prometheus-stack"}}}
    },
    "networkpolicy": {
        "networkPolicy": {
            "enabled": True,
            "apiServer": {"cidrs": ["10.96.0.1/32", "172.18.0.2/32"]},
            "registries": [{"cidrs": ["10.20.0.0/16"], "ports": [8500, 8501]}],
            "metricsFrom": [
                {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
            ],
        }
    },
    "networkpolicy-cronjob": {
        "mode": "cronjob",
        "networkPolicy": {"enabled": True, "apiServer": {"cidrs": ["10.96.0.1/32"]}},
    },
    "consul": {
        "consul": {"tokenSecret": {"name": "consul-acl", "key": "token"}, "tlsSecret": {"name": "consul-ca"}},
        "config": {"adapters": [CONSUL_ADAPTER]},
    },
    "irsa": {
        "serviceAccount": {"annotations": {"eks.amazonaws.com/role-arn": ROLE_ARN}},
        "extraEnv": [{"name": "AWS_REGION", "value": "eu-west-1"}],
        "config": {"adapters": [CLOUDMAP_ADAPTER]},
    },
    "everything": {
        "replicas": 3,
        "fullnameOverride": "mesh-sync",
        "image": {"repository": "registry.example.com/platform/syncd", "digest": "sha256:" + "a" * 64},
        "imagePullSecrets": [{"name": "regcred"}],
        "extraArgs": ["--log-level", "debug"],
        "extraEnv": [{"name": "SYNCD_OWNER", "value": "mesh"}],
        "extraEnvFrom": [{"configMapRef": {"name": "syncd-env"}}],
        "extraVolumes": [{"name": "certs", "secret": {"secretName": "corp-ca"}}],
        "extraVolumeMounts": [{"name": "certs", "mountPath": "/etc/corp-ca", "readOnly": True}],
        "podAnnotations": {"sidecar.istio.io/inject": "false"},
        "podLabels": {"team": "platform"},
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "tolerations": [
            {"key": "dedicated", "operator": "Equal", "value": "platform", "effect": "NoSchedule"}
        ],
        "affinity": {
            "podAntiAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {
                        "weight": 100,
                        "podAffinityTerm": {
                            "topologyKey": "kubernetes.io/hostname",
                            "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "syncd"}},
                        },
                    }
                ]
            }
        },
        "topologySpreadConstraints": [
            {
                "maxSkew": 1,
                "topologyKey": "topology.kubernetes.io/zone",
                "whenUnsatisfiable": "ScheduleAnyway",
                "labelSelector": {"matchLabels": {"app.kubernetes.io/name": "syncd"}},
            }
        ],
        "priorityClassName": "platform-critical",
        "service": {"port": 9102},
        "config": {"owner": "${SYNCD_OWNER}", "safety": {"policy": "upsert-only"}},
    },
}


@dataclass(frozen=True)
class Rendered:
    """One render: the Kubernetes objects in template order, and NOTES.txt."""

    objects: tuple[dict[str, Any], ...]
    notes: str

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [obj for obj in self.objects if obj["kind"] == kind]

    def one(self, kind: str) -> dict[str, Any]:
        found = self.of_kind(kind)
        assert len(found) == 1, f"expected one {kind}, got {len(found)}"
        return found[0]

    def kinds(self) -> set[str]:
        return {obj["kind"] for obj in self.objects}

    def config_text(self) -> str:
        text: str = self.one("ConfigMap")["data"]["config.yaml"]
        return text

    def config(self) -> dict[str, Any]:
        loaded: dict[str, Any] = yaml.safe_load(self.config_text())
        return loaded

    def pod_spec(self) -> dict[str, Any]:
        workload = self.of_kind("Deployment") or self.of_kind("CronJob")
        assert len(workload) == 1
        spec = workload[0]["spec"]
        template = spec["jobTemplate"]["spec"]["template"] if "jobTemplate" in spec else spec["template"]
        pod: dict[str, Any] = template["spec"]
        return pod

    def container(self) -> dict[str, Any]:
        containers = self.pod_spec()["containers"]
        assert len(containers) == 1
        container: dict[str, Any] = containers[0]
        return container


@functools.lru_cache(maxsize=1)
def chart() -> helm_python.Chart:
    return helm_python.Chart.load(CHART_DIR)


def render(values: dict[str, Any], *, namespace: str = NAMESPACE) -> Rendered:
    """Render like ``helm install syncd charts/syncd -n <namespace> -f values`` would."""
    files = chart().render(values, name=RELEASE, namespace=namespace, is_install=True)
    objects: list[dict[str, Any]] = []
    notes = ""
    for path, text in sorted(files.items()):
        if path.endswith("NOTES.txt"):
            notes = text
            continue
        objects.extend(doc for doc in yaml.safe_load_all(text) if doc)
    return Rendered(tuple(objects), notes)


@functools.cache
def render_variant(name: str) -> Rendered:
    return render(VARIANTS[name])
