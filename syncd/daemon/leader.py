"""Leader election on a ``coordination.k8s.io/v1`` Lease, following client-go's leaderelection.

Only the leader writes. The rules (``Election``) are pure and take the clock as a parameter:

* A follower may take the Lease when it is free (no holder: released) or when the record it saw
  has not changed for ``leaseDurationSeconds`` *of its own clock* (client-go's observedTime: no
  trust in the holder's clock).
* The leader renews every ``retry_period``; it stops being leader ``renew_deadline`` after its
  last successful renew, whatever its renew thread is doing, so it stops writing before anyone
  may take over (``renew_deadline < lease_duration``).
* Writes use the Lease's resourceVersion (optimistic concurrency); a 409 means someone else wrote
  it: re-read and decide again. A leader that reads another holder's record steps down at once.
* Release on shutdown, as client-go: ``holderIdentity`` cleared, ``leaseDurationSeconds: 1``, so
  a follower takes over on its next retry instead of waiting out the lease.

``LeaderElector`` does the I/O through ``kubernetes.client.CoordinationV1Api`` in a thread.
"""

from __future__ import annotations

import math
import os
import random
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol

import structlog
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from syncd import metrics
from syncd.config import LeaderElectionConfig

log = structlog.get_logger(__name__)


class Leadership(Protocol):
    """What the rest of the daemon needs to know about leadership."""

    def is_leader(self) -> bool: ...

    def following(self) -> bool:
        """True when another replica is known to hold a live Lease."""
        ...

    def start(self) -> None: ...

    def stop(self, *, release: bool) -> None: ...

    def alive(self) -> bool: ...


class AlwaysLeader:
    """Leader election disabled (or a target without a cluster): this replica always writes."""

    def is_leader(self) -> bool:
        return True

    def following(self) -> bool:
        return False

    def start(self) -> None:
        metrics.LEADER.set(1)

    def stop(self, *, release: bool) -> None:
        metrics.LEADER.set(0)

    def alive(self) -> bool:
        return True


def default_identity() -> str:
    """``$POD_NAME`` (or the host name) plus a random suffix, so a restarted pod is a new holder."""
    base = os.environ.get("POD_NAME") or socket.gethostname() or "syncd"
    return f"{base}_{secrets.token_hex(4)}"


@dataclass(frozen=True)
class LeaseRecord:
    """The Lease fields that election reads and writes."""

    holder: str
    duration: float
    acquire_time: datetime | None = None
    renew_time: datetime | None = None
    transitions: int = 0


class Election:
    """The election rules for one candidate; ``now`` is a monotonic time in seconds."""

    def __init__(self, identity: str, lease_duration: float, renew_deadline: float) -> None:
        self.identity = identity
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.observed: LeaseRecord | None = None
        self.observed_at = -math.inf
        self.renewed_at: float | None = None

    def observe(self, record: LeaseRecord | None, now: float) -> None:
        """Note the record as read; the lease clock restarts only when the record changed."""
        if record != self.observed:
            self.observed = record
            self.observed_at = now

    def may_acquire(self, now: float) -> bool:
        record = self.observed
        if record is None or not record.holder or record.holder == self.identity:
            return True
        return now >= self.observed_at + record.duration

    def holder(self) -> str:
        return self.observed.holder if self.observed is not None else ""

    def wanted(self, wall: datetime) -> LeaseRecord:
        """The record to write to take or keep the Lease."""
        old = self.observed
        ours = old is not None and old.holder == self.identity
        return LeaseRecord(
            holder=self.identity,
            duration=self.lease_duration,
            acquire_time=old.acquire_time if ours and old is not None else wall,
            renew_time=wall,
            transitions=(old.transitions if ours else old.transitions + 1) if old is not None else 0,
        )

    def released(self, wall: datetime) -> LeaseRecord:
        """The record that hands the Lease back (client-go's ``release``)."""
        transitions = self.observed.transitions if self.observed is not None else 0
        return LeaseRecord(holder="", duration=1, acquire_time=wall, renew_time=wall, transitions=transitions)

    def renewed(self, record: LeaseRecord, started: float) -> None:
        """Our write landed; ``started`` is when the attempt began (the conservative choice)."""
        self.observed = record
        self.observed_at = started
        self.renewed_at = started

    def is_leader(self, now: float) -> bool:
        return self.renewed_at is not None and now - self.renewed_at < self.renew_deadline

    def step_down(self) -> None:
        self.renewed_at = None


