"""Fixtures shared by the whole suite: a Kubernetes API server emulator and a kubeconfig for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.emulators.kube_api import KubeApiEmulator


@pytest.fixture
def kube_api() -> Iterator[KubeApiEmulator]:
    """A fresh, empty emulator on 127.0.0.1 and a free port, without a token; stopped afterwards."""
    with KubeApiEmulator() as emulator:
        yield emulator


@pytest.fixture
def kubeconfig(kube_api: KubeApiEmulator, tmp_path: Path) -> Iterator[Path]:
    """The path of a kubeconfig whose current context points at ``kube_api``."""
    yield kube_api.write_kubeconfig(tmp_path / "kubeconfig")
