"""The registry-neutral model (adapters build it, render reads it).

Layer rule: this package imports nothing from syncd outside itself.
"""

from syncd.model.addresses import is_dns_name, is_fqdn, is_ip, valid_port
from syncd.model.frozen import FrozenMap, freeze
from syncd.model.labels import is_label_key, is_label_value, sanitize_labels
from syncd.model.protocols import Protocol, parse_protocol
from syncd.model.service import (
    Dropped,
    Endpoint,
    Health,
    Location,
    Resolution,
    Service,
    ServicePort,
    Snapshot,
    common_port_endpoints,
)

__all__ = [
    "Dropped",
    "Endpoint",
    "FrozenMap",
    "Health",
    "Location",
    "Protocol",
    "Resolution",
    "Service",
    "ServicePort",
    "Snapshot",
    "common_port_endpoints",
    "freeze",
    "is_dns_name",
    "is_fqdn",
    "is_ip",
    "is_label_key",
    "is_label_value",
    "parse_protocol",
    "sanitize_labels",
    "valid_port",
]