class LeaderElector:
    """Runs ``Election`` against a Lease in a thread of its own; callbacks fire on transitions."""

    def __init__(
        self,
        api: client.ApiClient,
        settings: LeaderElectionConfig,
        namespace: str,
        *,
        identity: str | None = None,
        on_started_leading: Callable[[], None] = lambda: None,
        on_stopped_leading: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
        request_timeout: float = 5.0,
    ) -> None:
        self._api = client.CoordinationV1Api(api)
        self._close_api = api.close
        self.name = settings.lease_name
        self.namespace = settings.namespace or namespace
        self.retry_period = settings.retry_period
        self.election = Election(
            identity or default_identity(), settings.lease_duration, settings.renew_deadline
        )
        self._on_started = on_started_leading
        self._on_stopped = on_stopped_leading
        self._clock = clock
        self._wall = wall
        self._timeout = min(request_timeout, settings.renew_deadline)
        self._lease: Any = None  # the V1Lease last read or written (carries the resourceVersion)
        self._leading = False
        self._lock = threading.Lock()  # one attempt at a time (the loop, release)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def identity(self) -> str:
        return self.election.identity

    def is_leader(self) -> bool:
        return self.election.is_leader(self._clock())

    def following(self) -> bool:
        now = self._clock()
        election = self.election
        return not election.is_leader(now) and bool(election.holder()) and not election.may_acquire(now)

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        metrics.LEADER.set(0)
        log.info("leader_election_started", lease=f"{self.namespace}/{self.name}", identity=self.identity)
        self._thread = threading.Thread(target=self._loop, name="leader-election", daemon=True)
        self._thread.start()

    def stop(self, *, release: bool) -> None:
        """Stop campaigning; with ``release`` hand the Lease back if we hold it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)  # a request in flight is waited for by release()
        if release:
            self.release()
        self._leading = False
        metrics.LEADER.set(0)
        self._close_api()

    def step(self) -> None:
        """One attempt to take or renew the Lease, then fire callbacks for a change of leadership."""
        with self._lock:
            self._attempt()
        self._notice()

    def release(self) -> bool:
        """Give the Lease up (if ours) so a follower takes over at once; True when released."""
        with self._lock:
            if not self.election.is_leader(self._clock()) or self._lease is None:
                return False
            self.election.step_down()
            for attempt in range(2):
                record = self.election.released(self._wall())
                try:
                    self._lease = self._replace(self._lease, record)
                except Exception as exc:
                    conflict = isinstance(exc, ApiException) and exc.status == 409
                    if not conflict or attempt or not self._still_ours():
                        log.warning("lease_release_failed", error=_describe(exc))
                        return False
                    continue
                self.election.observe(record, self._clock())
                log.info("lease_released", lease=f"{self.namespace}/{self.name}", identity=self.identity)
                return True
            return False

    # -- internals -------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception as exc:  # never let the thread die: /healthz watches it
                log.error("leader_election_error", error=f"{type(exc).__name__}: {exc}")
            wait = self.retry_period
            if not self._leading:
                wait *= 1 + random.uniform(0, 0.2)  # followers spread their retries
            self._stop.wait(wait)

    def _still_ours(self) -> bool:
        try:
            self._lease = self._read()
        except Exception:
            return False
        return self._lease is not None and _record(self._lease).holder == self.identity

    def _attempt(self) -> None:
        if self._stop.is_set():
            return  # stopping: never take the Lease again (it may just have been released)
        started = self._clock()
        election = self.election
        # Fast path (as client-go): the leader renews against the Lease it wrote last, no read first.
        leading = election.is_leader(started) and self._lease is not None
        if leading and self._write(election.wanted(self._wall()), started):
            return
        try:
            self._lease = self._read()
        except Exception as exc:
            log.warning("lease_unreadable", error=_describe(exc))
            return
        election.observe(_record(self._lease) if self._lease is not None else None, started)
        if election.holder() not in ("", self.identity):
            election.step_down()  # someone else holds it now: stop writing at once
        if election.may_acquire(started):
            self._write(election.wanted(self._wall()), started)

    def _write(self, record: LeaseRecord, started: float) -> bool:
        try:
            if self._lease is None:
                self._lease = self._create(record)
            else:
                self._lease = self._replace(self._lease, record)
        except ApiException as exc:
            if exc.status in (409, 404):  # someone else wrote (or deleted) it: re-read next time
                self._lease = None
            log.debug("lease_write_lost", status=exc.status, holder=self.election.holder())
            return False
        except Exception as exc:
            log.warning("lease_write_failed", error=_describe(exc))
            return False
        self.election.renewed(_record(self._lease), started)
        return True

    def _notice(self) -> None:
        leading = self.is_leader() and not self._stop.is_set()
        if leading == self._leading:
            return
        self._leading = leading
        metrics.LEADER.set(1 if leading else 0)
        if leading:
            log.info("leader_acquired", identity=self.identity, lease=f"{self.namespace}/{self.name}")
            self._on_started()
        else:
            log.warning("leader_lost", identity=self.identity, holder=self.election.holder() or None)
            self._on_stopped()

    def _read(self) -> Any:
        try:
            return self._api.read_namespaced_lease(self.name, self.namespace, _request_timeout=self._timeout)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def _create(self, record: LeaseRecord) -> Any:
        body = client.V1Lease(
            metadata=client.V1ObjectMeta(name=self.name, namespace=self.namespace), spec=_spec(record)
        )
        return self._api.create_namespaced_lease(self.namespace, body, _request_timeout=self._timeout)

    def _replace(self, lease: Any, record: LeaseRecord) -> Any:
        body = client.V1Lease(
            metadata=client.V1ObjectMeta(
                name=self.name,
                namespace=self.namespace,
                resource_version=lease.metadata.resource_version,
            ),
            spec=_spec(record),
        )
        return self._api.replace_namespaced_lease(
            self.name, self.namespace, body, _request_timeout=self._timeout
        )


def _spec(record: LeaseRecord) -> Any:
    return client.V1LeaseSpec(
        holder_identity=record.holder,
        lease_duration_seconds=max(1, math.ceil(record.duration)),
        acquire_time=record.acquire_time,
        renew_time=record.renew_time,
        lease_transitions=record.transitions,
    )


def _record(lease: Any) -> LeaseRecord:
    spec = lease.spec
    return LeaseRecord(
        holder=spec.holder_identity or "",
        duration=float(spec.lease_duration_seconds or 0),
        acquire_time=spec.acquire_time,
        renew_time=spec.renew_time,
        transitions=spec.lease_transitions or 0,
    )


def _describe(exc: Exception) -> str:
    if isinstance(exc, ApiException):
        return f"{exc.status} {exc.reason}"
    return f"{type(exc).__name__}: {exc}"
