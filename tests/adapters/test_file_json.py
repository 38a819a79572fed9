"""The incremental JSON registry reader: always json.loads' answer, re-parsing only what changed."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.file import FileAdapter, FileSettings
from adapters.file_json import JsonRecordsReader

_STRICT_HEAD = re.compile(r'[ \t\n\r]*\{[ \t\n\r]*"services"[ \t\n\r]*:[ \t\n\r]*\[')


def expected(text: str) -> tuple[bool, list[Any] | None]:
    """(is the text of the strict shape, json.loads(text)["services"] when it is valid and strict)."""
    try:
        top = json.loads(text, object_pairs_hook=lambda pairs: pairs)
    except (ValueError, RecursionError):
        return False, None
    # Pairs expose duplicate and extra keys; the regex the literal spelling of the key (and that the
    # top level is an object: an array of pairs would look the same).
    strict = (
        isinstance(top, list)
        and len(top) == 1
        and top[0][0] == "services"
        and isinstance(top[0][1], list)
        and _STRICT_HEAD.match(text) is not None
    )
    return strict, json.loads(text)["services"] if strict else None


def same(a: Any, b: Any) -> bool:
    """Equal, and also the same types, key order, NaNs and signed zeros: repr shows all of them."""
    return repr(a) == repr(b)


def check(reader: JsonRecordsReader, text: str) -> list[Any] | None:
    strict, want = expected(text)
    got = reader.parse(text)
    if strict:
        assert got is not None, text
        assert same(got, want), text
    else:
        # Not strict (or not JSON): None makes the caller fall back to json.loads; a list must be right.
        assert got is None or same(got, json.loads(text)["services"]), text
    return got


# --- property: equivalence with json.loads across edits ----------------------------------------------

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.integers(-20, 20),
    st.floats(),  # NaN and ±Infinity included: json writes and reads them
    st.floats(allow_nan=False, allow_infinity=False).map(lambda f: f * 1e300),
    st.text(max_size=8),
    st.sampled_from(['"', "\\", "\n", "\u2028", "é", "😀", ",]}", "\x00", "services"]),
)
numbers = st.one_of(st.integers(-(10**30), 10**30), st.floats())
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=10,
)
dump_options = st.fixed_dictionaries(
    {
        "indent": st.sampled_from([None, 0, 2, "\t"]),
        "separators": st.sampled_from([None, (",", ":"), (", ", ": "), (" ,\n", " :\r ")]),
        "ensure_ascii": st.booleans(),
    }
)


def text_edit(data: st.DataObject, text: str) -> str:
    kind = data.draw(
        st.sampled_from(
            [
                "digit",
                "extend",
                "chop",
                "whitespace",
                "char",
                "insert",
                "delete",
                "second_key",
                "truncate",
                "dup",
            ]
        )
    )
    at = data.draw(st.integers(0, len(text)))
    if kind == "digit":
        digits = [i for i, c in enumerate(text) if c.isdigit() and c.isascii()]
        if not digits:
            return text + " "
        i = data.draw(st.sampled_from(digits))
        return text[:i] + data.draw(st.sampled_from("0123456789")) + text[i + 1 :]
    if kind == "extend":
        # Right after a number: a record that is a number grows without its prefix changing.
        ends = [i for i in range(1, len(text)) if text[i - 1] in "0123456789" and text[i] in ",] \n\t\r"]
        if not ends:
            return text + "0"
        i = data.draw(st.sampled_from(ends))
        return text[:i] + data.draw(st.sampled_from(["0", "7", ".5", "e3", "E-2", " 1"])) + text[i:]
    if kind == "chop":
        # A number that loses its first character: what is left is the end of the old record.
        starts = [
            i for i in range(len(text) - 1) if text[i] in "-0123456789" and text[i + 1] in "0123456789I"
        ]
        if not starts:
            return text[:-1]
        i = data.draw(st.sampled_from(starts))
        return text[:i] + text[i + 1 :]
    if kind == "whitespace":
        marks = [i for i, c in enumerate(text) if c in ",[{:"] + [len(text) - 1]
        i = data.draw(st.sampled_from(marks)) + 1
        return text[:i] + data.draw(st.sampled_from([" ", "\n", "\t", "\r\n", "  "])) + text[i:]
    if kind == "char":
        return text[:at] + data.draw(st.sampled_from(list(',]}[{" 0-.eE\\a\ufeff'))) + text[at + 1 :]
    if kind == "insert":
        return text[:at] + data.draw(st.sampled_from(list(',]}[{" 01-.e\\'))) + text[at:]
    if kind == "delete":
        return text[:at] + text[at + 1 :]
    if kind == "second_key":
        end = text.rstrip(" \t\n\r")
        return end[:-1] + ', "other": 1}' if end.endswith("}") else text
    if kind == "dup":
        end = text.rstrip(" \t\n\r")
        return end[:-1] + ', "services": []}' if end.endswith("}") else text
    return text[:at]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data(), st.lists(st.one_of(numbers, values), max_size=12), dump_options)
def test_parse_equals_json_loads_through_any_sequence_of_edits(
    data: st.DataObject, records: list[Any], options: dict[str, Any]
) -> None:
    reader = JsonRecordsReader()
    text = json.dumps({"services": records}, **options)
    assert check(reader, text) is not None  # json.dumps writes the strict shape
    for _ in range(data.draw(st.integers(1, 8))):
        strict, current = expected(text)
        if strict and current is not None:
            records = current
        kind = data.draw(st.sampled_from(["replace", "insert", "delete", "redump", "text", "text"]))
        at = data.draw(st.integers(0, len(records)))
        if kind == "replace" and records:
            records = [*records]
            records[min(at, len(records) - 1)] = data.draw(values)
        elif kind == "insert":
            records = [*records[:at], data.draw(st.one_of(numbers, values)), *records[at:]]
        elif kind == "delete" and records:
            records = [*records[:at], *records[at + 1 :]]
        elif kind == "redump":
            options = data.draw(dump_options)
        text = text_edit(data, text) if kind == "text" else json.dumps({"services": records}, **options)
        check(reader, text)


# --- reuse ---------------------------------------------------------------------------------------------


def registry(n: int, changed: int | None = None) -> str:
    services = [
        {
            "name": f"svc-{i:04d}",
            "hosts": [f"svc-{i:04d}.example.com"],
            "ports": [{"number": 8080, "protocol": "HTTP"}],
            "endpoints": [{"address": f"10.0.{i % 256}.{1 if i != changed else 2}", "weight": 1.5}],
        }
        for i in range(n)
    ]
    return json.dumps({"services": services})


@pytest.mark.parametrize("changed", [0, 1, 500, 998, 999])
def test_one_changed_record_in_a_thousand_is_the_only_one_parsed(changed: int) -> None:
    reader = JsonRecordsReader()
    before = reader.parse(registry(1000))
    assert before is not None and reader.last_parsed == 1000
    after = reader.parse(registry(1000, changed))
    assert after is not None and reader.last_parsed == 1
    assert after == json.loads(registry(1000, changed))["services"]
    assert after[changed] is not before[changed]
    assert after[changed]["endpoints"][0]["address"].endswith(".2")
    assert all(after[i] is before[i] for i in range(1000) if i != changed)
    # And back again, from the state the second parse left.
    again = reader.parse(registry(1000))
    assert again is not None and reader.last_parsed == 1 and again[changed] == before[changed]
    assert all(again[i] is before[i] for i in range(1000) if i != changed)


def test_the_same_text_again_returns_the_same_records_without_parsing() -> None:
    reader = JsonRecordsReader()
    first = reader.parse(registry(10))
    second = reader.parse(registry(10))
    assert first is not None and second is not None and reader.last_parsed == 0
    assert all(a is b for a, b in zip(first, second, strict=True))


def test_inserted_and_deleted_records_are_the_only_ones_parsed() -> None:
    reader = JsonRecordsReader()
    plain = [{"n": i} for i in range(100)]
    old = reader.parse(json.dumps({"services": plain}))
    assert old is not None
    inserted = [*plain[:50], {"n": "new"}, *plain[50:]]
    new = reader.parse(json.dumps({"services": inserted}))
    assert new == inserted and reader.last_parsed == 1
    assert new is not None and new[49] is old[49] and new[51] is old[50] and new[-1] is old[-1]
    removed = reader.parse(json.dumps({"services": plain}))
    assert removed == plain and reader.last_parsed == 0
    assert removed is not None and all(a is b for a, b in zip(removed, old, strict=True))
    deleted = reader.parse(json.dumps({"services": plain[:10] + plain[11:]}))
    assert deleted == plain[:10] + plain[11:] and reader.last_parsed == 0
    assert deleted is not None and deleted[10] is old[11] and deleted[9] is old[9]


def test_repeated_records_are_never_the_same_object_twice() -> None:
    # Identical records make the common prefix and suffix overlap: neither may be reused twice.
    reader = JsonRecordsReader()
    for n in [2, 3, 5, 4, 1, 0, 3]:
        got = reader.parse(json.dumps({"services": [{"x": 0}] * n}))
        assert got == [{"x": 0}] * n
        assert len({id(r) for r in got or []}) == n


# --- edge cases ----------------------------------------------------------------------------------------


def test_a_number_record_that_grows_is_parsed_again() -> None:
    reader = JsonRecordsReader()
    assert reader.parse('{"services": [12]}') == [12]
    assert reader.parse('{"services": [123]}') == [123]
    assert reader.parse('{"services": [1, 123]}') == [1, 123]
    assert reader.parse('{"services": [1, 123e2]}') == [1, 12300.0]
    assert reader.parse('{"services": [1, 123e2, 5]}') == [1, 12300.0, 5]
    assert reader.parse('{"services": [1, 123e2, -5]}') == [1, 12300.0, -5]
    assert reader.parse('{"services": [-1, 123e2, -5]}') == [-1, 12300.0, -5]
    assert reader.parse('{"services": [-1, 123e2, -Infinity]}') == [-1, 12300.0, float("-inf")]


_TWO = '{"services": [{"a": 1}, {"b": 2}]}'
_XS = '{"services": [{"x": 0}, {"x": 0}]}'


@pytest.mark.parametrize(
    ("old", "new", "parsed"),
    [
        (_TWO, '{"services": [{"a": 3}, {"b": 2}]}', 1),  # first record
        (_TWO, '{"services": [{"a": 1}, {"b": 3}]}', 1),  # last record
        (_TWO, '{"services": [{"a": 1}, {"b": 2}] }', 0),  # the ]} tail
        (_TWO, '{"services": [{"a": 1}, {"b": 2}]}\n', 0),
        (_TWO, '{"services": [{"a": 1}, {"b": 2},{"c": 3}]}', 1),  # appended
        (_TWO, '{"services": [{"a": 0}, {"a": 1}, {"b": 2}]}', 1),  # prepended
        (_TWO, '{"services": [{"a": 1}]}', 0),  # last deleted
        (_TWO, '{"services": [{"b": 2}]}', 0),  # first deleted
        (_TWO, '{"services": []}', 0),
        ('{"services": []}', '{"services": [{"a": 1}]}', 1),
        (_TWO, '{"services": [{"a": 1} , {"b": 2}]}', 0),  # whitespace only
        (_TWO, '{"services":[{"a": 1},{"b": 2}]}', 1),  # whitespace before a and between a and b
        (_TWO, ' {\n "services" : [ {"a": 1} ,\n\t{"b": 2}\r\n] } ', 2),  # whitespace everywhere
        (_TWO, '{"services": [{"a" : 1}, {"b": 2}]}', 1),  # whitespace inside a record
        # Repeated records: where the common prefix ends and the suffix begins is ambiguous.
        (_XS, '{"services": [{"x": 0}, {"x": 0}, {"x": 0}]}', 1),
        ('{"services": [{"x": 0}, {"x": 0}, {"x": 0}]}', _XS, 0),
        # Numbers end where the next character says so; literals end on their own.
        ('{"services": [1.0, 2.0]}', '{"services": [1.0, 2.0 ]}', 1),
        ('{"services": [1.0, 2.0]}', '{"services": [1.0 , 2.0]}', 1),
        ('{"services": [1.0, 2.0]}', '{"services": [1.0, 2.0e1]}', 1),
        ('{"services": [true, null]}', '{"services": [true , null ]}', 1),
        # The new text's record is the end of an old one: not an old record, even if the rest matches.
        ('{"services": [123.0, 5.0]}', '{"services": [23.0, 5.0]}', 1),
        ('{"services": [-1.0, 2.0]}', '{"services": [1.0, 2.0]}', 1),
        ('{"services": [-Infinity, 2.0]}', '{"services": [Infinity, 2.0]}', 1),
        # Only the first character of a record changed: it is just outside the common suffix.
        ('{"services": [1.0, 2.0]}', '{"services": [1.0, 3.0]}', 1),
        ('{"services": [2.0, 1.0]}', '{"services": [3.0, 1.0]}', 1),
        ('{"services": [{"a": 1}, [1]]}', '{"services": [{"a": 1}, {1]]}', -1),
        ('{"services": [1.5, -Infinity]}', '{"services": [1.5, -Infinity, NaN]}', 1),
    ],
)
def test_edits_anywhere_give_json_loads_result(old: str, new: str, parsed: int) -> None:
    reader = JsonRecordsReader()
    before = reader.parse(old)
    assert before is not None and same(before, json.loads(old)["services"])
    after = reader.parse(new)
    if parsed < 0:  # invalid
        assert after is None
        return
    assert after is not None and same(after, json.loads(new)["services"])
    assert reader.last_parsed == parsed
    # None, booleans and small ints are singletons in CPython: identity says nothing about them.
    if all(isinstance(r, (dict, list, float)) for r in after):
        assert sum(1 for a in after if any(a is b for b in before)) == len(after) - parsed


@pytest.mark.parametrize(
    "text",
    [
        '\ufeff{"services": []}',  # json.loads refuses a BOM with its own message
        '{"services": [], "services": [1]}',
        '{"services": [1], "other": 2}',
        '{"other": 2, "services": [1]}',
        '{"services": null}',
        '{"services": {"a": 1}}',
        '{"servic\\u0065s": [1]}',
        '{"services": [1]} x',
        '{"services": [1]}}',
        '{"services": [1,]}',
        '{"services": [,1]}',
        '{"services": [1 2]}',
        '{"services": [1]',
        '{"services": [01]}',
        '{"services": ["\x01"]}',
        '{"services": [1]}\x0c',
        "",
        "[]",
        "null",
    ],
)
def test_texts_not_of_the_strict_shape_are_left_to_json_loads(text: str) -> None:
    reader = JsonRecordsReader()
    assert reader.parse('{"services": [1, 2]}') == [1, 2]
    assert reader.parse(text) is None
    # The state was forgotten: the next text is parsed from scratch, correctly.
    assert reader.parse('{"services": [1, 2]}') == [1, 2] and reader.last_parsed == 2


def test_an_invalid_edit_forgets_the_state() -> None:
    reader = JsonRecordsReader()
    assert reader.parse('{"services": [{"a": 1}, {"b": 2}, {"c": 3}]}') is not None
    assert reader.parse('{"services": [{"a": 1}, {"b": 2,}, {"c": 3}]}') is None
    assert reader.parse('{"services": [{"a": 1}, {"b": 2}, {"c": 3}]}') is not None
    assert reader.last_parsed == 3


def test_deep_nesting_is_refused_not_raised() -> None:
    deep = '{"services": [' + "[" * 100_000 + "]" * 100_000 + "]}"
    assert JsonRecordsReader().parse(deep) is None


# --- through the adapter -------------------------------------------------------------------------------


def write_json(path: Path, addresses: list[str]) -> None:
    services = [
        {
            "name": f"s{i}",
            "hosts": [f"s{i}.example.com"],
            "ports": [{"number": 80}],
            "endpoints": [{"address": a}],
        }
        for i, a in enumerate(addresses)
    ]
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"services": services}))
    os.replace(tmp, path)  # a new inode: the adapter sees a changed file even within one mtime tick


def test_adapter_keeps_unchanged_services_as_the_same_objects(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    write_json(path, ["10.0.0.1", "10.0.0.2", "10.0.0.3"])
    files = FileAdapter("files", FileSettings(path=path, watch_interval=0.05))
    first = {s.name: s for s in files.discover().services}
    write_json(path, ["10.0.0.1", "10.0.0.22", "10.0.0.3"])
    snap = files.discover()
    second = {s.name: s for s in snap.services}
    assert snap.ok and files._json_reader.last_parsed == 1
    assert second["s0"] is first["s0"] and second["s2"] is first["s2"]
    assert second["s1"] is not first["s1"] and second["s1"].endpoints[0].address == "10.0.0.22"
    # A file outside the strict shape still goes through json.loads, with its usual error.
    path.write_text('{"services": [], "extra": 1}')
    assert "top level" in (files.discover().error or "")
    path.write_text('{"services": [1,]}')
    assert "not valid JSON" in (files.discover().error or "")
