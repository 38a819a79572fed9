"""A Kubernetes API server emulator for syncd's tests, served over real HTTP on 127.0.0.1.

syncd's Kubernetes target, its watch cache, leader election (Leases) and retry logic are tested
against this server through the official ``kubernetes`` client, so it answers the way a real
kube-apiserver does wherever syncd depends on it. Each rule below was checked against the
apiserver source (generic registry ``store.go``, the CRD ``customResourceStrategy``, the Lease
strategy, ``patch.go``, the watch cache):

* Any namespaced custom resource at ``/apis/{group}/{version}/namespaces/{ns}/{plural}[/{name}]``,
  cluster-wide list/watch at ``/apis/{group}/{version}/{plural}``, and ``coordination.k8s.io/v1``
  Leases from the same generic store. One global, monotonic resourceVersion counter (like etcd).
* create: 201 with uid, resourceVersion, creationTimestamp (and generation=1 for custom
  resources); 409 AlreadyExists; ``generateName``; 400 when apiVersion or namespace disagree with
  the URL or a custom resource has no kind; 422 for a wrong kind, a missing or invalid name, or
  invalid labels/annotations; 500 when the body carries a resourceVersion. Creating a custom
  resource drops ``status`` (the Istio CRDs have a status subresource, served at ``.../status``).
* replace (PUT): metadata.resourceVersion is *required* - both the CRD strategy and the Lease
  strategy have ``AllowUnconditionalUpdate() == false``, so a PUT without one is 422 "must be
  specified for an update" - and a stale one is 409 Conflict. uid/creationTimestamp are kept, the
  stored ``status`` is kept, generation grows when anything but metadata changes. A write that
  changes nothing is not written (same resourceVersion, no watch event). A PUT to a missing Lease
  creates it (``AllowCreateOnUpdate``); to a missing custom resource it is 404.
* patch: merge-patch (RFC 7386) and json-patch (RFC 6902; a failed op is the real server's
  generic 422). strategic-merge-patch only for Leases (415 for custom resources). A JSON array
  sent as merge-patch is 422 "couldn't get version/kind", which is what ``CustomObjectsApi``
  produces for a list body unless ``_content_type="application/json-patch+json"`` is passed.
* delete: 200 with a Status Success naming the object (CRD stores do not return the deleted
  object); ``preconditions`` (uid, resourceVersion) give 409 Conflict; deletecollection too.
* list: ``<Kind>List`` in etcd key order; label selectors (``=``, ``==``, ``!=``, ``in``,
  ``notin``, exists, ``!``, ``>``, ``<``), field selectors on metadata.name/namespace,
  ``limit``/``continue`` (opaque token; a continued list reports the first page's
  resourceVersion, and a token older than the event history is 410 Expired).
* watch (``watch=true|True|1`` or the ``/watch/`` path): chunked JSON lines; events after
  ``resourceVersion`` from a bounded history, 410 Expired as an ERROR event when it is too old;
  synthetic ADDED first for ``resourceVersion`` unset/"0" (or ``sendInitialEvents``); BOOKMARKs
  every ``bookmark_interval`` seconds with ``allowWatchBookmarks``; ``timeoutSeconds``; selectors
  filter events, and an object that stops (starts) matching arrives as DELETED (ADDED), as from
  the real watch cache.
* Status objects for every error, 401 without the bearer token (when one is set), minimal
  discovery (``/api``, ``/apis``, ``/apis/{g}/{v}``, ``/version``).

For tests: per-verb request counts, a request log, bytes of write bodies, direct store access
that bypasses the API (and is not counted), and fault injection (409, 429 with Retry-After, 500,
connection reset, slow answer) at a seeded rate; a failed write never changes the store.

Not emulated: namespaces (every namespace exists), RBAC, admission, OpenAPI schema validation
and pruning, server-side apply (415), finalizers and graceful deletion, dryRun (400), protobuf
and Table output, lists at an exact past resourceVersion (a list answers the current state).

Stored objects are never mutated once stored (writes build new dicts), so reads share them and
serialize each object at most once; lists and watches cost O(n) in the objects they touch.
"""

from __future__ import annotations

import base64
import bisect
import contextlib
import json
import random
import re
import select
import socket
import struct
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

JSON = dict[str, Any]

VERBS = ("get", "list", "watch", "create", "update", "patch", "delete", "deletecollection")
WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})
FAULT_KINDS = ("409", "429", "500", "reset", "slow")

_KINDS = {
    "serviceentries": "ServiceEntry",
    "destinationrules": "DestinationRule",
    "workloadentries": "WorkloadEntry",
    "virtualservices": "VirtualService",
    "gateways": "Gateway",
    "sidecars": "Sidecar",
    "leases": "Lease",
}
_PLURALS = {kind: plural for plural, kind in _KINDS.items()}
_BUILTIN_GROUPS = frozenset({"coordination.k8s.io"})
# group -> (served versions, preferred first; resources listed by discovery)
_DISCOVERY = {
    "networking.istio.io": (
        ("v1", "v1beta1", "v1alpha3"),
        ("serviceentries", "destinationrules", "workloadentries"),
    ),
    "coordination.k8s.io": (("v1",), ("leases",)),
}
_API_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
_OPTIMISTIC_LOCK = (
    "the object has been modified; please apply your changes to the latest version and try again"
)
_PATCH_REJECTED = "the server rejected our request due to an error in our request"
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"  # k8s.io/apimachinery/pkg/util/rand


def kind_for(plural: str) -> str:
    """The kind served under a plural: the known table, else derived (``widgets`` -> ``Widget``)."""
    if plural in _KINDS:
        return _KINDS[plural]
    if plural.endswith("ies"):
        stem = plural[:-3] + "y"
    elif plural.endswith(("sses", "xes", "ches", "shes")):
        stem = plural[:-2]
    else:
        stem = plural.removesuffix("s")
    return stem[:1].upper() + stem[1:]


def plural_for(kind: str) -> str:
    """The plural for a kind: the known table, else derived (``Policy`` -> ``policies``)."""
    if kind in _PLURALS:
        return _PLURALS[kind]
    low = kind.lower()
    if low.endswith("y") and low[-2:-1] not in ("a", "e", "i", "o", "u"):
        return low[:-1] + "ies"
    if low.endswith(("s", "x", "ch", "sh")):
        return low + "es"
    return low + "s"


@dataclass(frozen=True)
class _Resource:
    group: str
    version: str
    plural: str

    @property
    def kind(self) -> str:
        return kind_for(self.plural)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"

    @property
    def builtin(self) -> bool:
        """Built-in types (Leases): no generation, strategic merge, create on PUT."""
        return self.group in _BUILTIN_GROUPS

    @property
    def qualified(self) -> str:
        return f"{self.plural}.{self.group}"


class RequestRecord(NamedTuple):
    """One request as the emulator saw it; status 0 means the connection was reset unanswered."""

    verb: str
    path: str
    status: int


class _ApiError(Exception):
    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: JSON | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details, self.headers = (
            code,
            reason,
            message,
            details,
            headers,
        )

    def status(self) -> JSON:
        body: JSON = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
        }
        if self.reason:
            body["reason"] = self.reason
        if self.details is not None:
            body["details"] = self.details
        body["code"] = self.code
        return body


def _bad_request(message: str) -> _ApiError:
    return _ApiError(400, "BadRequest", message)


def _not_found(res: _Resource, name: str) -> _ApiError:
    details = {"name": name, "group": res.group, "kind": res.plural}
    return _ApiError(404, "NotFound", f'{res.qualified} "{name}" not found', details)


