"""Failure is not emptiness: every kind of trouble fails the snapshot (or marks services unknown)."""

from __future__ import annotations

import logging
import socket
import time

import pytest
import structlog

from adapters.consul import ConsulAdapter
from adapters.consul_settings import ConsulSettings
from tests.adapters.consul.conftest import FAST, register, services
from tests.emulators.consul_api import AclPolicy

TOKEN = "5f2b1c9e-secret-token-0a1b2c3d"


def _assert_token_absent(*texts: object) -> None:
    for text in texts:
        assert TOKEN not in str(text)


def test_acl_denial_fails_without_leaking_the_token(consul, make_adapter, caplog, capsys):
    register(consul, "web", 1)
    consul.set_acl({"another-token": AclPolicy()})
    adapter = make_adapter(token=TOKEN)
    caplog.set_level(logging.DEBUG)
    with structlog.testing.capture_logs() as logs:
        snapshot = adapter.discover()
    assert not snapshot.ok and snapshot.services == ()
    assert "403" in snapshot.error and "ACL not found" in snapshot.error
    captured = capsys.readouterr()
    _assert_token_absent(snapshot, snapshot.error, logs, caplog.text, captured.out, captured.err)
    _assert_token_absent(
        repr(adapter.settings), adapter.settings.model_dump(), adapter.settings.model_dump_json()
    )


def test_a_good_token_reads_and_is_sent_as_a_header(consul, make_adapter, tmp_path):
    register(consul, "web", 1)
    consul.set_acl({TOKEN: AclPolicy()})
    assert set(services(make_adapter(token=TOKEN).discover())) == {"web"}
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    assert set(services(make_adapter(token_file=str(token_file)).discover())) == {"web"}


def test_token_defaults_to_the_environment(consul, monkeypatch):
    register(consul, "web", 1)
    consul.set_acl({TOKEN: AclPolicy()})
    monkeypatch.setenv("CONSUL_HTTP_TOKEN", TOKEN)
    monkeypatch.setenv("CONSUL_HTTP_ADDR", consul.address)
    settings = ConsulSettings.model_validate(FAST)
    assert settings.address == consul.address and TOKEN not in repr(settings)
    assert set(services(ConsulAdapter("env", settings).discover())) == {"web"}


def test_anonymous_token_that_reads_nothing_is_a_failure_not_an_empty_registry(consul, make_adapter):
    register(consul, "web", 1)
    consul.set_acl({TOKEN: AclPolicy()})
    snapshot = make_adapter(datacenters=["dc1"]).discover()
    assert not snapshot.ok
    assert "filtered by ACLs" in snapshot.error


def test_token_without_agent_read_needs_an_explicit_datacenter(consul, make_adapter):
    register(consul, "web", 1)
    consul.set_acl({TOKEN: AclPolicy(agent=False)})
    snapshot = make_adapter(token=TOKEN).discover()
    assert not snapshot.ok and "Permission denied" in snapshot.error and "datacenters" in snapshot.error
    assert set(services(make_adapter(token=TOKEN, datacenters=["dc1"]).discover())) == {"web"}


def test_consul_down_mid_run_fails_instead_of_returning_nothing(consul, make_adapter):
    register(consul, "web", 1)
    adapter = make_adapter()
    assert set(services(adapter.discover())) == {"web"}
    consul.stop()
    snapshot = adapter.discover()
    assert not snapshot.ok and snapshot.services == ()
    assert snapshot.error.startswith(f"cannot reach Consul at {consul.address}")
    consul.start()
    assert set(services(adapter.discover())) == {"web"}


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_errors_fail_the_snapshot(consul, make_adapter, status):
    register(consul, "web", 1)
    consul.fail_with(status)
    snapshot = make_adapter().discover()
    assert not snapshot.ok and str(status) in snapshot.error


def test_one_unreadable_service_is_unknown_while_the_rest_sync(consul, make_adapter):
    register(consul, "web", 1)
    register(consul, "db", 1)
    consul.fail_with(500, path_prefix="/v1/health/service/db")
    snapshot = make_adapter().discover()
    assert set(services(snapshot)) == {"web"}
    assert snapshot.unknown == {"db"}


def test_every_service_unreadable_fails_the_snapshot(consul, make_adapter):
    register(consul, "web", 1)
    register(consul, "db", 1)
    consul.fail_with(500, path_prefix="/v1/health/")
    snapshot = make_adapter().discover()
    assert not snapshot.ok and snapshot.error.startswith("service ")


def test_an_agent_that_never_answers_times_out():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # connections complete in the kernel; nobody ever reads the request
    try:
        address = f"http://127.0.0.1:{silent.getsockname()[1]}"
        settings = ConsulSettings.model_validate({**FAST, "address": address, "timeout": "300ms"})
        snapshot = ConsulAdapter("silent", settings).discover()
    finally:
        silent.close()
    assert not snapshot.ok and "did not answer" in snapshot.error and "0.3s" in snapshot.error


def test_token_revoked_during_a_watch_fails_discover_and_never_logs_the_token(consul, make_adapter, watching):
    register(consul, "web", 1)
    consul.set_acl({TOKEN: AclPolicy()})
    with structlog.testing.capture_logs() as logs:
        run = watching(make_adapter(token=TOKEN))
        consul.set_acl({"rotated": AclPolicy()})
        register(consul, "web", 2)  # returns the held queries, whose next reads are denied
        deadline = time.monotonic() + 5
        while run.adapter.discover().ok and time.monotonic() < deadline:
            time.sleep(0.02)
        snapshot = run.adapter.discover()
    assert not snapshot.ok and "ACL not found" in snapshot.error and snapshot.services == ()
    assert any(e["event"] == "consul_watch_error" for e in logs)
    _assert_token_absent(snapshot.error, logs)
