"""`syncd sync` end to end against the Kubernetes API emulator: the issue's "done when" list."""

from __future__ import annotations

import copy
from pathlib import Path

from tests.cli.helpers import syncd, web, write_config, write_registry
from tests.emulators.kube_api import KubeApiEmulator
from tests.factories import NAMESPACE, render, service

WRITES = ("create", "update", "patch", "delete")


def test_create_steady_delete_and_foreign_untouched(
    kube_api: KubeApiEmulator, kubeconfig: Path, tmp_path: Path
) -> None:
    foreign = copy.deepcopy(render("other", service("legacy", "10.9.9.9"))[0].body)
    foreign["metadata"]["labels"] = {"app": "legacy"}
    kube_api.put_object(foreign)
    registry = write_registry(
        tmp_path / "reg.yaml", [web("web", "10.0.0.1"), web("api", "10.0.0.2"), web("db", "10.0.0.3")]
    )
    config = write_config(
        tmp_path / "c.yaml", {"type": "kubernetes", "kubeconfig": str(kubeconfig)}, registry=registry
    )

    first = syncd("sync", "-c", str(config))
    assert first.returncode == 0, first.stderr
    ours = {
        o["metadata"]["name"]: o
        for o in kube_api.objects("serviceentries", NAMESPACE)
        if o["metadata"]["labels"].get("syncd.io/owner") == "syncd"
    }
    assert sorted(ours) == ["files-api", "files-db", "files-web"]
    assert ours["files-web"]["metadata"]["labels"] == {
        "app.kubernetes.io/managed-by": "syncd",
        "syncd.io/owner": "syncd",
        "syncd.io/adapter": "files",
    }
    assert len(ours["files-web"]["metadata"]["annotations"]["syncd.io/content-hash"]) == 64

    kube_api.reset_counts()
    assert syncd("sync", "-c", str(config)).returncode == 0
    assert sum(kube_api.counts().get(v, 0) for v in WRITES) == 0

    write_registry(registry, [web("web", "10.0.0.1"), web("api", "10.0.0.2")])
    kube_api.reset_counts()
    assert syncd("sync", "-c", str(config)).returncode == 0
    assert kube_api.counts().get("delete") == 1 and sum(kube_api.counts().get(v, 0) for v in WRITES) == 1
    names = sorted(o["metadata"]["name"] for o in kube_api.objects("serviceentries", NAMESPACE))
    assert names == ["files-api", "files-web", "other-legacy"]
    assert kube_api.get_object("serviceentries", NAMESPACE, "other-legacy")["spec"] == foreign["spec"]


def test_dry_run_against_the_cluster_writes_nothing(
    kube_api: KubeApiEmulator, kubeconfig: Path, tmp_path: Path
) -> None:
    registry = write_registry(tmp_path / "reg.yaml", [web("web")])
    config = write_config(
        tmp_path / "c.yaml", {"type": "kubernetes", "kubeconfig": str(kubeconfig)}, registry=registry
    )
    result = syncd("sync", "-c", str(config), "--dry-run")
    assert result.returncode == 0
    assert "create ServiceEntry/files-web" in result.stdout
    assert sum(kube_api.counts().get(v, 0) for v in WRITES) == 0


def test_unreachable_cluster_exits_1_without_traceback(tmp_path: Path) -> None:
    with KubeApiEmulator() as api:
        kubeconfig = api.write_kubeconfig(tmp_path / "kc")
    registry = write_registry(tmp_path / "reg.yaml", [web("web")])
    config = write_config(
        tmp_path / "c.yaml",
        {"type": "kubernetes", "kubeconfig": str(kubeconfig), "max_retries": 1, "request_timeout": "2s"},
        registry=registry,
    )
    result = syncd("sync", "-c", str(config))
    assert result.returncode == 1
    assert "target_unreadable" in result.stderr and "Traceback" not in result.stderr
