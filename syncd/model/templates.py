"""Host templates such as ``{service}.service.consul``: which fields they use, checked once at load."""

from __future__ import annotations

import string
from collections.abc import Set


def template_fields(template: str, allowed: Set[str]) -> set[str]:
    """The ``{field}`` names ``template`` uses.

    Raises ValueError (the message names the problem) for a malformed template, a field with a
    format spec or conversion, a field outside ``allowed``, or a template without ``{service}``
    (every service needs a host of its own).
    """
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"host template {template!r} is malformed: {exc}") from None
    fields: set[str] = set()
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in allowed or spec or conversion:
            choices = ", ".join("{" + f + "}" for f in sorted(allowed))
            raise ValueError(f"host template: unknown placeholder {{{name}}} (use {choices})")
        fields.add(name)
    if "service" not in fields:
        raise ValueError("host template must use {service} so each service gets its own host")
    return fields
