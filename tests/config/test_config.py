"""Config loading: defaults, env expansion, durations, and errors that name their key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.config import ConfigError, load_config, parse_config

MINIMAL = "adapters:\n  - {name: files, type: file, path: /tmp/registry.yaml}\n"


def problems(text: str, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, environ or {})
    return info.value.problems


def test_defaults() -> None:
    config = parse_config(MINIMAL, {})
    assert config.owner == "syncd"
    assert config.target.type == "kubernetes" and config.target.namespace == "istio-system"
    assert config.safety.max_delete_percent == 50 and config.server.port == 8080
    assert config.leader_election_enabled and config.leader_election.lease_name == "syncd"
    assert config.adapters[0].interval == 30.0
    assert str(config.adapters[0].settings.path) == "/tmp/registry.yaml"  # type: ignore[attr-defined]


def test_env_expansion_with_default_and_escape() -> None:
    text = "owner: ${OWNER}\ntarget: {type: stdout, namespace: '${NS:-mesh}'}\n" + MINIMAL.replace(
        "/tmp/registry.yaml", "'/srv/$${literal}'"
    )
    config = parse_config(text, {"OWNER": "team-a"})
    assert config.owner == "team-a" and config.target.namespace == "mesh"
    assert str(config.adapters[0].settings.path) == "/srv/${literal}"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("owner: ${MISSING}\n" + MINIMAL, "owner: environment variable MISSING is not set"),
        (MINIMAL.replace("}", ", interval: 5 parsecs}"), "adapters[0].interval: invalid duration"),
        (MINIMAL.replace("}", ", interval: 0s}"), "adapters[0].interval: interval must be at least 1s"),
        (MINIMAL.replace("path:", "pth:"), "adapters[0].pth: unknown key"),
        (MINIMAL + "  - {name: files, type: file, path: /x}\n", "adapters[1].name: duplicate adapter name"),
        (
            MINIMAL.replace("type: file", "type: zookeeper"),
            "adapters[0].type: unknown adapter type 'zookeeper'",
        ),
        (MINIMAL.replace("files", "Bad_Name"), "adapters[0].name: String should match pattern"),
        ("targett: {}\n" + MINIMAL, "targett: unknown key"),
        ("target: {type: directory}\n" + MINIMAL, "target: path is required for the directory target"),
        ("target: {type: s3}\n" + MINIMAL, "target.type: Input should be"),
        ("safety: {max_delete_percent: 150}\n" + MINIMAL, "safety.max_delete_percent: Input should be less"),
        ("server: {port: http}\n" + MINIMAL, "server.port: Input should be a valid integer"),
        ("adapters: []\n", "adapters: Tuple should have at least 1 item"),
        ("owner: x\n", "adapters: required key is missing"),
        ("- just\n- a list\n", "the top level must be a mapping"),
        ("adapters: [\n", "not valid YAML (line"),
        ("leader_election: {lease_duration: 5s}\n" + MINIMAL, "leader_election: need retry_period"),
    ],
)
def test_errors_name_the_key_path(text: str, expected: str) -> None:
    found = problems(text)
    assert any(expected in p for p in found), found


def test_every_problem_is_reported_at_once() -> None:
    found = problems("foo: 1\nadapters:\n  - {name: a, type: file}\n  - {name: a, type: nope}\n")
    assert len(found) >= 4


def test_relative_paths_are_taken_from_the_config_folder(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(
        "target: {type: directory, path: out}\n" + MINIMAL.replace("/tmp/registry.yaml", "reg.yaml")
    )
    config = load_config(tmp_path / "config.yaml")
    assert config.target.path == tmp_path / "out"
    assert config.adapters[0].settings.path == tmp_path / "reg.yaml"  # type: ignore[attr-defined]


def test_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "missing.yaml")


def test_home_and_relative_paths_for_kubeconfig(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(
        "target: {kubeconfig: '~/kc'}\n" + MINIMAL.replace("/tmp/registry.yaml", "r.yaml")
    )
    config = load_config(tmp_path / "c.yaml")
    assert config.target.kubeconfig == Path.home() / "kc"
    (tmp_path / "d.yaml").write_text("target: {kubeconfig: kc}\n" + MINIMAL)
    assert load_config(tmp_path / "d.yaml").target.kubeconfig == tmp_path / "kc"
