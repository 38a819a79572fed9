"""The ``consul`` adapter: healthy instances of selected Consul services, from one or more datacenters.

``discover()`` reads ``/v1/catalog/services`` and ``/v1/health/service/<name>`` per datacenter; while
``watch()`` runs it answers from the watch's cache instead (blocking queries keep it current, see
``adapters.consul_watch``). Failure is never emptiness: an unreachable agent, an ACL denial or a
5xx fails the snapshot (``merge`` mode) or marks the datacenter's services unknown (``split`` mode,
once a read has named them); a service whose instances could not be read is unknown on its own.
See docs/adapters/consul.md for the keys and the mapping rules.
"""

from __future__ import annotations

import asyncio
import dataclasses
import operator
import threading
from collections.abc import Callable, Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar, TypeVar

import structlog

from adapters.consul_http import ConsulError, ConsulHttp, ConsulUnreachable, TokenSource, resolve_datacenters
from adapters.consul_map import (
    DcRead,
    MapOptions,
    ServiceView,
    assemble,
    host_or_drop,
    render_host,
    select_services,
    view_from_health,
)
from adapters.consul_settings import ConsulSettings
from adapters.consul_watch import WatchCache, Watcher
from syncd.adapter import Adapter, AdapterSettings
from syncd.model import Dropped, Service, Snapshot

log = structlog.get_logger(__name__)
T = TypeVar("T")
#: Per syncd service: the views it was assembled from, the result, and its Dropped records.
Memo = dict[str, tuple[tuple[ServiceView, ...], Service | None, tuple[Dropped, ...]]]


class ConsulAdapter(Adapter):
    """Consul catalog and health → syncd services; can watch with blocking queries."""

    settings_model: ClassVar[type[AdapterSettings]] = ConsulSettings
    can_watch: ClassVar[bool] = True

    def __init__(self, name: str, settings: AdapterSettings) -> None:
        super().__init__(name, settings)
        assert isinstance(settings, ConsulSettings)
        self._settings = settings
        self._opts = MapOptions(
            adapter=name,
            only_passing=settings.only_passing,
            default_protocol=settings.default_protocol,
            tagged_address=settings.tagged_address,
            zone_meta_key=settings.zone_meta_key,
            required_tags=settings.tags,
            kinds=settings.kinds(),
        )
        self._tokens = TokenSource(settings)
        self._lock = threading.Lock()
        self._local_dc: str | None = None
        #: Per datacenter, the selected names of its last good read (split mode's unknowns).
        self._known: dict[str, frozenset[str]] = {}
        self._cache: WatchCache | None = None
        self._memo: Memo = {}

    def discover(self) -> Snapshot:
        """The watch's cache while a watch runs and has read everything once; else a plain read."""
        cache = self._cache
        try:
            reads = cache.reads() if cache is not None else None
            source = "watch" if reads is not None else "read"
            if reads is None:
                reads = _run(self._read())
            with self._lock:
                snapshot = build_snapshot(self._settings, self._opts, reads, self._known, self._memo)
                self._known.update({r.datacenter: r.selected() for r in reads if r.error is None})
        except ConsulError as exc:
            snapshot, source = Snapshot.failed(self.name, str(exc)), "read"
        except Exception as exc:  # a bug must not read as "everything vanished"
            log.exception("consul_discover_crashed", adapter=self.name)
            reason = self._tokens.scrub(f"internal error reading Consul: {type(exc).__name__}: {exc}")
            snapshot, source = Snapshot.failed(self.name, reason), "read"
        log.debug(
            "consul_discovered",
            adapter=self.name,
            source=source,
            services=len(snapshot.services),
            unknown=len(snapshot.unknown),
            dropped=len(snapshot.dropped),
            error=snapshot.error,
        )
        return snapshot

    def watch(self, wake: Callable[[], None], stop: threading.Event) -> None:
        """Blocking queries until ``stop`` is set; ``wake()`` on every real change (see consul_watch)."""
        cache = WatchCache()
        with self._lock:
            if self._cache is not None:
                raise RuntimeError(f"adapter {self.name!r} is already watching")
            self._cache = cache
        try:
            Watcher(self._settings, self._opts, self._tokens, cache, wake, stop, self._local_dc).run()
        finally:
            with self._lock:
                self._cache = None

    async def _read(self) -> list[DcRead]:
        async with ConsulHttp(self._settings, self._tokens) as http:
            names = await resolve_datacenters(http, self._settings.datacenters, self._local_dc)
            if self._settings.datacenters is None:
                self._local_dc = names[0]
            limit = asyncio.Semaphore(self._settings.read_concurrency)
            return list(await asyncio.gather(*(self._read_dc(http, dc, limit) for dc in names)))

    async def _read_dc(self, http: ConsulHttp, dc: str, limit: asyncio.Semaphore) -> DcRead:
        s = self._settings
        try:
            catalog = await http.services(dc, s.kinds())
        except ConsulError as exc:
            if isinstance(exc, ConsulUnreachable):
                raise
            return DcRead(dc, error=str(exc))
        selected = sorted(select_services(catalog.data, s.include, s.exclude, s.tags))
        aborted: list[ConsulError] = []

        async def one(name: str) -> tuple[str, ServiceView | str]:
            async with limit:
                if aborted:  # the agent is gone: do not wait out a timeout per service
                    raise aborted[0]
                try:
                    reply = await http.health(dc, name)
                except ConsulError as exc:
                    if isinstance(exc, ConsulUnreachable):
                        aborted.append(exc)
                        raise
                    return name, str(exc)
                return name, view_from_health(self._opts, dc, name, reply.data)

        results = await asyncio.gather(*(one(n) for n in selected), return_exceptions=True)
        if aborted:
            raise aborted[0]
        views: dict[str, ServiceView] = {}
        failed: dict[str, str] = {}
        for result in results:
            if isinstance(result, BaseException):
                raise result
            name, value = result
            if isinstance(value, str):
                failed[name] = value
            else:
                views[name] = value
        return DcRead(dc, views=views, failed=failed)


