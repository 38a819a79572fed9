"""The file adapter: format, failures as values, bad records kept or dropped, change watch."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import yaml

from adapters.file import FileAdapter, FileSettings
from syncd.model import Protocol


def adapter(path: Path) -> FileAdapter:
    return FileAdapter("files", FileSettings(path=path, watch_interval=0.05))


def write(path: Path, services: object) -> Path:
    path.write_text(yaml.safe_dump({"services": services}))
    return path


def test_full_record(tmp_path: Path) -> None:
    path = write(
        tmp_path / "r.yaml",
        [
            {
                "name": "pay",
                "hosts": ["pay.example.com"],
                "ports": [{"number": 443, "protocol": "https"}],
                "endpoints": [
                    {
                        "address": "10.0.0.1",
                        "labels": {"version": "v 1"},
                        "locality": "r/z",
                        "weight": 3,
                        "network": "n1",
                    },
                    {"address": "10.0.0.2", "port": 8443},
                ],
            }
        ],
    )
    snap = adapter(path).discover()
    assert snap.ok and not snap.dropped
    (svc,) = snap.services
    assert svc.origin == "files" and svc.ports[0].protocol is Protocol.HTTPS
    first, second = svc.endpoints
    assert (first.labels, first.locality, first.weight, first.network) == ({"version": "v-1"}, "r/z", 3, "n1")
    assert second.ports == {443: 8443}


def test_json_files_work(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text('{"services": [{"name": "a", "hosts": ["a.example.com"], "ports": [{"number": 80}]}]}')
    assert [s.name for s in adapter(path).discover().services] == ["a"]


def test_unreadable_or_broken_file_fails_the_adapter(tmp_path: Path) -> None:
    assert "cannot read" in (adapter(tmp_path / "missing.yaml").discover().error or "")
    broken = tmp_path / "b.yaml"
    broken.write_text("services: [\n")
    assert "not valid YAML" in (adapter(broken).discover().error or "")
    broken.write_text("servics: []\n")
    assert "top level" in (adapter(broken).discover().error or "")


def test_absurdly_nested_file_fails_the_adapter_with_a_reason(tmp_path: Path) -> None:
    for name, text in (
        ("deep.json", '{"services": [' + "[" * 100_000 + "]" * 100_000 + "]}"),
        ("deep.yaml", "services: " + "[" * 100_000 + "]" * 100_000),
    ):
        path = tmp_path / name
        path.write_text(text)
        snap = adapter(path).discover()
        error = snap.error or ""
        assert not snap.ok and "nested" in error and "not valid" in error, error


def test_empty_file_is_an_empty_registry(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_text("")
    snap = adapter(path).discover()
    assert snap.ok and snap.services == ()


def test_bad_service_is_kept_unknown_and_bad_endpoint_dropped(tmp_path: Path) -> None:
    path = write(
        tmp_path / "r.yaml",
        [
            {"name": "typo", "hosts": ["t.example.com"], "ports": [{"number": 80}], "endpoint": []},
            {"name": "badport", "hosts": ["b.example.com"], "ports": [{"number": 0}]},
            {
                "name": "ok",
                "hosts": ["o.example.com"],
                "ports": [{"number": 80}],
                "endpoints": [
                    {"address": "not an address"},
                    {"address": "10.0.0.1", "ports": {"tcp-81": 1}},
                    {"address": "10.0.0.2"},
                ],
            },
            {"name": "ok", "hosts": ["dup.example.com"], "ports": [{"number": 80}]},
        ],
    )
    snap = adapter(path).discover()
    assert [s.name for s in snap.services] == ["ok"]
    assert [e.address for e in snap.services[0].endpoints] == ["10.0.0.2"]
    assert snap.unknown == {"typo", "badport"}
    reasons = [d.reason for d in snap.dropped]
    assert any("unknown key" in r for r in reasons) and any("duplicate" in r for r in reasons)
    assert len(snap.dropped) == 5


def test_watch_wakes_on_change_and_stops(tmp_path: Path) -> None:
    path = write(tmp_path / "r.yaml", [])
    woke = threading.Event()
    stop = threading.Event()
    thread = threading.Thread(target=adapter(path).watch, args=(woke.set, stop))
    thread.start()
    try:
        time.sleep(0.1)
        write(path, [{"name": "a", "hosts": ["a.example.com"], "ports": [{"number": 80}]}])
        assert woke.wait(2)
    finally:
        stop.set()
        thread.join(2)
    assert not thread.is_alive()


def test_unchanged_file_returns_the_same_snapshot_object(tmp_path: Path) -> None:
    path = write(tmp_path / "r.yaml", [{"name": "a", "hosts": ["a.example.com"], "ports": [{"number": 80}]}])
    files = adapter(path)
    first = files.discover()
    assert files.discover() is first
    write(path, [{"name": "b", "hosts": ["b.example.com"], "ports": [{"number": 80}]}])
    second = files.discover()
    assert second is not first and [s.name for s in second.services] == ["b"]
