"""The directory target writes one file per object and removes only files it owns."""

from __future__ import annotations

from pathlib import Path

import yaml

from syncd.plan import AdapterState, plan
from syncd.targets import DirectoryTarget
from tests.factories import OWNER, render, service


def sync(target: DirectoryTarget, *services) -> None:
    changes = plan(
        [AdapterState("a", True, render("a", *services))],
        target.list_owned(OWNER),
        owner=OWNER,
        max_delete_percent=100,
    )
    result = target.apply(changes)
    assert result.ok, result.failed


def test_writes_lists_updates_and_deletes_only_its_files(tmp_path: Path) -> None:
    target = DirectoryTarget(tmp_path / "out")
    sync(target, service("web", "10.0.0.1"), service("api", "10.0.0.2"))
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "serviceentry-a-api.yaml",
        "serviceentry-a-web.yaml",
    ]
    hand_written = tmp_path / "out" / "mine.yaml"
    hand_written.write_text("kind: ServiceEntry\nmetadata: {name: mine}\n")
    other_owner = render("a", service("zzz", "10.0.0.9"), owner="other")[0].body
    (tmp_path / "out" / "serviceentry-a-zzz.yaml").write_text(yaml.safe_dump(other_owner))

    assert len(target.list_owned(OWNER)) == 2
    sync(target, service("web", "10.0.0.1", "10.0.0.3"))
    files = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert files == ["mine.yaml", "serviceentry-a-web.yaml", "serviceentry-a-zzz.yaml"]
    web = yaml.safe_load((tmp_path / "out" / "serviceentry-a-web.yaml").read_text())
    assert [e["address"] for e in web["spec"]["endpoints"]] == ["10.0.0.1", "10.0.0.3"]


def test_steady_state_writes_nothing(tmp_path: Path) -> None:
    target = DirectoryTarget(tmp_path)
    sync(target, service("web", "10.0.0.1"))
    changes = plan(
        [AdapterState("a", True, render("a", service("web", "10.0.0.1")))],
        target.list_owned(OWNER),
        owner=OWNER,
    )
    assert not changes


def test_unwritable_folder_reports_failures(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    target = DirectoryTarget(blocker / "out")
    changes = plan([AdapterState("a", True, render("a", service("web", "10.0.0.1")))], [], owner=OWNER)
    result = target.apply(changes)
    assert not result.ok and "cannot create" in result.failed[0][1]
