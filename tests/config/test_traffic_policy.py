"""``traffic_policy`` and ``manage_destination_rules`` in config: defaults, kinds, errors by key path."""

from __future__ import annotations

import pytest

from syncd.config import ConfigError, parse_config

ADAPTER = "adapters:\n  - {name: files, type: file, path: /tmp/r.yaml%s}\n"


def adapter(policy: str = "") -> str:
    return ADAPTER % (f", traffic_policy: {policy}" if policy else "")


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, {})
    return info.value.problems


@pytest.mark.parametrize(
    ("text", "managed"),
    [
        (adapter(), False),
        (adapter("{tls: {mode: SIMPLE}}"), True),
        (adapter("{}"), True),
        (adapter("{enabled: false}"), True),  # still listed, so the rules made earlier are deleted
        (adapter("null"), False),
        ("traffic_policy: {tls: {mode: SIMPLE}}\n" + adapter(), True),
        ("manage_destination_rules: true\n" + adapter(), True),
        ("manage_destination_rules: auto\n" + adapter("{}"), True),
        ("manage_destination_rules: false\n" + adapter(), False),
    ],
)
def test_when_destination_rules_are_managed(text: str, managed: bool) -> None:
    config = parse_config(text, {})
    assert config.destination_rules_managed is managed
    kinds = ("ServiceEntry", "DestinationRule") if managed else ("ServiceEntry",)
    assert config.managed_kinds == kinds


def test_manage_true_without_policies_renders_nothing_but_lists_rules() -> None:
    config = parse_config("manage_destination_rules: true\n" + adapter(), {})
    assert config.traffic_policy_for("files") is None and "DestinationRule" in config.managed_kinds


def test_durations_and_defaults() -> None:
    policy = "{connection_pool: {tcp: {connect_timeout: 250ms}}, outlier_detection: {interval: 1m}}"
    merged = parse_config(adapter(policy), {}).traffic_policy_for("files")
    assert merged is not None and merged.enabled
    assert (
        merged.connection_pool
        and merged.connection_pool.tcp
        and merged.connection_pool.tcp.connect_timeout == 0.25
    )
    assert merged.outlier_detection and merged.outlier_detection.interval == 60.0
    assert merged.tls is None and merged.load_balancer is None


