"""YAML in and out through libyaml when it is available (10-20x faster than pure Python at scale).

A leaf utility: adapters, config and targets may all use it. libyaml's composer recurses in C
without a limit: about 50,000 nested ``[`` (or ``- - - ...`` on one line) overflow the C stack
and kill the process, so ``load`` refuses texts nested deeper than ``MAX_DEPTH`` first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, TextIO

import yaml

#: Far beyond any registry or config (they nest fewer than 10 levels), far below a stack overflow.
MAX_DEPTH = 1000
_NOT_FLOW = re.compile(r"[^\[\]{}]+")
# Two block indicators in a row on one line (`- - x`, `? - x`): nesting without indentation.
# Each pattern starts with a literal, which re scans for at C speed.
_COMPACT_PAIRS = (re.compile(r"-[ \t]+[-?]"), re.compile(r"\?[ \t]+[-?]"))
_COMPACT_RUN = re.compile(r"(?:[-?][ \t]+){2,}")

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class TooDeep(yaml.YAMLError):
    """The text nests deeper than :data:`MAX_DEPTH` levels."""


def load(text: str) -> Any:
    """Parse one YAML document with the safe loader; :class:`TooDeep` if it nests absurdly deep."""
    _check_depth(text)
    return yaml.load(text, Loader=_Loader)


def _check_depth(text: str) -> None:
    """Bound the nesting without parsing: flow brackets, then block indicators in a row on a line.

    Block nesting through indentation needs a line per level, each indented further: a depth that
    could hurt would take gigabytes. Brackets inside quoted strings count too; a string would need
    a thousand unbalanced ones to be refused. Cheap for real files: a few C-speed scans.
    """
    if any(p.search(text) for p in _COMPACT_PAIRS):
        deepest = max((len(m.group().split()) for m in _COMPACT_RUN.finditer(text)), default=0)
        if deepest >= MAX_DEPTH:
            raise TooDeep(f"nested deeper than {MAX_DEPTH} levels")
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return
    flow = _NOT_FLOW.sub("", text)
    for _ in range(MAX_DEPTH):  # each pass removes the innermost level of pairs
        inner = flow.replace("[]", "").replace("{}", "")
        if inner == flow:
            return
        flow = inner
    if flow.replace("[]", "").replace("{}", "") != flow:
        raise TooDeep(f"nested deeper than {MAX_DEPTH} levels")


def dump(data: Any) -> str:
    """One document, keys in insertion order."""
    return str(yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True))


def dump_all(documents: Iterable[Any], stream: TextIO) -> None:
    """Multi-document YAML with ``---`` before each document."""
    yaml.dump_all(
        documents,
        stream,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        explicit_start=True,
        allow_unicode=True,
    )


YAMLError = yaml.YAMLError
