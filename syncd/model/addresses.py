"""Checks on addresses and host names that adapters and the renderer share."""

from __future__ import annotations

import functools
import ipaddress
import re

_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", re.IGNORECASE)


@functools.lru_cache(maxsize=1 << 17)
def is_ip(address: str) -> bool:
    """True for a literal IPv4 or IPv6 address (no CIDR, no zone index)."""
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return "%" not in address


def is_dns_name(name: str, *, allow_wildcard: bool = False) -> bool:
    """True for a valid DNS name (RFC 1123 labels, ≤ 253 chars); ``*.`` prefix only if allowed."""
    if name.endswith("."):
        name = name[:-1]
    if allow_wildcard and name.startswith("*."):
        name = name[2:]
    if not name or len(name) > 253:
        return False
    labels = name.split(".")
    # An all-numeric last label is never a host name (and "999.1.1.1" is a broken IP, not a name).
    return all(_LABEL.match(label) for label in labels) and not labels[-1].isdigit()


def is_fqdn(name: str) -> bool:
    """A DNS name with at least two labels: one Envoy can resolve without a search path."""
    return is_dns_name(name) and "." in name.rstrip(".")


def valid_port(number: object) -> bool:
    """True for a TCP/UDP port number Istio accepts (1-65535)."""
    return isinstance(number, int) and not isinstance(number, bool) and 0 < number <= 65535
