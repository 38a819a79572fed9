"""WorkloadEntry endpoints end to end: `syncd sync` against the Kubernetes API emulator.

A 5,000-endpoint service in ``auto`` mode becomes 1 ServiceEntry + 5,000 WorkloadEntries, a
steady second cycle writes nothing, and one endpoint change writes one small object, far fewer
bytes than the same change rewriting a 4,000-endpoint inline ServiceEntry.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from syncd.render.validate import validate_manifest
from tests.cli.helpers import syncd
from tests.emulators.kube_api import KubeApiEmulator
from tests.factories import NAMESPACE

WRITES = ("create", "update", "patch", "delete")


def registry(path: Path, count: int, *, changed: bool = False) -> None:
    addresses = [f"10.{i // 65536}.{i // 256 % 256}.{i % 256}" for i in range(count)]
    if changed:
        addresses[17] = "192.168.0.1"
    service = {
        "name": "big",
        "hosts": ["big.example.com"],
        "ports": [{"number": 80, "protocol": "HTTP"}],
        "endpoints": [{"address": a} for a in addresses],
    }
    path.write_text(json.dumps({"services": [service]}))


def config(tmp_path: Path, kubeconfig: Path, mode: str) -> Path:
    body = {
        "owner": "syncd",
        "target": {"type": "kubernetes", "kubeconfig": str(kubeconfig), "concurrency": 32},
        "adapters": [
            {"name": "files", "type": "file", "path": str(tmp_path / "reg.json"), "endpoint_mode": mode}
        ],
    }
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(body))
    return path


def sync(path: Path) -> None:
    done = syncd("sync", "-c", str(path), timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]


def writes(kube_api: KubeApiEmulator) -> int:
    return sum(kube_api.counts()[verb] for verb in WRITES)


def test_five_thousand_endpoints_in_auto_mode(
    kube_api: KubeApiEmulator, kubeconfig: Path, tmp_path: Path
) -> None:
    cfg = config(tmp_path, kubeconfig, "auto")
    registry(tmp_path / "reg.json", 5000)
    # The inline comparison (4,000 endpoints, its own emulator) syncs first in the background.
    inline_dir = tmp_path / "inline"
    inline_dir.mkdir()
    other = KubeApiEmulator().start()
    inline_cfg = config(inline_dir, other.write_kubeconfig(inline_dir / "kubeconfig"), "inline")
    registry(inline_dir / "reg.json", 4000)
    background = subprocess.Popen(
        [sys.executable, "-m", "syncd", "sync", "-c", str(inline_cfg)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        sync(cfg)
        assert background.wait(timeout=120) == 0
        registry(inline_dir / "reg.json", 4000, changed=True)
        other.reset_counts()
        sync(inline_cfg)
        inline_writes, inline_bytes = writes(other), other.bytes_written
    finally:
        background.kill()
        background.wait()
        other.stop()
    assert inline_writes == 1
    [entry] = kube_api.objects("serviceentries", NAMESPACE)
    assert entry["spec"]["workloadSelector"] == {"labels": {"syncd.io/workload": "files-big"}}
    assert "endpoints" not in entry["spec"]
    workloads = kube_api.objects("workloadentries", NAMESPACE)
    assert len(workloads) == 5000
    assert {w["spec"]["labels"]["syncd.io/workload"] for w in workloads} == {"files-big"}
    assert {w["metadata"]["annotations"]["syncd.io/service"] for w in workloads} == {"big"}
    for obj in [entry, *workloads[::250]]:
        assert validate_manifest(obj) == []

    kube_api.reset_counts()
    sync(cfg)
    assert writes(kube_api) == 0  # steady state: nothing written

    registry(tmp_path / "reg.json", 5000, changed=True)
    kube_api.reset_counts()
    sync(cfg)
    assert writes(kube_api) <= 2
    workload_bytes = kube_api.bytes_written
    names = {w["metadata"]["name"] for w in kube_api.objects("workloadentries", NAMESPACE)}
    assert "files-big-192-168-0-1" in names and "files-big-10-0-0-17" not in names
    assert len(names) == 5000

    # The same change with 4,000 endpoints inline rewrote the whole entry (measured above).
    print(f"bytes per endpoint change: workloadentry={workload_bytes} inline(4000)={inline_bytes}")
    assert workload_bytes * 50 < inline_bytes


def test_switching_back_to_inline_deletes_workload_entries(
    kube_api: KubeApiEmulator, kubeconfig: Path, tmp_path: Path
) -> None:
    registry(tmp_path / "reg.json", 20)
    sync(config(tmp_path, kubeconfig, "workloadentry"))
    assert len(kube_api.objects("workloadentries", NAMESPACE)) == 20

    # inline everywhere: auto stops managing WorkloadEntries, so one cycle with it forced on.
    cfg = config(tmp_path, kubeconfig, "inline")
    cfg.write_text(cfg.read_text() + "manage_workload_entries: true\n")
    sync(cfg)
    [entry] = kube_api.objects("serviceentries", NAMESPACE)
    assert len(entry["spec"]["endpoints"]) == 20 and "workloadSelector" not in entry["spec"]
    assert kube_api.objects("workloadentries", NAMESPACE) == []
