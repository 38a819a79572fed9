"""Shared bench plumbing: generate registries, run a child process and read its CPU and peak RSS."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


def registry(services: int, endpoints: int, *, seed: int = 0) -> dict[str, Any]:
    """``services`` services × ``endpoints`` IPv4 endpoints, deterministic for a seed."""
    out = []
    for s in range(services):
        out.append(
            {
                "name": f"svc-{s:05d}",
                "hosts": [f"svc-{s:05d}.bench.example.com"],
                "ports": [{"number": 8080, "protocol": "HTTP"}],
                "endpoints": [
                    {"address": _address(s, e, endpoints, seed), "labels": {"zone": f"z{e % 3}"}}
                    for e in range(endpoints)
                ],
            }
        )
    return {"services": out}


def _address(service: int, endpoint: int, endpoints: int, seed: int) -> str:
    if endpoints + seed < 255:
        return f"10.{(service >> 8) & 255}.{service & 255}.{endpoint + 1 + seed}"
    n = service * endpoints + endpoint + seed + 1  # large services: count through the /8
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def write_yaml(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def write_json(path: Path, data: Any) -> Path:
    """Registries are JSON in the bench: generated registries usually are, and it parses 20x faster."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)  # atomic, as registry exporters write: one change, one event
    return path


def config(
    path: Path,
    registry_path: Path,
    target: dict[str, Any],
    *,
    adapter_options: dict[str, Any] | None = None,
    **extra: Any,
) -> Path:
    data = {
        "owner": "syncd",
        "target": target,
        "adapters": [
            {
                "name": "files",
                "type": "file",
                "path": str(registry_path),
                "interval": "1h",
                "watch_interval": "50ms",
                **(adapter_options or {}),
            }
        ],
        "safety": {"max_delete_percent": 100},
        **extra,
    }
    return write_yaml(path, data)


@dataclass
class Run:
    """What one child process cost."""

    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    returncode: int
    stdout: str


def run(*args: str, env: dict[str, str] | None = None) -> Run:
    """Run a command to completion; CPU and peak RSS come from wait4 on that child alone."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env={**os.environ, **(env or {})}
    )
    assert proc.stdout is not None
    stdout = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Run(
        time.perf_counter() - started,
        usage.ru_utime + usage.ru_stime,
        usage.ru_maxrss / 1024,
        proc.returncode,
        stdout,
    )


def syncd(*args: str) -> list[str]:
    return [sys.executable, "-m", "syncd", *args]


def table(rows: list[dict[str, Any]]) -> str:
    """A plain text table; floats with 3 significant decimals."""
    if not rows:
        return "(no rows)"
    keys = list(rows[0])
    cells = [[_fmt(r.get(k)) for k in keys] for r in rows]
    widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
    line = "  ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True))
    body = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join([line, "  ".join("-" * w for w in widths), *body])


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if value < 100 else f"{value:.0f}"
    return "" if value is None else str(value)
