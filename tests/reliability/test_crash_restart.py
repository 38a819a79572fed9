"""kill -9 in the middle of a large apply, then restart: converges, no orphans, no duplicates, and
the entries created before the crash are recognised as ours (not created again)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.cli.helpers import syncd, write_config
from tests.emulators.kube_api import KubeApiEmulator

NS = "istio-system"
SERVICES = 1500


def test_kill_9_mid_apply_then_restart_converges(
    kube_api: KubeApiEmulator, kubeconfig: Path, tmp_path: Path
) -> None:
    registry = tmp_path / "registry.json"
    registry.write_text(
        json.dumps(
            {
                "services": [
                    {
                        "name": f"s{i}",
                        "hosts": [f"s{i}.example.com"],
                        "ports": [{"number": 80, "protocol": "HTTP"}],
                        "endpoints": [{"address": f"10.0.{i // 250}.{i % 250 + 1}"}],
                    }
                    for i in range(SERVICES)
                ]
            }
        )
    )
    config = write_config(
        tmp_path / "c.yaml",
        {"type": "kubernetes", "kubeconfig": str(kubeconfig), "concurrency": 2},
        registry=registry,
    )
    kube_api.set_faults(1.0, kinds=("slow",), slow_seconds=0.01, verbs=("create",))
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncd", "sync", "-c", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while len(kube_api.objects("serviceentries", NS)) < 100 and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(10)
    kube_api.clear_faults()
    survived = len(kube_api.objects("serviceentries", NS))
    assert 100 <= survived < SERVICES, survived

    kube_api.reset_counts()
    result = syncd("sync", "-c", str(config))
    assert result.returncode == 0, result.stderr
    counts = kube_api.counts()
    assert counts.get("create") == SERVICES - survived
    assert counts.get("update", 0) == 0 and counts.get("delete", 0) == 0
    stored = kube_api.objects("serviceentries", NS)
    names = [o["metadata"]["name"] for o in stored]
    assert len(names) == len(set(names)) == SERVICES
    assert all(o["metadata"]["labels"]["syncd.io/owner"] == "syncd" for o in stored)

    kube_api.reset_counts()
    assert syncd("sync", "-c", str(config)).returncode == 0
    assert not any(kube_api.counts().get(v) for v in ("create", "update", "patch", "delete"))
