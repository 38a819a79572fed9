"""Reading Consul over HTTP with py-consul's asyncio transport (``consul.aio``), syncd's way.

- The token travels only in the ``X-Consul-Token`` header, set here per request (py-consul would
  let ``$CONSUL_HTTP_TOKEN`` override a configured token); it never enters a URL, and every
  message this module produces is scrubbed of it.
- Every failure (refused connection, timeout, 403, 5xx, a body that is not JSON) becomes a
  :class:`ConsulError` whose text is a complete, safe reason for ``Snapshot.failed``.
- ``Enterprise`` namespace and partition go as ``ns`` / ``partition`` query parameters.
"""

from __future__ import annotations

import asyncio
import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import aiohttp
import consul.aio  # type: ignore[import-untyped,unused-ignore]

from adapters.consul_settings import ConsulSettings, parse_address

_FILTERED_HEADER = "X-Consul-Results-Filtered-By-ACLs"
#: aiohttp treats a falsy connection limit as "use the default of 100"; this means "no cap".
_UNCAPPED = 1_000_000


class ConsulError(Exception):
    """A read that failed; ``str()`` is a reason safe for logs and ``Snapshot.failed``."""


class ConsulUnreachable(ConsulError):
    """The agent itself failed (refused, reset, timed out): any further request would fail alike."""


@dataclass(frozen=True)
class Reply:
    """A decoded answer: ``X-Consul-Index`` (0 when absent), the JSON body, and the ACL-filtered flag."""

    index: int
    data: Any
    filtered: bool = False


class TokenSource:
    """The configured token, or the contents of ``token_file`` re-read whenever the file changes."""

    def __init__(self, settings: ConsulSettings) -> None:
        self._token = settings.token.get_secret_value() if settings.token else None
        self._file = settings.token_file
        self._stamp: tuple[int, int] | None = None
        self._file_token: str | None = None

    def get(self) -> str | None:
        if self._file is None:
            return self._token
        try:
            stat = self._file.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
            if stamp != self._stamp:
                self._file_token = self._file.read_text(encoding="utf-8").strip() or None
                self._stamp = stamp
        except OSError as exc:
            raise ConsulError(f"cannot read token_file {self._file}: {exc.strerror or exc}") from None
        return self._file_token

    def scrub(self, text: str) -> str:
        """``text`` with every known token value masked."""
        for secret in (self._token, self._file_token):
            if secret:
                text = text.replace(secret, "***")
        return text


