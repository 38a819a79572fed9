"""validate_manifest on DestinationRule: CRD schema and CEL first, then istiod's rules."""

from __future__ import annotations

from typing import Any

import pytest

from syncd.render.validate import validate_manifest
from tests.render.test_validate import DELETE, assert_one_problem, mutate

DR: dict[str, Any] = {
    "apiVersion": "networking.istio.io/v1",
    "kind": "DestinationRule",
    "metadata": {"name": "consul-dc1-web", "namespace": "istio-system"},
    "spec": {
        "host": "web.service.consul",
        "trafficPolicy": {
            "connectionPool": {
                "tcp": {"maxConnections": 100, "connectTimeout": "1.5s", "idleTimeout": "3600s"},
                "http": {"http1MaxPendingRequests": 10, "idleTimeout": "30s", "maxRetries": 0},
            },
            "outlierDetection": {
                "consecutive5xxErrors": 5,
                "interval": "10s",
                "baseEjectionTime": "30s",
                "maxEjectionPercent": 50,
            },
            "loadBalancer": {"simple": "LEAST_REQUEST", "warmup": {"duration": "60s", "minimumPercent": 10}},
            "tls": {"mode": "SIMPLE", "sni": "web.service.consul"},
            "portLevelSettings": [{"port": {"number": 8080}, "tls": {"mode": "DISABLE"}}],
        },
        "subsets": [{"name": "v1", "labels": {"version": "v1"}}],
        "exportTo": ["."],
    },
}
TP = "spec.trafficPolicy"


def test_base_is_valid() -> None:
    assert validate_manifest(DR) == []


SCHEMA_CASES = [
    ([("spec.host", DELETE)], "spec.host", "Required value"),
    ([(f"{TP}.tls.mode", "STRICT")], f"{TP}.tls.mode", "Unsupported value"),
    ([(f"{TP}.retries", {})], f"{TP}.retries", "unknown field"),
    ([("spec.subsets[0].name", DELETE)], "spec.subsets[0].name", "Required value"),
    (
        [(f"{TP}.connectionPool.tcp.maxConnections", 2**31)],
        f"{TP}.connectionPool.tcp.maxConnections",
        "<= 2147483647",
    ),
    (
        [(f"{TP}.outlierDetection.maxEjectionPercent", "50")],
        f"{TP}.outlierDetection.maxEjectionPercent",
        "integer",
    ),
    (
        [(f"{TP}.outlierDetection.outlierDetectionHttpErrorCodes", [99])],
        f"{TP}.outlierDetection.outlierDetectionHttpErrorCodes[0]",
        ">= 100",
    ),
    (
        [(f"{TP}.loadBalancer.consistentHash", {"useSourceIp": True})],
        f"{TP}.loadBalancer",
        "at most one of consistentHash, simple",
    ),
    (
        [(f"{TP}.loadBalancer", {"consistentHash": {"useSourceIp": True, "httpHeaderName": "x-user"}})],
        f"{TP}.loadBalancer.consistentHash",
        "at most one of",
    ),
    (
        [(f"{TP}.loadBalancer.warmup.minimumPercent", 150)],
        f"{TP}.loadBalancer.warmup.minimumPercent",
        "<= 100",
    ),
    (
        [(f"{TP}.loadBalancer.warmup.duration", DELETE)],
        f"{TP}.loadBalancer.warmup.duration",
        "Required value",
    ),
    ([(f"{TP}.connectionPool.tcp.connectTimeout", "0s")], f"{TP}.connectionPool.tcp.connectTimeout", "1ms"),
    ([(f"{TP}.connectionPool.tcp.connectTimeout", "soon")], f"{TP}.connectionPool.tcp.connectTimeout", "1ms"),
    ([(f"{TP}.outlierDetection.interval", "-1s")], f"{TP}.outlierDetection.interval", "greater than 1ms"),
    (
        [("spec.subsets[0].trafficPolicy", {"connectionPool": {"http": {"idleTimeout": "0.5ms"}}})],
        "spec.subsets[0].trafficPolicy.connectionPool.http.idleTimeout",
        "must be a valid duration greater than 1ms",
    ),
    (
        [(f"{TP}.portLevelSettings[0].outlierDetection", {"baseEjectionTime": "0s"})],
        f"{TP}.portLevelSettings[0].outlierDetection.baseEjectionTime",
        "greater than 1ms",
    ),
    (
        [("spec.workloadSelector", {"matchLabels": {"app": "*"}})],
        "spec.workloadSelector.matchLabels[app]",
        "value",
    ),
    (
        [("spec.workloadSelector", {"matchLabels": {"a*": "b"}})],
        "spec.workloadSelector.matchLabels",
        "key match",
    ),
    (
        [("spec.workloadSelector", {"matchLabels": {"": "b"}})],
        "spec.workloadSelector.matchLabels",
        "not be empty",
    ),
    ([(f"{TP}.tunnel", {"targetHost": "proxy.example.com"})], f"{TP}.tunnel.targetPort", "Required value"),
]


