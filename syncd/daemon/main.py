"""``syncd run``: build the parts, start them, wait for signals, reload, shut down in order.

Threads: the APScheduler pool (adapter reads and reconciles), the scheduler's waker, one watch
thread per watching adapter, the watch cache (one per kind), leader election and the HTTP server.
The main thread only waits: for SIGTERM/SIGINT (shut down), SIGHUP or a changed config file
(reload). Exit codes: 0 after a clean shutdown; 1 when it could not shut down cleanly within
``daemon.shutdown_timeout``; 128+signal (143 SIGTERM, 130 SIGINT) when a second signal cuts the
shutdown short.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import structlog

from syncd import metrics, runtime
from syncd.adapter import Adapter
from syncd.build import build_adapters, build_target
from syncd.config import Config
from syncd.daemon.debounce import hinted_delay
from syncd.daemon.guard import LeaderOnlyTarget
from syncd.daemon.http import HttpServer
from syncd.daemon.leader import AlwaysLeader, LeaderElector, Leadership
from syncd.daemon.reconciler import Reconciler
from syncd.daemon.reload import ConfigSource, needs_restart, target_changed
from syncd.daemon.scheduler import Scheduler
from syncd.daemon.watch_cache import CachedTarget, build_cached_target
from syncd.daemon.watches import AdapterWatches
from syncd.engine import Engine
from syncd.plan import OwnedMemo
from syncd.targets import Target
from syncd.targets.kubernetes import api_client

log = structlog.get_logger("syncd.daemon")

EXIT_OK, EXIT_UNCLEAN = 0, 1
FULL, RESYNC, DRIFT = "full", "resync", "drift"
_WRITE_VERBS = ("create", "update", "delete")


def run_daemon(config: Config, path: Path) -> int:
    """Run until SIGTERM/SIGINT; returns the exit code (see the module docstring)."""
    return Daemon(config, path).run()


@dataclass
class _Target:
    """The target as built from one config: the outermost one, and its cache if it has one."""

    target: Target
    cached: CachedTarget | None
    memo: OwnedMemo | None  # the cache never mutates the objects it lists: plan may remember them


class Daemon:
    """One `syncd run` process: build from a config, run until a stop signal, shut down in order."""

    def __init__(self, config: Config, path: Path) -> None:
        self.config = config
        self.source = ConfigSource(path)
        self._wakeup = threading.Event()
        self._stop = threading.Event()
        self._reload = threading.Event()
        self._stopping = False
        self._ready_latched = False

    # -- lifecycle -------------------------------------------------------------------------------

    def run(self) -> int:
        config = self.config
        self._target = _build_target(config)  # may raise TargetError: nothing started yet
        self.leadership = self._build_leadership(config)
        adapters = build_adapters(config)
        self.reconciler = Reconciler(
            self._engine(config, adapters, self._target),
            self.leadership.is_leader,
            relist=self._target.cached.resync if self._target.cached else None,
        )
        daemon = config.daemon
        self.scheduler = Scheduler(
            debounce_quiet=daemon.debounce_quiet,
            debounce_max=daemon.debounce_max,
            min_interval=daemon.min_interval,
            jitter=daemon.jitter,
            max_workers=min(32, len(config.adapters) + 4),
        )
        self.http = HttpServer(config.server.host, config.server.port, health=self.health, ready=self.ready)
        _init_metrics(config)
        self._install_signals()
        self._add_tasks(config, adapters)
        self.watches = AdapterWatches(adapters, self._wake_adapter)
        self.http.start()
        if self._target.cached is not None:
            self._target.cached.cache.start()
        self.scheduler.start()
        self.leadership.start()
        self.watches.start()
        if not config.leader_election_enabled:
            self.scheduler.run_soon(FULL, 0.0, "start")  # with election, becoming leader starts it
        log.info(
            "daemon_started",
            adapters=[a.name for a in config.adapters],
            target=config.target.type,
            leader_election=config.leader_election_enabled,
            pid=os.getpid(),
        )
        self._main_loop()
        return self._shutdown()

    def _main_loop(self) -> None:
        check = self.config.daemon.config_check_interval
        next_check = time.monotonic() + check
        while not self._stop.is_set():
            timeout = max(0.05, next_check - time.monotonic()) if check > 0 else 1.0
            self._wakeup.wait(min(timeout, 1.0))
            self._wakeup.clear()
            self.ready()  # keeps the syncd_ready gauge current between probes
            if self._stop.is_set():
                break
            if self._reload.is_set():
                self._reload.clear()
                self.source.changed()  # the file change, if any, is handled by this reload
                self.reload("sighup")
            check = self.config.daemon.config_check_interval
            if check > 0 and time.monotonic() >= next_check:
                next_check = time.monotonic() + check
                if self.source.changed():
                    self.reload("file_changed")

    def _shutdown(self) -> int:
        budget = self.config.daemon.shutdown_timeout
        deadline = time.monotonic() + budget
        self._stopping = True
        metrics.READY.set(0)
        log.info("shutdown_started", timeout=budget)
        watchdog = threading.Timer(budget + 1.0, _force_exit)
        watchdog.daemon = True
        watchdog.start()
        self.scheduler.shutdown()
        self.watches.stop()
        self.reconciler.stopping = True
        # The write in flight finishes; keep 2 s of the budget for releasing the Lease.
        clean = self.reconciler.lock.acquire(timeout=max(0.5, deadline - time.monotonic() - 2.0))
        if not clean:
            log.error(
                "shutdown_write_unfinished", consequence="the Lease is released anyway; no new write starts"
            )
        self.leadership.stop(release=True)
        self.http.stop()
        for adapter in self.reconciler.engine.adapters:
            _close_adapter(adapter)
        self._target.target.close()
        if clean:
            self.reconciler.lock.release()
        watchdog.cancel()
        log.info("shutdown_done", clean=clean, seconds=round(budget - (deadline - time.monotonic()), 3))
        code = EXIT_OK if clean else EXIT_UNCLEAN
        _exit_if_stuck(code)
        return code

    # -- signals ---------------------------------------------------------------------------------

    def _install_signals(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_stop_signal)
        signal.signal(signal.SIGHUP, self._on_hup)

    def _on_stop_signal(self, signum: int, frame: FrameType | None) -> None:
        if self._stop.is_set():
            sys.stderr.write(f"syncd: second {signal.Signals(signum).name}: exiting at once\n")
            sys.stderr.flush()
            os._exit(128 + signum)
        log.info("signal_received", signal=signal.Signals(signum).name)
        self._stop.set()
        self._wakeup.set()

    def _on_hup(self, signum: int, frame: FrameType | None) -> None:
        self._reload.set()
        self._wakeup.set()

    # -- probes ----------------------------------------------------------------------------------

    def health(self) -> tuple[bool, str]:
        """Alive while the scheduler and every thread of ours runs."""
        parts = {
            "scheduler": self.scheduler.alive(),
            "leader_election": self.leadership.alive(),
            "adapter_watches": self.watches.alive(),
            "http": self.http.alive(),
        }
        if self._target.cached is not None:
            parts["watch_cache"] = self._target.cached.cache.alive()
        dead = [name for name, ok in parts.items() if not ok]
        return (not dead or self._stopping), ("dead: " + ", ".join(dead)) if dead else "alive"

    def ready(self) -> tuple[bool, str]:
        """Ready after the first cycle as leader, or as a follower with a synced cache."""
        if self._stopping:
            return False, "shutting down"
        if not self._ready_latched:
            cached = self._target.cached
            led = self.leadership.is_leader() and self.reconciler.cycles_done > 0
            follows = self.leadership.following() and (cached is None or cached.cache.synced)
            self._ready_latched = led or follows
            if self._ready_latched:
                runtime.settle_heap()  # once: the long-lived heap now exists
        metrics.READY.set(1 if self._ready_latched else 0)
        if not self._ready_latched:
            return False, "waiting for the first cycle (leader) or a synced cache (follower)"
        return True, "leader" if self.leadership.is_leader() else "follower"

    # -- reload ----------------------------------------------------------------------------------

    def reload(self, reason: str) -> bool:
        """Apply the config file again; a config that does not load leaves everything as it was."""
        new = self.source.load(reason)
        if new is None:
            return False
        old = self.config
        if new == old and reason == "file_changed":
            return False
        try:
            keep = not target_changed(old, new)
            target = self._target if keep else _build_target(new)
            adapters = build_adapters(new)
        except Exception as exc:
            metrics.CONFIG_RELOADS.labels("rejected").inc()
            log.error("config_reload_rejected", reason=reason, problems=[f"{type(exc).__name__}: {exc}"])
            return False
        later = needs_restart(old, new)
        if later:
            log.warning("config_reload_needs_restart", keys=later)
        self.watches.stop()
        for name in self.scheduler.names():
            if name.startswith("adapter:"):
                self.scheduler.remove(name)
        old_engine = self.reconciler.swap(
            self._engine(new, adapters, target), target.cached.resync if target.cached else None
        )
        for adapter in old_engine.adapters:
            _close_adapter(adapter)
        if not keep:
            self._target.target.close()
            self._target = target
            if target.cached is not None:
                target.cached.cache.start()
        self.config = new
        _init_metrics(new)
        daemon = new.daemon
        self.scheduler.configure(
            debounce_quiet=daemon.debounce_quiet,
            debounce_max=daemon.debounce_max,
            min_interval=daemon.min_interval,
            jitter=daemon.jitter,
        )
        self._add_tasks(new, adapters)
        self.watches = AdapterWatches(adapters, self._wake_adapter)
        self.watches.start()
        self.scheduler.run_soon(FULL, 0.0, "reload")
        metrics.CONFIG_RELOADS.labels("ok").inc()
        log.info("config_reloaded", reason=reason, adapters=[a.name for a in new.adapters], target_kept=keep)
        return True

    # -- wiring ----------------------------------------------------------------------------------

    def _engine(self, config: Config, adapters: list[Adapter], target: _Target) -> Engine:
        outer: Target = target.target
        if config.leader_election_enabled:
            outer = LeaderOnlyTarget(outer, self.leadership.is_leader, batch=config.target.concurrency)
        return Engine(config, adapters, outer, owned_memo=target.memo)

    def _build_leadership(self, config: Config) -> Leadership:
        if not config.leader_election_enabled:
            return AlwaysLeader()
        settings = config.leader_election
        return LeaderElector(
            api_client(config.target.kubeconfig, config.target.context),
            settings,
            config.target.namespace,
            on_started_leading=lambda: self.scheduler.run_soon(FULL, 0.0, "leader"),
            request_timeout=min(5.0, config.target.request_timeout),
        )

    def _add_tasks(self, config: Config, adapters: list[Adapter]) -> None:
        reconciler, daemon = self.reconciler, config.daemon
        for entry in config.adapters:

            def run(trigger: str, name: str = entry.name, interval: float = entry.interval) -> float | None:
                hint = reconciler.run_adapter(name, trigger)
                return hinted_delay(hint, interval, self.scheduler.min_interval)

            self.scheduler.add(f"adapter:{entry.name}", run, entry.interval)
        self.scheduler.add(FULL, lambda trigger: reconciler.run_full(trigger))
        self.scheduler.add(
            RESYNC, lambda trigger: reconciler.run_full(RESYNC, relist=True), daemon.resync_interval
        )
        self.scheduler.add(DRIFT, lambda trigger: reconciler.run_reconcile(DRIFT))
        if self._target.cached is not None:
            self._target.cached.cache.set_on_drift(lambda: self.scheduler.wake(DRIFT, DRIFT))

    def _wake_adapter(self, name: str) -> None:
        self.scheduler.wake(f"adapter:{name}", "watch")


def _build_target(config: Config) -> _Target:
    if config.target.type == "kubernetes":
        cached = build_cached_target(config.target, config.owner, kinds=config.managed_kinds)
        return _Target(cached, cached, OwnedMemo())
    return _Target(build_target(config), None, None)


def _init_metrics(config: Config) -> None:
    """Create every labelled series up front, so /metrics shows zeros instead of nothing."""
    for entry in config.adapters:
        name = entry.name
        metrics.CYCLE_SECONDS.labels(name)
        metrics.ADAPTER_FAILURES.labels(name)
        metrics.SERVICES.labels(name)
        metrics.ENDPOINTS.labels(name)
        metrics.LAST_SUCCESS.labels(name)
        metrics.CONFLICTS.labels(name)
        metrics.REFUSED.labels(name)
        metrics.DELETE_REFUSALS.labels(name)
        for what in ("service", "endpoint", "port", "label"):
            metrics.DROPPED.labels(name, what)
    for verb in _WRITE_VERBS:
        metrics.PLAN_CHANGES.labels(verb)
        for result in ("ok", "error"):
            metrics.WRITES.labels(verb, result)
    for reason in ("gone", "error", "resync"):
        metrics.WATCH_RESTARTS.labels(reason)
    for result in ("ok", "rejected"):
        metrics.CONFIG_RELOADS.labels(result)
    for result in ("ok", "failed"):
        metrics.CYCLES.labels(result)


def _close_adapter(adapter: Adapter) -> None:
    try:
        adapter.close()
    except Exception as exc:
        log.warning("adapter_close_failed", adapter=adapter.name, error=str(exc))


def _force_exit() -> None:
    log.error("shutdown_forced", reason="daemon.shutdown_timeout passed")
    _flush()
    os._exit(EXIT_UNCLEAN)


def _exit_if_stuck(code: int, grace: float = 1.0) -> None:
    """A read hung in a library would keep the interpreter from exiting: exit without it."""
    deadline = time.monotonic() + grace
    main = threading.main_thread()
    while time.monotonic() < deadline:
        stuck = [t for t in threading.enumerate() if t is not main and not t.daemon and t.is_alive()]
        if not stuck:
            return
        time.sleep(0.05)
    log.warning("threads_left_running", threads=[t.name for t in stuck][:10])
    _flush()
    os._exit(code)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