def build_snapshot(
    settings: ConsulSettings,
    opts: MapOptions,
    reads: Sequence[DcRead],
    known: Mapping[str, frozenset[str]],
    memo: Memo | None = None,
) -> Snapshot:
    """The snapshot for a set of datacenter reads (pure: the same for a plain read and the cache).

    ``merge``: a datacenter that failed fails the snapshot, since every service may have endpoints
    there. ``split``: its services (as named by ``known``, its last good read) become unknown; with
    no earlier read to name them, the snapshot fails. A service whose read failed, or that the
    watch has not read yet, is unknown; when every read service failed, the snapshot fails.

    ``memo`` (the previous call's results, updated in place) skips re-assembling a service whose
    views are the very same objects as last time: the watch cache keeps unchanged views as they
    are, so a discover() after one change re-assembles one service, not a thousand.
    """
    adapter, split = opts.adapter, settings.datacenter_mode == "split"
    unknown: set[str] = set()
    for read in reads:
        if read.error is None:
            continue
        if not split:
            return Snapshot.failed(adapter, f"datacenter {read.datacenter}: {read.error}")
        if read.datacenter not in known:
            return Snapshot.failed(
                adapter, f"datacenter {read.datacenter}: {read.error} (no earlier read names its services)"
            )
        unknown.update(_split_name(n, read.datacenter) for n in known[read.datacenter])

    groups: dict[str, tuple[str, list[ServiceView]]] = {}
    first_failure: str | None = None
    for read in reads:
        if read.error is not None:
            continue
        for name in read.selected():
            key = _split_name(name, read.datacenter) if split else name
            if name in read.failed or name in read.pending:
                unknown.add(key)
                if name in read.failed and first_failure is None:
                    first_failure = f"service {name} in {read.datacenter}: {read.failed[name]}"
                continue
            groups.setdefault(key, (name, []))[1].append(read.views[name])

    services: list[Service] = []
    dropped: list[Dropped] = []
    fresh: Memo = {}
    host_dc = reads[0].datacenter if len(reads) == 1 else ""
    for key, (name, views) in sorted(groups.items()):
        if key in unknown:
            continue  # merge mode: unreadable in one datacenter means unknown everywhere
        previous = memo.get(key) if memo is not None else None
        if (
            previous is not None
            and len(previous[0]) == len(views)
            and all(map(operator.is_, previous[0], views))
        ):
            _, service, own = previous
        else:
            notes = [dataclasses.replace(d, service=key) for v in views for d in v.dropped]
            dc = views[0].datacenter if split else host_dc
            host = render_host(settings.host_template, name, dc, settings.namespace)
            checked = host_or_drop(opts, host, key, notes)
            service = assemble(opts, key, [checked], views) if checked else None
            own = tuple(notes)
        fresh[key] = (tuple(views), service, own)
        dropped.extend(own)
        if service is not None:
            services.append(service)
    if memo is not None:
        memo.clear()
        memo.update(fresh)
    if first_failure is not None and not groups:
        return Snapshot.failed(adapter, first_failure)
    return Snapshot(
        adapter=adapter,
        services=tuple(services),
        unknown=frozenset(unknown),
        dropped=tuple(dropped),
    )


def _split_name(service: str, datacenter: str) -> str:
    return f"{service}-{datacenter}"


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` on a fresh event loop: here, or on a helper thread when a loop already runs here."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()