@pytest.mark.parametrize(("changes", "where", "fragment"), SCHEMA_CASES)
def test_api_server_rules(changes: list[tuple[str, Any]], where: str, fragment: str) -> None:
    assert_one_problem(mutate(DR, *changes), where, fragment)


POOL = f"{TP}.connectionPool"
LB = f"{TP}.loadBalancer"
ISTIOD_CASES = [
    ([("spec.host", "web..consul")], "spec.host", "invalid"),
    ([(TP, {})], TP, "traffic policy must have at least one field"),
    ([(TP, {"portLevelSettings": []})], TP, "traffic policy must have at least one field"),
    (
        [
            (f"{TP}.proxyProtocol", {"version": "V1"}),
            (f"{TP}.tunnel", {"targetHost": "p.com", "targetPort": 1}),
        ],
        TP,
        "tunnel and proxyProtocol must not be set together",
    ),
    ([(POOL, {})], POOL, "connection pool must have at least one field"),
    ([(f"{POOL}.http.http1MaxPendingRequests", -1)], f"{POOL}.http.http1MaxPendingRequests", "non-negative"),
    ([(f"{POOL}.tcp.maxConnections", -1)], f"{POOL}.tcp.maxConnections", "non-negative"),
    ([(f"{POOL}.http.idleTimeout", "1.0005s")], f"{POOL}.http.idleTimeout", "ms precision"),
    ([(f"{POOL}.tcp.idleTimeout", "0s")], f"{POOL}.tcp.idleTimeout", "greater than 1ms"),
    ([(f"{POOL}.tcp.connectTimeout", "1m")], f"{POOL}.tcp.connectTimeout", "protobuf duration"),
    (
        [(f"{POOL}.http.http2KeepAlive", {"interval": "1h"})],
        f"{POOL}.http.http2KeepAlive.interval",
        "protobuf",
    ),
    (
        [(f"{POOL}.http.h2UpgradePolicy", "UPGRADE"), (f"{POOL}.http.useClientProtocol", True)],
        f"{POOL}.http.useClientProtocol",
        "UPGRADE",
    ),
    (
        [(f"{TP}.outlierDetection.maxEjectionPercent", 101)],
        f"{TP}.outlierDetection.maxEjectionPercent",
        "0..100",
    ),
    ([(f"{TP}.outlierDetection.minHealthPercent", -1)], f"{TP}.outlierDetection.minHealthPercent", "0..100"),
    (
        [(f"{TP}.outlierDetection.consecutiveLocalOriginFailures", 3)],
        f"{TP}.outlierDetection.consecutiveLocalOriginFailures",
        "splitExternalLocalOriginErrors",
    ),
    (
        [(f"{TP}.tls.credentialName", "web-cert"), (f"{TP}.tls.caCertificates", "/ca.pem")],
        f"{TP}.tls.credentialName",
        "credentialName is set",
    ),
    (
        [(f"{TP}.tls.insecureSkipVerify", True), (f"{TP}.tls.caCertificates", "/ca.pem")],
        f"{TP}.tls",
        "insecureSkipVerify",
    ),
    (
        [(f"{TP}.tls", {"mode": "MUTUAL", "clientCertificate": "/c.pem"})],
        f"{TP}.tls.privateKey",
        "private key required",
    ),
    (
        [(LB, {"consistentHash": {"maglev": {"tableSize": 65536}}})],
        f"{LB}.consistentHash.maglev.tableSize",
        "prime",
    ),
    (
        [(LB, {"consistentHash": {"maglev": {"tableSize": 5000011}}})],
        f"{LB}.consistentHash.maglev.tableSize",
        "less than",
    ),
    (
        [(LB, {"consistentHash": {"minimumRingSize": 1024, "ringHash": {"minimumRingSize": 1024}}})],
        f"{LB}.consistentHash",
        "only one of minimumRingSize",
    ),
    (
        [(LB, {"consistentHash": {"httpCookie": {"name": ""}}})],
        f"{LB}.consistentHash.httpCookie.name",
        "name required",
    ),
    (
        [(LB, {"consistentHash": {"httpCookie": {"name": "c", "ttl": "1h"}}})],
        f"{LB}.consistentHash.httpCookie.ttl",
        "protobuf",
    ),
    (
        [(f"{LB}.warmupDurationSecs", "0.0005s")],
        f"{LB}.warmupDurationSecs",
        "must be a valid duration greater than 1ms",
    ),
    (
        [
            (
                f"{LB}.localityLbSetting",
                {"distribute": [{"from": "us-east/*", "to": {"us-east/a/*": 60, "us-west/*": 30}}]},
            )
        ],
        f"{LB}.localityLbSetting.distribute[0].to",
        "total locality weight 90 != 100",
    ),
    (
        [
            (
                f"{LB}.localityLbSetting",
                {"distribute": [{"from": "a/*", "to": {"b/*": 100}}], "failover": [{"from": "a", "to": "b"}]},
            )
        ],
        f"{LB}.localityLbSetting",
        "can not simultaneously specify",
    ),
    (
        [(f"{LB}.localityLbSetting", {"failover": [{"from": "us-east", "to": "us-east"}]})],
        f"{LB}.localityLbSetting.failover[0]",
        "different regions",
    ),
    (
        [(f"{LB}.localityLbSetting", {"distribute": [{"from": "a/*/c", "to": {"b": 100}}]})],
        f"{LB}.localityLbSetting.distribute",
        "wildcard",
    ),
    (
        [(f"{TP}.portLevelSettings", [{"port": {"number": 80}}])],
        f"{TP}.portLevelSettings[0]",
        "at least one field",
    ),
    (
        [(f"{TP}.portLevelSettings", [{"tls": {"mode": "DISABLE"}}])],
        f"{TP}.portLevelSettings[0].port",
        "valid port",
    ),
    (
        [(f"{TP}.tunnel", {"targetHost": "bad host", "targetPort": 3128})],
        f"{TP}.tunnel.targetHost",
        "FQDN or IP",
    ),
    ([(f"{TP}.tunnel", {"targetHost": "10.0.0.1", "targetPort": 0})], f"{TP}.tunnel.targetPort", "1..65535"),
    (
        [(f"{TP}.tunnel", {"protocol": "GET", "targetHost": "p.com", "targetPort": 1})],
        f"{TP}.tunnel.protocol",
        "CONNECT",
    ),
    ([("spec.subsets", [{"name": "v1"}, {"name": "v1"}])], "spec.subsets[1].name", "duplicate subset names"),
    ([("spec.subsets[0].name", "V_1")], "spec.subsets[0].name", "subset name is invalid"),
    ([("spec.subsets[0].name", "")], "spec.subsets[0].name", "subset name cannot be empty"),
    ([("spec.subsets[0].labels", {"version": "v 1"})], "spec.subsets[0].labels[version]", "alphanumeric"),
    ([("spec.subsets[0].trafficPolicy", {})], "spec.subsets[0].trafficPolicy", "at least one field"),
    ([("spec.exportTo", ["~"])], "spec.exportTo[0]", "not allowed for Istio configuration objects"),
    (
        [("spec.workloadSelector", {"matchLabels": {"app": "web"}}), ("spec.exportTo", ["*"])],
        "spec.exportTo",
        "workload selector cannot have exportTo beyond current namespace",
    ),
    (
        [("metadata.annotations", {"internal.istio.io/webhook-always-reject": "x"})],
        "metadata.annotations[internal.istio.io/webhook-always-reject]",
        "istiod rejects",
    ),
]


