"""`endpoint_mode` and `manage_workload_entries`: parsing, managed kinds, and contradictions."""

from __future__ import annotations

import pytest

from syncd.config import ConfigError, parse_config


def adapters(*modes: str | None) -> str:
    lines = ["adapters:"]
    for index, mode in enumerate(modes):
        extra = f", endpoint_mode: {mode}" if mode else ""
        lines.append(f"  - {{name: a{index}, type: file, path: /tmp/r{index}.yaml{extra}}}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("text", "modes", "kinds"),
    [
        (adapters(None), ["inline"], ("ServiceEntry",)),
        (adapters("inline", "auto"), ["inline", "auto"], ("ServiceEntry", "WorkloadEntry")),
        (adapters("workloadentry"), ["workloadentry"], ("ServiceEntry", "WorkloadEntry")),
        ("manage_workload_entries: true\n" + adapters(None), ["inline"], ("ServiceEntry", "WorkloadEntry")),
        (
            "traffic_policy: {}\n" + adapters("auto"),
            ["auto"],
            ("ServiceEntry", "DestinationRule", "WorkloadEntry"),
        ),
    ],
)
def test_modes_and_managed_kinds(text: str, modes: list[str], kinds: tuple[str, ...]) -> None:
    config = parse_config(text, {})
    assert [a.endpoint_mode for a in config.adapters] == modes
    assert config.managed_kinds == kinds


def test_endpoint_mode_is_not_an_adapter_setting() -> None:
    config = parse_config(adapters("auto"), {})
    assert "endpoint_mode" not in type(config.adapters[0].settings).model_fields


def test_unknown_mode_names_its_key_path() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(adapters("huge"), {})
    assert any(p.startswith("adapters[0].endpoint_mode:") for p in info.value.problems)


def test_workload_entries_off_contradicts_the_mode() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config("manage_workload_entries: false\n" + adapters("inline", "auto"), {})
    [problem] = info.value.problems
    assert problem.startswith("adapters[1].endpoint_mode: is 'auto', but manage_workload_entries is false")