def _conflict(res: _Resource, name: str, why: str) -> _ApiError:
    details = {"name": name, "group": res.group, "kind": res.plural}
    return _ApiError(
        409, "Conflict", f'Operation cannot be fulfilled on {res.qualified} "{name}": {why}', details
    )


def _precondition_failed(res: _Resource, meta: JSON, label: str, wanted: str) -> _ApiError:
    """A failed uid/resourceVersion precondition, worded as the storage layer words it."""
    actual = meta["uid" if label == "UID" else "resourceVersion"]
    why = f"Precondition failed: {label} in precondition: {wanted}, {label} in object meta: {actual}"
    key = f"/registry/{res.group}/{res.plural}/{meta['namespace']}/{meta['name']}"
    storage = f"StorageError: invalid object, Code: 4, Key: {key}, ResourceVersion: 0, AdditionalErrorMsg: "
    return _conflict(res, meta["name"], storage + why)


_FieldError = tuple[str, str, str]  # (field, cause reason, message without the field)


def _invalid(group_kind: str, group: str, kind: str, name: str, errors: list[_FieldError]) -> _ApiError:
    parts = [f"{field}: {message}" for field, _, message in errors]
    summary = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    causes = [{"reason": reason, "message": message, "field": field} for field, reason, message in errors]
    details = {"name": name, "group": group, "kind": kind, "causes": causes}
    return _ApiError(422, "Invalid", f'{group_kind} "{name}" is invalid: {summary}', details)


def _generic_not_found() -> _ApiError:
    return _ApiError(404, "NotFound", "the server could not find the requested resource", {})


def _method_not_allowed() -> _ApiError:
    return _ApiError(
        405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {}
    )


# ---------------------------------------------------------------- validation (apimachinery rules)

_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and "
    "must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    r"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
_NAME_PART = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_NAME_PART_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)
_LABEL_VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
    "must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', "
    "regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


def _subdomain_errors(value: str) -> list[str]:
    errors = ["must be no more than 253 characters"] if len(value) > 253 else []
    return errors + ([] if _SUBDOMAIN.fullmatch(value) else [_SUBDOMAIN_MSG])


def _qualified_name_errors(value: str) -> list[str]:
    prefix, slash, name = value.rpartition("/")
    errors: list[str] = []
    if slash and not prefix:
        errors.append("prefix part must be non-empty")
    elif slash:
        errors.extend(f"prefix part {e}" for e in _subdomain_errors(prefix))
    if not name:
        return [*errors, "name part must be non-empty"]
    if len(name) > 63:
        errors.append("name part must be no more than 63 characters")
    return errors + ([] if _NAME_PART.fullmatch(name) else [_NAME_PART_MSG])


def _label_value_errors(value: str) -> list[str]:
    errors = ["must be no more than 63 characters"] if len(value) > 63 else []
    return errors + ([] if value == "" or _NAME_PART.fullmatch(value) else [_LABEL_VALUE_MSG])


def _metadata_errors(meta: JSON) -> list[_FieldError]:
    errors: list[_FieldError] = []

    def invalid(field: str, value: str, messages: Iterable[str]) -> None:
        errors.extend(
            (field, "FieldValueInvalid", f"Invalid value: {json.dumps(value)}: {m}") for m in messages
        )

    invalid("metadata.name", meta["name"], _subdomain_errors(meta["name"]))
    for key, value in (meta.get("labels") or {}).items():
        invalid("metadata.labels", key, _qualified_name_errors(key))
        invalid("metadata.labels", value, _label_value_errors(value))
    annotations = meta.get("annotations") or {}
    for key in annotations:
        invalid("metadata.annotations", key, _qualified_name_errors(key.lower()))
    if sum(len(k) + len(v) for k, v in annotations.items()) > 256 * 1024:
        errors.append(
            ("metadata.annotations", "FieldValueTooLong", "Too long: must have at most 262144 bytes")
        )
    return errors


# ---------------------------------------------------------------- selectors

_Requirement = tuple[str, str, frozenset[str]]  # (key, operator, values)
_OPERATORS = frozenset({"!=", "==", "=", "!", ",", "(", ")", "<", ">"})
_TOKEN = re.compile(r"\s*(!=|==|=|!|,|\(|\)|<|>|[^\s!=,()<>]+)")


def parse_label_selector(text: str) -> list[_Requirement]:
    """Parse a label selector with the full Kubernetes syntax; raises ``ValueError`` when invalid."""
    tokens = [m.group(1) for m in _TOKEN.finditer(text)]
    if "".join(tokens) != re.sub(r"\s", "", text):
        raise ValueError(f"unable to parse requirement: invalid characters in {text!r}")
    pos, requirements = 0, list[_Requirement]()

    def take(expected: str = "identifier") -> str:
        nonlocal pos
        if pos >= len(tokens) or (expected == "identifier" and tokens[pos] in _OPERATORS):
            found = tokens[pos] if pos < len(tokens) else ""
            raise ValueError(f"unable to parse requirement: found '{found}', expected: {expected}")
        pos += 1
        return tokens[pos - 1]

    def value(key: str) -> str:
        found = "" if pos >= len(tokens) or tokens[pos] in (",", ")") else take()
        if problems := _label_value_errors(found):
            raise ValueError(
                f"unable to parse requirement: values[0][{key}]: Invalid value: {found!r}: {problems[0]}"
            )
        return found

    while pos < len(tokens):
        negated = tokens[pos] == "!"
        pos += negated
        key = take()
        if problems := _qualified_name_errors(key):
            raise ValueError(f"unable to parse requirement: key: Invalid value: {key!r}: {problems[0]}")
        op = tokens[pos] if pos < len(tokens) else ","
        if negated or op == ",":
            requirements.append((key, "!" if negated else "exists", frozenset()))
        elif op in ("=", "==", "!="):
            pos += 1
            requirements.append((key, "!=" if op == "!=" else "=", frozenset([value(key)])))
        elif op in (">", "<"):
            pos += 1
            number = take()
            if not re.fullmatch(r"-?\d+", number):
                raise ValueError(
                    "unable to parse requirement: for 'Gt', 'Lt' operators, the value must be an integer: "
                    + number
                )
            requirements.append((key, op, frozenset([number])))
        elif op in ("in", "notin"):
            pos += 1
            if take("'('") != "(":
                raise ValueError(f"unable to parse requirement: found '{tokens[pos - 1]}', expected: '('")
            values = {value(key)}
            while tokens[pos : pos + 1] == [","]:
                pos += 1
                values.add(value(key))
            if take("')'") != ")":
                raise ValueError("unable to parse requirement: found ',', expected: ')'")
            requirements.append((key, op, frozenset(values)))
        else:
            raise ValueError(
                f"unable to parse requirement: found '{op}', expected: in, notin, =, ==, !=, gt, lt"
            )
        if pos < len(tokens):
            if tokens[pos] != ",":
                raise ValueError(f"unable to parse requirement: found '{tokens[pos]}', expected: ','")
            pos += 1
            if pos == len(tokens):
                raise ValueError("unable to parse requirement: found '', expected: identifier")
    return requirements


