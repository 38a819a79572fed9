"""Against a real Kubernetes API server (k3s in Docker): install Istio's CRD, sync, read back.

Runs wherever a Docker engine is reachable; elsewhere it skips and says why.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from tests.cli.helpers import syncd, web, write_config, write_registry
from tests.docker_support import docker_unavailable_reason

CRD = Path(__file__).resolve().parents[2] / "syncd" / "render" / "schemas" / "istio-serviceentry-crd.yaml"


@pytest.fixture(scope="module")
def k3s_kubeconfig(tmp_path_factory: pytest.TempPathFactory) -> object:
    reason = docker_unavailable_reason()
    if reason:
        print(f"SKIP k3s tests: {reason}")
        pytest.skip(reason)
    from kubernetes import client, config
    from testcontainers.k3s import K3SContainer

    with K3SContainer() as k3s:
        path = tmp_path_factory.mktemp("k3s") / "kubeconfig"
        path.write_text(k3s.config_yaml())
        api = config.new_client_from_config(config_file=str(path))
        ext = client.ApiextensionsV1Api(api)
        ext.create_custom_resource_definition(yaml.safe_load(CRD.read_text()))
        core = client.CoreV1Api(api)
        core.create_namespace({"metadata": {"name": "istio-system"}})
        deadline = time.time() + 60
        while time.time() < deadline:
            crd = ext.read_custom_resource_definition("serviceentries.networking.istio.io")
            if any(c.type == "Established" and c.status == "True" for c in crd.status.conditions or []):
                break
            time.sleep(0.5)
        yield path


def test_sync_creates_then_steady_then_delete(k3s_kubeconfig: Path, tmp_path: Path) -> None:
    from kubernetes import client, config

    registry = write_registry(tmp_path / "reg.yaml", [web("web", "10.0.0.1", "10.0.0.2"), web("api")])
    cfg = write_config(
        tmp_path / "c.yaml", {"type": "kubernetes", "kubeconfig": str(k3s_kubeconfig)}, registry=registry
    )
    first = syncd("sync", "-c", str(cfg))
    assert first.returncode == 0, first.stderr
    api = client.CustomObjectsApi(config.new_client_from_config(config_file=str(k3s_kubeconfig)))
    items = api.list_namespaced_custom_object(
        "networking.istio.io", "v1", "istio-system", "serviceentries", label_selector="syncd.io/owner=syncd"
    )["items"]
    assert sorted(i["metadata"]["name"] for i in items) == ["files-api", "files-web"]
    versions = {i["metadata"]["name"]: i["metadata"]["resourceVersion"] for i in items}

    assert syncd("sync", "-c", str(cfg)).returncode == 0
    again = api.list_namespaced_custom_object("networking.istio.io", "v1", "istio-system", "serviceentries")
    assert {i["metadata"]["name"]: i["metadata"]["resourceVersion"] for i in again["items"]} == versions

    write_registry(registry, [web("web", "10.0.0.1", "10.0.0.2")])
    assert syncd("sync", "-c", str(cfg)).returncode == 0
    left = api.list_namespaced_custom_object("networking.istio.io", "v1", "istio-system", "serviceentries")
    assert [i["metadata"]["name"] for i in left["items"]] == ["files-web"]
