"""The ``directory`` target: one YAML file per object, for GitOps and review.

It lists and removes only files whose object carries our owner label, so hand-written files and
other syncd instances' files in the same folder are never touched. Writes are atomic (rename).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from syncd import yamlio
from syncd.plan import Changes, is_owned
from syncd.render import Manifest
from syncd.targets.base import ApplyResult, TargetError


class DirectoryTarget:
    def __init__(self, path: Path) -> None:
        self.path = path

    def file_for(self, kind: str, name: str) -> Path:
        return self.path / f"{kind.lower()}-{name}.yaml"

    def list_owned(self, owner: str) -> list[Manifest]:
        if not self.path.exists():
            return []
        if not self.path.is_dir():
            raise TargetError(f"{self.path} exists and is not a directory")
        owned = []
        for file in sorted(self.path.glob("*.yaml")):
            try:
                obj = yamlio.load(file.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, yamlio.YAMLError):
                continue  # not ours if we cannot even read it
            if isinstance(obj, dict) and is_owned(obj, owner) and file == self._file_of(obj):
                owned.append(obj)
        return owned

    def apply(self, changes: Changes) -> ApplyResult:
        result = ApplyResult()
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            result.failed.extend((c, f"cannot create {self.path}: {exc.strerror}") for c in changes.writes)
            return result
        for change in changes.writes:
            file = self.file_for(change.kind, change.name)
            try:
                if change.action == "delete":
                    file.unlink(missing_ok=True)
                else:
                    assert change.desired is not None
                    _write_atomic(file, yamlio.dump(change.desired))
            except OSError as exc:
                result.failed.append((change, f"{file}: {exc.strerror or exc}"))
            else:
                result.done.append(change)
        return result

    def close(self) -> None:
        pass

    def _file_of(self, obj: Manifest) -> Path:
        return self.file_for(str(obj.get("kind", "")), str(obj.get("metadata", {}).get("name", "")))


def _write_atomic(file: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=file.parent, prefix=f".{file.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, file)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
