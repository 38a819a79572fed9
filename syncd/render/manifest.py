"""What render produces and plan consumes: a desired object with its identity and content hash."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

API_VERSION = "networking.istio.io/v1"

LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_OWNER = "syncd.io/owner"
LABEL_ADAPTER = "syncd.io/adapter"
ANNOTATION_HASH = "syncd.io/content-hash"
ANNOTATION_SERVICE = "syncd.io/service"
MANAGED_BY = "syncd"

Manifest = dict[str, Any]


def content_hash(spec: Mapping[str, Any]) -> str:
    """sha256 of the spec in canonical JSON: equal specs hash equally, whatever the key order."""
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def owner_selector(owner: str) -> str:
    """The label selector that lists exactly the objects owned by ``owner``."""
    return f"{LABEL_MANAGED_BY}={MANAGED_BY},{LABEL_OWNER}={owner}"


@dataclass(frozen=True, slots=True)
class Desired:
    """One object that should exist: identity, where it came from, and its full body."""

    kind: str
    name: str
    adapter: str
    service: str
    hosts: tuple[str, ...]
    content_hash: str
    body: Manifest

    @property
    def key(self) -> tuple[str, str]:
        return self.kind, self.name


def build_manifest(
    *,
    kind: str,
    name: str,
    namespace: str,
    owner: str,
    adapter: str,
    service: str,
    spec: Manifest,
) -> tuple[Manifest, str]:
    """The full object with the contract labels and annotations; returns it with its hash."""
    digest = content_hash(spec)
    body: Manifest = {
        "apiVersion": API_VERSION,
        "kind": kind,
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {LABEL_MANAGED_BY: MANAGED_BY, LABEL_OWNER: owner, LABEL_ADAPTER: adapter},
            "annotations": {ANNOTATION_HASH: digest, ANNOTATION_SERVICE: service},
        },
        "spec": spec,
    }
    return body, digest
