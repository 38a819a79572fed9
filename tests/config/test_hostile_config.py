"""A corpus of broken config files: every one exits 2 through the real CLI, names the key path,
and prints no traceback."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.cli.helpers import syncd

GOOD_ADAPTER = "  - {name: files, type: file, path: reg.yaml}\n"
CORPUS: dict[str, tuple[str, str]] = {
    "wrong-type-owner": (
        "owner: [a, b]\nadapters:\n" + GOOD_ADAPTER,
        "owner: Input should be a valid string",
    ),
    "wrong-type-port": ("server: {port: [1]}\nadapters:\n" + GOOD_ADAPTER, "server.port:"),
    "wrong-type-adapters": ("adapters: files\n", "adapters: Input should be a valid"),
    "unknown-top-key": ("adapter:\n" + GOOD_ADAPTER, "adapter: unknown key"),
    "unknown-nested-key": (
        "safety: {max_delete: 5}\nadapters:\n" + GOOD_ADAPTER,
        "safety.max_delete: unknown key",
    ),
    "unknown-adapter-key": (
        "adapters:\n  - {name: files, type: file, path: r.yaml, tokn: x}\n",
        "adapters[0].tokn: unknown key",
    ),
    "bad-duration": (
        "adapters:\n  - {name: files, type: file, path: r.yaml, interval: 5 minutes}\n",
        "adapters[0].interval: invalid duration",
    ),
    "negative-duration": (
        "adapters:\n  - {name: files, type: file, path: r.yaml, interval: -5s}\n",
        "adapters[0].interval:",
    ),
    "missing-env": (
        "owner: ${SYNCD_TEST_UNSET_VARIABLE}\nadapters:\n" + GOOD_ADAPTER,
        "owner: environment variable SYNCD_TEST_UNSET_VARIABLE is not set",
    ),
    "duplicate-adapter": (
        "adapters:\n" + GOOD_ADAPTER * 2,
        "adapters[1].name: duplicate adapter name 'files'",
    ),
    "missing-required": (
        "adapters:\n  - {name: files, type: file}\n",
        "adapters[0].path: required key is missing",
    ),
    "unknown-type": ("adapters:\n  - {name: x, type: eureka}\n", "adapters[0].type: unknown adapter type"),
    "bad-name": ("adapters:\n  - {name: Files_1, type: file, path: r.yaml}\n", "adapters[0].name:"),
    "bad-target": ("target: {type: directory}\nadapters:\n" + GOOD_ADAPTER, "target: path is required"),
    "bad-percent": (
        "safety: {max_delete_percent: -1}\nadapters:\n" + GOOD_ADAPTER,
        "safety.max_delete_percent:",
    ),
    "bad-policy": ("safety: {policy: yolo}\nadapters:\n" + GOOD_ADAPTER, "safety.policy:"),
    "bad-lease": ("leader_election: {retry_period: 20s}\nadapters:\n" + GOOD_ADAPTER, "leader_election:"),
    "not-yaml": ("adapters: [\n  {name: ", "not valid YAML"),
    # libyaml recurses in C: this used to kill the process with a stack overflow.
    "nested-too-deep": ("owner: " + "[" * 60_000 + "]" * 60_000 + "\n", "nested deeper than 1000 levels"),
    "compact-too-deep": ("owner:\n  " + "- " * 60_000 + "x\n", "nested deeper than 1000 levels"),
    "scalar": ("just a string\n", "the top level must be a mapping"),
    "empty": ("", "the top level must be a mapping"),
    "binary": ("\x00\x01\x02", "not valid YAML"),
}


@pytest.mark.parametrize("case", sorted(CORPUS))
def test_broken_config_exits_2_naming_the_key(case: str, tmp_path: Path) -> None:
    text, expected = CORPUS[case]
    path = tmp_path / "config.yaml"
    path.write_text(text)
    result = syncd(
        "check-config",
        "-c",
        str(path),
    )
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr, result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_unreadable_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("adapters:\n" + GOOD_ADAPTER)
    path.chmod(0)
    if os.access(path, os.R_OK):  # root reads anything: use a folder instead, which nobody can read as a file
        path = tmp_path
    result = syncd("sync", "-c", str(path))
    assert result.returncode == 2 and "cannot read config file" in result.stderr
    assert "Traceback" not in result.stderr


def test_non_utf8_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_bytes(b"owner: \xff\xfe\n")
    result = syncd("check-config", "-c", str(path))
    assert result.returncode == 2 and "not UTF-8" in result.stderr
