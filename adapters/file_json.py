"""Incremental reading of a JSON registry text ``{"services": [record, ...]}`` for the ``file`` adapter.

A generated registry is one big JSON text that changes a few records at a time. Re-parsing all of it
on every change dominates the cost of propagating one edit (parsing, comparing every record with its
previous version, freeing the previous parse). :class:`JsonRecordsReader` keeps the previous text and
where each record lies in it, re-parses only the records between the common prefix and the common
suffix of the old and new texts, and hands back the very same objects for the records around them,
so that callers can recognise unchanged records by identity.

Only the strict shape is handled; anything else (other or duplicate keys, an escaped key, a BOM,
``services`` not a list, invalid JSON) makes :meth:`JsonRecordsReader.parse` return ``None`` and the
caller falls back to :func:`json.loads`, which produces the proper result or error.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from typing import Any

# Exactly json's whitespace set: anything wider would accept texts json.loads rejects.
_WS = r"[ \t\n\r]*"
_ws_run = re.compile(_WS).match
# The key must be spelled literally: an escaped spelling would need decoding to be recognised, and
# json.loads is the judge of such texts anyway.
_head = re.compile(_WS + r"\{" + _WS + r'"services"' + _WS + ":" + _WS + r"\[" + _WS).match
_tail = re.compile(_WS + r"\}" + _WS).fullmatch

_DIGITS = frozenset("0123456789")

# Comparing slices this long runs at memcmp speed while never copying more than a slice at a time.
_CHUNK = 1 << 16


class _Invalid(Exception):
    """The text is not of the strict shape or not valid JSON: give up and let json.loads judge."""


class JsonRecordsReader:
    """Parses successive versions of a registry text, re-decoding only the records that changed.

    Records whose text did not change are returned as the same objects as before, so they must not be
    mutated by the caller. Only the last text, its record spans and its records are kept.
    """

    last_parsed: int
    """How many records the last :meth:`parse` decoded afresh (the others were reused)."""

    def __init__(self) -> None:
        # The same decoder settings as json.loads, hence the same values for the same text.
        self._decode = json.JSONDecoder().raw_decode
        self._text: str | None = None
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._records: list[Any] = []
        self.last_parsed = 0

    def parse(self, text: str) -> list[Any] | None:
        """The ``services`` list of ``text``, equal to ``json.loads(text)["services"]``.

        ``None`` when the text is not of the strict shape ``{"services": [...]}`` or is not valid JSON;
        the caller then parses it with :func:`json.loads`. Never raises for bad input.
        """
        self.last_parsed = 0
        if text == self._text:
            return list(self._records)
        try:
            return self._parse(text)
        except (_Invalid, ValueError, RecursionError):
            # Spans of an unfinished parse are meaningless: the next text is read from scratch.
            self._forget()
            return None

    def _forget(self) -> None:
        self._text = None
        self._starts, self._ends, self._records = [], [], []

    def _parse(self, text: str) -> list[Any]:
        head = _head(text)
        if head is None:
            raise _Invalid
        old = self._text
        records: list[Any] = []
        starts: list[int] = []
        ends: list[int] = []
        suffix_from = len(text) + 1  # no common suffix: never reached
        delta = 0
        if old is not None:
            prefix = _common_prefix(old, text)
            # A record inside the common prefix is unchanged if its value ends on its own (string,
            # object, array, literal); a number also needs the character after it to be common, as
            # that one ends it (a record 12 that became 123 has the prefix 12).
            kept = bisect_right(self._ends, prefix - 1)
            if kept < len(self._ends) and self._ends[kept] == prefix and old[prefix - 1] not in _DIGITS:
                kept += 1
            records = self._records[:kept]
            starts = self._starts[:kept]
            ends = self._ends[:kept]
            # The suffix may reach back into the common prefix (an inserted record that begins like
            # the next one), but not into a reused record: a record must not be reused twice.
            reused = ends[-1] if ends else 0
            suffix = _common_suffix(old, text, min(len(old), len(text)) - reused)
            delta = len(text) - len(old)
            suffix_from = len(text) - suffix
        pos = head.end()
        if ends:
            pos = self._separator(text, ends[-1])
        elif text.startswith("]", pos):
            if _tail(text, pos + 1) is None:
                raise _Invalid
            pos = -1  # an empty list
        while pos >= 0:
            if pos >= suffix_from:
                # From here on the new text equals the old one: if a record started at the same
                # place there, it and everything after it (the closing brackets included) is as before.
                j = self._record_at(pos - delta)
                if j is not None:
                    records.extend(self._records[j:])
                    starts.extend([s + delta for s in self._starts[j:]])
                    ends.extend([e + delta for e in self._ends[j:]])
                    break
            record, end = self._decode(text, pos)
            self.last_parsed += 1
            records.append(record)
            starts.append(pos)
            ends.append(end)
            pos = self._separator(text, end)
        self._text, self._starts, self._ends, self._records = text, starts, ends, records
        return list(records)

    def _separator(self, text: str, end: int) -> int:
        """Where the next record starts after a record ending at ``end``; -1 after the last one
        (once the closing ``]}`` and the end of the text are checked)."""
        pos = _skip_ws(text, end)
        if text.startswith(",", pos):
            return _skip_ws(text, pos + 1)
        if text.startswith("]", pos) and _tail(text, pos + 1) is not None:
            return -1
        raise _Invalid

    def _record_at(self, start: int) -> int | None:
        """The index of the previous text's record that started at ``start``, if any."""
        j = bisect_left(self._starts, start)
        return j if j < len(self._starts) and self._starts[j] == start else None


def _skip_ws(text: str, pos: int) -> int:
    match = _ws_run(text, pos)
    return match.end() if match is not None else pos  # the pattern matches the empty string: never None


def _common_prefix(a: str, b: str) -> int:
    """The length of the longest common prefix of ``a`` and ``b``."""
    return _common_run(lambda lo, hi: a[lo:hi] == b[lo:hi], min(len(a), len(b)))


def _common_suffix(a: str, b: str, limit: int) -> int:
    """The length of the longest common suffix of ``a`` and ``b``, at most ``limit`` characters."""
    la, lb = len(a), len(b)
    return _common_run(lambda lo, hi: a[la - hi : la - lo] == b[lb - hi : lb - lo], limit)


def _common_run(same: Callable[[int, int], bool], limit: int) -> int:
    """The largest n <= ``limit`` with ``same(0, n)``, where ``same(lo, hi)`` compares the characters
    ``lo`` to ``hi`` counted from the end the run starts at: fixed-size chunks first, then bisect."""
    lo = 0
    while lo < limit:
        hi = min(lo + _CHUNK, limit)
        if not same(lo, hi):
            break
        lo = hi
    else:
        return limit
    # Positions [0, lo) are the same and [lo, hi) are not all the same: bisect within.
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if same(lo, mid):
            lo = mid
        else:
            hi = mid
    return lo
