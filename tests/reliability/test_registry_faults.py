"""Registry faults mid-run, through the real CLI: a registry that is down, slow, erroring or
answering garbage fails its adapter (exit 1, logged) and deletes nothing; once it is back, the
entries converge in one cycle, including changes made during the outage."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

from tests.cli.helpers import syncd
from tests.emulators.consul_api import ConsulEmulator
from tests.servers.bind import BindServer, find_named


def files(out: Path) -> dict[str, dict]:
    return {p.name: yaml.safe_load(p.read_text()) for p in sorted(out.glob("*.yaml"))}


def run_config(tmp_path: Path, adapter: dict) -> tuple[Path, Path]:
    out = tmp_path / "out"
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump({"target": {"type": "directory", "path": str(out)}, "adapters": [adapter]})
    )
    return config, out


def consul_register(consul: ConsulEmulator, name: str, address: str) -> None:
    consul.register(
        "dc1",
        {"Node": f"n-{address}", "Address": address},
        {"Service": name, "ID": f"{name}-{address}", "Port": 8080},
    )


@pytest.fixture
def consul() -> Iterator[ConsulEmulator]:
    emulator = ConsulEmulator("dc1").start()
    yield emulator
    emulator.stop()


FAULTS: dict[str, tuple[Callable[[ConsulEmulator], None], Callable[[ConsulEmulator], None]]] = {
    "stopped": (lambda c: c.stop(), lambda c: c.start()),
    "http-500": (lambda c: c.fail_with(500), lambda c: c.fail_with(None)),
    "garbage": (lambda c: c.fail_with(200, "<html>not json"), lambda c: c.fail_with(None)),
    "acl-403": (lambda c: c.fail_with(403), lambda c: c.fail_with(None)),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_consul_fault_deletes_nothing_then_converges(
    fault: str, consul: ConsulEmulator, tmp_path: Path
) -> None:
    consul_register(consul, "web", "10.1.0.1")
    consul_register(consul, "api", "10.1.0.2")
    config, out = run_config(
        tmp_path, {"name": "consul", "type": "consul", "address": consul.address, "timeout": "2s"}
    )
    assert syncd("sync", "-c", str(config)).returncode == 0
    before = files(out)
    assert sorted(before) == ["serviceentry-consul-api.yaml", "serviceentry-consul-web.yaml"]

    break_it, fix_it = FAULTS[fault]
    break_it(consul)
    result = syncd("sync", "-c", str(config))
    assert result.returncode == 1
    assert '"adapter_failed"' in result.stderr and "Traceback" not in result.stderr
    assert files(out) == before

    fix_it(consul)
    consul.deregister("dc1", "n-10.1.0.2", "api-10.1.0.2")
    consul_register(consul, "web", "10.1.0.3")
    assert syncd("sync", "-c", str(config)).returncode == 0
    after = files(out)
    assert sorted(after) == ["serviceentry-consul-web.yaml"]
    addresses = [e["address"] for e in after["serviceentry-consul-web.yaml"]["spec"]["endpoints"]]
    assert addresses == ["10.1.0.1", "10.1.0.3"]


def test_consul_slower_than_the_timeout_is_a_failure(consul: ConsulEmulator, tmp_path: Path) -> None:
    consul_register(consul, "web", "10.1.0.1")
    config, out = run_config(
        tmp_path, {"name": "consul", "type": "consul", "address": consul.address, "timeout": "1s"}
    )
    assert syncd("sync", "-c", str(config)).returncode == 0
    consul.stop()
    import socket

    # A listener that accepts and never answers: slower than any timeout.
    silent = socket.socket()
    silent.bind(("127.0.0.1", int(consul.address.rsplit(":", 1)[1])))
    silent.listen(16)
    try:
        started = time.monotonic()
        result = syncd("sync", "-c", str(config))
        assert result.returncode == 1 and time.monotonic() - started < 30
    finally:
        silent.close()
    assert sorted(files(out)) == ["serviceentry-consul-web.yaml"]


def test_dns_server_stopped_deletes_nothing_then_converges(tmp_path: Path) -> None:
    named = find_named()
    if named is None:
        pytest.skip("BIND9 `named` is not installed (apt-get install bind9)")
    (tmp_path / "bind").mkdir()
    bind = BindServer(tmp_path / "bind", named)
    bind.start()
    try:
        bind.add_a("web1.example.test", "10.2.0.1")
        bind.add_srv("_http._tcp.web.example.test", 10, 5, 8080, "web1.example.test")
        config, out = run_config(
            tmp_path,
            {
                "name": "dns",
                "type": "dns_srv",
                "nameservers": [bind.nameserver],
                "timeout": "500ms",
                "records": [{"srv": "_http._tcp.web.example.test"}],
            },
        )
        assert syncd("sync", "-c", str(config)).returncode == 0
        before = files(out)
        assert list(before) == ["serviceentry-dns-web-example-test.yaml"]
        bind.stop()
        result = syncd("sync", "-c", str(config))
        assert result.returncode == 1 and '"adapter_failed"' in result.stderr
        assert files(out) == before
        bind.start()
        bind.add_a("web2.example.test", "10.2.0.2")
        bind.add_srv("_http._tcp.web.example.test", 10, 5, 8080, "web2.example.test")
        assert syncd("sync", "-c", str(config)).returncode == 0
        spec = files(out)["serviceentry-dns-web-example-test.yaml"]["spec"]
        assert sorted(e["address"] for e in spec["endpoints"]) == ["10.2.0.1", "10.2.0.2"]
    finally:
        bind.stop()