@pytest.mark.parametrize(("changes", "where", "fragment"), ISTIOD_CASES)
def test_istiod_rules(changes: list[tuple[str, Any]], where: str, fragment: str) -> None:
    assert_one_problem(mutate(DR, *changes), where, fragment)


def test_mutual_tls_without_files_reports_both() -> None:
    problems = validate_manifest(mutate(DR, (f"{TP}.tls", {"mode": "MUTUAL"})))
    assert problems == [
        f"{TP}.tls.clientCertificate: Required value: client certificate required for mutual tls",
        f"{TP}.tls.privateKey: Required value: private key required for mutual tls",
    ]


VALID_VARIANTS = [
    [("spec.host", "*")],
    [("spec.host", "*.consul")],
    [(f"{POOL}.tcp.connectTimeout", "0.001s"), (f"{POOL}.http.idleTimeout", "1.5s")],
    [(f"{TP}.tls", {"mode": "MUTUAL", "credentialName": "web-client"})],
    [(f"{TP}.tls", {"mode": "MUTUAL", "clientCertificate": "/c.pem", "privateKey": "/k.pem"})],
    [(LB, {"consistentHash": {"maglev": {"tableSize": 65537}, "httpHeaderName": "x-user"}})],
    [
        (
            f"{LB}.localityLbSetting",
            {"distribute": [{"from": "us-east/*", "to": {"us-east/a/*": 70, "us-west/*": 30}}]},
        )
    ],
    [(TP, {"retryBudget": {"percent": 20, "budgetInterval": "10s"}})],
    [(TP, {"tunnel": {"protocol": "CONNECT", "targetHost": "proxy.example.com", "targetPort": 3128}})],
    [("spec.workloadSelector", {"matchLabels": {"app": "web"}}), ("spec.exportTo", ["istio-system"])],
    [("spec.exportTo", ["*"])],
    [("spec", {"host": "web.consul"})],
]


