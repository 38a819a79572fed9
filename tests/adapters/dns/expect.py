"""Small readers over snapshots, so assertions say what they check."""

from __future__ import annotations

from collections.abc import Callable

from adapters.dns_srv import DnsSrvAdapter
from syncd.model import Service, Snapshot

#: The ``make_adapter`` fixture: ``make_adapter(records=None, **keys) -> DnsSrvAdapter``.
MakeAdapter = Callable[..., DnsSrvAdapter]


def service(snapshot: Snapshot, name: str = "web.example.test") -> Service:
    assert snapshot.ok, snapshot.error
    found = [s for s in snapshot.services if s.name == name]
    assert found, (
        f"no service {name!r} in {[s.name for s in snapshot.services]} (unknown: {snapshot.unknown})"
    )
    return found[0]


def addresses(svc: Service) -> list[str]:
    return [ep.address for ep in svc.endpoints]


def endpoints(svc: Service) -> dict[str, tuple[int, int | None]]:
    """address → (port the endpoint listens on, weight)."""
    (port,) = svc.ports
    return {ep.address: (ep.ports.get(port.number, port.number), ep.weight) for ep in svc.endpoints}


def dropped_reasons(snapshot: Snapshot) -> dict[str, str]:
    """What was dropped (the SRV record) → why."""
    return {d.what: d.reason for d in snapshot.dropped}
