"""values.schema.json turns a wrong value into an install error; versions and docs stay in step."""

from __future__ import annotations

import json
import re
from typing import Any

import helm_python
import pytest
import yaml

from tests.chart.helm import CHART_DIR, ROOT, VARIANTS, chart, render

BAD_VALUES: dict[str, tuple[dict[str, Any], str]] = {
    "negative replicas": ({"replicas": -1}, "/replicas"),
    "replicas as text": ({"replicas": "two"}, "/replicas"),
    "unknown mode": ({"mode": "daemonset"}, "/mode"),
    "unknown top-level key": ({"replica": 2}, "'replica' not allowed"),
    "unknown nested key": ({"serviceAccount": {"anotations": {}}}, "'anotations' not allowed"),
    "tag as number": ({"image": {"tag": 1.2}}, "/image/tag"),
    "port out of range": ({"service": {"port": 70000}}, "/service/port"),
    "pull policy": ({"image": {"pullPolicy": "Sometimes"}}, "/image/pullPolicy"),
    "bool as text": ({"rbac": {"clusterWide": "yes"}}, "/rbac/clusterWide"),
    "namespace not a DNS label": ({"rbac": {"extraNamespaces": ["Team_A"]}}, "/rbac/extraNamespaces/0"),
    "token inlined": ({"consul": {"token": "s3cr3t"}}, "'token' not allowed"),
    "secret without key": (
        {"consul": {"tokenSecret": {"name": "acl", "key": ""}}},
        "/consul/tokenSecret/key",
    ),
    "registry without ports": (
        {"networkPolicy": {"registries": [{"cidrs": ["10.0.0.0/8"]}]}},
        "/networkPolicy/registries/0",
    ),
    "config unknown key": ({"config": {"ownr": "x"}}, "'ownr' not allowed"),
    "config unknown target key": ({"config": {"target": {"namepsace": "x"}}}, "'namepsace' not allowed"),
    "config target type": ({"config": {"target": {"type": "s3"}}}, "/config/target/type"),
    "config adapters not a list": ({"config": {"adapters": {"name": "x"}}}, "/config/adapters"),
    "config no adapters": ({"config": {"adapters": []}}, "/config/adapters"),
    "config adapter without type": ({"config": {"adapters": [{"name": "x"}]}}, "/config/adapters/0"),
    "config percent": (
        {"config": {"safety": {"max_delete_percent": 150}}},
        "/config/safety/max_delete_percent",
    ),
    "config duration": ({"config": {"leader_election": {"lease_duration": "15 s"}}}, "lease_duration"),
    "config enabled as text": ({"config": {"leader_election": {"enabled": "on"}}}, "/config/leader_election"),
}


@pytest.mark.parametrize("case", BAD_VALUES)
def test_bad_values_fail_at_install_time(case: str) -> None:
    values, where = BAD_VALUES[case]
    with pytest.raises(helm_python.HelmValuesError, match=re.escape(where)):
        chart().validate_schema(values)
    # the same values fail a render (what `helm install` runs) and lint
    with pytest.raises(helm_python.HelmValuesError):
        render(values)
    assert helm_python.lint(CHART_DIR, values)["errors"]


@pytest.mark.parametrize("variant", VARIANTS)
def test_good_values_pass(variant: str) -> None:
    chart().validate_schema(VARIANTS[variant])


def test_config_accepts_exactly_syncds_config_keys() -> None:
    from syncd.config import COMMON_ADAPTER_KEYS, Config

    config_schema = chart().schema["properties"]["config"]
    assert set(config_schema["properties"]) == set(Config.model_fields)
    adapter_keys = set(config_schema["properties"]["adapters"]["items"]["properties"])
    assert adapter_keys == set(COMMON_ADAPTER_KEYS)


def _objects(schema: Any, path: str = "") -> list[tuple[str, dict[str, Any]]]:
    found = []
    if isinstance(schema, dict):
        if "properties" in schema:
            found.append((path, schema))
        for key, value in schema.items():
            found.extend(_objects(value, f"{path}/{key}"))
    elif isinstance(schema, list):
        for index, value in enumerate(schema):
            found.extend(_objects(value, f"{path}/{index}"))
    return found


def test_the_charts_own_objects_are_closed() -> None:
    schema = json.loads((CHART_DIR / "values.schema.json").read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    open_ = [path for path, obj in _objects(schema) if obj.get("additionalProperties") is not False]
    # an adapter has its type's own keys, checked by `syncd check-config`
    assert open_ == ["/properties/config/properties/adapters/items"]


def test_app_version_tracks_the_package_version() -> None:
    # tomllib is 3.11+, and syncd supports 3.10: the [project] table's version line is enough
    project = (ROOT / "pyproject.toml").read_text().split("[project]", 1)[1]
    version = re.search(r'^version = "([^"]+)"$', project, re.MULTILINE)[1]  # type: ignore[index]
    metadata = yaml.safe_load((CHART_DIR / "Chart.yaml").read_text())
    assert metadata["apiVersion"] == "v2"
    assert metadata["version"] == "0.1.0"
    assert metadata["appVersion"] == version
    assert chart().metadata["appVersion"] == version
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"ARG VERSION={version}\n" in dockerfile


def test_every_value_is_documented() -> None:
    """Each key in values.yaml has a comment on the line before it or at its end."""
    lines = (CHART_DIR / "values.yaml").read_text().splitlines()
    undocumented = []
    for number, line in enumerate(lines):
        match = re.match(r"^\s*(?:- )?([A-Za-z_][\w.-]*):", line)
        if not match:
            continue
        before = next((p.strip() for p in reversed(lines[:number]) if p.strip()), "")
        if "#" not in line and not before.startswith("#"):
            undocumented.append(f"{number + 1}: {line.strip()}")
    assert undocumented == []
