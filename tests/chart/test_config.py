"""The ConfigMap holds a config syncd accepts, with what the chart decides made explicit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.chart.helm import ROOT, VARIANTS, render, render_variant

#: One of each shape: the default (leader election injected), the CronJob, a consul
#: adapter with token and TLS, a cloudmap adapter with IRSA, ${VAR} expansion.
CHECKED = ["default", "cronjob", "consul", "irsa", "everything"]


@pytest.fixture(scope="module")
def check_config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    """``python -m syncd check-config`` on each rendered config, all at once (each takes ~1 s)."""
    folder = tmp_path_factory.mktemp("chart-config")
    environ = {**os.environ, "SYNCD_OWNER": "mesh"}
    environ.pop("SYNCD_CONFIG", None)
    running = {}
    for name in CHECKED:
        path = folder / f"{name}.yaml"
        path.write_text(render_variant(name).config_text(), encoding="utf-8")
        running[name] = (
            path,
            subprocess.Popen(
                [sys.executable, "-m", "syncd", "check-config", "-c", str(path)],
                cwd=ROOT,
                env=environ,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            ),
        )
    results = {}
    for name, (path, process) in running.items():
        out, err = process.communicate(timeout=60)
        results[name] = subprocess.CompletedProcess([str(path)], process.returncode, out, err)
    return results


@pytest.mark.parametrize("variant", CHECKED)
def test_rendered_config_passes_check_config(
    variant: str, check_config: dict[str, subprocess.CompletedProcess[str]]
) -> None:
    result = check_config[variant]
    assert result.returncode == 0, result.stderr
    assert "ok (1 adapters, target kubernetes)" in result.stdout


def test_chart_defaults() -> None:
    config = render_variant("default").config()
    assert config["target"] == {"type": "kubernetes", "namespace": "istio-system"}
    assert config["server"] == {"port": 8080}
    assert config["adapters"] == [
        {"name": "chart", "type": "file", "path": "/etc/syncd/registry.yaml", "interval": "30s"}
    ]
    # syncd's own default (on with the kubernetes target), made explicit so RBAC can follow it,
    # and the Lease next to syncd rather than in istio-system
    assert config["leader_election"] == {"enabled": True, "lease_name": "syncd", "namespace": "syncd"}
    registry = render_variant("default").one("ConfigMap")["data"]["registry.yaml"]
    assert registry.strip() == "services: []"


def test_server_port_follows_the_service() -> None:
    assert render_variant("everything").config()["server"] == {"port": 9102}
    assert render({"config": {"server": {"port": 1, "host": "::"}}}).config()["server"] == {
        "port": 8080,
        "host": "::",
    }


def test_replicas_force_leader_election_on() -> None:
    assert render_variant("replicas2").config()["leader_election"]["enabled"] is True
    assert render_variant("everything").config()["leader_election"]["enabled"] is True


def test_a_single_replica_may_opt_out() -> None:
    election = render({"config": {"leader_election": {"enabled": False}}}).config()["leader_election"]
    assert election == {"enabled": False, "lease_name": "syncd"}


def test_cronjob_never_elects() -> None:
    values = {"mode": "cronjob", "config": {"leader_election": {"enabled": True}}}
    assert render(values).config()["leader_election"]["enabled"] is False
    assert render_variant("cronjob").config()["leader_election"]["enabled"] is False


def test_given_lease_namespace_is_kept() -> None:
    election = render_variant("lease-namespace").config()["leader_election"]
    assert election == {"enabled": True, "lease_name": "syncd-a", "namespace": "syncd-leases"}


def test_adapters_and_target_pass_through() -> None:
    config = render_variant("consul").config()
    assert config["adapters"] == VARIANTS["consul"]["config"]["adapters"]
    assert render_variant("everything").config()["owner"] == "${SYNCD_OWNER}"
    assert render_variant("everything").config()["safety"] == {
        "max_delete_percent": 50,
        "policy": "upsert-only",
    }


def test_config_is_mounted_where_the_command_reads_it() -> None:
    container = render_variant("default").container()
    by_path = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert by_path["/etc/syncd/config.yaml"] == {
        "name": "config",
        "mountPath": "/etc/syncd/config.yaml",
        "subPath": "config.yaml",
        "readOnly": True,
    }
    assert by_path["/etc/syncd/registry.yaml"]["subPath"] == "registry.yaml"
    assert Path(container["args"][-1]) == Path("/etc/syncd/config.yaml")
