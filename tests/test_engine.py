"""The engine: adapters that fail, crash or hang become failures of their own; renderings of an
unchanged snapshot are reused; invalid objects are never handed to the target."""

from __future__ import annotations

import threading
from typing import ClassVar

from syncd.adapter import Adapter, AdapterSettings
from syncd.config import parse_config
from syncd.engine import Engine
from syncd.model import Snapshot
from syncd.plan import Changes
from syncd.render import Manifest
from syncd.targets import ApplyResult
from tests.factories import as_owned, render, service

CONFIG = parse_config(
    "target: {type: stdout}\nadapters:\n"
    "  - {name: a, type: file, path: /x}\n  - {name: b, type: file, path: /y}\n",
    {},
)


class Scripted(Adapter):
    """An adapter whose answers the test scripts: a snapshot, an exception, or a hang."""

    settings_model: ClassVar[type[AdapterSettings]] = AdapterSettings

    def __init__(self, name: str, answer: Snapshot | Exception | threading.Event) -> None:
        super().__init__(name, AdapterSettings())
        self.answer = answer

    def discover(self) -> Snapshot:
        if isinstance(self.answer, Exception):
            raise self.answer
        if isinstance(self.answer, threading.Event):
            self.answer.wait(5)
            return Snapshot(self.name)
        return self.answer


class Recorder:
    """A target that owns what it is given and records every plan it is asked to apply."""

    def __init__(self, owned: list[Manifest]) -> None:
        self.owned = owned
        self.applied: list[Changes] = []

    def list_owned(self, owner: str) -> list[Manifest]:
        return self.owned

    def apply(self, changes: Changes) -> ApplyResult:
        self.applied.append(changes)
        return ApplyResult(done=list(changes.writes))

    def close(self) -> None:
        pass


def test_crash_and_hang_fail_only_their_adapter_and_delete_nothing() -> None:
    owned = [
        as_owned(d) for d in render("a", service("web", "10.0.0.1")) + render("b", service("api", "10.0.0.2"))
    ]
    release = threading.Event()
    engine = Engine(
        CONFIG,
        [Scripted("a", RuntimeError("boom")), Scripted("b", release)],
        Recorder(owned),
        adapter_timeout=0.3,
    )
    try:
        report = engine.cycle()
    finally:
        release.set()
    errors = {s.adapter: s.error for s in report.failed_adapters}
    assert errors["a"] == "adapter crashed: RuntimeError: boom" and "no answer within" in (errors["b"] or "")
    assert not report.changes.delete and not report.ok


def test_same_snapshot_object_reuses_its_rendering() -> None:
    snap = Snapshot("a", (service("web", "10.0.0.1"),))
    engine = Engine(CONFIG, [Scripted("a", snap), Scripted("b", Snapshot("b"))], Recorder([]))
    first = engine.render([snap])[0]
    assert engine.render([snap])[0] is first
    assert engine.render([Snapshot("a", (service("web", "10.0.0.1"),))])[0] is not first


def test_steady_cycle_applies_an_empty_plan() -> None:
    owned = [as_owned(d) for d in render("a", service("web", "10.0.0.1"))]
    target = Recorder(owned)
    snap = Snapshot("a", (service("web", "10.0.0.1"),))
    report = Engine(CONFIG, [Scripted("a", snap), Scripted("b", Snapshot("b"))], target).cycle()
    assert report.ok and not target.applied[0]
