"""Fixtures: moto's server on 127.0.0.1 (one per test module), a counting/fault-injecting proxy in
front of it (one per test), a boto3 helper that builds the registry straight against moto, and
a factory for adapters that talk to the proxy over HTTP.

Nothing is mocked or patched: every adapter request is a real HTTP request to a real server.
Credentials are dummy values in the environment (the standard chain's first link).
"""

from __future__ import annotations

import socket
import threading
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from moto.server import ThreadedMotoServer

from adapters.cloudmap import CloudMapAdapter, CloudMapSettings
from tests.adapters.cloudmap.proxy import CloudMapProxy
from tests.adapters.cloudmap.registry import REGION, Registry

DUMMY_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/nonexistent/syncd-test-aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/syncd-test-aws-credentials",
}
UNSET_ENV = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_moto() -> tuple[ThreadedMotoServer, str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server, f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def aws_env() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        for key, value in DUMMY_ENV.items():
            mp.setenv(key, value)
        for key in UNSET_ENV:
            mp.delenv(key, raising=False)
        yield


@pytest.fixture(scope="module")
def moto_url(aws_env: None) -> Iterator[str]:
    server, url = start_moto()
    yield url
    # stop() waits out werkzeug's 0.5 s shutdown poll; let that happen while the next module runs.
    threading.Thread(target=server.stop, daemon=True).start()


@pytest.fixture
def proxy(moto_url: str) -> Iterator[CloudMapProxy]:
    # Each test starts from an empty registry (moto keeps state per process, not per server).
    urllib.request.urlopen(urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")).close()
    running = CloudMapProxy(moto_url).start()
    yield running
    running.stop()


@pytest.fixture
def registry(moto_url: str, proxy: CloudMapProxy) -> Registry:
    return Registry(moto_url)


MakeAdapter = Callable[..., CloudMapAdapter]


@pytest.fixture
def make_adapter(proxy: CloudMapProxy) -> Iterator[MakeAdapter]:
    """Adapters talking to the proxy; keys given override fast test defaults."""
    made: list[CloudMapAdapter] = []

    def make(name: str = "cm", **keys: Any) -> CloudMapAdapter:
        config: dict[str, Any] = {
            "endpoint_url": proxy.url,
            "region": REGION,
            "timeout": "2s",
            "retry": {"max_attempts": 2, "backoff": "10ms", "backoff_max": "50ms"},
            **keys,
        }
        adapter = CloudMapAdapter(name, CloudMapSettings.model_validate(config))
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        adapter.close()
