"""A Consul HTTP API emulator: enough of the agent's read API, with real blocking queries.

Shaped after Consul's documented responses (``/v1/health/service``, ``/v1/catalog/*``); it keeps a
Raft-like index per datacenter, a per-service index (so a blocking query on one service does not
return for changes to another), ACLs that deny (403) or filter results as Consul does, and test
controls to make the index go backwards, fail requests, or stop and restart the whole server.

Blocking requests wait on a Condition per watched key, without holding the lock, so a thousand of
them are a thousand idle handler threads. ``python -m tests.emulators.consul_api`` serves it alone
(the benchmark does, so the emulator's CPU is not counted as the adapter's).
"""

from __future__ import annotations

import argparse
import contextlib
import fnmatch
import json
import random
import re
import socket
import ssl
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DEFAULT_BODIES = {500: "rpc error making call: No cluster leader", 503: "Service Unavailable"}


def parse_go_duration(text: str) -> float:
    """Seconds in a Go duration (``5m``, ``300000ms``, ``1m30s``); a bare number is seconds."""
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"invalid duration {text!r}")
    return sum(float(n) * _UNITS[u] for n, u in parts)


@dataclass(frozen=True)
class AclPolicy:
    """What a token may read: service names matching ``services`` (a glob), the agent, writes."""

    services: str | None = "*"
    agent: bool = True
    write: bool = True


ANONYMOUS = AclPolicy(services=None, agent=False, write=False)


@dataclass
class _Instance:
    node: str
    service: dict[str, Any]
    checks: list[dict[str, Any]]
    create_index: int
    modify_index: int


@dataclass
class _Dc:
    name: str
    index: int = 10
    services_index: int = 10
    nodes: dict[str, dict[str, Any]] = field(default_factory=dict)
    node_checks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    instances: dict[tuple[str, str], _Instance] = field(default_factory=dict)
    service_index: dict[str, int] = field(default_factory=dict)
    by_service: dict[str, dict[tuple[str, str], _Instance]] = field(default_factory=dict)

    def bump(self) -> int:
        self.index += 1
        return self.index


