"""The daemon's HTTP endpoint: ``/healthz``, ``/readyz`` and ``/metrics`` (Prometheus text).

The answers come from two callables the daemon passes in, each returning ``(ok, detail)``; this
module knows nothing else about the daemon. Requests are not logged (probes come every few
seconds); the server runs in daemon threads and never blocks shutdown.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import structlog
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

log = structlog.get_logger(__name__)

Probe = Callable[[], tuple[bool, str]]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], health: Probe, ready: Probe) -> None:
        super().__init__(address, _Handler)
        self.health = health
        self.ready = ready


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._send(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
        elif path in ("/healthz", "/livez"):
            self._probe(self.server.health)
        elif path == "/readyz":
            self._probe(self.server.ready)
        else:
            self._send(404, b"not found\n")

    def _probe(self, probe: Probe) -> None:
        try:
            ok, detail = probe()
        except Exception as exc:  # a probe that crashes is a failing probe, not a dead server
            ok, detail = False, f"probe failed: {type(exc).__name__}"
        self._send(200 if ok else 503, f"{'ok' if ok else 'not ok'}: {detail}\n".encode())

    def _send(self, code: int, body: bytes, content_type: str = "text/plain; charset=utf-8") -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class HttpServer:
    """Serves the probes and metrics on ``host:port`` (port 0 picks a free one: see ``port``)."""

    def __init__(self, host: str, port: int, *, health: Probe, ready: Probe) -> None:
        self._server = _Server((host, port), health, ready)
        self.host = host
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="http", daemon=True)

    def start(self) -> None:
        self._thread.start()
        log.info("http_listening", host=self.host, port=self.port, paths=["/healthz", "/readyz", "/metrics"])

    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()
