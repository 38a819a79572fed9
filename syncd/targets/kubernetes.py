"""The ``kubernetes`` target: Istio objects through the official client (kubeconfig or in-cluster).

Safety rules that live here because only the API can tell: a create that finds a foreign object
of the same name leaves it alone; an update that loses a race (409) re-reads and retries only if
the object is still ours; a delete is pinned to the uid we listed, so a foreign object created
since under the same name is never removed.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import structlog
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from syncd.plan import Change, Changes, is_owned
from syncd.render import Manifest, owner_selector
from syncd.targets.base import ApplyResult, TargetError
from syncd.targets.retry import Backoff, is_transient, with_backoff

log = structlog.get_logger(__name__)

GROUP = "networking.istio.io"
VERSION = "v1"
PLURALS = {
    "ServiceEntry": "serviceentries",
    "DestinationRule": "destinationrules",
    "WorkloadEntry": "workloadentries",
}
_PAGE = 500
_CONFLICT_RETRIES = 5


def api_client(kubeconfig: Path | None = None, context: str | None = None) -> client.ApiClient:
    """A client from ``kubeconfig``, else in-cluster service account, else the default kubeconfig."""
    configuration = client.Configuration()
    try:
        if kubeconfig is not None:
            config.load_kube_config(str(kubeconfig), context, client_configuration=configuration)
        else:
            try:
                config.load_incluster_config(client_configuration=configuration)
            except ConfigException:
                config.load_kube_config(context=context, client_configuration=configuration)
    except (ConfigException, OSError, TypeError, ValueError) as exc:
        raise TargetError(f"cannot configure the Kubernetes client: {exc}") from None
    # urllib3 would silently retry GET/PUT/DELETE (and sleep on 429) before we see anything;
    # our own backoff handles that with jitter and an honest count.
    configuration.retries = False
    return client.ApiClient(configuration)


class KubernetesTarget:
    """Writes to one namespace; manages the kinds it is given (ServiceEntry by default)."""

    def __init__(
        self,
        api: client.ApiClient,
        namespace: str,
        *,
        kinds: Iterable[str] = ("ServiceEntry",),
        backoff: Backoff | None = None,
        request_timeout: float = 30.0,
        concurrency: int = 8,
    ) -> None:
        self._api = api
        self._custom = client.CustomObjectsApi(api)
        self.namespace = namespace
        self.kinds = tuple(kinds)
        self._backoff = backoff or Backoff()
        self._timeout = request_timeout
        self._concurrency = max(1, concurrency)

    def list_owned(self, owner: str) -> list[Manifest]:
        items: list[Manifest] = []
        for kind in self.kinds:
            items.extend(self._list(kind, owner_selector(owner)))
        return [obj for obj in items if is_owned(obj, owner)]

    def _list(self, kind: str, selector: str) -> list[Manifest]:
        plural = PLURALS[kind]
        items: list[Manifest] = []
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {"label_selector": selector, "limit": _PAGE}
            if token:
                kwargs["_continue"] = token
            try:
                page = self._call(
                    self._custom.list_namespaced_custom_object,
                    GROUP,
                    VERSION,
                    self.namespace,
                    plural,
                    **kwargs,
                )
            except ApiException as exc:
                if exc.status == 404:
                    raise TargetError(
                        f"{kind} is not served by the API server (is Istio's CRD installed?)"
                    ) from None
                raise TargetError(f"cannot list {kind} in {self.namespace}: {_status_message(exc)}") from None
            except Exception as exc:
                raise TargetError(f"cannot list {kind} in {self.namespace}: {exc}") from None
            for item in page.get("items", []):
                item.setdefault("apiVersion", f"{GROUP}/{VERSION}")
                item.setdefault("kind", kind)
                items.append(item)
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items

    def apply(self, changes: Changes) -> ApplyResult:
        """Write creates and updates, then deletes; each phase runs ``concurrency`` requests at once."""
        result = ApplyResult()
        with ThreadPoolExecutor(max_workers=self._concurrency, thread_name_prefix="write") as pool:
            for phase in (changes.create + changes.update, changes.delete):
                for change, error in pool.map(self._write, phase):
                    if error is None:
                        result.done.append(change)
                    else:
                        result.failed.append((change, error))
        return result

    def _write(self, change: Change) -> tuple[Change, str | None]:
        """One change; failures come back as text (the error is logged here, with its context)."""
        verb = {"create": self._create, "update": self._update, "delete": self._delete}[change.action]
        try:
            verb(change)
        except _NotOurs as exc:
            log.warning(
                "write_refused", verb=change.action, kind=change.kind, name=change.name, reason=str(exc)
            )
            return change, str(exc)
        except ApiException as exc:
            return change, _status_message(exc)
        except Exception as exc:  # a dropped connection after all retries: report, carry on
            return change, f"{type(exc).__name__}: {exc}"
        log.info("written", verb=change.action, kind=change.kind, name=change.name, reason=change.reason)
        return change, None

    def close(self) -> None:
        self._api.close()

    # -- writes ---------------------------------------------------------------------------------

    def _create(self, change: Change) -> None:
        try:
            self._post(change)
        except ApiException as exc:
            if exc.status != 409:
                raise
            # Our list was stale (a crash mid-apply, another replica): adopt only what is ours.
            self._replace_if_ours(change, self._get(change))

    def _post(self, change: Change) -> None:
        assert change.desired is not None
        self._call(
            self._custom.create_namespaced_custom_object,
            GROUP,
            VERSION,
            self.namespace,
            PLURALS[change.kind],
            change.desired,
        )

    def _update(self, change: Change) -> None:
        self._replace_if_ours(change, change.current)

    def _replace_if_ours(self, change: Change, current: Manifest | None) -> None:
        assert change.desired is not None
        owner = change.desired["metadata"]["labels"]["syncd.io/owner"]
        plural = PLURALS[change.kind]
        for _ in range(_CONFLICT_RETRIES):
            if current is None:
                self._post(change)  # gone since we listed it: create it again
                return
            if not is_owned(current, owner):
                raise _NotOurs(
                    f"{change.kind}/{change.name} exists without syncd owner {owner!r}; left alone"
                )
            body = copy.deepcopy(change.desired)
            body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            try:
                self._call(
                    self._custom.replace_namespaced_custom_object,
                    GROUP,
                    VERSION,
                    self.namespace,
                    plural,
                    change.name,
                    body,
                )
                return
            except ApiException as exc:
                if exc.status != 409:
                    raise
                current = self._get(change)  # lost a race: re-read, decide again
                if (
                    current is not None
                    and is_owned(current, owner)
                    and _same_content(current, change.desired)
                ):
                    return  # someone (another replica) already wrote exactly this
        raise _NotOurs(f"{change.kind}/{change.name} kept changing under us; will retry next cycle")

    def _delete(self, change: Change) -> None:
        current = change.current
        plural = PLURALS[change.kind]
        for _ in range(_CONFLICT_RETRIES):
            if current is None:
                return
            owner = current["metadata"]["labels"]["syncd.io/owner"]
            if not is_owned(current, owner):
                raise _NotOurs(f"{change.kind}/{change.name} is no longer owned by syncd; left alone")
            body = client.V1DeleteOptions(
                preconditions=client.V1Preconditions(uid=current["metadata"].get("uid"))
            )
            try:
                self._call(
                    self._custom.delete_namespaced_custom_object,
                    GROUP,
                    VERSION,
                    self.namespace,
                    plural,
                    change.name,
                    body=body,
                )
                return
            except ApiException as exc:
                if exc.status == 404:
                    return
                if exc.status != 409:
                    raise
                fresh = self._get(change)
                if fresh is not None and not is_owned(fresh, owner):
                    raise _NotOurs(
                        f"{change.kind}/{change.name} was replaced by an object not ours; left alone"
                    ) from None
                current = fresh
        raise _NotOurs(f"{change.kind}/{change.name} kept changing under us; will retry next cycle")

    def _get(self, change: Change) -> Manifest | None:
        try:
            obj: Manifest = self._call(
                self._custom.get_namespaced_custom_object,
                GROUP,
                VERSION,
                self.namespace,
                PLURALS[change.kind],
                change.name,
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return obj

    def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        return with_backoff(lambda: fn(*args, _request_timeout=self._timeout, **kwargs), self._backoff)


class _NotOurs(Exception):
    """The object is not (or no longer) ours to change."""


def _same_content(current: Manifest, desired: Manifest) -> bool:
    have, want = current.get("metadata") or {}, desired["metadata"]
    return bool(
        current.get("spec") == desired["spec"]
        and have.get("labels") == want["labels"]
        and have.get("annotations") == want["annotations"]
    )


def _status_message(exc: ApiException) -> str:
    try:
        body = json.loads(exc.body or "{}")
    except (TypeError, ValueError):
        body = {}
    message = body.get("message") if isinstance(body, dict) else None
    return f"{exc.status} {message or exc.reason or 'error'}"


__all__ = ["KubernetesTarget", "api_client", "is_transient"]