@pytest.mark.parametrize("changes", VALID_VARIANTS)
def test_valid_variants(changes: list[tuple[str, Any]]) -> None:
    assert validate_manifest(mutate(DR, *changes)) == []


# The CRD's own validation cases (istio/istio pkg/config/validation/testdata/crds).
def _warmup(warmup: dict[str, Any]) -> dict[str, Any]:
    return mutate(
        DR,
        (
            "spec",
            {"host": "ratings.prod.svc.cluster.local", "trafficPolicy": {"loadBalancer": {"warmup": warmup}}},
        ),
    )


@pytest.mark.parametrize(
    ("obj", "fragment"),
    [
        (
            _warmup({"duration": "300s", "minimumPercent": 150.0}),
            f"{LB}.warmup.minimumPercent: Invalid value",
        ),
        (_warmup({"minimumPercent": 5.0}), f"{LB}.warmup.duration: Required value"),
    ],
)
def test_crd_invalid_cases(obj: dict[str, Any], fragment: str) -> None:
    assert any(problem.startswith(fragment) for problem in validate_manifest(obj))


@pytest.mark.parametrize(
    "obj",
    [
        _warmup({"duration": "300s"}),
        _warmup({"duration": "300s", "minimumPercent": 5.0}),
        _warmup({"duration": "300s", "minimumPercent": 5.0, "aggression": 5.0}),
        mutate(
            DR, (TP, {"connectionPool": {"http": {"http2KeepAlive": {"interval": "15s", "timeout": "5s"}}}})
        ),
    ],
)
def test_crd_valid_cases(obj: dict[str, Any]) -> None:
    assert validate_manifest(obj) == []
