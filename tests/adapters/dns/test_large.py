"""Record sets larger than a UDP answer: truncated over UDP, asked again over TCP, all kept."""

from __future__ import annotations

from syncd.render import RenderSettings, render_snapshot
from tests.adapters.dns.expect import MakeAdapter, service
from tests.servers.bind import BindServer

SRV = "_http._tcp.web"


def test_200_records_come_over_tcp(bind: BindServer, make_adapter: MakeAdapter) -> None:
    bind.update(add=[(f"web{n}", 60, "A", f"10.0.0.{n + 1}") for n in range(200)])
    bind.add_srvs(SRV, [(10, 0, 8080, f"web{n}") for n in range(200)])
    adapter = make_adapter()
    bind.mark_queries()

    svc = service(adapter.discover())

    assert len(svc.endpoints) == 200
    assert {ep.address for ep in svc.endpoints} == {f"10.0.0.{n + 1}" for n in range(200)}
    assert all(ep.weight is None and not ep.ports for ep in svc.endpoints)
    queries = bind.queries()
    # The SRV answer does not fit in UDP: truncated, then the same question over TCP. (BIND
    # adds no additional records to an RRset this large, so each target's A is asked for.)
    assert queries[:2] == [
        ("_http._tcp.web.example.test", "SRV", False),
        ("_http._tcp.web.example.test", "SRV", True),
    ]
    assert sorted(name for name, rdtype, _ in queries[2:] if rdtype == "A") == sorted(
        f"web{n}.example.test" for n in range(200)
    )


def test_more_than_istio_allows_is_left_to_the_renderer(bind: BindServer, make_adapter: MakeAdapter) -> None:
    # 64 targets with 65 addresses each: 4160 endpoints, more than the 4096 Istio accepts. The
    # adapter reports what DNS says (the renderer refuses the entry with a clear error).
    for first in range(0, 64, 16):  # 1040 records per update: well within a 64 KiB message
        targets = range(first, first + 16)
        bind.update(add=[(f"big{t}", 60, "A", f"10.{t}.0.{n + 1}") for t in targets for n in range(65)])
    bind.add_srvs(SRV, [(10, 0, 8080, f"big{t}") for t in range(64)])

    snapshot = make_adapter().discover()

    assert len(service(snapshot).endpoints) == 64 * 65
    rendered = render_snapshot(snapshot, RenderSettings(owner="test", namespace="istio-system"))
    assert rendered.objects == ()
    (refused,) = rendered.refused
    assert "4160 endpoints exceed the 4096" in refused.reason
