"""The Consul watch: blocking queries in one asyncio loop on one thread, feeding a cache.

One task resolves the datacenters (with ``datacenters: all`` it re-reads the list every
``datacenter_refresh``); per datacenter one task blocks on ``/v1/catalog/services``; per selected
service one task blocks on ``/v1/health/service/<name>``. A thousand services are a thousand
coroutines and idle keep-alive connections, not a thousand threads.

Every loop follows Consul's rules for blocking queries: the first read has no index; later ones
send the last ``X-Consul-Index`` (never 0, which would not block); an index that goes backwards
resets the loop to a fresh read; errors back off exponentially with jitter up to a cap (and the
next read after an error is a fresh one, so recovery shows at once); re-arms wait a random
``0..watch_jitter`` so loops woken together spread out; and a token bucket (burst 2, one token per
``watch_rate_limit``) turns a churning service into a slow poll instead of a request storm.

A return of a blocking query is not a change: the cache compares the mapped values, and only a
real difference calls ``wake()``. Failures never wake anyone; they make ``discover()`` report
those services as unknown (or the datacenter as failed) until a read succeeds again.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog

from adapters.consul_http import ConsulError, ConsulHttp, Reply, TokenSource, resolve_datacenters
from adapters.consul_map import DcRead, MapOptions, ServiceView, select_services, view_from_health
from adapters.consul_settings import ConsulSettings

log = structlog.get_logger(__name__)

#: How often the loop looks at the ``stop`` event (a threading.Event cannot be awaited).
STOP_POLL = 0.05


class TokenBucket:
    """Burst ``burst`` requests, then one per ``interval`` seconds; ``delay()`` says how long to wait."""

    def __init__(self, burst: int, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._burst = float(burst)
        self._interval = interval
        self._clock = clock
        self._tokens = float(burst)
        self._stamp = clock()

    def delay(self) -> float:
        """Take a token; the seconds to wait before using it (0 when one was in the bucket)."""
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) / self._interval)
        self._stamp = now
        self._tokens -= 1
        return 0.0 if self._tokens >= 0 else -self._tokens * self._interval


def backoff(failures: int, initial: float, cap: float, rng: random.Random) -> float:
    """Delay after the ``failures``-th error in a row: doubling from ``initial``, capped, half-jittered."""
    ceiling = min(cap, initial * 2 ** min(failures - 1, 32))
    return rng.uniform(ceiling / 2, ceiling)


@dataclass
class _DcState:
    catalog_read: bool = False
    error: str | None = None
    selected: frozenset[str] = frozenset()
    views: dict[str, ServiceView] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    def pending(self) -> frozenset[str]:
        return self.selected - self.views.keys() - self.failed.keys()


class WatchCache:
    """What the watch has read, shared with ``discover()`` on other threads (one lock guards it).

    Mutators return True when the engine should be woken: once when the cache first becomes
    complete (every datacenter and service read), then on every real change.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._dcs: dict[str, _DcState] | None = None
        self._completed = False

    def reads(self) -> list[DcRead] | None:
        """The cached reads, or None until every datacenter's service list has been read once."""
        with self._lock:
            if self._dcs is None or not all(s.catalog_read for s in self._dcs.values()):
                return None
            return [
                DcRead(dc, s.error, dict(s.views), dict(s.failed), s.pending()) for dc, s in self._dcs.items()
            ]

    def set_datacenters(self, names: list[str]) -> tuple[list[str], list[str], bool]:
        """Adopt a datacenter list: (added, removed, wake)."""
        with self._lock:
            current = self._dcs or {}
            added = [n for n in names if n not in current]
            removed = [n for n in current if n not in names]
            had_views = any(current[n].views for n in removed)
            self._dcs = {n: current.get(n) or _DcState() for n in names}
            return added, removed, self._woken(had_views)

    def catalog_ok(self, dc: str, selected: frozenset[str]) -> tuple[frozenset[str], frozenset[str], bool]:
        """A service list read: (names added, names removed, wake)."""
        with self._lock:
            state = self._state(dc)
            if state is None:
                return frozenset(), frozenset(), False
            added, removed = selected - state.selected, state.selected - selected
            state.catalog_read, state.error, state.selected = True, None, selected
            changed = any(name in state.views for name in removed)
            for name in removed:
                state.views.pop(name, None)
                state.failed.pop(name, None)
            return added, removed, self._woken(changed)

    def catalog_failed(self, dc: str, reason: str) -> None:
        with self._lock:
            state = self._state(dc)
            if state is not None:
                state.error = reason

    def view_ok(self, dc: str, view: ServiceView) -> bool:
        """A service read: wake when its mapped value differs from the cached one."""
        with self._lock:
            state = self._state(dc)
            if state is None or view.name not in state.selected:
                return False
            changed = state.views.get(view.name) != view
            state.views[view.name] = view
            state.failed.pop(view.name, None)
            return self._woken(changed)

    def view_failed(self, dc: str, name: str, reason: str) -> None:
        with self._lock:
            state = self._state(dc)
            if state is not None and name in state.selected:
                state.failed[name] = reason

    def _state(self, dc: str) -> _DcState | None:
        return None if self._dcs is None else self._dcs.get(dc)

    def _woken(self, changed: bool) -> bool:
        """Whether to wake: the first time the cache is complete, and on changes after that."""
        if self._completed:
            return changed
        dcs = self._dcs or {}
        if dcs and all(s.catalog_read and not s.pending() for s in dcs.values()):
            self._completed = True
            return True
        return False


