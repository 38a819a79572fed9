"""Run the real ``syncd`` command line in a subprocess, as users and CI do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml


def syncd(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "syncd", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def write_registry(path: Path, services: list[dict]) -> Path:
    path.write_text(yaml.safe_dump({"services": services}))
    return path


def web(name: str = "web", *addresses: str, port: int = 80) -> dict:
    return {
        "name": name,
        "hosts": [f"{name}.example.com"],
        "ports": [{"number": port, "protocol": "HTTP"}],
        "endpoints": [{"address": a} for a in (addresses or ("10.0.0.1",))],
    }


def write_config(path: Path, target: dict, *, registry: Path, extra: str = "") -> Path:
    config = {
        "owner": "syncd",
        "target": target,
        "adapters": [{"name": "files", "type": "file", "path": str(registry)}],
    }
    path.write_text(yaml.safe_dump(config) + extra)
    return path