def labels_match(requirements: Sequence[_Requirement], labels: Mapping[str, str]) -> bool:
    """Whether labels satisfy every requirement (the selector's comma is AND)."""
    for key, op, values in requirements:
        present = key in labels
        value = labels.get(key, "")
        if op == "exists":
            ok = present
        elif op == "!":
            ok = not present
        elif op in ("=", "in"):
            ok = present and value in values
        elif op in ("!=", "notin"):
            ok = not present or value not in values
        else:
            (bound,) = values
            ok = present and re.fullmatch(r"-?\d+", value) is not None
            ok = ok and (int(value) > int(bound) if op == ">" else int(value) < int(bound))
        if not ok:
            return False
    return True


def _parse_field_selector(text: str) -> list[tuple[str, bool, str]]:
    terms = []
    for term in filter(None, (t.strip() for t in text.split(","))):
        match = re.fullmatch(r"([^=!]+)(==|=|!=)(.*)", term)
        if match is None:
            raise _bad_request(f"invalid selector: '{text}'; can't understand '{term}'")
        field, op, value = match.groups()
        if field not in ("metadata.name", "metadata.namespace"):
            raise _bad_request(f"field label not supported: {field}")
        terms.append((field, op != "!=", value))
    return terms


def _matcher(query: Mapping[str, str]) -> Callable[[JSON], bool] | None:
    """A predicate for the request's label and field selectors, or None when it has none."""
    try:
        requirements = parse_label_selector(query.get("labelSelector", ""))
    except ValueError as exc:
        raise _bad_request(str(exc)) from None
    fields = _parse_field_selector(query.get("fieldSelector", ""))
    if not requirements and not fields:
        return None

    def match(obj: JSON) -> bool:
        meta = obj["metadata"]
        for field, equal, value in fields:
            if (meta.get(field[9:], "") == value) != equal:
                return False
        return labels_match(requirements, meta.get("labels") or {})

    return match


def _parse_bool(query: Mapping[str, str], name: str) -> bool:
    raw = query.get(name, "")
    if raw in ("", "0", "f", "F", "false", "False", "FALSE"):
        return False
    if raw in ("1", "t", "T", "true", "True", "TRUE"):
        return True
    raise _bad_request(f'strconv.ParseBool: parsing "{raw}": invalid syntax')


# ---------------------------------------------------------------- patches


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch; returns a new value and never mutates ``target``."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _json_equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def json_patch(doc: Any, operations: list[Any]) -> Any:
    """RFC 6902 JSON patch applied to ``doc`` in place (pass a copy); raises ``ValueError``."""

    def split(pointer: Any) -> list[str]:
        if not isinstance(pointer, str) or (pointer and not pointer.startswith("/")):
            raise ValueError(f"invalid JSON pointer {pointer!r}")
        return [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]

    def parent(root: Any, parts: list[str]) -> Any:
        for part in parts[:-1]:
            root = child(root, part)
        return root

    def child(node: Any, part: str) -> Any:
        if isinstance(node, dict) and part in node:
            return node[part]
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            return node[int(part)]
        raise ValueError(f"path component {part!r} does not exist")

    def add(root: Any, parts: list[str], value: Any) -> Any:
        if not parts:
            return value
        node, last = parent(root, parts), parts[-1]
        if isinstance(node, dict):
            node[last] = value
        elif isinstance(node, list) and (last == "-" or (last.isdigit() and int(last) <= len(node))):
            node.insert(len(node) if last == "-" else int(last), value)
        else:
            raise ValueError(f"cannot add at {last!r}")
        return root

    def remove(root: Any, parts: list[str]) -> Any:
        if not parts:
            raise ValueError("cannot remove the document root")
        node, last = parent(root, parts), parts[-1]
        value = child(node, last)
        if isinstance(node, dict):
            del node[last]
        else:
            del node[int(last)]
        return value

    for op in operations:
        if not isinstance(op, dict):
            raise ValueError("operation is not an object")
        kind, path = op.get("op"), split(op.get("path"))
        if kind in ("add", "replace", "test") and "value" not in op:
            raise ValueError(f"{kind} operation has no value")
        if kind == "add":
            doc = add(doc, path, op["value"])
        elif kind == "remove":
            remove(doc, path)
        elif kind == "replace":
            if path:
                remove(doc, path)
            doc = add(doc, path, op["value"])
        elif kind == "test":
            current = doc
            for part in path:
                current = child(current, part)
            if not _json_equal(current, op["value"]):
                raise ValueError(f"testing value {op.get('path')} failed")
        elif kind in ("move", "copy"):
            source = split(op.get("from"))
            if kind == "move" and path[: len(source)] == source and path != source:
                raise ValueError("cannot move a value into one of its children")
            value = (
                remove(doc, source)
                if kind == "move"
                else json.loads(json.dumps(_resolve(doc, source, child)))
            )
            doc = add(doc, path, value)
        else:
            raise ValueError(f"Unexpected kind: {kind}")
    return doc


def _resolve(doc: Any, parts: list[str], child: Callable[[Any, str], Any]) -> Any:
    for part in parts:
        doc = child(doc, part)
    return doc


# ---------------------------------------------------------------- the store


class _Stored:
    """A stored object (never mutated) and its JSON text, built at most once."""

    __slots__ = ("_json", "obj", "rv")

    def __init__(self, obj: JSON) -> None:
        self.obj = obj
        self.rv = int(obj["metadata"]["resourceVersion"])
        self._json: str | None = None

    def copy(self) -> JSON:
        copied: JSON = json.loads(self.json())
        return copied

    def json(self) -> str:
        if self._json is None:
            self._json = json.dumps(self.obj, separators=(",", ":"))
        return self._json


class _Bucket:
    """The objects of one group/plural keyed ``namespace/name``, with etcd's key order cached."""

    def __init__(self) -> None:
        self.items: dict[str, _Stored] = {}
        self._sorted: list[str] | None = []

    def put(self, key: str, rec: _Stored) -> None:
        if key not in self.items:
            self._sorted = None
        self.items[key] = rec

    def pop(self, key: str) -> None:
        if self.items.pop(key, None) is not None:
            self._sorted = None

    def keys_in(self, namespace: str | None) -> tuple[list[str], int, int]:
        if self._sorted is None:
            self._sorted = sorted(self.items)
        keys = self._sorted
        if namespace is None:
            return keys, 0, len(keys)
        return keys, bisect.bisect_left(keys, namespace + "/"), bisect.bisect_left(keys, namespace + "0")


@dataclass(frozen=True)
class _Event:
    rv: int
    type: str
    group: str
    plural: str
    namespace: str
    rec: _Stored
    prev: _Stored | None


