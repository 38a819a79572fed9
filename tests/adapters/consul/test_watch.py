"""The watch: blocking queries wake the engine on real changes only, fast, and stop promptly."""

from __future__ import annotations

import threading
import time

import structlog

from tests.adapters.consul.conftest import WatchRun, addresses, register, services


def _wait_until(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_registration_wakes_well_under_a_second(consul, make_adapter, watching):
    register(consul, "web", 1)
    run = watching(make_adapter())
    assert run.latency_of(lambda: register(consul, "web", 2)) < 0.5
    assert run.latency_of(lambda: register(consul, "api", 1)) < 0.5  # a new service, via the catalog
    found = services(run.adapter.discover())
    assert addresses(found["web"]) == ["10.1.0.1", "10.1.0.2"] and "api" in found


def test_discover_after_a_wake_answers_from_the_cache(consul, make_adapter, watching):
    register(consul, "web", 1)
    run = watching(make_adapter())
    run.latency_of(lambda: register(consul, "web", 2))
    before = sum(consul.requests.values())
    web = services(run.adapter.discover())["web"]
    assert addresses(web) == ["10.1.0.1", "10.1.0.2"]
    assert sum(consul.requests.values()) == before  # no read at all: the watch already has it


def test_check_turning_critical_and_deregistration_wake(consul, make_adapter, watching):
    register(consul, "web", 1)
    register(consul, "web", 2)
    run = watching(make_adapter())
    run.latency_of(lambda: consul.set_check_status("dc1", "node-2", "service:web-2", "critical"))
    assert addresses(services(run.adapter.discover())["web"]) == ["10.1.0.1"]
    run.latency_of(lambda: consul.deregister("dc1", "node-1", "web-1"))
    assert services(run.adapter.discover())["web"].endpoints == ()
    run.latency_of(lambda: consul.deregister("dc1", "node-2", "web-2"))
    assert "web" not in services(run.adapter.discover())


def test_a_write_that_changes_nothing_does_not_wake(consul, make_adapter, watching):
    register(consul, "web", 1)
    run = watching(make_adapter())
    count = len(run.wakes)
    register(consul, "web", 1)  # same instance again: the index moves, the content does not
    consul.set_check_status("dc1", "node-1", "service:web-1", "passing")
    time.sleep(0.4)
    assert len(run.wakes) == count


def test_stop_returns_promptly_while_queries_block(consul, make_adapter):
    register(consul, "web", 1)
    run = WatchRun(make_adapter(wait="5m"))
    run.thread.start()
    assert run.wait_for_wakes(1)
    assert _wait_until(lambda: consul.waiting >= 2)  # the catalog and the service query are held
    started = time.monotonic()
    run.stop.set()
    run.thread.join(2.0)
    assert not run.thread.is_alive() and time.monotonic() - started < 0.5


def test_stop_returns_promptly_while_consul_is_down(make_adapter, consul):
    consul.stop()
    run = WatchRun(make_adapter(backoff_initial="5s", backoff_max="30s"))
    run.thread.start()
    time.sleep(0.2)
    started = time.monotonic()
    run.stop.set()
    run.thread.join(2.0)
    assert not run.thread.is_alive() and time.monotonic() - started < 0.5
    assert run.wakes == []


def test_index_going_backwards_resets_and_the_next_change_is_seen(consul, make_adapter, watching):
    register(consul, "web", 1)
    run = watching(make_adapter(wait="5m"))
    assert _wait_until(lambda: consul.waiting >= 2)  # both loops hold a blocking query
    with structlog.testing.capture_logs() as logs:
        consul.set_index("dc1", 3)  # a snapshot restore: every index drops, blocked queries return
        assert _wait_until(lambda: sum(e["event"] == "consul_index_reset" for e in logs) >= 2)
    # Without the reset the loops would block on the old, higher index for the whole 5m wait.
    assert run.latency_of(lambda: register(consul, "web", 2), timeout=2.0) < 0.5
    assert addresses(services(run.adapter.discover())["web"]) == ["10.1.0.1", "10.1.0.2"]


def test_index_zero_is_never_waited_on(consul, make_adapter, watching):
    register(consul, "web", 1)
    run = watching(make_adapter(wait="5m"))
    assert _wait_until(lambda: consul.waiting >= 2)
    consul.set_index("dc1", 0)
    time.sleep(0.2)
    consul.reset_counters()
    time.sleep(0.5)
    assert sum(consul.requests.values()) <= 2  # blocking with index 1, not spinning on 0
    assert run.latency_of(lambda: register(consul, "web", 2)) < 0.5


def test_consul_down_mid_watch_fails_discover_then_recovers(consul, make_adapter, watching):
    register(consul, "web", 1)
    run = watching(make_adapter())
    consul.stop()
    assert _wait_until(lambda: not run.adapter.discover().ok)
    snapshot = run.adapter.discover()
    assert snapshot.services == () and "cannot reach Consul" in snapshot.error
    consul.start()
    assert _wait_until(lambda: run.adapter.discover().ok)
    assert run.latency_of(lambda: register(consul, "web", 2)) < 1.0
    assert addresses(services(run.adapter.discover())["web"]) == ["10.1.0.1", "10.1.0.2"]


def test_a_failing_service_read_is_unknown_in_the_cache(consul, make_adapter, watching):
    register(consul, "web", 1)
    register(consul, "db", 1)
    run = watching(make_adapter())
    consul.fail_with(500, path_prefix="/v1/health/service/db")
    assert _wait_until(lambda: run.adapter.discover().unknown == {"db"})
    assert set(services(run.adapter.discover())) == {"web"}


def test_without_a_running_watch_discover_reads_consul(consul, make_adapter):
    register(consul, "web", 1)
    adapter = make_adapter()
    run = WatchRun(adapter)
    run.thread.start()
    assert run.wait_for_wakes(1)
    run.stop.set()
    run.thread.join(2.0)
    before = consul.requests["/v1/health/service"]
    assert set(services(adapter.discover())) == {"web"}
    assert consul.requests["/v1/health/service"] == before + 1


def test_only_one_watch_at_a_time(consul, make_adapter, watching):
    register(consul, "web", 1)
    run = watching(make_adapter())
    errors: list[BaseException] = []

    def second() -> None:
        try:
            run.adapter.watch(lambda: None, threading.Event())
        except RuntimeError as exc:
            errors.append(exc)

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(2.0)
    assert len(errors) == 1
