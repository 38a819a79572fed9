"""Registry metadata → policy hints, and how instances that disagree become one service's hints."""

from __future__ import annotations

import pytest

from syncd.model import Service, ServicePort
from syncd.model.hints import agreed, from_cloudmap_attributes, from_consul_meta, from_dns_srv_name


@pytest.mark.parametrize(
    ("meta", "hints"),
    [
        ({"syncd-tls-mode": "SIMPLE"}, {"tls.mode": "SIMPLE"}),
        (
            {"syncd-tls-sni": " a.corp ", "syncd-tls-credential-name": "ca", "syncd-tls-san": "a,b"},
            {"tls.sni": "a.corp", "tls.credential_name": "ca", "tls.subject_alt_names": "a,b"},
        ),
        ({"Syncd_TLS_Mode": "MUTUAL"}, {"tls.mode": "MUTUAL"}),
        ({"syncd-tls-mode": "", "syncd-tls-sni": None}, {}),
        ({"syncd-tls-cipher-suites": "x"}, {"tls.cipher_suites": "x"}),
        ({"version": "v1", "syncd-other": "x", "tls-mode": "SIMPLE"}, {}),
    ],
)
def test_consul_meta(meta: dict, hints: dict) -> None:
    assert from_consul_meta(meta) == hints


def test_cloudmap_attributes_use_upper_case_names() -> None:
    attributes = {
        "AWS_INSTANCE_IPV4": "10.0.0.1",
        "SYNCD_TLS_MODE": "SIMPLE",
        "SYNCD_TLS_CREDENTIAL_NAME": "ca",
        "SYNCD_TLS_SAN": "a.corp",
    }
    assert from_cloudmap_attributes(attributes) == {
        "tls.mode": "SIMPLE",
        "tls.credential_name": "ca",
        "tls.subject_alt_names": "a.corp",
    }
    assert from_cloudmap_attributes(None) == {}


@pytest.mark.parametrize(
    ("srv", "hints"),
    [
        ("_https._tcp.api.example.com", {"tls.mode": "SIMPLE"}),
        ("_HTTPS._tcp.api.example.com.", {"tls.mode": "SIMPLE"}),
        ("_http._tcp.api.example.com", {}),
        ("_ldap._tcp.example.com", {}),
        ("api.example.com", {}),
    ],
)
def test_dns_srv_service_label(srv: str, hints: dict) -> None:
    assert from_dns_srv_name(srv) == hints


@pytest.mark.parametrize(
    ("instances", "hints"),
    [
        ([], {}),
        ([{"tls.mode": "SIMPLE"}], {"tls.mode": "SIMPLE"}),
        ([{"tls.mode": "SIMPLE"}, {"tls.mode": "SIMPLE"}, {}], {"tls.mode": "SIMPLE"}),
        ([{"tls.mode": "SIMPLE"}, {}, {}], {}),  # most instances ask for nothing
        ([{"tls.mode": "SIMPLE"}, {}], {}),  # a tie changes nothing
        ([{"tls.mode": "SIMPLE"}, {"tls.mode": "MUTUAL"}], {}),
        (
            [
                {"tls.mode": "MUTUAL", "tls.sni": "a"},
                {"tls.mode": "MUTUAL", "tls.sni": "b"},
                {"tls.mode": "SIMPLE"},
            ],
            {"tls.mode": "MUTUAL"},
        ),
    ],
)
def test_instances_agree_by_majority(instances: list[dict], hints: dict) -> None:
    assert agreed(instances) == hints


def test_service_hints_are_frozen_and_default_empty() -> None:
    plain = Service("web", ("web.example.com",), (ServicePort(80),))
    assert plain.policy_hints == {}
    hinted = Service("web", ("web.example.com",), (ServicePort(80),), policy_hints={"tls.mode": "SIMPLE"})
    assert hash(hinted) != hash(plain) and hinted.policy_hints == {"tls.mode": "SIMPLE"}
    with pytest.raises(TypeError):
        hinted.policy_hints["tls.mode"] = "DISABLE"  # type: ignore[index]