P = "adapters[0].traffic_policy"
ERRORS = [
    (
        "{tls: {mode: STRICT}}",
        f"{P}.tls.mode: Input should be 'DISABLE', 'SIMPLE', 'MUTUAL' or 'ISTIO_MUTUAL'",
    ),
    ("{tls: {sni: a.corp}}", f"{P}.tls.mode: required key is missing"),
    (
        "{tls: {mode: SIMPLE, client_certificate: /etc/c.pem}}",
        f"{P}.tls.client_certificate: syncd never writes key material",
    ),
    (
        "{tls: {mode: MUTUAL, private_key: '-----BEGIN'}}",
        f"{P}.tls.private_key: syncd never writes key material",
    ),
    (
        "{tls: {mode: SIMPLE, ca_certificates: /ca.pem}}",
        f"{P}.tls.ca_certificates: syncd never writes key material",
    ),
    ("{tls: {mode: MUTUAL}}", f"{P}.tls: MUTUAL needs credential_name"),
    (
        "{tls: {mode: ISTIO_MUTUAL, sni: a.corp}}",
        f"{P}.tls: sni and credential_name apply to SIMPLE and MUTUAL only",
    ),
    (
        "{tls: {mode: DISABLE, insecure_skip_verify: true}}",
        f"{P}.tls: insecure_skip_verify applies to SIMPLE and MUTUAL",
    ),
    (
        "{tls: {mode: SIMPLE, insecure_skip_verify: true, subject_alt_names: [a]}}",
        f"{P}.tls: insecure_skip_verify cannot be combined with subject_alt_names",
    ),
    (
        "{tls: {mode: SIMPLE, insecure_skip_verify: true, credential_name: ca}}",
        f"{P}.tls: insecure_skip_verify cannot be combined with credential_name",
    ),
    ("{tls: {mode: SIMPLE, sni: 'not a host'}}", f"{P}.tls.sni: 'not a host' is not a valid DNS name"),
    (
        "{tls: {mode: SIMPLE, credential_name: My_Secret}}",
        f"{P}.tls.credential_name: String should match pattern",
    ),
    ("{tls: {mode: SIMPLE, subject_alt_names: [a, a]}}", f"{P}.tls.subject_alt_names: has duplicates"),
    (
        "{tls: {mode: SIMPLE, insecure_skip_verify: maybe}}",
        f"{P}.tls.insecure_skip_verify: Input should be a valid boolean",
    ),
    ("{tls: {mode: SIMPLE, cipher: x}}", f"{P}.tls.cipher: unknown key"),
    ("{retries: {attempts: 3}}", f"{P}.retries: unknown key"),
    ("{connection_pool: {}}", f"{P}.connection_pool: set at least one of tcp, http"),
    (
        "{connection_pool: {tcp: {}}}",
        f"{P}.connection_pool.tcp: set at least one of max_connections, connect_timeout",
    ),
    (
        "{connection_pool: {tcp: {max_connections: -1}}}",
        f"{P}.connection_pool.tcp.max_connections: Input should be greater",
    ),
    (
        "{connection_pool: {tcp: {max_connections: 2147483648}}}",
        f"{P}.connection_pool.tcp.max_connections: Input should be less",
    ),
    (
        "{connection_pool: {tcp: {connect_timeout: soon}}}",
        f"{P}.connection_pool.tcp.connect_timeout: invalid duration",
    ),
    (
        "{connection_pool: {tcp: {connect_timeout: 0s}}}",
        f"{P}.connection_pool.tcp.connect_timeout: must be at least 1ms",
    ),
    (
        "{connection_pool: {http: {idle_timeout: 0.0005}}}",
        f"{P}.connection_pool.http.idle_timeout: must be at least 1ms",
    ),
    (
        "{connection_pool: {http: {idle_timeout: 1.0005}}}",
        f"{P}.connection_pool.http.idle_timeout: only whole milliseconds",
    ),
    (
        "{connection_pool: {http: {max_retries: x}}}",
        f"{P}.connection_pool.http.max_retries: Input should be a valid integer",
    ),
    (
        "{outlier_detection: {max_ejection_percent: 101}}",
        f"{P}.outlier_detection.max_ejection_percent: Input should be less",
    ),
    (
        "{outlier_detection: {consecutive_5xx_errors: -1}}",
        f"{P}.outlier_detection.consecutive_5xx_errors: Input should be greater",
    ),
    ("{outlier_detection: {}}", f"{P}.outlier_detection: set at least one of"),
    ("{load_balancer: {simple: LEAST_CONN}}", f"{P}.load_balancer.simple: Input should be 'ROUND_ROBIN'"),
    (
        "{outlier_detection: {interval: 1s}, load_balancer: {failover: [{from: dc1}]}}",
        f"{P}.load_balancer.failover[0].to: required key is missing",
    ),
    (
        "{outlier_detection: {interval: 1s}, load_balancer: {failover: [{from: dc1, to: dc1}]}}",
        f"{P}.load_balancer.failover[0]: from and to must be different regions",
    ),
    (
        "{outlier_detection: {interval: 1s}, load_balancer: {failover: [{from: us/east, to: dc1}]}}",
        f"{P}.load_balancer.failover[0].from: 'us/east' must be a region name",
    ),
    (
        "{outlier_detection: {interval: 1s}, load_balancer: {failover: [{from: a, to: b}],"
        " failover_priority: [topology.kubernetes.io/zone]}}",
        f"{P}.load_balancer: failover cannot be combined with topology labels",
    ),
    (
        "{load_balancer: {failover_priority: ['bad key!']}}",
        f"{P}.load_balancer.failover_priority: 'bad key!' is not a label",
    ),
    (
        "{load_balancer: {failover: [{from: dc1, to: dc2}]}}",
        f"{P}.load_balancer: locality failover needs outlier_detection",
    ),
    ("{enabled: sometimes}", f"{P}.enabled: Input should be a valid boolean"),
    ("[tls]", f"{P}: Input should be a valid dictionary"),
]


@pytest.mark.parametrize(
    ("policy", "expected"), ERRORS, ids=[e[1].split(": ")[0] + " " + e[0][:30] for e in ERRORS]
)
def test_errors_name_their_key_path(policy: str, expected: str) -> None:
    found = problems(adapter(policy))
    assert any(p.startswith(expected) for p in found), found


def test_global_block_errors_and_failover_inherited_from_it() -> None:
    assert problems("traffic_policy: {tls: {mode: TLS}}\n" + adapter())[0].startswith(
        "traffic_policy.tls.mode:"
    )
    text = "traffic_policy: {load_balancer: {failover: [{from: dc1, to: dc2}]}}\n"
    found = problems(text + adapter())
    assert found == [
        "traffic_policy.load_balancer: locality failover needs outlier_detection (Istio ignores failover "
        "without it), and adapter 'files' has none"
    ]
    # ... which an adapter can satisfy for itself, or escape by removing the section.
    parse_config(text + adapter("{outlier_detection: {consecutive_5xx_errors: 3}}"), {})
    parse_config(text + adapter("{load_balancer: null}"), {})


def test_manage_false_with_a_policy_is_an_error() -> None:
    found = problems("manage_destination_rules: false\n" + adapter("{tls: {mode: SIMPLE}}"))
    assert found == [
        "manage_destination_rules: is false, but traffic_policy is set at adapters[0].traffic_policy: "
        "remove it, or set manage_destination_rules to auto"
    ]
    assert problems("manage_destination_rules: maybe\n" + adapter())[0].startswith(
        "manage_destination_rules: Input should be 'auto', True or False"
    )


def test_key_material_is_never_echoed() -> None:
    found = problems(adapter("{tls: {mode: MUTUAL, credential_name: c, private_key: SECRET-KEY-BYTES}}"))
    assert found and not any("SECRET-KEY-BYTES" in p for p in found)