class ConsulEmulator:
    """Start with ``start()`` (or as a context manager); ``address`` is the agent URL to configure."""

    def __init__(
        self,
        datacenter: str = "dc1",
        *,
        port: int = 0,
        acl: Mapping[str, AclPolicy] | None = None,
        tls: tuple[str, str] | None = None,
        client_ca: str | None = None,
    ):
        """``tls``: (certificate, key) files to serve https; ``client_ca``: require client certificates."""
        self.local_dc = datacenter
        self._port = port
        self._tls = tls
        self._client_ca = client_ca
        self._lock = threading.Lock()
        self._conditions: dict[tuple[str, str], threading.Condition] = {}
        self._dcs: dict[str, _Dc] = {datacenter: _Dc(datacenter)}
        self._generation = 0
        self._failure: tuple[int, str, str, str | None] | None = None
        self._acl: dict[str, AclPolicy] | None = dict(acl) if acl is not None else None
        self._server: ThreadingHTTPServer | None = None
        self._connections: set[socket.socket] = set()
        self._node_ids = 0
        self.requests: Counter[str] = Counter()
        self.blocking_requests: Counter[str] = Counter()
        self.waiting = 0

    # --- lifecycle -----------------------------------------------------------------------------

    @property
    def address(self) -> str:
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self._port}"

    def start(self) -> ConsulEmulator:
        server = _Server(("127.0.0.1", self._port), _Handler)
        server.emulator = self
        if self._tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self._tls)
            if self._client_ca is not None:
                context.verify_mode = ssl.CERT_REQUIRED
                context.load_verify_locations(self._client_ca)
            server.socket = context.wrap_socket(server.socket, server_side=True)
        self._port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        """Consul goes away: stop listening, drop every open connection, release blocked queries."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._lock:
            connections, self._connections = list(self._connections), set()
            self._release_all()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> ConsulEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- test controls -------------------------------------------------------------------------

    def add_datacenter(self, name: str) -> None:
        with self._lock:
            self._dcs.setdefault(name, _Dc(name))

    def register(
        self,
        dc: str,
        node: str | Mapping[str, Any],
        service: Mapping[str, Any],
        checks: Iterable[Mapping[str, Any] | str] | None = None,
    ) -> None:
        """Register (or replace) a service instance. ``node`` is a name or ``{Node, Address, ...}``;
        ``checks`` are statuses or check dicts (default: one passing check)."""
        with self._lock:
            state = self._dc(dc)
            node_name = self._upsert_node(state, node)
            svc = _normalise_service(service)
            raw_checks = list(checks) if checks is not None else ["passing"]
            normalised = [_normalise_check(node_name, svc, c, i) for i, c in enumerate(raw_checks)]
            index = state.bump()
            key = (node_name, svc["ID"])
            old = state.instances.get(key)
            if old is not None:
                state.by_service[old.service["Service"]].pop(key, None)
            instance = _Instance(node_name, svc, normalised, old.create_index if old else index, index)
            state.instances[key] = instance
            state.by_service.setdefault(svc["Service"], {})[key] = instance
            self._touch(state, index, {svc["Service"]} | ({old.service["Service"]} if old else set()), True)

    def deregister(self, dc: str, node: str, service_id: str) -> None:
        with self._lock:
            state = self._dc(dc)
            old = state.instances.pop((node, service_id), None)
            if old is not None:
                state.by_service[old.service["Service"]].pop((node, service_id), None)
                self._touch(state, state.bump(), {old.service["Service"]}, True)

    def set_check_status(self, dc: str, node: str, check_id: str, status: str) -> None:
        """Set a service check (``service:<id>`` by default) or a node check (``serfHealth``)."""
        with self._lock:
            state = self._dc(dc)
            touched = set()
            for check in state.node_checks.get(node, []):
                if check["CheckID"] == check_id:
                    check["Status"] = status
                    touched = {i.service["Service"] for i in state.instances.values() if i.node == node}
            for inst in state.instances.values():
                for check in inst.checks:
                    if inst.node == node and check["CheckID"] == check_id:
                        check["Status"] = status
                        touched.add(inst.service["Service"])
            if not touched:
                raise KeyError(f"no check {check_id!r} on node {node!r} in {dc}")
            self._touch(state, state.bump(), touched, False)

    def set_index(self, dc: str, index: int) -> None:
        """The index goes backwards (a snapshot restore): every key reports ``index`` (0 included, as
        a misbehaving server might), blocked queries return at once."""
        with self._lock:
            state = self._dc(dc)
            state.services_index = index
            state.service_index = dict.fromkeys(state.service_index, index)
            state.index = max(index, 1)  # Raft's index 1 is taken at bootstrap: writes come after it
            self._release_all()

    def fail_with(
        self, status: int | None, body: str | None = None, path_prefix: str = "/v1/", dc: str | None = None
    ) -> None:
        """Answer requests under ``path_prefix`` (for datacenter ``dc``, or any) with ``status``;
        ``None`` goes back to normal. Blocked queries return with the failure at once."""
        with self._lock:
            text = body or _DEFAULT_BODIES.get(status or 0, "")
            self._failure = None if status is None else (status, text, path_prefix, dc)
            self._release_all()

    def set_acl(self, tokens: Mapping[str, AclPolicy] | None) -> None:
        """Enable ACLs with these tokens (missing token: anonymous, which reads nothing), or disable."""
        with self._lock:
            self._acl = dict(tokens) if tokens is not None else None

    def reset_counters(self) -> None:
        with self._lock:
            self.requests.clear()
            self.blocking_requests.clear()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": dict(self.requests),
                "blocking": dict(self.blocking_requests),
                "waiting": self.waiting,
            }

    # --- state helpers (called with the lock held) -------------------------------------------------

    def _dc(self, name: str) -> _Dc:
        if name not in self._dcs:
            raise KeyError(f"no datacenter {name!r}")
        return self._dcs[name]

    def _upsert_node(self, state: _Dc, node: str | Mapping[str, Any]) -> str:
        spec = {"Node": node} if isinstance(node, str) else dict(node)
        name = str(spec["Node"])
        current = state.nodes.get(name)
        if current is None:
            self._node_ids += 1
            n = self._node_ids
            current = {
                "ID": f"00000000-0000-4000-8000-{n:012d}",
                "Node": name,
                "Address": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}",
                "Datacenter": state.name,
                "TaggedAddresses": {},
                "Meta": {},
            }
            state.nodes[name] = current
            state.node_checks[name] = [
                {"Node": name, "CheckID": "serfHealth", "Name": "Serf Health Status", "Status": "passing",
                 "Notes": "", "Output": "Agent alive and reachable", "ServiceID": "", "ServiceName": "",
                 "ServiceTags": [], "Type": "", "Namespace": "default"}
            ]  # fmt: skip
        for key in ("Address", "TaggedAddresses", "Meta"):
            if key in spec:
                current[key] = spec[key]
        if "Address" in spec and "TaggedAddresses" not in spec:
            current["TaggedAddresses"] = {"lan": spec["Address"], "wan": spec["Address"]}
        return name

    def _touch(self, state: _Dc, index: int, services: set[str], catalog: bool) -> None:
        for name in services:
            state.service_index[name] = index
            self._notify(state.name, f"service:{name}")
        if catalog:
            state.services_index = index
            self._notify(state.name, "services")

    def _notify(self, dc: str, key: str) -> None:
        condition = self._conditions.get((dc, key))
        if condition is not None:
            condition.notify_all()

    def _release_all(self) -> None:
        self._generation += 1
        for condition in self._conditions.values():
            condition.notify_all()

    def _key_index(self, state: _Dc, key: str) -> int:
        if key == "services":
            return state.services_index
        return state.service_index.get(key.removeprefix("service:"), state.services_index)

    def block(self, dc: str, key: str, min_index: int, wait: float) -> None:
        """Hold a blocking query until ``key`` passes ``min_index``, ``wait`` (+ jitter) passes,
        or the server is stopped, failed or reset. Returns without the lock held."""
        deadline = time.monotonic() + wait + random.uniform(0, wait / 16)
        with self._lock:
            state = self._dc(dc)
            condition = self._conditions.setdefault((dc, key), threading.Condition(self._lock))
            generation = self._generation
            self.waiting += 1
            try:
                while self._key_index(state, key) <= min_index and generation == self._generation:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    condition.wait(remaining)
            finally:
                self.waiting -= 1

    # --- responses ---------------------------------------------------------------------------------

    def health_entries(self, state: _Dc, name: str, q: Query, policy: AclPolicy) -> tuple[list[Any], bool]:
        entries, filtered = [], False
        for _, inst in sorted(state.by_service.get(name, {}).items()):
            if not q.in_scope(inst.service):
                continue
            if not _may_read(policy, name):
                filtered = True
                continue
            entries.append(self._health_entry(state, inst))
        if q.passing:
            entries = [e for e in entries if all(c["Status"] == "passing" for c in e["Checks"])]
        return q.apply_filter(entries), filtered

    def _health_entry(self, state: _Dc, inst: _Instance) -> dict[str, Any]:
        node = dict(state.nodes[inst.node])
        node.update(CreateIndex=inst.create_index, ModifyIndex=inst.modify_index)
        service = {k: v for k, v in inst.service.items() if not (k == "Kind" and v == "")}
        service.update(CreateIndex=inst.create_index, ModifyIndex=inst.modify_index)
        checks = [dict(c) for c in state.node_checks.get(inst.node, []) + inst.checks]
        return {"Node": node, "Service": service, "Checks": checks}

    def catalog_nodes(
        self, state: _Dc, name: str | None, q: Query, policy: AclPolicy
    ) -> tuple[list[Any], bool]:
        """Catalog service-node rows (``/v1/catalog/service/<name>``; all services when name is None)."""
        rows, filtered = [], False
        chosen = state.instances if name is None else state.by_service.get(name, {})
        for _, inst in sorted(chosen.items()):
            svc = inst.service
            if not q.in_scope(svc):
                continue
            if not _may_read(policy, svc["Service"]):
                filtered = True
                continue
            node = state.nodes[inst.node]
            rows.append({
                "ID": node["ID"], "Node": node["Node"], "Address": node["Address"], "Datacenter": state.name,
                "TaggedAddresses": node["TaggedAddresses"], "NodeMeta": node["Meta"],
                "CreateIndex": inst.create_index, "ModifyIndex": inst.modify_index,
                "ServiceAddress": svc["Address"], "ServiceEnableTagOverride": False, "ServiceID": svc["ID"],
                "ServiceKind": svc["Kind"], "ServiceName": svc["Service"], "ServicePort": svc["Port"],
                "ServiceMeta": svc["Meta"], "ServiceTaggedAddresses": svc["TaggedAddresses"],
                "ServiceTags": svc["Tags"], "ServiceWeights": svc["Weights"],
                "ServiceProxy": {}, "ServiceConnect": {}, "Namespace": svc["Namespace"],
            })  # fmt: skip
        return q.apply_filter(rows), filtered


def _normalise_service(service: Mapping[str, Any]) -> dict[str, Any]:
    svc = {str(k)[:1].upper() + str(k)[1:]: v for k, v in service.items()}
    name = str(svc["Service"])
    return {
        "ID": str(svc.get("ID") or name),
        "Service": name,
        "Tags": list(svc.get("Tags") or []),
        "Address": str(svc.get("Address") or ""),
        "TaggedAddresses": dict(svc.get("TaggedAddresses") or {}),
        "Meta": dict(svc.get("Meta") or {}),
        "Port": svc.get("Port", 0),
        "Weights": dict(svc.get("Weights") or {"Passing": 1, "Warning": 1}),
        "EnableTagOverride": False,
        "Kind": str(svc.get("Kind") or ""),
        "Namespace": str(svc.get("Namespace") or "default"),
        "Partition": str(svc.get("Partition") or "default"),
    }


def _normalise_check(
    node: str, svc: Mapping[str, Any], check: Mapping[str, Any] | str, i: int
) -> dict[str, Any]:
    spec = {"Status": check} if isinstance(check, str) else dict(check)
    check_id = spec.get("CheckID") or (f"service:{svc['ID']}" if i == 0 else f"service:{svc['ID']}:{i + 1}")
    return {
        "Node": node, "CheckID": check_id, "Name": spec.get("Name") or f"Service '{svc['Service']}' check",
        "Status": spec.get("Status", "passing"), "Notes": "", "Output": spec.get("Output", ""),
        "ServiceID": svc["ID"], "ServiceName": svc["Service"], "ServiceTags": svc["Tags"],
        "Type": "ttl", "Namespace": svc["Namespace"],
    }  # fmt: skip


def _may_read(policy: AclPolicy, service: str) -> bool:
    return policy.services is not None and fnmatch.fnmatchcase(service, policy.services)


class Query:
    """The query-string parameters every read endpoint shares."""

    def __init__(self, params: Mapping[str, list[str]]) -> None:
        self.params = params
        self.ns = self.get("ns") or "default"
        self.partition = self.get("partition") or "default"
        self.passing = "passing" in params and self.get("passing") not in ("false", "0")
        expression = self.get("filter")
        self.filter: Callable[[Any], bool] | None = compile_filter(expression) if expression else None

    def get(self, name: str, default: str | None = None) -> str | None:
        values = self.params.get(name)
        return values[-1] if values else default

    def in_scope(self, service: Mapping[str, Any]) -> bool:
        return bool(service["Namespace"] == self.ns and service["Partition"] == self.partition)

    def apply_filter(self, items: list[Any]) -> list[Any]:
        return items if self.filter is None else [i for i in items if self.filter(i)]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 4096
    allow_reuse_address = True
    emulator: ConsulEmulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up (a watch stopping, a timeout) are normal here, not tracebacks."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes; without NODELAY, Nagle and delayed ACKs
        # would stall every keep-alive request by ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.emulator._lock:
            self.server.emulator._connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            with self.server.emulator._lock:
                self.server.emulator._connections.discard(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        _handle(self, "GET")

    def do_PUT(self) -> None:
        _handle(self, "PUT")


# --- request handling ---------------------------------------------------------------------------------


def _route(path: str) -> str:
    for prefix in ("/v1/health/service/", "/v1/catalog/service/"):
        if path.startswith(prefix):
            return prefix.rstrip("/")
    return path


def _handle(h: _Handler, method: str) -> None:
    em = h.server.emulator
    url = urllib.parse.urlsplit(h.path)
    path, params = url.path, urllib.parse.parse_qs(url.query, keep_blank_values=True)
    length = int(h.headers.get("Content-Length") or 0)
    body = h.rfile.read(length) if length else b""
    if path == "/_emulator/stats":
        return _send(h, 200, em.stats())
    route = _route(path)
    with em._lock:
        em.requests[route] += 1
        if (params.get("index") or ["0"])[-1] not in ("", "0"):
            em.blocking_requests[route] += 1
    try:
        status, payload, index, filtered = _answer(em, method, path, params, h.headers, body)
    except _Reply as reply:
        status, payload, index, filtered = reply.status, reply.text, None, False
    if em._server is None:  # stopped while this request blocked: the connection just drops
        h.close_connection = True
        return
    _send(h, status, payload, index, filtered)


class _Reply(Exception):
    def __init__(self, status: int, text: str) -> None:
        self.status, self.text = status, text


def _answer(
    em: ConsulEmulator, method: str, path: str, params: Mapping[str, list[str]], headers: Any, body: bytes
) -> tuple[int, Any, int | None, bool]:
    _check_failure(em, path, (params.get("dc") or [em.local_dc])[-1])
    policy = _policy(em, headers, params)
    try:
        q = Query(params)
    except ValueError as exc:
        raise _Reply(400, f"Failed to create boolean expression evaluator: {exc}") from None
    dc = q.get("dc") or em.local_dc
    if dc not in em._dcs:
        raise _Reply(500, "No path to datacenter")
    if method == "PUT":
        return _write(em, path, policy, body)
    if path == "/v1/agent/self":
        if not policy.agent:
            raise _Reply(403, "Permission denied: token lacks permission 'agent:read'")
        config = {"Datacenter": em.local_dc, "NodeName": "emulator", "Version": "1.21.0", "Server": True}
        return 200, {"Config": config, "Member": {"Name": "emulator", "Addr": "127.0.0.1"}}, None, False
    if path == "/v1/status/leader":
        return 200, "127.0.0.1:8300", None, False
    if path == "/v1/catalog/datacenters":
        return 200, [em.local_dc, *sorted(d for d in em._dcs if d != em.local_dc)], None, False
    if path == "/v1/catalog/services":
        key, name = "services", None
    elif path.startswith(("/v1/health/service/", "/v1/catalog/service/")):
        name = urllib.parse.unquote(path.rsplit("/", 1)[1])
        key = f"service:{name}"
    else:
        raise _Reply(404, "Invalid URL path: not a recognized HTTP API endpoint")
    try:
        index = int(q.get("index") or 0)
        wait = min(parse_go_duration(q.get("wait") or "5m"), 600.0)
    except ValueError as exc:
        raise _Reply(400, f"Invalid wait or index: {exc}") from None
    if index > 0:
        em.block(dc, key, index, wait)
        _check_failure(em, path, dc)
    with em._lock:
        state = em._dcs[dc]
        current = em._key_index(state, key)
        if path == "/v1/catalog/services":
            rows, filtered = em.catalog_nodes(state, None, q, policy)
            tags: dict[str, set[str]] = {}
            for row in rows:
                tags.setdefault(row["ServiceName"], set()).update(row["ServiceTags"])
            return 200, {n: sorted(t) for n, t in sorted(tags.items())}, current, filtered
        assert name is not None
        if path.startswith("/v1/health/"):
            entries, filtered = em.health_entries(state, name, q, policy)
        else:
            entries, filtered = em.catalog_nodes(state, name, q, policy)
        return 200, entries, current, filtered


def _check_failure(em: ConsulEmulator, path: str, dc: str) -> None:
    failure = em._failure
    if failure is not None and path.startswith(failure[2]) and failure[3] in (None, dc):
        raise _Reply(failure[0], failure[1])


def _policy(em: ConsulEmulator, headers: Any, params: Mapping[str, list[str]]) -> AclPolicy:
    if em._acl is None:
        return AclPolicy()
    token = headers.get("X-Consul-Token") or ""
    bearer = headers.get("Authorization") or ""
    if not token and bearer.lower().startswith("bearer "):
        token = bearer[7:].strip()
    if not token:
        token = (params.get("token") or [""])[-1]
    if not token:
        return ANONYMOUS
    if token not in em._acl:
        raise _Reply(403, "ACL not found")
    return em._acl[token]


def _write(em: ConsulEmulator, path: str, policy: AclPolicy, body: bytes) -> tuple[int, Any, None, bool]:
    if not policy.write:
        raise _Reply(403, "Permission denied: token lacks permission 'node:write'")
    try:
        data = {str(k).lower(): v for k, v in json.loads(body or b"{}").items()}
    except (ValueError, AttributeError):
        raise _Reply(400, "Request decode failed") from None
    dc = str(data.get("datacenter") or em.local_dc)
    if path == "/v1/catalog/register":
        node = {"Node": data["node"], "Address": data.get("address", "")}
        for key, name in (("taggedaddresses", "TaggedAddresses"), ("nodemeta", "Meta")):
            if data.get(key):
                node[name] = data[key]
        if data.get("service"):
            checks = data.get("checks") or ([data["check"]] if data.get("check") else None)
            statuses = [c if isinstance(c, str) else {str(k): v for k, v in c.items()} for c in checks or []]
            em.register(dc, node, data["service"], statuses or None)
        return 200, True, None, False
    if path == "/v1/catalog/deregister":
        if data.get("serviceid"):
            em.deregister(dc, str(data["node"]), str(data["serviceid"]))
        return 200, True, None, False
    raise _Reply(405, "method not allowed")


def _send(
    h: BaseHTTPRequestHandler, status: int, payload: Any, index: int | None = None, filtered: bool = False
) -> None:
    text = payload if isinstance(payload, str) and status != 200 else json.dumps(payload)
    data = text.encode()
    try:
        h.send_response(status)
        h.send_header("Content-Type", "application/json" if status == 200 else "text/plain; charset=utf-8")
        h.send_header("Content-Length", str(len(data)))
        if index is not None:
            h.send_header("X-Consul-Index", str(index))
            h.send_header("X-Consul-KnownLeader", "true")
            h.send_header("X-Consul-LastContact", "0")
        if filtered:
            h.send_header("X-Consul-Results-Filtered-By-ACLs", "true")
        h.end_headers()
        h.wfile.write(data)
    except OSError:
        h.close_connection = True


# --- filter expressions: a subset of Consul's go-bexpr --------------------------------------------

_TOKEN = re.compile(r'\s*(?:("(?:[^"\\]|\\.)*"|`[^`]*`)|(==|!=|\(|\))|([^\s()"`=!]+))')


def compile_filter(expression: str) -> Callable[[Any], bool]:
    """A predicate for a filter expression: ``==``, ``!=``, ``in``, ``not in``, ``contains``,
    ``matches``, ``is [not] empty``, joined by ``and`` / ``or`` / ``not`` and parentheses."""
    tokens: list[tuple[str, str]] = []
    pos, text = 0, expression.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"unexpected input at {pos}")
        pos = m.end()
        if m.group(1) is not None:
            raw = m.group(1)
            tokens.append(("value", json.loads(raw) if raw.startswith('"') else raw[1:-1]))
        else:
            tokens.append(("op", m.group(2) or m.group(3)))
    parser = _FilterParser(tokens)
    predicate = parser.expression()
    if parser.pos != len(tokens):
        raise ValueError(f"unexpected {tokens[parser.pos][1]!r}")
    return predicate


class _FilterParser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens, self.pos = tokens, 0

    def peek(self) -> str | None:
        return (
            self.tokens[self.pos][1]
            if self.pos < len(self.tokens) and self.tokens[self.pos][0] == "op"
            else None
        )

    def take(self) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise ValueError("unexpected end of expression")
        self.pos += 1
        return self.tokens[self.pos - 1]

    def expression(self) -> Callable[[Any], bool]:
        terms = [self.conjunction()]
        while self.peek() == "or":
            self.take()
            terms.append(self.conjunction())
        return lambda item: any(t(item) for t in terms)

    def conjunction(self) -> Callable[[Any], bool]:
        terms = [self.unary()]
        while self.peek() == "and":
            self.take()
            terms.append(self.unary())
        return lambda item: all(t(item) for t in terms)

    def unary(self) -> Callable[[Any], bool]:
        if self.peek() == "not":
            self.take()
            inner = self.unary()
            return lambda item: not inner(item)
        if self.peek() == "(":
            self.take()
            inner = self.expression()
            if self.take() != ("op", ")"):
                raise ValueError("missing )")
            return inner
        return self.match()

    def match(self) -> Callable[[Any], bool]:
        kind, first = self.take()
        if kind == "value":  # "<value>" [not] in <Selector>
            negate = self.peek() == "not" and bool(self.take())
            if self.take() != ("op", "in"):
                raise ValueError("expected in")
            selector = self.take()[1]
            return lambda item: _contains(_select(item, selector), first) != negate
        selector, op = first, self.take()[1]
        negate = op == "not"
        if negate:
            op = self.take()[1]
        if op == "is":
            negate = self.peek() == "not" and bool(self.take())
            if self.take() != ("op", "empty"):
                raise ValueError("expected empty")
            return lambda item: (not _select(item, selector)) != negate
        value = self.take()[1]
        tests: dict[str, Callable[[Any], bool]] = {
            "==": lambda x: _text(x) == value,
            "!=": lambda x: _text(x) != value,
            "contains": lambda x: _contains(x, value),
            "matches": lambda x: x is not None and re.search(value, _text(x)) is not None,
        }
        if op not in tests:
            raise ValueError(f"unknown operator {op!r}")
        test = tests[op]
        return lambda item: test(_select(item, selector)) != negate


def _select(item: Any, selector: str) -> Any:
    for part in selector.split("."):
        item = item.get(part) if isinstance(item, dict) else None
    return item


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _contains(container: Any, value: str) -> bool:
    if isinstance(container, (list, dict, str)):
        return value in container
    return False


def main() -> None:
    """Serve the emulator alone; prints the address, then serves until killed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--datacenter", default="dc1")
    parser.add_argument("--services", type=int, default=0, help="seed this many services")
    parser.add_argument("--instances", type=int, default=1, help="instances per seeded service")
    args = parser.parse_args()
    emulator = ConsulEmulator(args.datacenter, port=args.port).start()
    for s in range(args.services):
        for i in range(args.instances):
            emulator.register(
                args.datacenter,
                {"Node": f"node-{i}", "Address": f"10.1.0.{i + 1}"},
                {"Service": f"svc-{s:04d}", "ID": f"svc-{s:04d}-{i}", "Port": 8080,
                 "Address": f"10.{2 + s // 250}.{s % 250}.{i + 1}", "Meta": {"protocol": "http"}},
            )  # fmt: skip
    print(json.dumps({"address": emulator.address}), flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
