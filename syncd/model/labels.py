"""Kubernetes label syntax: checking keys and values, and turning registry metadata into labels."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

_NAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$")
_VALUE = re.compile(r"^([A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?)?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
_ILLEGAL_KEY_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")
_ILLEGAL_VALUE_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")


def is_label_key(key: str) -> bool:
    """``[prefix/]name``: prefix a DNS subdomain ≤ 253, name ≤ 63 alphanumerics with ``-_.`` inside."""
    prefix, _, name = key.rpartition("/")
    if "/" in key and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return False
    return bool(_NAME.match(name))


def is_label_value(value: str) -> bool:
    """Empty, or ≤ 63 alphanumerics with ``-_.`` inside."""
    return bool(_VALUE.match(value))


@dataclass(frozen=True)
class LabelResult:
    """Labels that passed, and the ``key=value`` pairs that could not be made valid."""

    labels: dict[str, str]
    dropped: list[str]


def sanitize_labels(pairs: Mapping[str, str] | Iterable[tuple[str, str]]) -> LabelResult:
    """Make registry metadata into valid labels where a faithful repair exists, drop the rest.

    Illegal character runs become ``_`` in keys and ``-`` in values, and leading or trailing
    punctuation is trimmed; a key or value that is still invalid afterwards (too long, empty key)
    is dropped and reported, never written.
    """
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    labels: dict[str, str] = {}
    dropped: list[str] = []
    for raw_key, raw_value in items:
        key = str(raw_key)
        value = str(raw_value)
        if not is_label_key(key):
            prefix, slash, name = key.rpartition("/")
            name = _ILLEGAL_KEY_CHARS.sub("_", name).strip("_.-")
            key = f"{prefix.lower()}{slash}{name}" if slash else name
        if not is_label_value(value):
            value = _ILLEGAL_VALUE_CHARS.sub("-", value).strip("_.-")
        if is_label_key(key) and is_label_value(value):
            labels[key] = value
        else:
            dropped.append(f"{raw_key}={raw_value}")
    return LabelResult(labels, dropped)
