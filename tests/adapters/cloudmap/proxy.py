"""A tiny HTTP proxy in front of moto's server, for what moto cannot do by itself.

- counts requests by operation (the ``X-Amz-Target`` header), so tests can say "only
  DiscoverInstancesRevision calls were made";
- answers chosen requests with an error instead of forwarding them (throttling, AccessDenied);
- runs a hook before forwarding a chosen operation (e.g. delete the service first);
- pages ListServices / ListNamespaces answers by ``MaxResults`` / ``NextToken`` the way AWS
  does (moto returns everything in one page), so pagination is exercised over the wire.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

PAGED = {"ListServices": "Services", "ListNamespaces": "Namespaces"}
TOKEN_PREFIX = "proxy-"


@dataclass
class Fault:
    operation: str | None  # None: any operation
    times: int
    status: int
    code: str
    message: str


class CloudMapProxy:
    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self._hooks: dict[str, Callable[[dict[str, Any]], None]] = {}
        self.calls: list[str] = []
        self.pages_served: Counter[str] = Counter()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> CloudMapProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail(
        self,
        operation: str | None = None,
        *,
        times: int = 1,
        status: int = 400,
        code: str = "RequestLimitExceeded",
        message: str = "Rate exceeded",
    ) -> None:
        """Answer the next ``times`` requests (of ``operation``, or any) with this error."""
        with self._lock:
            self._faults.append(Fault(operation, times, status, code, message))

    def heal(self) -> None:
        """Drop every pending fault."""
        with self._lock:
            self._faults.clear()

    def before(self, operation: str, hook: Callable[[dict[str, Any]], None]) -> None:
        """Call ``hook(request_body)`` before forwarding each ``operation`` request."""
        self._hooks[operation] = hook

    def count(self, operation: str) -> int:
        with self._lock:
            return sum(1 for op in self.calls if op == operation)

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()
            self.pages_served.clear()

    def _take_fault(self, operation: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.times > 0 and fault.operation in (None, operation):
                    fault.times -= 1
                    return fault
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                operation = self.headers.get("X-Amz-Target", "").rpartition(".")[2]
                with proxy._lock:
                    proxy.calls.append(operation)
                fault = proxy._take_fault(operation)
                if fault is not None:
                    error = {"__type": fault.code, "message": fault.message}
                    self._reply(fault.status, json.dumps(error).encode())
                    return
                request = json.loads(body or b"{}")
                hook = proxy._hooks.get(operation)
                if hook is not None:
                    hook(request)
                status, payload = self._forward(body)
                if status == 200 and operation in PAGED:
                    payload = proxy._page(operation, request, payload)
                self._reply(status, payload)

            def _forward(self, body: bytes) -> tuple[int, bytes]:
                conn = http.client.HTTPConnection(*proxy._upstream, timeout=10)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() != "connection"}
                    conn.request("POST", self.path, body=body, headers=headers)
                    response = conn.getresponse()
                    return response.status, response.read()
                finally:
                    conn.close()

            def _reply(self, status: int, payload: bytes) -> None:
                # One write for head and body: two small writes stall ~40 ms on Nagle + delayed ACK.
                head = (
                    f"HTTP/1.1 {status} {http.client.responses.get(status, '')}\r\n"
                    "Content-Type: application/x-amz-json-1.1\r\n"
                    f"Content-Length: {len(payload)}\r\n\r\n"
                )
                self.wfile.write(head.encode() + payload)

        return Handler

    def _page(self, operation: str, request: dict[str, Any], payload: bytes) -> bytes:
        answer = json.loads(payload)
        key = PAGED[operation]
        items = answer.get(key, [])
        size = int(request.get("MaxResults") or 100)
        token = str(request.get("NextToken") or "")
        start = int(token[len(TOKEN_PREFIX) :]) if token.startswith(TOKEN_PREFIX) else 0
        answer[key] = items[start : start + size]
        if start + size < len(items):
            answer["NextToken"] = f"{TOKEN_PREFIX}{start + size}"
        else:
            answer.pop("NextToken", None)
        with self._lock:
            self.pages_served[operation] += 1
        return json.dumps(answer).encode()