class Watcher:
    """Runs the blocking loops until ``stop`` is set; built and run by ``ConsulAdapter.watch``."""

    def __init__(
        self,
        settings: ConsulSettings,
        opts: MapOptions,
        tokens: TokenSource,
        cache: WatchCache,
        wake: Callable[[], None],
        stop: threading.Event,
        local_dc: str | None = None,
    ) -> None:
        self._settings = settings
        self._opts = opts
        self._tokens = tokens
        self._cache = cache
        self._wake_callback = wake
        self._stop = stop
        self._local_dc = local_dc
        self._rng = random.Random()
        self._catalog_tasks: dict[str, asyncio.Task[None]] = {}
        self._service_tasks: dict[tuple[str, str], asyncio.Task[None]] = {}

    def run(self) -> None:
        """Block until ``stop`` is set (its own event loop on the calling thread)."""
        asyncio.run(self._main())

    async def _main(self) -> None:
        log.info("consul_watch_started", adapter=self._opts.adapter, address=self._settings.display_address)
        async with ConsulHttp(self._settings, self._tokens) as http:
            self._http = http
            self._first_reads = asyncio.Semaphore(self._settings.read_concurrency)
            datacenters = asyncio.create_task(self._datacenters_loop())
            try:
                while not self._stop.is_set():
                    await asyncio.sleep(STOP_POLL)
            finally:
                tasks = [datacenters, *self._catalog_tasks.values(), *self._service_tasks.values()]
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        log.info("consul_watch_stopped", adapter=self._opts.adapter)

    def _wake(self) -> None:
        try:
            self._wake_callback()
        except Exception:
            log.exception("consul_wake_failed", adapter=self._opts.adapter)

    async def _datacenters_loop(self) -> None:
        failures = 0
        while True:
            try:
                names = await resolve_datacenters(self._http, self._settings.datacenters, self._local_dc)
            except Exception as exc:
                if not isinstance(exc, ConsulError):
                    log.exception("consul_watch_crashed", what="datacenters")
                failures += 1
                delay = self._backoff(failures)
                reason = self._tokens.scrub(str(exc))
                log.warning("consul_watch_error", what="datacenters", reason=reason, retry_in=round(delay, 2))
                await asyncio.sleep(delay)
                continue
            failures = 0
            if self._settings.datacenters is None:
                self._local_dc = names[0]
            added, removed, wake = self._cache.set_datacenters(names)
            for dc in removed:
                log.info("consul_datacenter_removed", adapter=self._opts.adapter, datacenter=dc)
                self._catalog_tasks.pop(dc).cancel()
                for key in [k for k in self._service_tasks if k[0] == dc]:
                    self._service_tasks.pop(key).cancel()
            for dc in added:
                self._catalog_tasks[dc] = asyncio.create_task(self._catalog_loop(dc))
            if wake:
                self._wake()
            if self._settings.datacenters != "all":
                return
            await asyncio.sleep(self._settings.datacenter_refresh * self._rng.uniform(0.9, 1.1))

    async def _catalog_loop(self, dc: str) -> None:
        s = self._settings

        def on_data(reply: Reply) -> None:
            selected = select_services(reply.data, s.include, s.exclude, s.tags)
            added, removed, wake = self._cache.catalog_ok(dc, selected)
            for name in removed:
                task = self._service_tasks.pop((dc, name), None)
                if task is not None:
                    task.cancel()
            for name in sorted(added):
                self._service_tasks[(dc, name)] = asyncio.create_task(self._service_loop(dc, name))
            if wake:
                self._wake()

        await self._blocking_loop(
            f"catalog {dc}",
            lambda index: self._http.services(dc, s.kinds(), index),
            on_data,
            lambda reason: self._cache.catalog_failed(dc, reason),
            quiet=False,
        )

    async def _service_loop(self, dc: str, name: str) -> None:
        def on_data(reply: Reply) -> None:
            if self._cache.view_ok(dc, view_from_health(self._opts, dc, name, reply.data)):
                self._wake()

        await self._blocking_loop(
            f"service {name} in {dc}",
            lambda index: self._http.health(dc, name, index),
            on_data,
            lambda reason: self._cache.view_failed(dc, name, reason),
            quiet=True,
        )

    async def _blocking_loop(
        self,
        what: str,
        fetch: Callable[[int], Awaitable[Reply]],
        on_data: Callable[[Reply], None],
        on_error: Callable[[str], None],
        *,
        quiet: bool,
    ) -> None:
        """One blocking-query loop (see the module docstring for its rules). Runs until cancelled."""
        s = self._settings
        bucket = TokenBucket(2, s.watch_rate_limit)
        index = failures = 0
        while True:
            delay = bucket.delay()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                if index == 0:
                    async with self._first_reads:
                        reply = await fetch(0)
                else:
                    reply = await fetch(index)
                if reply.index < index:
                    log.info("consul_index_reset", what=what, previous=index, now=reply.index)
                    index = 0  # Consul's rule: start over with a fresh read
                else:
                    index = max(reply.index, 1)  # never block on 0: it would not block at all
                on_data(reply)
            except Exception as exc:
                if isinstance(exc, ConsulError):
                    reason = str(exc)
                else:
                    log.exception("consul_watch_crashed", what=what)
                    reason = self._tokens.scrub(f"internal error: {type(exc).__name__}: {exc}")
                failures += 1
                index = 0  # after an error read afresh, so recovery shows without waiting a full wait
                on_error(reason)
                retry = self._backoff(failures)
                if failures == 1:
                    (log.debug if quiet else log.warning)(
                        "consul_watch_error", what=what, reason=reason, retry_in=round(retry, 2)
                    )
                await asyncio.sleep(retry)
                continue
            if failures and not quiet:
                log.info("consul_watch_recovered", what=what, after_failures=failures)
            failures = 0
            if s.watch_jitter > 0:
                await asyncio.sleep(self._rng.uniform(0, s.watch_jitter))

    def _backoff(self, failures: int) -> float:
        return backoff(failures, self._settings.backoff_initial, self._settings.backoff_max, self._rng)
