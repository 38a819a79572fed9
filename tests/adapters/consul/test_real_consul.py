"""The same adapter against a real Consul agent (``hashicorp/consul`` in dev mode, via testcontainers).

Skips, saying why, when no Docker engine answers.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from adapters.consul import ConsulAdapter
from adapters.consul_settings import ConsulSettings
from tests.adapters.consul.conftest import FAST, WatchRun, addresses, services

IMAGE = "hashicorp/consul:1.21"


@pytest.fixture(scope="module")
def real_consul() -> Iterator[str]:
    try:
        import docker  # type: ignore[import-untyped]

        docker.from_env().ping()
    except Exception as exc:
        pytest.skip(f"Docker is not available: {exc}")
    from testcontainers.core.container import DockerContainer

    container = DockerContainer(IMAGE).with_command("agent -dev -client 0.0.0.0").with_exposed_ports(8500)
    with container:
        address = f"http://{container.get_container_host_ip()}:{container.get_exposed_port(8500)}"
        _wait_for_leader(address)
        yield address


def _client(address: str):  # type: ignore[no-untyped-def]
    import consul

    host, port = address.removeprefix("http://").rsplit(":", 1)
    return consul.Consul(host=host, port=int(port), token=None)


def _wait_for_leader(address: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if _client(address).status.leader():
                return
        except Exception:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"Consul at {address} elected no leader in {timeout:.0f}s")


def _register(address: str, node: str, ip: str, service: dict, status: str = "passing") -> None:
    check = {
        "CheckID": f"service:{service['ID']}",
        "Name": "ttl",
        "Status": status,
        "ServiceID": service["ID"],
    }
    assert _client(address).catalog.register(node, ip, service=service, check=check)


def test_real_consul_discover_and_watch(real_consul):
    _register(
        real_consul, "ext-1", "10.0.0.1", {"Service": "web", "ID": "web-1", "Port": 8080, "Tags": ["v=1"]}
    )
    _register(
        real_consul,
        "ext-1",
        "10.0.0.1",
        {"Service": "web-sidecar-proxy", "ID": "web-1-proxy", "Port": 21000, "Kind": "connect-proxy",
         "Proxy": {"DestinationServiceName": "web"}},
    )  # fmt: skip
    adapter = ConsulAdapter("real", ConsulSettings.model_validate({**FAST, "address": real_consul}))
    snapshot = adapter.discover()
    found = services(snapshot)
    assert set(found) == {"web"}  # the consul service itself and the sidecar are left out
    assert addresses(found["web"]) == ["10.0.0.1"]
    assert found["web"].endpoints[0].labels == {"v": "1"}

    run = WatchRun(adapter)
    run.thread.start()
    try:
        assert run.wait_for_wakes(1, 20.0)
        latency = run.latency_of(
            lambda: _register(
                real_consul, "ext-2", "10.0.0.2", {"Service": "web", "ID": "web-2", "Port": 8080}
            )
        )
        assert latency < 2.0
        assert addresses(services(adapter.discover())["web"]) == ["10.0.0.1", "10.0.0.2"]
        run.latency_of(
            lambda: _register(
                real_consul, "ext-2", "10.0.0.2", {"Service": "web", "ID": "web-2", "Port": 8080}, "critical"
            )
        )
        assert addresses(services(adapter.discover())["web"]) == ["10.0.0.1"]
    finally:
        run.stop.set()
        run.thread.join(5.0)
    assert not run.thread.is_alive()
