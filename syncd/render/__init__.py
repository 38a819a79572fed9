"""Render: model → Istio manifests (``networking.istio.io/v1``). Pure functions.

Layer rule: imports syncd.model only; no I/O except reading the CRD schemas shipped as package data.
"""

from syncd.render.manifest import (
    ANNOTATION_HASH,
    ANNOTATION_SERVICE,
    LABEL_ADAPTER,
    LABEL_MANAGED_BY,
    LABEL_OWNER,
    MANAGED_BY,
    Desired,
    Manifest,
    content_hash,
    owner_selector,
)
from syncd.render.naming import object_name
from syncd.render.service_entry import Refused, Rendered, RenderMemo, RenderSettings, render_snapshot

__all__ = [
    "ANNOTATION_HASH",
    "ANNOTATION_SERVICE",
    "LABEL_ADAPTER",
    "LABEL_MANAGED_BY",
    "LABEL_OWNER",
    "MANAGED_BY",
    "Desired",
    "Manifest",
    "Refused",
    "RenderMemo",
    "RenderSettings",
    "Rendered",
    "content_hash",
    "object_name",
    "owner_selector",
    "render_snapshot",
]
