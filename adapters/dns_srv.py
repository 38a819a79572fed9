"""The ``dns_srv`` adapter: SRV records (RFC 2782) from DNS servers become Services.

Each configured record (an SRV name such as ``_http._tcp.web.example.test``) becomes one Service
whose endpoints are the targets of the lowest usable priority group, resolved to addresses
(STATIC) or kept as host names (DNS). What the answers mean is decided with care, because a
wrong "gone" deletes a live entry:

* NXDOMAIN/NODATA that is trusted (AA bit, or from a configured nameserver) counts as gone only
  after ``absent_after`` such answers in a row; before that the service is *unknown* (kept).
* A negative answer that is not trusted, and every failure (timeout, SERVFAIL, REFUSED, a target
  that could not be looked up), makes the service unknown; when every record fails the snapshot
  fails as a whole.

Rules for priorities, weights and hostile data live in :mod:`adapters.dns_srv_mapping`; asking
servers lives in :mod:`adapters.dns_srv_query`. The reference is docs/adapters/dns_srv.md.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import dns.exception
import dns.rdatatype
import dns.rdtypes.IN.SRV
import dns.rrset
import structlog

from adapters.dns_srv_mapping import Built, SrvRecord, TargetAddresses, build_service
from adapters.dns_srv_query import Client, Kind, Reply
from adapters.dns_srv_settings import DnsSrvSettings, RecordSettings
from syncd.adapter import Adapter, AdapterSettings
from syncd.model import Dropped, Service, Snapshot

__all__ = ["DnsSrvAdapter", "DnsSrvSettings"]

log = structlog.get_logger(__name__)

_Additional = dict[tuple[str, dns.rdatatype.RdataType], dns.rrset.RRset]
_FAMILIES = {
    "ipv4": (dns.rdatatype.A,),
    "ipv6": (dns.rdatatype.AAAA,),
    "both": (dns.rdatatype.A, dns.rdatatype.AAAA),
}


@dataclass
class _Cycle:
    """What one discover cycle gathers; the TTLs feed ``poll_interval_hint``."""

    client: Client
    services: list[Service] = field(default_factory=list)
    unknown: set[str] = field(default_factory=set)
    dropped: list[Dropped] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    ttls: list[int] = field(default_factory=list)
    targets: dict[str, TargetAddresses] = field(default_factory=dict)


class DnsSrvAdapter(Adapter):
    """Services from DNS SRV records; see the module docstring for what answers mean."""

    settings_model = DnsSrvSettings

    def __init__(self, name: str, settings: AdapterSettings) -> None:
        if not isinstance(settings, DnsSrvSettings):
            raise TypeError(f"dns_srv adapter {name!r} needs DnsSrvSettings, not {type(settings).__name__}")
        super().__init__(name, settings)
        self._settings = settings
        self._absent: dict[str, int] = {}
        self._hint: float | None = None
        self._lock = threading.Lock()

    def discover(self) -> Snapshot:
        """Ask for every record once; failures come back in the snapshot, never raised."""
        with self._lock:
            cycle = _Cycle(Client(self._settings.nameservers, self._settings.timeout))
            for record in self._settings.records:
                try:
                    self._discover_record(cycle, record)
                except (dns.exception.DNSException, OSError) as exc:  # what the client did not catch
                    why = f"{record.srv}: {type(exc).__name__}: {exc}"
                    self._unknown(cycle, record.service_name, why, failure=True)
            self._hint = max(self._settings.ttl_floor, float(min(cycle.ttls))) if cycle.ttls else None
            records = self._settings.records
            if len(cycle.failures) == len(records):
                reason = f"all {len(records)} SRV lookups failed: {cycle.failures[0]}"
                if len(records) == 1:
                    reason = f"SRV lookup failed: {cycle.failures[0]}"
                return Snapshot.failed(self.name, reason)
            return Snapshot(
                adapter=self.name,
                services=tuple(sorted(cycle.services, key=lambda s: s.name)),
                unknown=frozenset(cycle.unknown),
                dropped=tuple(cycle.dropped),
            )

    def poll_interval_hint(self) -> float | None:
        """The smallest TTL of the last cycle's answers, never below ``ttl_floor``; None before any."""
        return self._hint

    def _discover_record(self, cycle: _Cycle, record: RecordSettings) -> None:
        name = record.service_name
        reply = cycle.client.ask(record.srv, dns.rdatatype.SRV)
        if reply.ttl is not None:
            cycle.ttls.append(reply.ttl)
        if reply.kind is Kind.FAILED:
            self._unknown(cycle, name, f"{record.srv}: {reply.reason}", failure=True)
        elif reply.kind is Kind.NEGATIVE:
            self._negative(cycle, record, reply)
        else:
            self._absent.pop(name, None)
            built = self._build(cycle, record, reply)
            if built.unknown is not None:
                self._unknown(
                    cycle, name, f"{record.srv}: target lookup failed: {built.unknown}", failure=True
                )
            else:
                cycle.dropped.extend(built.dropped)
                if built.service is not None:  # None: dropped whole (no port known), in `dropped`
                    cycle.services.append(built.service)

    def _negative(self, cycle: _Cycle, record: RecordSettings, reply: Reply) -> None:
        name = record.service_name
        if not reply.trusted:
            why = f"{record.srv}: non-authoritative {reply.reason} from the system resolver"
            self._unknown(cycle, name, why, failure=False)
            return
        seen = self._absent[name] = self._absent.get(name, 0) + 1
        if seen >= self._settings.absent_after:
            log.info(
                "dns_srv_service_gone", adapter=self.name, service=name, srv=record.srv, answer=reply.reason
            )
            return
        log.info(
            "dns_srv_absence_pending",
            adapter=self.name,
            service=name,
            srv=record.srv,
            answer=reply.reason,
            seen=seen,
            absent_after=self._settings.absent_after,
        )
        cycle.unknown.add(name)

    def _unknown(self, cycle: _Cycle, name: str, reason: str, *, failure: bool) -> None:
        log.warning("dns_srv_service_unknown", adapter=self.name, service=name, reason=reason)
        cycle.unknown.add(name)
        if failure:
            cycle.failures.append(reason)

    def _build(self, cycle: _Cycle, record: RecordSettings, reply: Reply) -> Built:
        assert reply.rrset is not None
        srvs = [_srv(rdata) for rdata in reply.rrset if isinstance(rdata, dns.rdtypes.IN.SRV.SRV)]
        if not self._settings.resolve_targets:
            return build_service(self.name, record, srvs, None)
        additional: _Additional = {(_owner(rrset), rrset.rdtype): rrset for rrset in reply.additional}

        def lookup(target: str) -> TargetAddresses:
            if target not in cycle.targets:
                cycle.targets[target] = self._addresses(cycle, target, additional)
            return cycle.targets[target]

        return build_service(self.name, record, srvs, lookup)

    def _addresses(
        self,
        cycle: _Cycle,
        target: str,
        additional: _Additional,
    ) -> TargetAddresses:
        """A and/or AAAA of a target: from the SRV answer's additional section when there, else asked."""
        family = self._settings.address_family
        rdtypes = _FAMILIES[family]
        addresses: list[str] = []
        aliases: list[str] = []
        negative: list[str] = []
        for rdtype in rdtypes:
            known = additional.get((target, rdtype))
            if known is not None and (target, dns.rdatatype.CNAME) not in additional:
                cycle.ttls.append(known.ttl)
                addresses += sorted(rdata.address for rdata in known)
                continue
            reply = cycle.client.ask(target, rdtype)
            if reply.ttl is not None:
                cycle.ttls.append(reply.ttl)
            if reply.kind is Kind.FAILED:
                return TargetAddresses(failure=f"{target} {rdtype.name}: {reply.reason}")
            aliases += [alias for alias in reply.aliases if alias not in aliases]
            if reply.kind is Kind.FOUND and reply.rrset is not None:
                addresses += sorted(rdata.address for rdata in reply.rrset)
            else:
                negative.append(reply.reason)
        if aliases:
            chain = ", ".join(aliases)
            if self._settings.alias_targets == "drop":
                return TargetAddresses(missing=f"target is an alias (CNAME at {chain}); RFC 2782 forbids it")
            log.warning("dns_srv_alias_target", adapter=self.name, target=target, cname_at=chain)
        if not addresses:
            wanted = " or ".join(rdtype.name for rdtype in rdtypes)
            nx = " (NXDOMAIN)" if any(reason == "NXDOMAIN" for reason in negative) else ""
            return TargetAddresses(missing=f"target does not resolve: no {wanted} record{nx}")
        return TargetAddresses(addresses=tuple(dict.fromkeys(addresses)))


def _srv(rdata: dns.rdtypes.IN.SRV.SRV) -> SrvRecord:
    target = rdata.target.to_text(omit_final_dot=True).lower()
    return SrvRecord(rdata.priority, rdata.weight, rdata.port, "" if target in ("", ".") else target)


def _owner(rrset: dns.rrset.RRset) -> str:
    return rrset.name.to_text(omit_final_dot=True).lower()
