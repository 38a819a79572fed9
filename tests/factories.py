"""Small builders for model values and owned objects, shared by the tests."""

from __future__ import annotations

import copy
from typing import Any

from syncd.model import Endpoint, Protocol, Service, ServicePort, Snapshot
from syncd.render import Desired, RenderSettings, render_snapshot

OWNER = "syncd"
NAMESPACE = "istio-system"


def service(
    name: str,
    *addresses: str,
    host: str | None = None,
    port: int = 80,
    protocol: Protocol = Protocol.HTTP,
    origin: str = "a",
) -> Service:
    return Service(
        name=name,
        hosts=(host or f"{name}.example.com",),
        ports=(ServicePort(port, protocol),),
        endpoints=tuple(Endpoint(a) for a in addresses),
        origin=origin,
    )


def snapshot(adapter: str, *services: Service, **kwargs: Any) -> Snapshot:
    return Snapshot(adapter=adapter, services=services, **kwargs)


def render(adapter: str, *services: Service, owner: str = OWNER) -> tuple[Desired, ...]:
    rendered = render_snapshot(snapshot(adapter, *services), RenderSettings(owner=owner, namespace=NAMESPACE))
    assert not rendered.refused, rendered.refused
    return rendered.objects


def as_owned(desired: Desired, *, rv: str = "1", uid: str | None = None) -> dict[str, Any]:
    """What the API server would hand back for an object syncd created."""
    obj = copy.deepcopy(desired.body)
    obj["metadata"].update(resourceVersion=rv, uid=uid or f"uid-{desired.name}")
    return obj
