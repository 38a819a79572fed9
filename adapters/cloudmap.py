"""AWS Cloud Map adapter: each Cloud Map service becomes one syncd Service.

One cycle: ListNamespaces (all pages) → ListServices (all pages; per selected namespace, or one
listing when every namespace is read) → per service, DiscoverInstances or the cheaper
DiscoverInstancesRevision → :mod:`adapters.cloudmap_mapping` builds the model values.

Change detection. Cloud Map's ``InstancesRevision`` moves on register/deregister (and attribute
updates, which are re-registrations) but *not* on health changes. So:

- a service **with a health check** (``HealthCheckConfig`` or ``HealthCheckCustomConfig`` in its
  ListServices summary) is read in full with DiscoverInstances every cycle: one call, the same
  count a revision check would cost, and health flips are seen on the next cycle;
- a service **without** one has no health to flip; it costs one DiscoverInstancesRevision call,
  and its last DiscoverInstances answer is reused while the revision is unchanged, for at most
  ``full_refresh`` seconds after it was read.

Failures: ServiceNotFound / NamespaceNotFound on a discover call means that service is gone
(left out; its entry may be deleted). Any other error fails the whole cycle with
``Snapshot.failed`` so nothing is deleted. Config keys: :mod:`adapters.cloudmap_settings`.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

import structlog

from adapters.cloudmap_client import CloudMapApi, CloudMapError, ServiceGone, make_client
from adapters.cloudmap_mapping import Instance, ServiceShape, build_service
from adapters.cloudmap_settings import CloudMapSettings, render_host
from syncd.adapter import Adapter, AdapterSettings
from syncd.model import Dropped, Service, Snapshot, is_dns_name

if TYPE_CHECKING:
    from mypy_boto3_servicediscovery.type_defs import NamespaceSummaryTypeDef, ServiceSummaryTypeDef

__all__ = ["CloudMapAdapter", "CloudMapSettings"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class _Target:
    """One Cloud Map service to read this cycle."""

    id: str
    name: str  # Cloud Map service name
    namespace: str  # namespace Name (for names and hosts)
    http_name: str  # namespace HttpName (what DiscoverInstances wants)
    health_checked: bool

    @property
    def qualified(self) -> str:
        return f"{self.name}.{self.namespace}"


@dataclass(frozen=True, slots=True)
class _Answer:
    """A DiscoverInstances answer kept for reuse while the service's revision stays the same."""

    revision: int | None
    instances: tuple[Instance, ...]
    read_at: float  # time.monotonic() of the DiscoverInstances call


