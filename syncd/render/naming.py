"""Object names: ``<adapter>-<service>`` as a DNS-1123 label, with a short hash when it must be cut."""

from __future__ import annotations

import hashlib
import re

MAX_NAME = 63
_ILLEGAL = re.compile(r"[^a-z0-9]+")


def short_hash(text: str, length: int = 8) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def object_name(adapter: str, service: str, *, force_hash: bool = False) -> str:
    """A DNS-1123 label for ``adapter``'s ``service``: lowercase, illegal runs → ``-``, ≤ 63 chars.

    When the name is cut (or ``force_hash`` asks, to break a collision between two service names
    that sanitise alike) a hash of the original keeps it unique and stable.
    """
    raw = f"{adapter}-{service}"
    name = _ILLEGAL.sub("-", raw.lower()).strip("-") or "service"
    if len(name) > MAX_NAME or force_hash:
        suffix = short_hash(raw)
        name = name[: MAX_NAME - len(suffix) - 1].rstrip("-") + "-" + suffix
    return name
