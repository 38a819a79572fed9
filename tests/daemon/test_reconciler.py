"""Latest snapshot per adapter: one adapter's run reconciles with the others' last known state."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from adapters.file import FileAdapter
from syncd.build import build_adapters
from syncd.config import Config, parse_config
from syncd.daemon.reconciler import Reconciler
from syncd.engine import Engine
from syncd.targets import DirectoryTarget
from tests.daemon.conftest import web, write_registry

pytestmark = pytest.mark.timeout(30)


def setup(tmp_path: Path) -> tuple[Config, DirectoryTarget]:
    write_registry(tmp_path / "a.yaml", web("web", "10.0.0.1"))
    write_registry(tmp_path / "b.yaml", web("api", "10.0.0.2"))
    text = yaml.safe_dump(
        {
            "target": {"type": "directory", "path": str(tmp_path / "out")},
            "adapters": [
                {"name": "a", "type": "file", "path": str(tmp_path / "a.yaml")},
                {"name": "b", "type": "file", "path": str(tmp_path / "b.yaml")},
            ],
            "safety": {"max_delete_percent": 100},
        }
    )
    return parse_config(text, {}), DirectoryTarget(tmp_path / "out")


def files(target: DirectoryTarget) -> list[str]:
    return sorted(p.name for p in target.path.glob("*.yaml"))


def test_an_adapter_not_read_yet_keeps_its_entries(tmp_path: Path) -> None:
    config, target = setup(tmp_path)
    Engine(config, build_adapters(config), target).cycle()
    assert files(target) == ["serviceentry-a-web.yaml", "serviceentry-b-api.yaml"]

    write_registry(tmp_path / "b.yaml")  # b now says "empty"...
    write_registry(tmp_path / "a.yaml", web("web", "10.0.0.1"), web("db", "10.0.0.3"))
    fresh = Reconciler(Engine(config, build_adapters(config), target), lambda: True)
    fresh.run_adapter("a", "watch")  # ...but a fresh daemon has not read b yet: b's entry stays
    assert files(target) == ["serviceentry-a-db.yaml", "serviceentry-a-web.yaml", "serviceentry-b-api.yaml"]

    fresh.run_adapter("b", "interval")  # once b is read, its emptiness counts
    assert files(target) == ["serviceentry-a-db.yaml", "serviceentry-a-web.yaml"]
    assert fresh.cycles_done == 2


def test_one_adapter_run_reuses_the_others_last_snapshot(tmp_path: Path) -> None:
    config, target = setup(tmp_path)
    reconciler = Reconciler(Engine(config, build_adapters(config), target), lambda: True)
    reconciler.run_full("start")
    (tmp_path / "b.yaml").write_text("not: [valid")  # b would fail if it were read again
    write_registry(tmp_path / "a.yaml", web("web", "10.0.0.9"))
    reconciler.run_adapter("a", "watch")
    assert "10.0.0.9" in (target.path / "serviceentry-a-web.yaml").read_text()
    assert files(target) == ["serviceentry-a-web.yaml", "serviceentry-b-api.yaml"]


def test_a_follower_neither_reads_nor_writes(tmp_path: Path) -> None:
    config, target = setup(tmp_path)
    reconciler = Reconciler(Engine(config, build_adapters(config), target), lambda: False)
    assert reconciler.run_adapter("a", "interval") is None
    reconciler.run_full("start")
    reconciler.run_reconcile("drift")
    assert files(target) == [] and reconciler.cycles_done == 0


def test_a_swap_forgets_the_old_snapshots(tmp_path: Path) -> None:
    config, target = setup(tmp_path)
    reconciler = Reconciler(Engine(config, build_adapters(config), target), lambda: True)
    reconciler.run_full("start")
    write_registry(tmp_path / "b.yaml")
    reconciler.swap(Engine(config, build_adapters(config), target), None)
    reconciler.run_reconcile("drift")  # nothing read since the swap: everything is unknown, kept
    assert files(target) == ["serviceentry-a-web.yaml", "serviceentry-b-api.yaml"]


def test_stopping_starts_no_reconcile(tmp_path: Path) -> None:
    config, target = setup(tmp_path)
    reconciler = Reconciler(Engine(config, build_adapters(config), target), lambda: True)
    reconciler.stopping = True
    reconciler.run_full("start")
    assert files(target) == []


def test_a_resync_relists_the_target_first_even_on_a_follower(tmp_path: Path) -> None:
    config, target = setup(tmp_path)
    relists: list[float] = []
    leading = [False]

    def relist(timeout: float) -> bool:
        relists.append(timeout)
        return True

    reconciler = Reconciler(Engine(config, build_adapters(config), target), lambda: leading[0], relist=relist)
    reconciler.run_full("resync", relist=True)
    assert relists == [30.0] and files(target) == []
    leading[0] = True
    reconciler.run_full("resync", relist=True)
    assert len(relists) == 2 and files(target) == ["serviceentry-a-web.yaml", "serviceentry-b-api.yaml"]


class TtlFileAdapter(FileAdapter):
    """A file adapter whose data expires after 5 s, as a DNS answer with a TTL would."""

    def poll_interval_hint(self) -> float | None:
        return 5.0


def test_a_run_hands_back_the_adapters_ttl_hint_when_its_read_succeeded(tmp_path: Path) -> None:
    config, target = setup(tmp_path)
    adapters = [TtlFileAdapter(entry.name, entry.settings) for entry in config.adapters]
    reconciler = Reconciler(Engine(config, adapters, target), lambda: True)
    assert reconciler.run_adapter("a", "interval") == 5.0
    (tmp_path / "b.yaml").write_text("not: [valid")
    assert reconciler.run_adapter("b", "interval") is None  # a failed read: the interval rules