class CloudMapAdapter(Adapter):
    """Reads AWS Cloud Map through the data-plane DiscoverInstances API."""

    settings_model = CloudMapSettings

    def __init__(self, name: str, settings: AdapterSettings) -> None:
        if not isinstance(settings, CloudMapSettings):
            raise TypeError("CloudMapAdapter needs CloudMapSettings")
        super().__init__(name, settings)
        self.config = settings
        self._api: CloudMapApi | None = None
        self._answers: dict[str, _Answer] = {}  # service Id → last DiscoverInstances answer
        self._homes: dict[str, str] = {}  # service Id → namespace Id (from GetService)

    def discover(self) -> Snapshot:
        try:
            return self._discover()
        except CloudMapError as exc:
            log.warning("cloudmap_cycle_failed", adapter=self.name, reason=str(exc))
            return Snapshot.failed(self.name, str(exc))

    def close(self) -> None:
        if self._api is not None:
            self._api.client.close()
            self._api = None

    def _discover(self) -> Snapshot:
        if self._api is None:
            self._api = CloudMapApi(make_client(self.config), self.config.retry)
        api = self._api
        dropped: list[Dropped] = []
        targets = self._targets(api, dropped)
        with ThreadPoolExecutor(max_workers=self.config.concurrency) as pool:
            answers = list(pool.map(lambda t: self._read(api, t), targets))
        services: list[Service] = []
        for target, answer in zip(targets, answers, strict=True):
            if answer is None:
                log.info("cloudmap_service_gone", adapter=self.name, service=target.qualified)
                continue
            shape = ServiceShape(
                adapter=self.name,
                name=target.qualified,
                host=render_host(self.config.host, target.name, target.namespace),
                region=api.region,
                protocol=self.config.protocol,
                default_port=self.config.default_port,
            )
            service, lost = build_service(shape, answer.instances)
            services.append(service)
            dropped.extend(lost)
        live = {t.id: a for t, a in zip(targets, answers, strict=True) if a is not None}
        self._answers = live
        return Snapshot(adapter=self.name, services=tuple(services), dropped=tuple(dropped))

    def _targets(self, api: CloudMapApi, dropped: list[Dropped]) -> list[_Target]:
        """The services to read: selected namespaces, include/exclude globs, valid hosts, unique names."""
        namespaces = self._namespaces(api)
        listed: dict[str, ServiceSummaryTypeDef] = {}
        pages = 0
        scopes: list[str | None] = [None] if self.config.namespaces is None else list(namespaces)
        for scope in scopes:
            found, count = api.services(scope)
            pages += count
            listed.update((s["Id"], s) for s in found if "Id" in s)
        homes = self._homes_of(api, list(listed))
        log.debug("cloudmap_listed", adapter=self.name, services=len(listed), pages=pages)
        targets: list[_Target] = []
        names: set[str] = set()
        for sid, summary in sorted(
            listed.items(), key=lambda kv: (homes.get(kv[0]) or "", kv[1].get("Name", ""))
        ):
            ns = namespaces.get(homes.get(sid) or "")
            if ns is None:
                continue  # another namespace's service (or deleted since it was listed)
            target = _Target(
                id=sid,
                name=summary.get("Name", ""),
                namespace=ns.get("Name", ""),
                http_name=_http_name(ns) or ns.get("Name", ""),
                health_checked=summary.get("HealthCheckConfig") is not None
                or summary.get("HealthCheckCustomConfig") is not None,
            )
            if not self._selected(target):
                continue
            reason = self._unusable(target, summary, names)
            if reason:
                dropped.append(Dropped(self.name, target.qualified, "service", reason))
                continue
            names.add(target.qualified)
            targets.append(target)
        return targets

    def _homes_of(self, api: CloudMapApi, service_ids: list[str]) -> dict[str, str | None]:
        """Each service's namespace Id. A service never moves, so GetService runs once per service."""
        unknown = [sid for sid in service_ids if sid not in self._homes]
        with ThreadPoolExecutor(max_workers=self.config.concurrency) as pool:
            found = dict(zip(unknown, pool.map(api.namespace_of, unknown), strict=True))
        homes = {sid: self._homes.get(sid) or found.get(sid) for sid in service_ids}
        self._homes = {sid: home for sid, home in homes.items() if home is not None}
        return homes

    def _namespaces(self, api: CloudMapApi) -> dict[str, NamespaceSummaryTypeDef]:
        """Selected namespaces by Id; a configured name that does not exist fails the cycle."""
        every = api.namespaces()
        wanted = self.config.namespaces
        if wanted is None:
            return {ns["Id"]: ns for ns in every if "Id" in ns}
        chosen: dict[str, NamespaceSummaryTypeDef] = {}
        for name in wanted:
            hits = [ns for ns in every if name in (ns.get("Name"), _http_name(ns)) and "Id" in ns]
            if not hits:
                names = sorted(str(ns.get("Name")) for ns in every)
                visible = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
                visible = visible or "none"
                raise CloudMapError(f"namespace {name!r} not found in {api.region} (visible: {visible})")
            chosen.update((ns["Id"], ns) for ns in hits)
        return chosen

    def _selected(self, target: _Target) -> bool:
        names = (target.name, target.qualified)
        included = any(fnmatchcase(n, glob) for n in names for glob in self.config.include)
        excluded = any(fnmatchcase(n, glob) for n in names for glob in self.config.exclude)
        return included and not excluded

    def _unusable(self, target: _Target, summary: ServiceSummaryTypeDef, names: set[str]) -> str | None:
        if summary.get("Type") == "DNS":
            return "DNS-only service: its instances are not discoverable through the API"
        host = render_host(self.config.host, target.name, target.namespace)
        if not is_dns_name(host):
            return f"host {host!r} from template {self.config.host!r} is not a valid DNS name"
        if target.qualified in names:
            return f"another namespace named {target.namespace!r} already gave a service of this name"
        return None

    def _read(self, api: CloudMapApi, target: _Target) -> _Answer | None:
        """This cycle's answer for one service: reused, freshly read, or None when it is gone."""
        now = time.monotonic()
        last = self._answers.get(target.id)
        revision: int | None = None
        try:
            if (
                last is not None
                and last.revision is not None
                and not target.health_checked
                and now - last.read_at < self.config.full_refresh
            ):
                revision = api.revision(target.http_name, target.name)
                if revision == last.revision:
                    return last
            items, answered = api.discover(
                target.http_name, target.name, self.config.health_status, self.config.query_parameters
            )
        except ServiceGone:
            return None
        instances = tuple(Instance.from_api(item) for item in items)
        # Keep the revision asked for first when there was one: anything registered between
        # the two calls then shows up as a change next cycle.
        return _Answer(revision if revision is not None else answered, instances, now)


def _http_name(ns: NamespaceSummaryTypeDef) -> str | None:
    return ns.get("Properties", {}).get("HttpProperties", {}).get("HttpName")