@dataclass
class _Faults:
    rate: float
    kinds: tuple[str, ...]
    rng: random.Random
    slow_seconds: float
    retry_after: int
    verbs: frozenset[str] | None


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _dumps(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"))


def _canonical(obj: JSON, skip: str = "") -> str:
    return json.dumps({k: v for k, v in obj.items() if k != skip}, sort_keys=True, separators=(",", ":"))


def _with_rv(obj: JSON, rv: int) -> JSON:
    return {**obj, "metadata": {**obj["metadata"], "resourceVersion": str(rv)}}


class KubeApiEmulator:
    """An in-memory kube-apiserver on 127.0.0.1; see the module docstring for what it emulates.

    ``bookmark_interval`` (seconds between BOOKMARK events), ``history_limit`` (watch events kept;
    older resourceVersions get 410) and ``max_watch_seconds`` (a watch without timeoutSeconds)
    may be changed while it runs.
    """

    def __init__(
        self,
        port: int = 0,
        token: str | None = None,
        *,
        bookmark_interval: float = 5.0,
        history_limit: int = 1000,
        max_watch_seconds: float = 1800.0,
    ) -> None:
        self.port = port
        self.token = token
        self.bookmark_interval = bookmark_interval
        self.history_limit = history_limit
        self.max_watch_seconds = max_watch_seconds
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._rv = 1
        self._floor = 1  # watching from a resourceVersion below this is 410 Gone
        self._history: list[_Event] = []
        self._history_rvs: list[int] = []
        self._stats_lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._log: list[RequestRecord] = []
        self._bytes_written = 0
        self._faults_injected = 0
        self._faults: _Faults | None = None
        self._names = random.Random()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle

    def start(self) -> KubeApiEmulator:
        """Listen on 127.0.0.1 (the same port again after a ``stop()``, keeping the store)."""
        if self._server is not None:
            return self
        self._server = _Server(("127.0.0.1", self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name="kube-api-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop answering: end watches, close the listener and every open connection."""
        server, self._server = self._server, None
        if server is None:
            return
        server.stopped.set()
        with self._changed:
            self._changed.notify_all()
        server.shutdown()
        server.server_close()
        with server.connections_lock:
            for conn in list(server.connections):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> KubeApiEmulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def write_kubeconfig(self, path: str | Path) -> Path:
        """Write a kubeconfig (JSON, which is YAML) whose current context points at this server."""
        target = Path(path)
        user: JSON = {"token": self.token} if self.token else {}
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "emulator", "cluster": {"server": self.url}}],
            "users": [{"name": "emulator", "user": user}],
            "contexts": [{"name": "emulator", "context": {"cluster": "emulator", "user": "emulator"}}],
            "current-context": "emulator",
            "preferences": {},
        }
        target.write_text(json.dumps(config, indent=2) + "\n")
        return target

    # ------------------------------------------------------------ counting

    def counts(self) -> dict[str, int]:
        """Requests per verb (get, list, watch, create, update, patch, delete, deletecollection;
        also ``discovery`` and ``other`` when seen), faulted and rejected ones included."""
        with self._stats_lock:
            return {**dict.fromkeys(VERBS, 0), **self._counts}

    def reset_counts(self) -> None:
        """Zero the counts, the request log, bytes_written and faults_injected."""
        with self._stats_lock:
            self._counts.clear()
            self._log.clear()
            self._bytes_written = self._faults_injected = 0

    @property
    def request_log(self) -> list[RequestRecord]:
        with self._stats_lock:
            return list(self._log)

    @property
    def bytes_written(self) -> int:
        """Bytes of request bodies sent with create, update, patch, delete and deletecollection."""
        with self._stats_lock:
            return self._bytes_written

    @property
    def faults_injected(self) -> int:
        with self._stats_lock:
            return self._faults_injected

    def _count(self, verb: str, body_bytes: int) -> None:
        with self._stats_lock:
            self._counts[verb] = self._counts.get(verb, 0) + 1
            if verb in WRITE_VERBS:
                self._bytes_written += body_bytes

    def _log_request(self, record: RequestRecord) -> None:
        with self._stats_lock:
            self._log.append(record)

    # ------------------------------------------------------------ faults

    def set_faults(
        self,
        rate: float,
        kinds: Sequence[str] = FAULT_KINDS,
        seed: int | None = None,
        slow_seconds: float = 2.0,
        retry_after: int = 1,
        verbs: Sequence[str] | None = None,
    ) -> None:
        """Fail ``rate`` of the matching requests with one of ``kinds`` (409 only for writes).

        ``verbs`` defaults to every resource verb (discovery is spared). Faults are decided before
        the request touches the store, so a failed write changes nothing; "slow" sleeps
        ``slow_seconds`` and then answers normally.
        """
        unknown = set(kinds) - set(FAULT_KINDS)
        if unknown or not 0.0 <= rate <= 1.0:
            raise ValueError(f"bad fault settings: rate={rate}, unknown kinds={sorted(unknown)}")
        chosen = None if verbs is None else frozenset(verbs)
        with self._stats_lock:
            self._faults = _Faults(rate, tuple(kinds), random.Random(seed), slow_seconds, retry_after, chosen)

    def clear_faults(self) -> None:
        with self._stats_lock:
            self._faults = None

    def _draw_fault(self, verb: str) -> tuple[str, _Faults] | None:
        with self._stats_lock:
            faults = self._faults
            if faults is None or verb not in (faults.verbs if faults.verbs is not None else VERBS):
                return None
            if faults.rng.random() >= faults.rate:
                return None
            kinds = [k for k in faults.kinds if k != "409" or verb in WRITE_VERBS]
            if not kinds:
                return None
            self._faults_injected += 1
            return faults.rng.choice(kinds), faults

    # ------------------------------------------------------------ direct store access (not counted)

    def put_object(self, obj: Mapping[str, Any], *, plural: str | None = None) -> JSON:
        """Upsert an object as the server would (uid, resourceVersion, timestamps, generation),
        recording an ADDED or MODIFIED watch event; returns a copy of what was stored.

        ``obj`` needs ``apiVersion`` (group/version), ``kind`` and ``metadata.name``; the namespace
        defaults to ``default`` and the plural to the one for the kind. ``status`` is kept.
        """
        data: JSON = json.loads(json.dumps(obj))
        group, slash, version = str(data.get("apiVersion", "")).partition("/")
        if not slash or not data.get("kind") or not data.get("metadata", {}).get("name"):
            raise ValueError("put_object needs apiVersion <group>/<version>, kind and metadata.name")
        res = _Resource(group, version, plural or plural_for(data["kind"]))
        meta = data["metadata"]
        namespace = meta.setdefault("namespace", "default")
        key = f"{namespace}/{meta['name']}"
        with self._lock:
            bucket = self._buckets.setdefault((res.group, res.plural), _Bucket())
            old = bucket.items.get(key)
            meta["resourceVersion"] = str(self._next_rv())
            if old is None:
                meta.update(uid=str(uuid.uuid4()), creationTimestamp=_now())
                if not res.builtin:
                    meta["generation"] = 1
            else:
                old_meta = old.obj["metadata"]
                meta.update(uid=old_meta["uid"], creationTimestamp=old_meta["creationTimestamp"])
                if not res.builtin:
                    changed = _canonical(data, "metadata") != _canonical(old.obj, "metadata")
                    meta["generation"] = old_meta.get("generation", 1) + changed
            rec = _Stored(data)
            bucket.put(key, rec)
            self._record("MODIFIED" if old else "ADDED", res, namespace, rec, old)
        return rec.copy()

    def get_object(self, plural: str, namespace: str, name: str, *, group: str | None = None) -> JSON | None:
        """A copy of the stored object, or None."""
        with self._lock:
            for bucket in self._buckets_for(plural, group):
                rec = bucket.items.get(f"{namespace}/{name}")
                if rec is not None:
                    return rec.copy()
        return None

    def objects(self, plural: str, namespace: str | None = None, *, group: str | None = None) -> list[JSON]:
        """Copies of the stored objects of a plural (in one namespace or all), in key order."""
        with self._lock:
            found: list[str] = []
            for bucket in self._buckets_for(plural, group):
                keys, lo, hi = bucket.keys_in(namespace)
                found.extend(bucket.items[k].json() for k in keys[lo:hi])
        return [json.loads(text) for text in found]

    def delete_object(self, plural: str, namespace: str, name: str, *, group: str | None = None) -> bool:
        """Delete an object, recording a DELETED watch event; False when there was none."""
        with self._lock:
            for (bucket_group, bucket_plural), bucket in self._buckets.items():
                key = f"{namespace}/{name}"
                if bucket_plural == plural and group in (None, bucket_group) and key in bucket.items:
                    res = _Resource(bucket_group, "", plural)
                    self._remove(res, bucket, key, bucket.items[key])
                    return True
        return False

    def clear(self) -> None:
        """Drop every object and expire the watch history (watchers get 410 and relist)."""
        with self._lock:
            self._buckets.clear()
        self.expire_history()

    def expire_history(self) -> None:
        """Forget every watch event, as a compaction would: any resourceVersion handed out so far
        is now too old to watch from (410 Gone), while a fresh list gives one that works."""
        with self._changed:
            self._rv += 1
            self._floor = self._rv
            self._history.clear()
            self._history_rvs.clear()
            self._changed.notify_all()

    def _wait_events(
        self, last: int, until: float, stopped: threading.Event
    ) -> tuple[list[_Event], int] | None:
        """Events after resourceVersion ``last``, waiting until ``until`` (monotonic) for some.

        Returns None once the server stops, and a floor other than 0 when ``last`` is too old.
        Waiting releases the lock, so writers are never held up by watchers.
        """
        with self._changed:
            while not stopped.is_set():
                if last < self._floor:
                    return [], self._floor
                index = bisect.bisect_right(self._history_rvs, last)
                if index < len(self._history):
                    return self._history[index:], 0
                remaining = until - time.monotonic()
                if remaining <= 0:
                    return [], 0
                self._changed.wait(remaining)
        return None

    def _buckets_for(self, plural: str, group: str | None) -> list[_Bucket]:
        return [b for (g, p), b in self._buckets.items() if p == plural and group in (None, g)]

    # ------------------------------------------------------------ store internals (hold the lock)

    def _next_rv(self) -> int:
        self._rv += 1
        return self._rv

    def _record(self, kind: str, res: _Resource, namespace: str, rec: _Stored, prev: _Stored | None) -> None:
        self._history.append(_Event(rec.rv, kind, res.group, res.plural, namespace, rec, prev))
        self._history_rvs.append(rec.rv)
        if len(self._history) > 2 * self.history_limit:
            drop = len(self._history) - self.history_limit
            self._floor = self._history_rvs[drop - 1]
            del self._history[:drop], self._history_rvs[:drop]
        self._changed.notify_all()

    def _remove(self, res: _Resource, bucket: _Bucket, key: str, old: _Stored) -> _Stored:
        gone = _Stored(_with_rv(old.obj, self._next_rv()))
        bucket.pop(key)
        self._record("DELETED", res, key.partition("/")[0], gone, old)
        return gone

    def _insert(self, res: _Resource, namespace: str, obj: JSON) -> _Stored:
        meta = obj["metadata"]
        bucket = self._buckets.setdefault((res.group, res.plural), _Bucket())
        if not meta.get("name"):
            while not meta.get("name") or f"{namespace}/{meta['name']}" in bucket.items:
                suffix = "".join(self._names.choice(_NAME_CHARS) for _ in range(5))
                meta["name"] = meta["generateName"][:58] + suffix
        key = f"{namespace}/{meta['name']}"
        if key in bucket.items:
            details = {"name": meta["name"], "group": res.group, "kind": res.plural}
            raise _ApiError(409, "AlreadyExists", f'{res.qualified} "{meta["name"]}" already exists', details)
        for server_owned in ("deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "generation"):
            meta.pop(server_owned, None)
        meta.update(uid=str(uuid.uuid4()), resourceVersion=str(self._next_rv()), creationTimestamp=_now())
        if not res.builtin:
            meta["generation"] = 1
            obj.pop("status", None)
        rec = _Stored(obj)
        bucket.put(key, rec)
        self._record("ADDED", res, namespace, rec, None)
        return rec

    def _update(self, res: _Resource, key: str, old: _Stored, new: JSON, subresource: str | None) -> _Stored:
        meta, old_meta = new["metadata"], old.obj["metadata"]
        name = old_meta["name"]
        if meta.get("uid") and meta["uid"] != old_meta["uid"]:
            raise _precondition_failed(res, old_meta, "UID", meta["uid"])
        rv = meta.get("resourceVersion") or "0"
        if rv == "0" or not rv.isdigit():
            shown = "0x0" if rv == "0" else json.dumps(rv)
            why = (
                "must be specified for an update"
                if rv == "0"
                else f'strconv.ParseUint: parsing "{rv}": invalid syntax'
            )
            error = ("metadata.resourceVersion", "FieldValueInvalid", f"Invalid value: {shown}: {why}")
            raise _invalid(res.qualified, res.group, res.plural, name, [error])
        if int(rv) != old.rv:
            raise _conflict(res, name, _OPTIMISTIC_LOCK)
        if subresource == "status":  # the status strategy keeps everything but status
            new = {k: v for k, v in old.obj.items() if k != "status"} | (
                {"status": new["status"]} if "status" in new else {}
            )
        else:
            for system in (
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
            ):
                if system in old_meta:
                    meta[system] = old_meta[system]
                else:
                    meta.pop(system, None)
            if not res.builtin:
                new.pop("status", None)
                if "status" in old.obj:
                    new["status"] = old.obj["status"]
                if _canonical(new, "metadata") != _canonical(old.obj, "metadata"):
                    meta["generation"] = old_meta.get("generation", 1) + 1
        if _canonical(new) == _canonical(old.obj):
            return old  # a no-op update is not written (etcd3 GuaranteedUpdate)
        rec = _Stored(_with_rv(new, self._next_rv()))
        self._buckets[(res.group, res.plural)].put(key, rec)
        self._record("MODIFIED", res, key.partition("/")[0], rec, old)
        return rec

    # ------------------------------------------------------------ API operations

    def _decode(self, res: _Resource, namespace: str, body: bytes) -> JSON:
        """Parse a request body into a fresh top level and metadata, checked like the decoder."""
        cannot = f'{res.kind} in version "{res.version}" cannot be handled as a {res.kind}'
        try:
            obj = json.loads(body or b"null")
        except ValueError as exc:
            raise _bad_request(f"{cannot}: {exc}") from None
        if not isinstance(obj, dict):
            raise _bad_request(
                f"{cannot}: json: cannot unmarshal {type(obj).__name__} into Go value of type map"
            )
        return self._check(res, namespace, dict(obj), body.decode(errors="replace"))

    def _check(self, res: _Resource, namespace: str, obj: JSON, text: str) -> JSON:
        cannot = f'{res.kind} in version "{res.version}" cannot be handled as a {res.kind}'
        if not obj.get("kind"):
            if not res.builtin:
                raise _bad_request(f"{cannot}: Object 'Kind' is missing in '{text}'")
            obj["kind"] = res.kind
        api_version = obj.get("apiVersion") or res.api_version
        if api_version.rpartition("/")[0] != res.group:
            raise _bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({res.api_version})"
            )
        obj["apiVersion"] = res.api_version
        meta = obj.get("metadata")
        if meta is None:
            meta = {}
        if not isinstance(meta, dict):
            raise _bad_request(
                f"{cannot}: json: cannot unmarshal into Go struct field .metadata of type ObjectMeta"
            )
        obj["metadata"] = meta = dict(meta)
        for field in ("name", "generateName", "namespace", "resourceVersion", "uid"):
            if not isinstance(meta.get(field, ""), str):
                raise _bad_request(
                    f"{cannot}: json: cannot unmarshal into Go struct field ObjectMeta.metadata.{field}"
                )
        for field in ("labels", "annotations"):
            value = meta.get(field) or {}
            if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
                raise _bad_request(
                    f"{cannot}: json: cannot unmarshal into Go struct field ObjectMeta.metadata.{field}"
                )
        if meta.get("namespace", namespace) != namespace:
            raise _bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        meta["namespace"] = namespace
        if obj["kind"] != res.kind:
            if res.builtin:
                raise _bad_request(f'no kind "{obj["kind"]}" is registered for version "{res.api_version}"')
            error = (
                "kind",
                "FieldValueInvalid",
                f"Invalid value: {json.dumps(obj['kind'])}: must be {res.kind}",
            )
            raise _invalid(
                f"{obj['kind']}.{res.group}", res.group, obj["kind"], meta.get("name", ""), [error]
            )
        return obj

    def _validate(self, res: _Resource, obj: JSON) -> None:
        meta = obj["metadata"]
        errors = _metadata_errors({**meta, "name": meta.get("name") or meta.get("generateName", "") + "x"})
        if errors:
            raise _invalid(f"{res.kind}.{res.group}", res.group, res.kind, meta.get("name", ""), errors)

    def _create(self, res: _Resource, namespace: str, body: bytes) -> _Stored:
        obj = self._decode(res, namespace, body)
        meta = obj["metadata"]
        if not meta.get("name") and not meta.get("generateName"):
            error = (
                "metadata.name",
                "FieldValueRequired",
                "Required value: name or generateName is required",
            )
            raise _invalid(f"{res.kind}.{res.group}", res.group, res.kind, "", [error])
        self._validate(res, obj)
        if meta.get("resourceVersion", "0") not in ("", "0"):
            raise _ApiError(500, "", "resourceVersion should not be set on objects to be created")
        with self._lock:
            return self._insert(res, namespace, obj)

    def _get(self, res: _Resource, namespace: str, name: str) -> _Stored:
        with self._lock:
            bucket = self._buckets.get((res.group, res.plural))
            rec = bucket.items.get(f"{namespace}/{name}") if bucket else None
        if rec is None:
            raise _not_found(res, name)
        return rec

    def _replace(
        self, res: _Resource, namespace: str, name: str, body: bytes, sub: str | None
    ) -> tuple[int, _Stored]:
        obj = self._decode(res, namespace, body)
        if obj["metadata"].get("name", "") != name:
            got = obj["metadata"].get("name", "")
            raise _bad_request(f"the name of the object ({got}) does not match the name on the URL ({name})")
        self._validate(res, obj)
        with self._lock:
            bucket = self._buckets.get((res.group, res.plural))
            old = bucket.items.get(f"{namespace}/{name}") if bucket else None
            if old is None:
                if res.builtin and sub is None:  # Lease: AllowCreateOnUpdate
                    obj["metadata"].pop("resourceVersion", None)
                    return 201, self._insert(res, namespace, obj)
                raise _not_found(res, name)
            return 200, self._update(res, f"{namespace}/{name}", old, obj, sub)

    def _patch(
        self, res: _Resource, namespace: str, name: str, ctype: str, body: bytes, sub: str | None
    ) -> _Stored:
        try:
            patch = json.loads(body or b"null")
        except ValueError as exc:
            raise _bad_request(f"error decoding patch: {exc}") from None
        if ctype == "application/json-patch+json" and not isinstance(patch, list):
            raise _bad_request(
                f"json: cannot unmarshal {type(patch).__name__} into Go value of type jsonpatch.Patch"
            )
        if ctype != "application/json-patch+json" and not isinstance(patch, dict):
            go_type = {"list": "array", "str": "string", "int": "number", "float": "number"}.get(
                type(patch).__name__, type(patch).__name__
            )
            go_struct = 'struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string ' + (
                '"json:\\"kind,omitempty\\"" }'
            )
            why = (
                f"Invalid value: {json.dumps(body.decode(errors='replace'))}: couldn't get version/kind; "
                f"json parse error: json: cannot unmarshal {go_type} into Go value of type {go_struct}"
            )
            raise _invalid("", "", "", "", [("patch", "FieldValueInvalid", why)])
        key = f"{namespace}/{name}"
        with self._lock:
            bucket = self._buckets.get((res.group, res.plural))
            old = bucket.items.get(key) if bucket else None
            if old is None:
                raise _not_found(res, name)
            if isinstance(patch, list):
                try:
                    patched = json_patch(json.loads(old.json()), patch)
                except (ValueError, TypeError, KeyError, IndexError):
                    raise _ApiError(422, "Invalid", _PATCH_REJECTED, {}) from None
            else:
                patched = merge_patch(old.obj, patch)
            if not isinstance(patched, dict):
                raise _ApiError(422, "Invalid", _PATCH_REJECTED, {})
            obj = self._check(res, namespace, dict(patched), "")
            if obj["metadata"].get("name") != name:
                got = obj["metadata"].get("name", "")
                raise _bad_request(
                    f"the name of the object ({got}) does not match the name on the URL ({name})"
                )
            self._validate(res, obj)
            return self._update(res, key, old, obj, sub)

    def _delete(self, res: _Resource, namespace: str, name: str, body: bytes) -> JSON:
        try:
            options = json.loads(body) if body.strip() else {}
        except ValueError as exc:
            raise _bad_request(f"error decoding DeleteOptions: {exc}") from None
        pre = (options.get("preconditions") if isinstance(options, dict) else None) or {}
        with self._lock:
            bucket = self._buckets.get((res.group, res.plural))
            old = bucket.items.get(f"{namespace}/{name}") if bucket else None
            if bucket is None or old is None:
                raise _not_found(res, name)
            meta = old.obj["metadata"]
            for field, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
                if pre.get(field) and pre[field] != meta[field]:
                    raise _precondition_failed(res, meta, label, pre[field])
            self._remove(res, bucket, f"{namespace}/{name}", old)
        details = {"name": name, "group": res.group, "kind": res.plural, "uid": meta["uid"]}
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}

    def _select(
        self, res: _Resource, namespace: str | None, query: Mapping[str, str]
    ) -> tuple[list[_Stored], JSON]:
        """Matching objects for a list (one page of them with ``limit``) and the list metadata."""
        match = _matcher(query)
        try:
            limit = int(query.get("limit") or 0)
        except ValueError:
            raise _bad_request(f"invalid limit: {query['limit']}") from None
        token = query.get("continue", "")
        start_key, token_rv = "", 0
        if token:
            try:
                decoded = json.loads(base64.urlsafe_b64decode(token.encode()))
                start_key, token_rv = str(decoded["start"]), int(decoded["rv"])
            except (ValueError, KeyError, TypeError):
                raise _bad_request("invalid continue token: not a token issued by this server") from None
        with self._lock:
            if token and token_rv < self._floor:
                raise _ApiError(
                    410,
                    "Expired",
                    "The provided continue parameter is too old to display a consistent list result. "
                    "You can start a new list without the continue parameter.",
                )
            list_rv = token_rv or self._rv
            found: list[_Stored] = []
            bucket = self._buckets.get((res.group, res.plural))
            more, last = 0, ""
            if bucket is not None:
                keys, i, hi = bucket.keys_in(namespace)
                if start_key:
                    i = max(i, bisect.bisect_left(keys, start_key))
                items = bucket.items
                while i < hi and not (limit and len(found) == limit):
                    rec = items[keys[i]]
                    i += 1
                    if match is None or match(rec.obj):
                        found.append(rec)
                more = hi - i if limit else 0
                last = keys[i - 1] if i else ""
        meta: JSON = {"resourceVersion": str(list_rv)}
        if more:
            meta["continue"] = base64.urlsafe_b64encode(
                _dumps({"rv": list_rv, "start": last + "\0"}).encode()
            ).decode()
            if match is None:
                meta["remainingItemCount"] = more
        return found, meta

    def _list_json(self, res: _Resource, found: list[_Stored], meta: JSON) -> str:
        items = ",".join(self._obj_json(rec, res) for rec in found)
        head = (
            f'{{"apiVersion":"{res.api_version}","kind":"{res.kind}List","metadata":{_dumps(meta)},"items":['
        )
        return head + items + "]}"

    def _delete_collection(self, res: _Resource, namespace: str | None, query: Mapping[str, str]) -> str:
        found, _ = self._select(
            res, namespace, {k: v for k, v in query.items() if k not in ("limit", "continue")}
        )
        gone = []
        with self._lock:
            bucket = self._buckets.get((res.group, res.plural))
            for rec in found:
                meta = rec.obj["metadata"]
                key = f"{meta['namespace']}/{meta['name']}"
                if bucket is not None and bucket.items.get(key) is rec:
                    gone.append(self._remove(res, bucket, key, rec))
            rv = self._rv
        return self._list_json(res, gone, {"resourceVersion": str(rv)})

    @staticmethod
    def _obj_json(rec: _Stored, res: _Resource) -> str:
        if rec.obj.get("apiVersion") == res.api_version:
            return rec.json()
        return _dumps({**rec.obj, "apiVersion": res.api_version})

    def _event_line(self, ev: _Event, res: _Resource, match: Callable[[JSON], bool] | None) -> str | None:
        """The watch line a watcher with this selector sees for an event (or None), as the watch
        cache does it: objects entering the selection are ADDED, leaving it DELETED."""
        kind, rec = ev.type, ev.rec
        if match is not None:
            now = ev.type != "DELETED" and match(rec.obj)
            before = ev.prev is not None and match(ev.prev.obj)
            if now:
                kind = "MODIFIED" if before else "ADDED"
            elif before:
                kind = "DELETED"
                if ev.type != "DELETED" and ev.prev is not None:
                    rec = _Stored(_with_rv(ev.prev.obj, ev.rv))
            else:
                return None
        return f'{{"type":"{kind}","object":{self._obj_json(rec, res)}}}\n'

    def _discovery(self, segments: list[str]) -> JSON | None:
        groups: dict[str, tuple[list[str], list[str]]] = {
            g: (list(versions), list(plurals)) for g, (versions, plurals) in _DISCOVERY.items()
        }
        with self._lock:
            for (group, plural), bucket in self._buckets.items():
                versions, plurals = groups.setdefault(group, ([], []))
                if plural not in plurals:
                    plurals.append(plural)
                for rec in list(bucket.items.values())[:1]:
                    version = str(rec.obj.get("apiVersion", "")).rpartition("/")[2]
                    if version and version not in versions:
                        versions.append(version)

        def group_json(name: str) -> JSON:
            versions = [{"groupVersion": f"{name}/{v}", "version": v} for v in groups[name][0]]
            return {"name": name, "versions": versions, "preferredVersion": versions[0]}

        if segments == ["version"]:
            return {
                "major": "1",
                "minor": "31",
                "gitVersion": "v1.31.0-syncd-emulator",
                "gitCommit": "0000000000000000000000000000000000000000",
                "gitTreeState": "clean",
                "buildDate": "2024-08-13T00:00:00Z",
                "goVersion": "go1.22.5",
                "compiler": "gc",
                "platform": "linux/amd64",
            }
        if segments == ["api"]:
            cidrs = [{"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{self.port}"}]
            return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": cidrs}
        if segments == ["apis"]:
            return {
                "kind": "APIGroupList",
                "apiVersion": "v1",
                "groups": [group_json(g) for g in groups if groups[g][0]],
            }
        if len(segments) == 2 and segments[1] in groups and groups[segments[1]][0]:
            return {"kind": "APIGroup", "apiVersion": "v1", **group_json(segments[1])}
        if len(segments) == 3 and segments[1] in groups and segments[2] in groups[segments[1]][0]:
            resources: list[JSON] = []
            for plural in groups[segments[1]][1]:
                res = _Resource(segments[1], segments[2], plural)
                entry = {
                    "name": plural,
                    "singularName": res.kind.lower(),
                    "namespaced": True,
                    "kind": res.kind,
                }
                resources.append({**entry, "verbs": _API_VERBS})
                if not res.builtin:
                    status = {
                        "name": f"{plural}/status",
                        "singularName": "",
                        "namespaced": True,
                        "kind": res.kind,
                    }
                    resources.append({**status, "verbs": ["get", "patch", "update"]})
            gv = f"{segments[1]}/{segments[2]}"
            return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}
        return None