class ConsulHttp:
    """Two connection pools to the agent; use ``async with``, inside the running event loop.

    Blocking queries hold a connection each for up to ``wait``; plain reads get a small pool of
    their own (``read_concurrency`` keep-alive connections), so they never queue behind held
    queries nor open a fresh connection per read.
    """

    def __init__(self, settings: ConsulSettings, tokens: TokenSource) -> None:
        self._settings = settings
        self._tokens = tokens
        self._where = settings.display_address
        scheme, host, port = parse_address(settings.address)
        # py-consul's aio client builds an SSL context (loading the CA store, ~30 ms) whenever
        # verify is truthy, even for plain http; only https needs one.
        verify: bool | str = settings.verify and scheme == "https"
        if verify and settings.ca_file is not None:
            verify = str(settings.ca_file)
        cert: tuple[str, str] | None = None
        if settings.cert_file is not None and scheme == "https":
            cert = (str(settings.cert_file), str(settings.key_file or settings.cert_file))
        with warnings.catch_warnings():
            # py-consul passes aiohttp's deprecated ssl_context/verify_ssl arguments.
            warnings.simplefilter("ignore", DeprecationWarning)
            self._reads, self._blocking = (
                consul.aio.Consul(
                    host=host,  # keeps IPv6 brackets: py-consul builds scheme://host:port
                    port=port,
                    scheme=scheme,
                    verify=verify,
                    cert=cert,
                    connections_limit=limit,
                )
                for limit in (settings.read_concurrency, settings.max_connections or _UNCAPPED)
            )

    async def __aenter__(self) -> ConsulHttp:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._reads.close()
        await self._blocking.close()

    async def get(
        self,
        path: str,
        *,
        dc: str | None = None,
        index: int = 0,
        params: Sequence[tuple[str, str]] = (),
    ) -> Reply:
        """GET ``path``; with ``index`` > 0 a blocking query held up to the configured ``wait``."""
        query: list[tuple[str, str]] = [("dc", dc)] if dc else []
        if self._settings.namespace:
            query.append(("ns", self._settings.namespace))
        if self._settings.partition:
            query.append(("partition", self._settings.partition))
        timeout = self._settings.timeout
        if index > 0:
            wait = self._settings.wait
            query += [("index", str(index)), ("wait", f"{max(1, round(wait * 1000))}ms")]
            timeout += wait + wait / 16
        query.extend(params)
        token = self._tokens.get()
        headers = {"X-Consul-Token": token} if token else {}
        try:
            client = self._blocking if index > 0 else self._reads
            reply: Reply = await client.http.get(
                lambda response: self._decode(path, response),
                path,
                params=query,
                headers=headers,
                connections_timeout=timeout,
            )
        except ConsulError:
            raise
        except (asyncio.TimeoutError, TimeoutError):
            raise ConsulUnreachable(
                f"Consul at {self._where} did not answer {path} within {timeout:g}s"
            ) from None
        except (aiohttp.ClientError, OSError, consul.ConsulException) as exc:
            detail = self._tokens.scrub(str(exc) or type(exc).__name__)
            raise ConsulUnreachable(f"cannot reach Consul at {self._where}: {detail}") from None
        return reply

    def _decode(self, path: str, response: Any) -> Reply:
        code = int(response.code)
        if code != 200:
            body = " ".join(str(response.body or "").split())[:200]
            body = self._tokens.scrub(body)
            if code == 403:
                raise ConsulError(f"Consul ACLs denied {path} ({code} {body}); check the token's policy")
            if code == 429:
                raise ConsulError(f"Consul rate-limited {path} (429 {body})")
            if 400 <= code < 500:
                raise ConsulError(f"Consul rejected {path} ({code} {body})")
            raise ConsulError(f"Consul failed to answer {path} ({code} {body})")
        try:
            data = json.loads(response.body)
        except (TypeError, ValueError):
            raise ConsulError(f"Consul answered {path} with a body that is not JSON") from None
        headers = response.headers
        try:
            index = int(headers.get("X-Consul-Index", "0"))
        except ValueError:
            index = 0
        return Reply(index, data, str(headers.get(_FILTERED_HEADER, "")).lower() == "true")

    # --- the reads the adapter makes -------------------------------------------------------------

    async def local_datacenter(self) -> str:
        """The agent's own datacenter, from ``/v1/agent/self`` (needs ``agent:read``)."""
        try:
            reply = await self.get("/v1/agent/self")
        except ConsulError as exc:
            if "denied" in str(exc):
                raise ConsulError(
                    f"{exc}; without agent:read the local datacenter is unknown: list it in `datacenters`"
                ) from None
            raise
        name = reply.data.get("Config", {}).get("Datacenter") if isinstance(reply.data, dict) else None
        if not isinstance(name, str) or not name:
            raise ConsulError("Consul's /v1/agent/self names no datacenter")
        return name

    async def datacenters(self) -> list[str]:
        """Every datacenter the agent knows (``/v1/catalog/datacenters``, not a blocking endpoint)."""
        reply = await self.get("/v1/catalog/datacenters")
        if not isinstance(reply.data, list) or not all(isinstance(d, str) for d in reply.data):
            raise ConsulError("Consul's /v1/catalog/datacenters did not answer a list of names")
        return list(reply.data)

    async def services(self, dc: str, kinds: frozenset[str], index: int = 0) -> Reply:
        """``/v1/catalog/services`` (name → tags) of the wanted service kinds in ``dc``."""
        expression = " or ".join(f"ServiceKind == {json.dumps(kind)}" for kind in sorted(kinds))
        reply = await self.get("/v1/catalog/services", dc=dc, index=index, params=[("filter", expression)])
        if not isinstance(reply.data, dict):
            raise ConsulError(f"Consul's /v1/catalog/services in {dc} is not a mapping")
        if reply.filtered and not reply.data:
            raise ConsulError(
                f"the ACL token may read no service in datacenter {dc} (all results filtered by ACLs)"
            )
        return reply

    async def health(self, dc: str, name: str, index: int = 0) -> Reply:
        """``/v1/health/service/<name>``: every instance with its node and checks, unfiltered by health."""
        params = [("filter", self._settings.filter)] if self._settings.filter else []
        reply = await self.get(f"/v1/health/service/{name}", dc=dc, index=index, params=params)
        if not isinstance(reply.data, list):
            raise ConsulError(f"Consul's /v1/health/service/{name} in {dc} is not a list")
        if reply.filtered and not reply.data:
            raise ConsulError(f"the ACL token may read no instance of {name} in {dc} (filtered by ACLs)")
        return reply


async def resolve_datacenters(
    http: ConsulHttp, wanted: Literal["all"] | tuple[str, ...] | None, local: str | None
) -> list[str]:
    """The datacenters to read: a fixed list, every known one (``all``), or the agent's own."""
    if wanted == "all":
        return sorted(await http.datacenters())
    if wanted:
        return list(wanted)
    return [local or await http.local_datacenter()]
