"""Traffic-policy hints: what a registry asks for about traffic *to* a service, in one vocabulary.

A team that registers a service can ask for TLS toward it without touching syncd's config. Each
registry spells that in its own metadata; the helpers here turn those spellings into the
registry-neutral keys of ``Service.policy_hints``:

- ``tls.mode``: Consul ``syncd-tls-mode``, Cloud Map ``SYNCD_TLS_MODE``, DNS SRV ``_https._tcp.``
  as the record's service label (means ``SIMPLE``);
- ``tls.sni``: ``syncd-tls-sni``, ``SYNCD_TLS_SNI``;
- ``tls.credential_name``: ``syncd-tls-credential-name``, ``SYNCD_TLS_CREDENTIAL_NAME``;
- ``tls.subject_alt_names`` (comma-separated): ``syncd-tls-san``, ``SYNCD_TLS_SAN``.

Metadata keys match whatever their case and whether words are joined by ``-`` or ``_``.
Values are only trimmed here: the renderer validates them, and a bad one costs that override
(a ``Dropped`` record), never the service. Another ``syncd-tls-*`` key becomes ``tls.<rest>``,
so the renderer reports it as unknown instead of it vanishing silently.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from syncd.model.frozen import FrozenMap

TLS_MODE = "tls.mode"
TLS_SNI = "tls.sni"
TLS_CREDENTIAL_NAME = "tls.credential_name"
TLS_SUBJECT_ALT_NAMES = "tls.subject_alt_names"
HINT_KEYS = (TLS_MODE, TLS_SNI, TLS_CREDENTIAL_NAME, TLS_SUBJECT_ALT_NAMES)

_PREFIX = "syncd-tls-"
_TLS_FIELDS = {
    "mode": TLS_MODE,
    "sni": TLS_SNI,
    "credential-name": TLS_CREDENTIAL_NAME,
    "san": TLS_SUBJECT_ALT_NAMES,
}


def is_hint_key(key: object) -> bool:
    """True for a ``syncd-tls-*`` metadata key: a request to syncd, not a label for the workload."""
    return str(key).strip().lower().replace("_", "-").startswith(_PREFIX)


def from_metadata(metadata: Mapping[str, object] | None) -> dict[str, str]:
    """Hints from ``syncd-tls-*`` keys in any key/value metadata (case and ``-``/``_`` ignored)."""
    hints: dict[str, str] = {}
    for raw_key, raw_value in (metadata or {}).items():
        key = str(raw_key).strip().lower().replace("_", "-")
        if not key.startswith(_PREFIX) or raw_value is None:
            continue
        value = str(raw_value).strip()
        suffix = key[len(_PREFIX) :]
        if value and suffix:
            hints[_TLS_FIELDS.get(suffix, "tls." + suffix.replace("-", "_"))] = value
    return hints


def from_consul_meta(meta: Mapping[str, object] | None) -> dict[str, str]:
    """Hints from one Consul instance's ``Service.Meta`` (``syncd-tls-mode: SIMPLE`` ...)."""
    return from_metadata(meta)


def from_cloudmap_attributes(attributes: Mapping[str, object] | None) -> dict[str, str]:
    """Hints from one Cloud Map instance's custom attributes (``SYNCD_TLS_MODE=SIMPLE`` ...)."""
    return from_metadata(attributes)


def from_dns_srv_name(srv: str) -> dict[str, str]:
    """``_https._tcp.<host>`` says the service speaks TLS: ask for ``tls.mode=SIMPLE``."""
    first = srv.strip().lower().split(".", 1)[0]
    return {TLS_MODE: "SIMPLE"} if first == "_https" else {}


def agreed(per_instance: Iterable[Mapping[str, str]]) -> FrozenMap[str, str]:
    """One service's hints from its instances' hints: per key, what most instances say.

    An instance without the key votes for "no override", and a tie means no override: while a
    rollout changes the metadata of some instances, the service follows the majority and never
    flips on a coin toss.
    """
    sets = list(per_instance)
    keys = sorted({key for hints in sets for key in hints})
    result: dict[str, str] = {}
    for key in keys:
        votes = Counter(hints.get(key) for hints in sets)
        ranked = votes.most_common()
        winner, count = ranked[0]
        if winner is not None and (len(ranked) == 1 or ranked[1][1] < count):
            result[key] = winner
    return FrozenMap(result)