# ---------------------------------------------------------------- HTTP


@dataclass(frozen=True)
class _Route:
    verb: str
    res: _Resource | None = None
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None


def _route(method: str, segments: list[str], query: Mapping[str, str]) -> _Route:
    if segments in (["version"], ["api"]) or (segments[:1] == ["apis"] and len(segments) <= 3):
        return _Route("discovery")
    if segments[:1] != ["apis"] or len(segments) < 4:
        return _Route("other")
    group, version, rest = segments[1], segments[2], segments[3:]
    watch_path = rest[0] == "watch"
    rest = rest[1:] if watch_path else rest
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3 or (namespace is None and len(rest) > 1):
        return _Route("other")
    res = _Resource(group, version, rest[0])
    if len(rest) == 1:
        watching = watch_path or (method == "GET" and _parse_bool(query, "watch"))
        verbs = {"GET": "watch" if watching else "list", "POST": "create", "DELETE": "deletecollection"}
        return _Route(verbs.get(method, "other"), res, namespace)
    if len(rest) == 3 and (rest[2] != "status" or res.builtin):
        return _Route("other")
    verbs = {"GET": "get", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}
    subresource = rest[2] if len(rest) == 3 else None
    if watch_path or (subresource and method == "DELETE"):
        return _Route("other", res, namespace, rest[1], subresource)
    return _Route(verbs.get(method, "other"), res, namespace, rest[1], subresource)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: KubeApiEmulator) -> None:
        super().__init__(address, _Handler)
        self.emulator = emulator
        self.stopped = threading.Event()
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], (OSError, ValueError)):  # not a client gone away
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    _verb = "other"
    _path = ""
    _answered = False

    def setup(self) -> None:
        super().setup()
        # headers and body go out as two writes: without this, Nagle + delayed ACK add 40 ms each
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.connections_lock:
                self.server.connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def send_response(self, code: int, message: str | None = None) -> None:
        self.server.emulator._log_request(RequestRecord(self._verb, self._path, code))
        self._answered = True
        super().send_response(code, message)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline().strip():
                pass
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self, method: str) -> None:
        emu = self.server.emulator
        parts = urlsplit(self.path)
        self._verb, self._path, self._answered = "other", parts.path, False
        body = self._read_body()
        query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        segments = [unquote(s) for s in parts.path.split("/") if s]
        rejected: _ApiError | None = None
        try:
            route = _route(method, segments, query)
        except _ApiError as error:  # an unparsable watch= flag
            route, rejected = _Route("list"), error
        self._verb = route.verb
        emu._count(route.verb, len(body))
        try:
            if emu.token is not None and self.headers.get("Authorization") != f"Bearer {emu.token}":
                raise _ApiError(401, "Unauthorized", "Unauthorized")
            if rejected is not None:
                raise rejected
            drawn = emu._draw_fault(route.verb)
            if drawn is not None and self._inject(drawn[0], drawn[1], route, body):
                return
            self._serve(method, route, segments, query, body)
        except _ApiError as error:
            self._send_json(error.code, _dumps(error.status()), error.headers)
        except OSError:
            self.close_connection = True
        except Exception as exc:  # a malformed body the checks missed: answer 500 as a panic would
            if self._answered:
                self.close_connection = True
                return
            panic = _ApiError(500, "InternalError", f"Internal error occurred: {exc!r}", {"causes": []})
            self._send_json(500, _dumps(panic.status()))

    def _inject(self, kind: str, faults: _Faults, route: _Route, body: bytes) -> bool:
        """Apply a drawn fault; True when the request was answered (or dropped) by it."""
        if kind == "slow":
            self.server.stopped.wait(faults.slow_seconds)
            return False
        if kind == "reset":
            self.server.emulator._log_request(RequestRecord(self._verb, self._path, 0))
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()
            self.connection.close()  # with SO_LINGER 0 this sends a TCP RST
            return True
        if kind == "429":
            message = "Too many requests, please try again later."
            details = {"retryAfterSeconds": faults.retry_after}
            raise _ApiError(
                429, "TooManyRequests", message, details, [("Retry-After", str(faults.retry_after))]
            )
        if kind == "500":
            raise _ApiError(
                500,
                "InternalError",
                "Internal error occurred: injected fault",
                {"causes": [{"message": "injected fault"}]},
            )
        res = route.res or _Resource("", "", "")
        name = route.name
        if name is None:
            try:
                name = str(json.loads(body)["metadata"]["name"])
            except (ValueError, KeyError, TypeError):
                name = ""
        raise _conflict(res, name, _OPTIMISTIC_LOCK)

    def _serve(
        self, method: str, route: _Route, segments: list[str], query: Mapping[str, str], body: bytes
    ) -> None:
        emu, res, ns, name = self.server.emulator, route.res, route.namespace, route.name
        if route.verb == "discovery":
            payload = emu._discovery(segments)
            if payload is None:
                raise _generic_not_found()
            if method != "GET":
                raise _method_not_allowed()
            self._send_json(200, _dumps(payload))
            return
        if res is None:
            raise _generic_not_found()
        if route.verb == "other":
            raise _method_not_allowed()
        if query.get("dryRun"):
            raise _bad_request("dryRun is not supported by the emulator")
        if route.verb == "list":
            found, meta = emu._select(res, ns, query)
            self._send_json(200, emu._list_json(res, found, meta))
        elif route.verb == "watch":
            self._watch(res, ns, query)
        elif route.verb == "create":
            if ns is None:
                raise _method_not_allowed()
            self._send_json(201, emu._create(res, ns, body).json())
        elif route.verb == "deletecollection":
            self._send_json(200, emu._delete_collection(res, ns, query))
        else:
            assert ns is not None and name is not None
            if route.verb == "get":
                self._send_json(200, emu._obj_json(emu._get(res, ns, name), res))
            elif route.verb == "update":
                code, rec = emu._replace(res, ns, name, body, route.subresource)
                self._send_json(code, emu._obj_json(rec, res))
            elif route.verb == "patch":
                ctype = self._patch_type(res)
                rec = emu._patch(res, ns, name, ctype, body, route.subresource)
                self._send_json(200, emu._obj_json(rec, res))
            else:
                self._send_json(200, _dumps(emu._delete(res, ns, name, body)))

    def _patch_type(self, res: _Resource) -> str:
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        accepted = ["application/json-patch+json", "application/merge-patch+json"]
        if res.builtin:
            accepted.append("application/strategic-merge-patch+json")
        if ctype == "application/apply-patch+yaml":
            raise _ApiError(415, "UnsupportedMediaType", "server-side apply is not supported by the emulator")
        if ctype not in accepted:
            media = ", ".join([*accepted, "application/apply-patch+yaml"])
            message = (
                f"the body of the request was in an unknown format - accepted media types include: {media}"
            )
            raise _ApiError(415, "UnsupportedMediaType", message)
        return ctype

    def _send_json(self, code: int, text: str, headers: Sequence[tuple[str, str]] = ()) -> None:
        data = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers:
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _write_chunk(self, text: str) -> None:
        data = text.encode()
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _watch(self, res: _Resource, ns: str | None, query: Mapping[str, str]) -> None:
        emu, stopped = self.server.emulator, self.server.stopped
        match = _matcher(query)
        bookmarks = _parse_bool(query, "allowWatchBookmarks")
        initial_events = _parse_bool(query, "sendInitialEvents")
        rv_param = query.get("resourceVersion", "")
        try:
            timeout = float(query.get("timeoutSeconds") or emu.max_watch_seconds)
            last = int(rv_param or 0)
        except ValueError:
            raise _bad_request(f"invalid watch parameters: {dict(query)}") from None
        initial: list[_Stored] = []
        if last == 0 or initial_events:
            found, meta = emu._select(
                res, ns, {k: v for k, v in query.items() if k not in ("limit", "continue")}
            )
            initial, last = found, int(meta["resourceVersion"])
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        deadline = time.monotonic() + timeout
        next_bookmark = time.monotonic() + emu.bookmark_interval

        def bookmark(annotations: JSON | None = None) -> str:
            meta: JSON = {"resourceVersion": str(last)}
            if annotations:
                meta["annotations"] = annotations
            return _dumps(
                {
                    "type": "BOOKMARK",
                    "object": {"kind": res.kind, "apiVersion": res.api_version, "metadata": meta},
                }
            )

        try:
            for i in range(0, len(initial), 500):
                batch = initial[i : i + 500]
                self._write_chunk(
                    "".join(f'{{"type":"ADDED","object":{emu._obj_json(r, res)}}}\n' for r in batch)
                )
            if initial_events and bookmarks:
                self._write_chunk(bookmark({"k8s.io/initial-events-end": "true"}) + "\n")
            while True:
                now = time.monotonic()
                wake = min(deadline, next_bookmark if bookmarks else deadline, now + 1.0)
                waited = emu._wait_events(last, wake, stopped)
                if waited is None:
                    break
                events, floor = waited
                if floor:
                    message = f"too old resource version: {last} ({floor + 1})"
                    status = _ApiError(410, "Expired", message).status()
                    self._write_chunk(_dumps({"type": "ERROR", "object": status}) + "\n")
                    break
                if not events and self._client_gone():
                    break
                lines = []
                for ev in events:
                    if ev.plural == res.plural and ev.group == res.group and ns in (None, ev.namespace):
                        line = emu._event_line(ev, res, match)
                        if line is not None:
                            lines.append(line)
                if events:
                    last = events[-1].rv
                if lines:
                    self._write_chunk("".join(lines))
                now = time.monotonic()
                if bookmarks and now >= next_bookmark:
                    self._write_chunk(bookmark() + "\n")
                    next_bookmark = now + emu.bookmark_interval
                if now >= deadline:
                    break
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            self.close_connection = True

    def _client_gone(self) -> bool:
        """Whether the watching client hung up (its socket reads EOF)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True
