"""TLS keys against an https emulator: ``ca_file``, ``verify``, and client certificates."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from adapters.consul import ConsulAdapter
from adapters.consul_settings import ConsulSettings
from tests.adapters.consul.conftest import FAST, register, services
from tests.emulators.consul_api import ConsulEmulator


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway CA, a server certificate for 127.0.0.1 and a client certificate."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not available")
    d = tmp_path_factory.mktemp("pki")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl(
        "req",
        "-x509",
        *ec,
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "1",
        "-subj",
        "/CN=test-ca",
        cwd=d,
    )
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    for name in ("server", "client"):
        _openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=d)
        sign = ["x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial"]
        _openssl(*sign, "-out", f"{name}.pem", "-days", "1", "-extfile", "san.ext", cwd=d)
    return d


@pytest.fixture
def https_consul(pki: Path) -> Iterator[Callable[..., ConsulEmulator]]:
    started: list[ConsulEmulator] = []

    def start(client_ca: bool = False) -> ConsulEmulator:
        tls = (str(pki / "server.pem"), str(pki / "server.key"))
        emulator = ConsulEmulator(tls=tls, client_ca=str(pki / "ca.pem") if client_ca else None).start()
        register(emulator, "web", 1)
        started.append(emulator)
        return emulator

    yield start
    for emulator in started:
        emulator.stop()


def _adapter(address: str, **keys: object) -> ConsulAdapter:
    return ConsulAdapter("tls", ConsulSettings.model_validate({**FAST, "address": address, **keys}))


def test_ca_file_verifies_the_agent(https_consul, pki):
    consul = https_consul()
    assert consul.address.startswith("https://")
    assert set(services(_adapter(consul.address, ca_file=str(pki / "ca.pem")).discover())) == {"web"}


def test_an_unknown_certificate_fails_unless_verify_is_off(https_consul):
    consul = https_consul()
    snapshot = _adapter(consul.address).discover()
    assert not snapshot.ok and "certificate verify failed" in snapshot.error.lower()
    assert set(services(_adapter(consul.address, verify=False).discover())) == {"web"}


def test_client_certificate_when_the_agent_requires_one(https_consul, pki):
    consul = https_consul(client_ca=True)
    ca = str(pki / "ca.pem")
    assert not _adapter(consul.address, ca_file=ca).discover().ok
    mutual = _adapter(
        consul.address, ca_file=ca, cert_file=str(pki / "client.pem"), key_file=str(pki / "client.key")
    )
    assert set(services(mutual.discover())) == {"web"}
