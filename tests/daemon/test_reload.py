"""Reload rules: a changed file is noticed once, a bad config is rejected by key path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml
from structlog.testing import capture_logs

from syncd.config import parse_config
from syncd.daemon.reload import ConfigSource, needs_restart, target_changed

BASE = {"target": {"type": "stdout"}, "adapters": [{"name": "a", "type": "file", "path": "/tmp/a.yaml"}]}


def write(path: Path, data: dict) -> None:
    path.write_text(yaml.safe_dump(data))


def test_a_change_is_reported_once(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    write(path, BASE)
    source = ConfigSource(path)
    assert not source.changed()
    write(path, {**BASE, "owner": "team-b"})
    os.utime(path, ns=(1, 1))  # a different mtime even on a coarse file system clock
    assert source.changed() and not source.changed()


def test_a_bad_config_is_rejected_with_its_key_paths(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    write(path, {**BASE, "daemon": {"debounce_quiet": "soon"}, "adapters": [{"name": "A!", "type": "file"}]})
    with capture_logs() as logs:
        assert ConfigSource(path).load("sighup") is None
    [line] = [e for e in logs if e["event"] == "config_reload_rejected"]
    assert any(p.startswith("daemon.debounce_quiet:") for p in line["problems"])
    assert any(p.startswith("adapters[0].name:") for p in line["problems"])
    assert line["reason"] == "sighup"


def test_a_good_config_loads(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    write(path, {**BASE, "daemon": {"debounce_quiet": "50ms", "resync_interval": "1m"}})
    config = ConfigSource(path).load("file_changed")
    assert config is not None and config.daemon.debounce_quiet == 0.05 and config.daemon.resync_interval == 60


@pytest.mark.parametrize(
    ("change", "restart", "new_target"),
    [
        ({"adapters": [{"name": "b", "type": "file", "path": "/tmp/b.yaml"}]}, [], False),
        ({"daemon": {"min_interval": "2s"}}, [], False),
        ({"server": {"port": 9090}}, ["server"], False),
        ({"leader_election": {"lease_name": "other"}}, ["leader_election"], False),
        ({"owner": "team-b"}, [], True),
        ({"target": {"type": "stdout", "namespace": "mesh"}}, [], True),
    ],
)
def test_what_a_reload_can_change(change: dict, restart: list[str], new_target: bool) -> None:
    old = parse_config(yaml.safe_dump(BASE), {})
    new = parse_config(yaml.safe_dump({**BASE, **change}), {})
    assert needs_restart(old, new) == restart
    assert target_changed(old, new) is new_target


def test_daemon_defaults() -> None:
    daemon = parse_config(yaml.safe_dump(BASE), {}).daemon
    assert (daemon.debounce_quiet, daemon.debounce_max, daemon.min_interval) == (0.2, 2.0, 1.0)
    assert (daemon.resync_interval, daemon.config_check_interval, daemon.shutdown_timeout) == (600, 5, 8)
    assert daemon.jitter == 0.1
