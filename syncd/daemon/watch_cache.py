"""Owned objects from list + watch, so a steady cycle makes no LIST call and no write.

``WatchCache`` lists the objects carrying our owner label once, then watches from the list's
resourceVersion with ``allowWatchBookmarks`` (bookmarks move the resourceVersion on in a quiet
namespace). A 410 Gone (history compacted) relists; any other failure reconnects from the last
resourceVersion after a jittered backoff. A change someone else made (an owned entry edited or
deleted by hand) calls ``on_drift`` so the daemon schedules a reconcile that repairs it.

``CachedTarget`` wraps :class:`~syncd.targets.kubernetes.KubernetesTarget`: ``list_owned``
answers from the cache once synced; ``apply`` delegates, and the answers to its writes go into
the cache at once (through ``RecordingApiClient``), so the next cycle does not write them again.
The watch runs on every replica, leader or not, so a follower that takes over starts warm.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

import structlog
from kubernetes import client, watch
from kubernetes.client.exceptions import ApiException

from syncd import metrics
from syncd.config import TargetConfig
from syncd.daemon.store import OwnedStore
from syncd.plan import Changes, rv_of
from syncd.render import Manifest, owner_selector
from syncd.targets import ApplyResult
from syncd.targets.kubernetes import GROUP, PLURALS, VERSION, KubernetesTarget, api_client
from syncd.targets.retry import Backoff

log = structlog.get_logger(__name__)

_PAGE = 500
_MAX_BACKOFF = 30.0


class _Gone(Exception):
    """The watch's resourceVersion is older than the server's history: relist."""


class WatchCache:
    """List + watch of the owned objects of ``kinds`` in one namespace; one thread per kind."""

    def __init__(
        self,
        api: client.ApiClient,
        namespace: str,
        owner: str,
        *,
        kinds: tuple[str, ...] = ("ServiceEntry",),
        watch_timeout: float = 300.0,
        request_timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._api = api
        self._custom = client.CustomObjectsApi(api)
        self.namespace = namespace
        self.owner = owner
        self.kinds = kinds
        self.store = OwnedStore(owner)
        self._watch_timeout = watch_timeout
        self._request_timeout = request_timeout
        self._clock = clock
        self._on_drift: Callable[[], None] = lambda: None
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._synced: set[str] = set()
        self._lists = 0  # completed lists, all kinds (relist waits for it to move)
        self._relist: set[str] = set()
        self._watches: dict[str, watch.Watch] = {}
        self._threads: list[threading.Thread] = []

    def set_on_drift(self, callback: Callable[[], None]) -> None:
        self._on_drift = callback

    def notify_drift(self) -> None:
        self._on_drift()

    @property
    def synced(self) -> bool:
        with self._cond:
            return len(self._synced) == len(self.kinds)

    def wait_synced(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: len(self._synced) == len(self.kinds), timeout)

    def items(self) -> list[Manifest]:
        return self.store.items()

    def start(self) -> None:
        metrics.CACHE_SYNCED.set(0)
        for kind in self.kinds:
            thread = threading.Thread(target=self._run, args=(kind,), name=f"watch-{kind}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def alive(self) -> bool:
        return bool(self._threads) and all(t.is_alive() for t in self._threads)

    def stop(self) -> None:
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
            watches = list(self._watches.values())
        for stream in watches:
            stream.stop()
        for thread in self._threads:
            thread.join(timeout=2)
        self._api.close()

    def relist(self, timeout: float) -> bool:
        """List everything again now (ignore the cache, as a periodic resync); True when done."""
        with self._cond:
            target = self._lists + len(self.kinds)
            self._relist.update(self.kinds)
            watches = list(self._watches.values())
        for stream in watches:
            stream.stop()
        with self._cond:
            return self._cond.wait_for(lambda: self._lists >= target or self._stop.is_set(), timeout)

    # -- the loop of one kind --------------------------------------------------------------------

    def _run(self, kind: str) -> None:
        resource_version: str | None = None
        failures = 0
        while not self._stop.is_set():
            try:
                with self._cond:
                    relist = kind in self._relist
                    self._relist.discard(kind)
                if resource_version is None or relist:
                    if relist:
                        metrics.WATCH_RESTARTS.labels("resync").inc()
                    resource_version = self._list(kind)
                resource_version = self._watch(kind, resource_version)
                failures = 0
            except _Gone:
                metrics.WATCH_RESTARTS.labels("gone").inc()
                log.info("watch_expired_relisting", kind=kind, resource_version=resource_version)
                resource_version = None
            except Exception as exc:
                if self._stop.is_set():
                    break
                with self._cond:
                    if kind in self._relist:  # stopped on purpose for a relist
                        continue
                failures += 1
                metrics.WATCH_RESTARTS.labels("error").inc()
                delay = random.uniform(0.5, 1.0) * min(_MAX_BACKOFF, 0.5 * 2**failures)
                log.warning("watch_failed", kind=kind, error=_describe(exc), retry_in=round(delay, 2))
                if failures >= 5:
                    resource_version = None  # a long outage: start over from a list
                self._stop.wait(delay)

    def _list(self, kind: str) -> str:
        plural = PLURALS[kind]
        items: list[Manifest] = []
        token: str | None = None
        list_rv = ""
        while True:
            kwargs: dict[str, Any] = {"label_selector": owner_selector(self.owner), "limit": _PAGE}
            if token:
                kwargs["_continue"] = token
            page = self._custom.list_namespaced_custom_object(
                GROUP, VERSION, self.namespace, plural, _request_timeout=self._request_timeout, **kwargs
            )
            meta = page.get("metadata") or {}
            list_rv = list_rv or str(meta.get("resourceVersion") or "")
            for item in page.get("items", []):
                item.setdefault("apiVersion", f"{GROUP}/{VERSION}")
                item.setdefault("kind", kind)
                items.append(item)
            token = meta.get("continue")
            if not token:
                break
        drift = self.store.replace(kind, items)
        metrics.CACHE_OBJECTS.set(len(self.store))
        with self._cond:
            first = kind not in self._synced
            self._synced.add(kind)
            self._lists += 1
            synced = len(self._synced) == len(self.kinds)
            self._cond.notify_all()
        metrics.CACHE_SYNCED.set(1 if synced else 0)
        log.info("cache_listed", kind=kind, objects=len(items), resource_version=list_rv)
        if drift and not first:
            log.info("drift_detected", kind=kind, source="relist")
            self._on_drift()
        return list_rv

    def _watch(self, kind: str, resource_version: str) -> str:
        stream = watch.Watch(return_type="object")
        with self._cond:
            if self._stop.is_set() or kind in self._relist:
                return resource_version
            self._watches[kind] = stream
        try:
            events = stream.stream(
                self._custom.list_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                PLURALS[kind],
                label_selector=owner_selector(self.owner),
                resource_version=resource_version,
                allow_watch_bookmarks=True,
                timeout_seconds=int(self._watch_timeout),
                _request_timeout=(self._request_timeout, self._watch_timeout + 30),
            )
            for event in events:
                obj = event.get("raw_object")
                if not isinstance(obj, dict):
                    continue
                resource_version = rv_of(obj) or resource_version
                kind_of_event = str(event.get("type"))
                if kind_of_event not in ("ADDED", "MODIFIED", "DELETED"):
                    continue  # BOOKMARK: only the resourceVersion moves on
                obj.setdefault("apiVersion", f"{GROUP}/{VERSION}")
                obj.setdefault("kind", kind)
                foreign = self.store.event(kind_of_event, obj, self._clock())
                metrics.WATCH_EVENTS.labels(kind_of_event, "foreign" if foreign else "ours").inc()
                metrics.CACHE_OBJECTS.set(len(self.store))
                if foreign:
                    log.info(
                        "drift_detected", kind=kind, name=obj["metadata"].get("name"), change=kind_of_event
                    )
                    self._on_drift()
        except ApiException as exc:
            if exc.status == 410:
                raise _Gone() from None
            raise
        finally:
            with self._cond:
                self._watches.pop(kind, None)
        return resource_version


class RecordingApiClient(client.ApiClient):  # type: ignore[misc]
    """An ApiClient that hands every object a create/replace/patch answers with to ``on_written``.

    The seam through which the cache learns the resourceVersion of our own writes without the
    target having to know about caches.
    """

    def __init__(self, configuration: Any, on_written: Callable[[Manifest], None]) -> None:
        super().__init__(configuration)
        self._on_written = on_written

    def call_api(self, resource_path: str, method: str, *args: Any, **kwargs: Any) -> Any:
        result = super().call_api(resource_path, method, *args, **kwargs)
        if method in ("POST", "PUT", "PATCH"):
            data = result[0] if isinstance(result, tuple) else result
            if isinstance(data, dict) and isinstance(data.get("metadata"), dict):
                self._on_written(data)
        return result


class CachedTarget:
    """A Kubernetes target whose reads come from a ``WatchCache``."""

    def __init__(
        self, inner: KubernetesTarget, cache: WatchCache, clock: Callable[[], float] = time.monotonic
    ):
        self.inner = inner
        self.cache = cache
        self._clock = clock

    def list_owned(self, owner: str) -> list[Manifest]:
        if owner == self.cache.owner and self.cache.synced:
            return self.cache.items()
        return self.inner.list_owned(owner)

    def apply(self, changes: Changes) -> ApplyResult:
        store = self.cache.store
        keys = [(c.kind, c.name) for c in changes.writes]
        store.begin_write(keys)
        result = ApplyResult()
        try:
            result = self.inner.apply(changes)
        finally:
            now = self._clock()
            for change in result.done:
                if change.action == "delete":
                    store.deleted((change.kind, change.name), now)
            failed = [(c.kind, c.name) for c, _ in result.failed]
            drift = store.end_write(keys, failed)
            metrics.CACHE_OBJECTS.set(len(store))
        if drift:
            self.cache.notify_drift()
        return result

    def resync(self, timeout: float) -> bool:
        """Relist from the API now; the next ``list_owned`` answers from the fresh list."""
        return self.cache.relist(timeout)

    def close(self) -> None:
        self.cache.stop()
        self.inner.close()


def build_cached_target(
    settings: TargetConfig, owner: str, kinds: tuple[str, ...] = ("ServiceEntry",)
) -> CachedTarget:
    """The kubernetes target of ``settings`` behind a watch cache (not started yet)."""
    cache = WatchCache(
        api_client(settings.kubeconfig, settings.context),
        settings.namespace,
        owner,
        kinds=kinds,
        request_timeout=settings.request_timeout,
    )
    base = api_client(settings.kubeconfig, settings.context)
    recording = RecordingApiClient(base.configuration, lambda obj: cache.store.wrote(obj, time.monotonic()))
    base.close()
    inner = KubernetesTarget(
        recording,
        settings.namespace,
        kinds=kinds,
        backoff=Backoff(retries=settings.max_retries),
        request_timeout=settings.request_timeout,
        concurrency=settings.concurrency,
    )
    return CachedTarget(inner, cache)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ApiException):
        return f"{exc.status} {exc.reason}"
    return f"{type(exc).__name__}: {exc}"


__all__ = ["CachedTarget", "RecordingApiClient", "WatchCache", "build_cached_target"]
