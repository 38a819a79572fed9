"""Fixtures: a fresh BIND9 server per test, and adapters pointed at it.

``named`` missing skips these tests with the reason printed (``pytest -ra``), except under CI
(``$CI`` set), where bind9 is installed and a missing server is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.dns_srv import DnsSrvAdapter, DnsSrvSettings
from tests.adapters.dns.expect import MakeAdapter
from tests.servers.bind import BindServer, find_named


@pytest.fixture
def bind(tmp_path: Path) -> Iterator[BindServer]:
    named = find_named()
    if named is None:
        reason = "BIND9 `named` is not installed (apt-get install bind9): DNS adapter tests need it"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    workdir = tmp_path / "bind"
    workdir.mkdir()
    server = BindServer(workdir, named)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def make_adapter(bind: BindServer) -> MakeAdapter:
    """``make_adapter(records, **keys)``: a dns_srv adapter asking only ``bind``, short timeout."""

    def make(records: list[dict[str, Any]] | None = None, **keys: Any) -> DnsSrvAdapter:
        config: dict[str, Any] = {
            "nameservers": [bind.nameserver],
            "timeout": "300ms",
            "records": records or [{"srv": "_http._tcp.web.example.test"}],
        }
        config.update(keys)
        return DnsSrvAdapter("dns", DnsSrvSettings.model_validate(config))

    return make
