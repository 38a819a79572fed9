"""YAML loading: libyaml's speed without its stack overflow on absurd nesting."""

from __future__ import annotations

import pytest

from syncd import yamlio


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 50_000 + "]" * 50_000,
        "a: " + "{b: " * 2_000 + "1" + "}" * 2_000,
        "a:\n  " + "- " * 50_000 + "x",
        "a:\n- " + "? " * 1_200 + "x",
        "a: " + "[" * 1_001 + "]" * 1_001,
    ],
    ids=["flow-lists", "flow-maps", "compact-sequences", "compact-keys", "just-over"],
)
def test_absurd_nesting_is_an_error_not_a_crash(text: str) -> None:
    with pytest.raises(yamlio.YAMLError, match="nested deeper than 1000 levels"):
        yamlio.load(text)


def test_deep_but_sane_nesting_and_lookalikes_still_load() -> None:
    assert yamlio.load("a: " + "[" * 999 + "]" * 999) is not None
    assert yamlio.load("a:\n" + ("- " * 500 + "x\n") * 3)["a"][0] is not None
    # brackets in strings and negative numbers in lists are not nesting
    many = "\n".join(f'- {{name: "s{i}", hosts: ["[x]"], n: - -{i}}}' for i in range(1_500))
    with pytest.raises(yamlio.YAMLError):  # `- -1` inside flow is invalid YAML, reported as such
        yamlio.load(many)
    loaded = yamlio.load("\n".join(f'- {{name: "s{i}", hosts: ["[x]"], n: -{i}}}' for i in range(1_500)))
    assert len(loaded) == 1_500 and loaded[3]["n"] == -3
