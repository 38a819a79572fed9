"""Object names follow the contract: DNS-1123 label, <adapter>-<service>, hashed only when cut."""

from __future__ import annotations

import re

import pytest

from syncd.render import object_name

LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


@pytest.mark.parametrize(
    ("adapter", "service", "expected"),
    [
        ("consul-dc1", "web", "consul-dc1-web"),
        ("files", "Payments_API", "files-payments-api"),
        ("files", "a..b//c", "files-a-b-c"),
        ("files", "-edge-", "files-edge"),
    ],
)
def test_readable_names(adapter: str, service: str, expected: str) -> None:
    assert object_name(adapter, service) == expected


def test_long_names_are_cut_with_a_stable_hash() -> None:
    one = object_name("consul-dc1", "x" * 100)
    two = object_name("consul-dc1", "x" * 99 + "y")
    assert len(one) <= 63 and LABEL.match(one) and one != two
    assert one == object_name("consul-dc1", "x" * 100)


@pytest.mark.parametrize("service", ["ünïcødé", "***", "UPPER.case.Name", "1" * 300, "a" * 63])
def test_always_a_dns_label(service: str) -> None:
    assert LABEL.match(object_name("a", service))
