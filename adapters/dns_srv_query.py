"""Asking DNS servers one question: the servers in order, UDP with TCP fallback, CNAME chains.

Every answer is sorted here, once, into one of three kinds the adapter acts on:

* ``FOUND`` — records of the asked type (after following CNAMEs);
* ``NEGATIVE`` — NXDOMAIN or NODATA; ``trusted`` when the answer is authoritative (AA bit) or came
  from a nameserver the config names, i.e. when it may be taken as "the name is gone";
* ``FAILED`` — nobody could say: timeouts, unreachable servers, SERVFAIL, REFUSED, referrals,
  garbage. A failure never means "gone".

A :class:`Client` lives for one discover cycle. A server that timed out (or was unreachable)
twice in a row is skipped for the rest of the cycle, so a dead server costs two timeouts per
cycle rather than one per question.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver
import dns.rrset
import dns.ttl

from adapters.dns_srv_settings import Nameserver

#: EDNS payload size recommended since DNS flag day 2020: no IP fragmentation, TCP past it.
EDNS_PAYLOAD = 1232
#: CNAME hops followed across separate questions (each answer may hold a chain of its own).
MAX_HOPS = 8
#: Timeouts or network errors after which a server is skipped for the rest of the cycle.
MAX_STRIKES = 2


class Kind(Enum):
    FOUND = "found"
    NEGATIVE = "negative"
    FAILED = "failed"


@dataclass(frozen=True)
class Reply:
    """The meaning of one answer. ``ttl`` is the answer's (or the negative-caching) TTL in seconds."""

    kind: Kind
    rrset: dns.rrset.RRset | None = None
    additional: tuple[dns.rrset.RRset, ...] = ()
    aliases: tuple[str, ...] = ()
    ttl: int | None = None
    trusted: bool = False
    reason: str = ""


@dataclass(frozen=True)
class _Server:
    label: str
    address: str
    port: int


@dataclass
class Client:
    """Asks ``nameservers`` in order; with none configured, the system resolver's servers."""

    nameservers: Sequence[Nameserver]
    timeout: float
    _servers: list[_Server] | None = field(default=None, init=False)
    _setup_errors: list[str] = field(default_factory=list, init=False)
    _strikes: dict[str, int] = field(default_factory=dict, init=False)

    @property
    def configured(self) -> bool:
        """Negative answers from servers the operator named are trusted, as from authoritative ones."""
        return bool(self.nameservers)

    def ask(self, name: str, rdtype: dns.rdatatype.RdataType) -> Reply:
        """Ask for ``name``/``rdtype``, following CNAMEs; never raises for DNS trouble."""
        qname = dns.name.from_text(name)
        aliases: list[str] = []
        ttl = dns.ttl.MAX_TTL
        for _ in range(MAX_HOPS):
            response, reason = self._exchange(qname, rdtype)
            if response is None:
                return Reply(Kind.FAILED, reason=reason)
            if not isinstance(response, dns.message.QueryMessage):
                return Reply(Kind.FAILED, reason=f"{reason}: the answer is not a query response")
            try:
                chain = response.resolve_chaining()
            except dns.exception.DNSException as exc:
                return Reply(Kind.FAILED, reason=f"{reason}: unusable answer ({exc})")
            aliases += [_text(rrset.name) for rrset in chain.cnames]
            ttl = min(ttl, chain.minimum_ttl)
            if chain.answer is not None:
                additional = tuple(response.additional)
                return Reply(Kind.FOUND, chain.answer, additional, tuple(aliases), ttl)
            rcode = response.rcode()
            if chain.cnames and rcode == dns.rcode.NOERROR:
                qname = chain.canonical_name  # the chain leaves what this server answered for
                continue
            authoritative = bool(response.flags & dns.flags.AA)
            if rcode == dns.rcode.NOERROR and not authoritative and _is_referral(response):
                return Reply(
                    Kind.FAILED, reason=f"{reason}: referral (server neither authoritative nor recursive)"
                )
            what = "NXDOMAIN" if rcode == dns.rcode.NXDOMAIN else f"NODATA (no {rdtype.name} record)"
            trusted = authoritative or self.configured
            return Reply(Kind.NEGATIVE, aliases=tuple(aliases), ttl=ttl, trusted=trusted, reason=what)
        return Reply(Kind.FAILED, reason=f"CNAME chain of {name} longer than {MAX_HOPS} hops")

    def _exchange(
        self, qname: dns.name.Name, rdtype: dns.rdatatype.RdataType
    ) -> tuple[dns.message.Message | None, str]:
        """The first NOERROR/NXDOMAIN answer and the server's label, or None and every server's error."""
        query = dns.message.make_query(qname, rdtype, use_edns=0, payload=EDNS_PAYLOAD)
        errors = list(self._setup_errors)
        for server in self._resolve_servers():
            if self._strikes.get(server.label, 0) >= MAX_STRIKES:
                errors.append(f"{server.label}: skipped after earlier timeouts this cycle")
                continue
            try:
                response, _ = dns.query.udp_with_fallback(
                    query, server.address, timeout=self.timeout, port=server.port, ignore_unexpected=True
                )
            except dns.exception.Timeout:
                self._strikes[server.label] = self._strikes.get(server.label, 0) + 1
                errors.append(f"{server.label}: no answer within {self.timeout:g}s")
                continue
            except (OSError, EOFError) as exc:
                self._strikes[server.label] = self._strikes.get(server.label, 0) + 1
                errors.append(f"{server.label}: {_describe(exc)}")
                continue
            except dns.exception.DNSException as exc:
                errors.append(f"{server.label}: bad answer ({exc})")
                continue
            rcode = response.rcode()
            if rcode in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
                self._strikes[server.label] = 0
                return response, server.label
            errors.append(f"{server.label}: {dns.rcode.to_text(rcode)}")
        return None, "; ".join(errors) or "no nameserver to ask"

    def _resolve_servers(self) -> list[_Server]:
        """Nameserver addresses, worked out once per cycle (host names through the system)."""
        if self._servers is not None:
            return self._servers
        servers: list[_Server] = []
        if not self.nameservers:
            try:
                system = dns.resolver.Resolver(configure=True)
            except dns.exception.DNSException as exc:
                self._setup_errors.append(f"system resolver: {exc}")
            else:
                for address in map(str, system.nameservers):
                    shown = f"[{address}]" if ":" in address else address
                    servers.append(_Server(f"{shown}:{system.port} (system)", address, system.port))
        for ns in self.nameservers:
            try:
                infos = socket.getaddrinfo(ns.host, ns.port, type=socket.SOCK_DGRAM)
            except OSError as exc:
                self._setup_errors.append(f"{ns}: cannot resolve the nameserver's host ({exc.strerror})")
                continue
            addresses = dict.fromkeys(str(info[4][0]) for info in infos)
            for address in addresses:
                label = str(ns) if address == ns.host else f"{ns} ({address})"
                servers.append(_Server(label, address, ns.port))
        self._servers = servers
        return servers


def _describe(exc: BaseException) -> str:
    return str(getattr(exc, "strerror", None) or exc or type(exc).__name__)


def _is_referral(response: dns.message.Message) -> bool:
    types = {rrset.rdtype for rrset in response.authority}
    return dns.rdatatype.NS in types and dns.rdatatype.SOA not in types


def _text(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower()
