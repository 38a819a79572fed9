"""The command line contract: commands, exit codes 0/1/2, stdout vs stderr, no tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from syncd.render.validate import validate_manifest
from tests.cli.helpers import syncd, web, write_config, write_registry

ROOT = Path(__file__).resolve().parents[2]


def test_embedded_default_config_syncs_into_a_directory(tmp_path: Path) -> None:
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "registry.yaml").write_text((ROOT / "examples" / "registry.yaml").read_text())
    (tmp_path / "config.yaml").write_text((ROOT / "config.yaml").read_text())
    first = syncd("sync", cwd=tmp_path)  # -c defaults to ./config.yaml
    assert first.returncode == 0, first.stderr
    files = sorted((tmp_path / "out").glob("*.yaml"))
    assert len(files) == 3
    for file in files:
        assert validate_manifest(yaml.safe_load(file.read_text())) == []
    second = syncd("sync", "--dry-run", cwd=tmp_path)
    assert second.returncode == 0
    assert second.stdout.strip() == "plan: 0 to create, 0 to update, 0 to delete (dry run: nothing written)"


def test_logs_are_json_lines_on_stderr_and_stdout_stays_clean(tmp_path: Path) -> None:
    registry = write_registry(tmp_path / "reg.yaml", [web()])
    config = write_config(tmp_path / "c.yaml", {"type": "stdout"}, registry=registry)
    result = syncd("sync", "-c", str(config))
    assert result.returncode == 0
    events = [json.loads(line)["event"] for line in result.stderr.splitlines()]
    assert "cycle_done" in events
    docs = list(yaml.safe_load_all(result.stdout))
    assert [d["metadata"]["name"] for d in docs] == ["files-web"]


def test_render_prints_manifests_and_touches_no_target(tmp_path: Path) -> None:
    registry = write_registry(tmp_path / "reg.yaml", [web("web"), web("api")])
    out = tmp_path / "out"
    config = write_config(tmp_path / "c.yaml", {"type": "directory", "path": str(out)}, registry=registry)
    result = syncd("render", "-c", str(config))
    assert result.returncode == 0, result.stderr
    docs = list(yaml.safe_load_all(result.stdout))
    assert sorted(d["metadata"]["name"] for d in docs) == ["files-api", "files-web"]
    assert not out.exists()


def test_dry_run_prints_each_change_with_its_reason_and_writes_nothing(tmp_path: Path) -> None:
    registry = write_registry(tmp_path / "reg.yaml", [web("web"), web("api")])
    out = tmp_path / "out"
    config = write_config(tmp_path / "c.yaml", {"type": "directory", "path": str(out)}, registry=registry)
    assert syncd("sync", "-c", str(config)).returncode == 0
    write_registry(registry, [web("web", "10.0.0.1", "10.0.0.2"), web("db")])
    result = syncd("sync", "-c", str(config), "--dry-run")
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        "create ServiceEntry/files-db (adapter files, service db): new in registry",
        "update ServiceEntry/files-web (adapter files, service web): changed in registry",
        "delete ServiceEntry/files-api (adapter files, service api): gone from registry",
        "plan: 1 to create, 1 to update, 1 to delete (dry run: nothing written)",
    ]
    assert sorted(p.name for p in out.iterdir()) == [
        "serviceentry-files-api.yaml",
        "serviceentry-files-web.yaml",
    ]


def test_failed_adapter_exits_1_and_deletes_nothing(tmp_path: Path) -> None:
    registry = write_registry(tmp_path / "reg.yaml", [web()])
    out = tmp_path / "out"
    config = write_config(tmp_path / "c.yaml", {"type": "directory", "path": str(out)}, registry=registry)
    assert syncd("sync", "-c", str(config)).returncode == 0
    registry.write_text("services: [this is: not: yaml")
    result = syncd("sync", "-c", str(config))
    assert result.returncode == 1
    assert "adapter_failed" in result.stderr and "Traceback" not in result.stderr
    assert (out / "serviceentry-files-web.yaml").exists()


def test_delete_guard_exits_1_until_forced(tmp_path: Path) -> None:
    registry = write_registry(tmp_path / "reg.yaml", [web("a"), web("b"), web("c")])
    out = tmp_path / "out"
    config = write_config(tmp_path / "c.yaml", {"type": "directory", "path": str(out)}, registry=registry)
    assert syncd("sync", "-c", str(config)).returncode == 0
    write_registry(registry, [web("a")])
    refused = syncd("sync", "-c", str(config))
    assert refused.returncode == 1 and "deletes_refused" in refused.stderr
    assert len(list(out.iterdir())) == 3
    assert syncd("sync", "-c", str(config), "--force").returncode == 0
    assert [p.name for p in out.iterdir()] == ["serviceentry-files-a.yaml"]


def test_bad_config_exits_2_naming_the_key_path(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("adapters:\n  - {name: files, type: file, path: x.yaml, interval: soon}\n")
    for command in ("sync", "render", "check-config", "run"):
        result = syncd(command, "-c", str(config))
        assert result.returncode == 2, command
        assert "adapters[0].interval: invalid duration 'soon'" in result.stderr
        assert "Traceback" not in result.stderr


def test_check_config_ok_and_missing_file(tmp_path: Path) -> None:
    registry = write_registry(tmp_path / "reg.yaml", [web()])
    config = write_config(tmp_path / "c.yaml", {"type": "stdout"}, registry=registry)
    ok = syncd("check-config", "-c", str(config))
    assert ok.returncode == 0 and "ok" in ok.stdout
    missing = syncd("check-config", env={"SYNCD_CONFIG": str(tmp_path / "nope.yaml")})
    assert missing.returncode == 2 and "cannot read config file" in missing.stderr


def test_usage_errors_exit_2() -> None:
    assert syncd().returncode == 2
    assert syncd("sync", "--bogus").returncode == 2
    assert syncd("sync", "--log-level", "loud").returncode == 2
