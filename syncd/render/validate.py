"""Check rendered Istio objects the way a real cluster would, before syncd sends them.

A cluster accepts an object in two steps, and this module follows the same order:

1. **The API server**: ObjectMeta rules, the CRD's structural OpenAPI schema for ``v1`` (run
   with jsonschema; unknown fields are problems because the server prunes or rejects them),
   ``x-kubernetes-list-type`` uniqueness, and the CRD's CEL rules, hand-translated below.
2. **istiod's validating webhook** (``pkg/config/validation`` in istio/istio) plus the limits in
   DESIGN.md ("Valid Istio output"). Like the real webhook it only ever sees objects the API
   server accepted, so its rules run only when step 1 found nothing: fixing a first batch of
   problems can reveal a second one, exactly as with ``kubectl apply``. Rules that the CRD
   already enforces (CEL or schema) are not repeated here, so each mistake is reported once.

Every problem is one string that starts with the field path, e.g.
``spec.endpoints[3].ports: port name must be valid``. Pure: the CRDs are read once (package
data) and each kind's validator is compiled on first use.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence, Sized
from dataclasses import dataclass
from fractions import Fraction
from importlib import resources
from typing import Any, Final

import yaml
from jsonschema import Draft7Validator, ValidationError, validators
from jsonschema.protocols import Validator

from syncd.model.addresses import is_ip

__all__ = ["InvalidManifest", "ensure_valid", "validate_manifest"]

API_VERSION: Final = "networking.istio.io/v1"
_CRD_FILES: Final = {
    "ServiceEntry": "istio-serviceentry-crd.yaml",
    "DestinationRule": "istio-destinationrule-crd.yaml",
    "WorkloadEntry": "istio-workloadentry-crd.yaml",
}

Problems = list[str]


class InvalidManifest(ValueError):
    """An object a cluster would reject; ``problems`` holds every reason, each led by its path."""

    def __init__(self, problems: Sequence[str], *, name: str = "") -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        prefix = f"{name}: " if name else ""
        super().__init__(prefix + "; ".join(self.problems))


def validate_manifest(obj: Mapping[str, Any]) -> list[str]:
    """Problems that would make the API server or istiod reject obj; [] when valid.

    ``obj`` is the object as it will be serialised (dicts, lists, str, int, float, bool, None).
    istiod's rules are only checked once the API server's pass, as in a real cluster.
    """
    if not isinstance(obj, Mapping):
        return [f"<root>: Invalid value: {_show(obj)}: must be an object"]
    obj = obj if isinstance(obj, dict) else dict(obj)
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if api_version != API_VERSION or not isinstance(kind, str) or kind not in _CRD_FILES:
        return [
            f"apiVersion/kind: Unsupported value: {_show(api_version)}/{_show(kind)}: supported: "
            f"{API_VERSION} " + ", ".join(sorted(_CRD_FILES))
        ]
    problems = _metadata_problems(obj.get("metadata"))
    problems += _compiled(kind).problems(obj)
    if problems:
        return problems
    return _ISTIOD_RULES[kind](obj)


def ensure_valid(obj: Mapping[str, Any]) -> None:
    """Raise InvalidManifest listing every problem when a cluster would reject obj."""
    problems = validate_manifest(obj)
    if problems:
        meta = obj.get("metadata") if isinstance(obj, Mapping) else None
        name = meta.get("name") if isinstance(meta, Mapping) else None
        kind = obj.get("kind") if isinstance(obj, Mapping) else None
        label = f"{kind}/{name}" if isinstance(kind, str) and isinstance(name, str) else ""
        raise InvalidManifest(problems, name=label)


# ---------------------------------------------------------------------------------------------
# Step 1a: ObjectMeta, as the API server checks it for every custom resource.
# ---------------------------------------------------------------------------------------------

_DNS1123_LABEL_K8S = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN_K8S = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*")
_QUALIFIED_NAME = re.compile(r"(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_LABEL_VALUE = re.compile(r"(?:(?:[A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
_ANNOTATIONS_MAX_BYTES = 256 * 1024
# Fields of ObjectMeta; the server sets most of them, and anything else is an unknown field.
_OBJECT_META_FIELDS = frozenset(
    {
        "name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
        "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels",
        "annotations", "ownerReferences", "finalizers", "managedFields",
    }
)  # fmt: skip


def _is_dns_label(value: str) -> bool:
    return len(value) <= 63 and _DNS1123_LABEL_K8S.fullmatch(value) is not None


def _is_dns_subdomain(value: str) -> bool:
    return len(value) <= 253 and _DNS1123_SUBDOMAIN_K8S.fullmatch(value) is not None


@functools.lru_cache(maxsize=4096)  # pure, and the same keys repeat across endpoints
def _qualified_name_error(key: str) -> str | None:
    """Kubernetes ``IsQualifiedName``: ``[prefix/]name``, prefix a DNS subdomain, name ≤ 63."""
    prefix, slash, name = key.rpartition("/")
    if slash and not _is_dns_subdomain(prefix):
        return "prefix part must be a lowercase DNS-1123 subdomain of at most 253 characters"
    if not name:
        return "name part must be non-empty"
    if len(name) > 63:
        return "name part must be no more than 63 characters"
    if _QUALIFIED_NAME.fullmatch(name) is None:
        return (
            "name part must consist of alphanumeric characters, '-', '_' or '.', "
            "and must start and end with an alphanumeric character"
        )
    return None


@functools.lru_cache(maxsize=4096)
def _label_value_error(value: str) -> str | None:
    if len(value) > 63:
        return "must be no more than 63 characters"
    if _LABEL_VALUE.fullmatch(value) is None:
        return (
            "must be empty or consist of alphanumeric characters, '-', '_' or '.', "
            "and must start and end with an alphanumeric character"
        )
    return None


def _label_problems(labels: Mapping[str, Any], path: str) -> Problems:
    """Kubernetes label syntax for every key and value (DESIGN.md asks it for endpoint labels too)."""
    out: Problems = []
    for key, value in labels.items():
        if not isinstance(key, str) or not isinstance(value, str):
            out.append(f"{path}[{key}]: Invalid value: {_show(value)}: must be a string")
            continue
        key_error = _qualified_name_error(key)
        if key_error:
            out.append(f"{path}: Invalid value: {_show(key)}: {key_error}")
        value_error = _label_value_error(value)
        if value_error:
            out.append(f"{path}[{key}]: Invalid value: {_show(value)}: {value_error}")
    return out


def _metadata_problems(meta: Any) -> Problems:
    if meta is None:
        return ["metadata.name: Required value: name or generateName is required"]
    if not isinstance(meta, Mapping):
        return [f"metadata: Invalid value: {_show(meta)}: must be an object"]
    out: Problems = [
        f"metadata.{key}: unknown field (the API server would prune it)"
        for key in sorted(map(str, meta))
        if key not in _OBJECT_META_FIELDS
    ]
    name = meta.get("name")
    if name is None:
        if not isinstance(meta.get("generateName"), str):
            out.append("metadata.name: Required value: name or generateName is required")
    elif not isinstance(name, str) or not _is_dns_subdomain(name):
        out.append(
            f"metadata.name: Invalid value: {_show(name)}: must be a lowercase DNS-1123 subdomain "
            "of at most 253 characters"
        )
    namespace = meta.get("namespace")
    if namespace is not None and (not isinstance(namespace, str) or not _is_dns_label(namespace)):
        out.append(
            f"metadata.namespace: Invalid value: {_show(namespace)}: must be a lowercase DNS-1123 "
            "label of at most 63 characters"
        )
    labels = meta.get("labels")
    if labels is not None:
        if isinstance(labels, Mapping):
            out += _label_problems(labels, "metadata.labels")
        else:
            out.append(f"metadata.labels: Invalid value: {_show(labels)}: must be an object")
    annotations = meta.get("annotations")
    if annotations is not None:
        out += _annotation_problems(annotations)
    return out


def _annotation_problems(annotations: Any) -> Problems:
    if not isinstance(annotations, Mapping):
        return [f"metadata.annotations: Invalid value: {_show(annotations)}: must be an object"]
    out: Problems = []
    size = 0
    for key, value in annotations.items():
        if not isinstance(key, str) or not isinstance(value, str):
            out.append(f"metadata.annotations[{key}]: Invalid value: {_show(value)}: must be a string")
            continue
        size += len(key.encode("utf-8", "surrogatepass")) + len(value.encode("utf-8", "surrogatepass"))
        key_error = _qualified_name_error(key.lower())
        if key_error:
            out.append(f"metadata.annotations: Invalid value: {_show(key)}: {key_error}")
    if size > _ANNOTATIONS_MAX_BYTES:
        out.append(f"metadata.annotations: Too long: may not be more than {_ANNOTATIONS_MAX_BYTES} bytes")
    return out


# ---------------------------------------------------------------------------------------------
# Step 1b: the CRD's CEL rules (x-kubernetes-validations), translated by hand.
#
# Each entry maps the exact rule text in the CRD to a Python predicate on the node that carries
# it (True = the rule holds). The CEL text is the key so that a CRD update with a new or changed
# rule fails loudly when the schema is compiled instead of being skipped. A predicate returns
# True for nodes of the wrong type: the schema reports those, and the API server skips CEL when
# a node has the wrong type. Rules, by kind (v1 schemas):
#
# ServiceEntry
#   spec:                    only one of WorkloadSelector or Endpoints can be set
#   spec:                    CIDR addresses are allowed only for NONE/STATIC resolution types
#   spec:                    NONE mode cannot set endpoints (resolution defaults to NONE)
#   spec:                    DNS_ROUND_ROBIN mode cannot have multiple endpoints
#   spec.hosts[]:            hostname cannot be wildcard ("*")
#   spec.ports:              port number cannot be duplicated
#   spec.ports[].number:     port must be between 1-65535
#   spec.ports[].targetPort: port must be between 1-65535
#   spec.workloadSelector.labels[]: wildcard is not supported in selector
#   spec.endpoints[]:        Address is required (address or network)
#   spec.endpoints[]:        UDS may not include ports
#   spec.endpoints[].address: UDS must be an absolute path or abstract socket
#   spec.endpoints[].address: UDS may not be a dir
#   spec.endpoints[].ports:  port name must be valid (< 63 chars, [a-zA-Z0-9-], alnum ends)
#   spec.endpoints[].ports[]: port must be between 1-65535
# WorkloadEntry: the six endpoint rules above, on spec / spec.address / spec.ports.
# DestinationRule
#   every Duration field with a rule (46 places: connection pool timeouts and keepalives,
#   outlier intervals, warmup durations, top level, per port and per subset):
#                            must be a valid duration greater than 1ms
#   spec.workloadSelector.matchLabels:   wildcard not allowed in label key match
#   spec.workloadSelector.matchLabels:   key must not be empty
#   spec.workloadSelector.matchLabels[]: wildcard not allowed in label value match
# ---------------------------------------------------------------------------------------------

_CEL_PORT_NAME = re.compile(r"[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _only_one_selector_or_endpoints(spec: Any) -> bool:
    return not isinstance(spec, dict) or not ("workloadSelector" in spec and "endpoints" in spec)


def _cidr_only_none_or_static(spec: Any) -> bool:
    if not isinstance(spec, dict):
        return True
    addresses = spec.get("addresses", [])
    if not isinstance(addresses, list):
        return True
    has_cidr = any(isinstance(a, str) and "/" in a for a in addresses)
    return not has_cidr or spec.get("resolution", "NONE") in ("STATIC", "NONE")


def _none_has_no_endpoints(spec: Any) -> bool:
    # CEL has() is true for a present field even when the list is empty.
    return not isinstance(spec, dict) or spec.get("resolution", "NONE") != "NONE" or "endpoints" not in spec


def _dns_round_robin_one_endpoint(spec: Any) -> bool:
    if not isinstance(spec, dict) or spec.get("resolution", "") != "DNS_ROUND_ROBIN":
        return True
    endpoints = spec.get("endpoints", [])
    return not isinstance(endpoints, list) or len(endpoints) <= 1


def _address_or_network(entry: Any) -> bool:
    return not isinstance(entry, dict) or "address" in entry or "network" in entry


def _uds_without_ports(entry: Any) -> bool:
    if not isinstance(entry, dict):
        return True
    address = entry.get("address", "")
    return not (isinstance(address, str) and address.startswith("unix://")) or "ports" not in entry


def _uds_absolute(address: Any) -> bool:
    # substring(7, 8) past the end is a CEL runtime error, which rejects the object too.
    return not isinstance(address, str) or not address.startswith("unix://") or address[7:8] in ("/", "@")


def _uds_not_dir(address: Any) -> bool:
    return not isinstance(address, str) or not address.startswith("unix://") or not address.endswith("/")


def _port_names_valid(ports: Any) -> bool:
    if not isinstance(ports, dict):
        return True
    return all(
        isinstance(key, str) and len(key) < 63 and _CEL_PORT_NAME.fullmatch(key) is not None for key in ports
    )


def _port_in_range(number: Any) -> bool:
    return not _is_int(number) or 0 < number <= 65535


def _not_bare_wildcard(host: Any) -> bool:
    return not isinstance(host, str) or host != "*"


def _port_numbers_unique(ports: Any) -> bool:
    if not isinstance(ports, list):
        return True
    numbers = [p["number"] for p in ports if isinstance(p, dict) and "number" in p]
    return len(numbers) == len({json.dumps(n) for n in numbers})


def _no_wildcard_in_value(value: Any) -> bool:
    return not isinstance(value, str) or "*" not in value


def _no_wildcard_in_keys(labels: Any) -> bool:
    return not isinstance(labels, dict) or not any(isinstance(k, str) and "*" in k for k in labels)


def _no_empty_keys(labels: Any) -> bool:
    return not isinstance(labels, dict) or "" not in labels


def _cel_duration_at_least_1ms(value: Any) -> bool:
    if not isinstance(value, str):
        return True
    nanos = _go_duration_nanos(value)
    return nanos is not None and nanos >= 1_000_000


_CEL_RULES: Final[dict[str, Callable[[Any], bool]]] = {
    "(has(self.workloadSelector) ? 1 : 0) + (has(self.endpoints) ? 1 : 0) <= 1": (
        _only_one_selector_or_endpoints
    ),
    '!((has(self.addresses) ? self.addresses : []).exists(k, k.contains("/")) && '
    '!((has(self.resolution) ? self.resolution : "NONE") in ["STATIC", "NONE"]))': _cidr_only_none_or_static,
    '((has(self.resolution) ? self.resolution : "NONE") == "NONE") ? !has(self.endpoints) : true': (
        _none_has_no_endpoints
    ),
    '((has(self.resolution) ? self.resolution : "") == "DNS_ROUND_ROBIN") ? '
    "((has(self.endpoints) ? self.endpoints : []).size() <= 1) : true": _dns_round_robin_one_endpoint,
    "has(self.address) || has(self.network)": _address_or_network,
    '(has(self.address) ? self.address : "").startsWith("unix://") ? !has(self.ports) : true': (
        _uds_without_ports
    ),
    'self.startsWith("unix://") ? (self.substring(7, 8) == "/" || self.substring(7, 8) == "@") : true': (
        _uds_absolute
    ),
    'self.startsWith("unix://") ? !self.endsWith("/") : true': _uds_not_dir,
    'self.all(key, size(key) < 63 && key.matches("^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$"))': (
        _port_names_valid
    ),
    "0 < self && self <= 65535": _port_in_range,
    'self != "*"': _not_bare_wildcard,
    "self.all(l1, self.exists_one(l2, l1.number == l2.number))": _port_numbers_unique,
    '!self.contains("*")': _no_wildcard_in_value,
    'self.all(key, !key.contains("*"))': _no_wildcard_in_keys,
    "self.all(key, key.size() != 0)": _no_empty_keys,
    "duration(self) >= duration('1ms')": _cel_duration_at_least_1ms,
}


@dataclass(frozen=True, slots=True)
class _CelRule:
    check: Callable[[Any], bool]
    message: str


def _compile_cel(rules: Iterable[Mapping[str, Any]]) -> tuple[_CelRule, ...]:
    compiled = []
    for rule in rules:
        text = rule["rule"]
        if text not in _CEL_RULES:
            raise LookupError(f"CEL rule not translated to Python: {text!r}")
        compiled.append(_CelRule(_CEL_RULES[text], rule.get("message") or f"failed rule: {text}"))
    return tuple(compiled)


# ---------------------------------------------------------------------------------------------
# Step 1c: the CRD's OpenAPI v3 schema as a compiled JSON Schema (Draft 7) validator.
# ---------------------------------------------------------------------------------------------

_INT_FORMATS: Final = {
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
    "int64": (-(2**63), 2**63 - 1),
    "uint64": (0, 2**64 - 1),
}
_RFC3339 = (
    r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?"
    r"(?:[Zz]|[+-][0-9]{2}:[0-9]{2})\Z"
)
_PLAIN_KEYWORDS = frozenset(
    {
        "type", "required", "enum", "minimum", "maximum", "minLength", "maxLength", "pattern",
        "minItems", "maxItems", "minProperties", "maxProperties", "x-kubernetes-list-type",
        "x-kubernetes-list-map-keys",
    }
)  # fmt: skip
_IGNORED_KEYWORDS = frozenset(
    {"description", "title", "example", "externalDocs", "x-kubernetes-int-or-string"}
)


def _convert(node: Mapping[str, Any]) -> dict[str, Any]:
    """One OpenAPI v3 structural-schema node → JSON Schema, Kubernetes semantics made explicit."""
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _IGNORED_KEYWORDS or key in ("format", "nullable", "x-kubernetes-preserve-unknown-fields"):
            continue
        if key == "properties":
            out[key] = {name: _convert(sub) for name, sub in value.items()}
        elif key in ("items", "not") or (key == "additionalProperties" and isinstance(value, Mapping)):
            out[key] = _convert(value)
        elif key in ("oneOf", "anyOf", "allOf"):
            out[key] = [_convert(sub) for sub in value]
        elif key == "x-kubernetes-validations":
            out[key] = _compile_cel(value)
        elif key in _PLAIN_KEYWORDS or key == "additionalProperties":
            out[key] = value
        else:
            raise ValueError(f"unsupported OpenAPI keyword in CRD schema: {key!r}")
    fmt = node.get("format")
    if fmt in _INT_FORMATS:
        low, high = _INT_FORMATS[fmt]
        out["minimum"] = max(out.get("minimum", low), low)
        out["maximum"] = min(out.get("maximum", high), high)
    elif fmt == "date-time":
        out["pattern"] = _RFC3339
    elif fmt not in (None, "double", "float"):
        raise ValueError(f"unsupported format in CRD schema: {fmt!r}")
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    types = out.get("type")
    is_object = types == "object" or (isinstance(types, list) and "object" in types)
    preserve = node.get("x-kubernetes-preserve-unknown-fields")
    # Structural schemas prune what they do not declare: we treat pruned fields as errors.
    if is_object and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    return out


# Keyword functions in jsonschema's calling convention: (validator, value, instance, schema).
def _required(validator: Any, required: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if isinstance(instance, dict):
        for name in required:
            if name not in instance:
                yield ValidationError("Required value", path=[name])


def _additional_properties(
    validator: Any, allowed: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    if not isinstance(instance, dict):
        return
    properties = schema.get("properties", {})
    extras = [key for key in instance if key not in properties]
    if isinstance(allowed, Mapping):
        for key in extras:
            yield from validator.descend(instance[key], allowed, path=key)
    elif allowed is False:
        for key in sorted(extras, key=str):
            yield ValidationError("unknown field (the API server would prune it)", path=[key])


def _cel(validator: Any, rules: Any, instance: Any, schema: Any) -> Iterator[ValidationError]:
    for rule in rules:
        if not rule.check(instance):
            yield ValidationError(rule.message)


def _list_type(
    validator: Any, list_type: Any, instance: Any, schema: Mapping[str, Any]
) -> Iterator[ValidationError]:
    """``x-kubernetes-list-type``: ``set`` items and ``map`` keys must be unique."""
    if not isinstance(instance, list) or list_type not in ("set", "map"):
        return
    keys = schema.get("x-kubernetes-list-map-keys", ())
    seen: set[str] = set()
    for index, item in enumerate(instance):
        if list_type == "map":
            if not isinstance(item, dict):
                continue
            identity: Any = {key: item.get(key) for key in keys}
        else:
            identity = item
        token = json.dumps(identity, sort_keys=True, default=repr)
        if token in seen:
            yield ValidationError(f"Duplicate value: {token}", path=[index])
        seen.add(token)


def _is_integer(checker: Any, value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(checker: Any, value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_K8sValidator: Any = validators.extend(  # type: ignore[no-untyped-call]
    Draft7Validator,
    validators={
        "required": _required,
        "additionalProperties": _additional_properties,
        "x-kubernetes-validations": _cel,
        "x-kubernetes-list-type": _list_type,
    },
    type_checker=Draft7Validator.TYPE_CHECKER.redefine_many({"integer": _is_integer, "number": _is_number}),
)


# A compiled accept-check over the same translated schema. jsonschema stays the authority (it
# explains what is wrong); this only answers "valid?" fast, because jsonschema spends ~15 µs per
# schema node and most objects are valid. tests/render pins the two to agree on random objects.
_Check = Callable[[Any], bool]
_TYPE_CLASSES: Final[dict[str, Any]] = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
    "number": (int, float),
    "integer": int,
}
_SIZE_TYPES: Final[dict[str, type[Sized]]] = {"Length": str, "Items": list, "Properties": dict}


def _accept(value: Any) -> bool:
    return True


def _fast_check(schema: Mapping[str, Any]) -> _Check:
    """All keywords of one schema node as a single predicate."""
    kind = schema.get("type")
    if isinstance(kind, str) and kind in _TYPED_KEYWORDS and _TYPED_KEYWORDS[kind].issuperset(schema):
        return _fast_typed(schema, kind)
    checks = [check for check in _fast_keywords(schema) if check is not _accept]
    if not checks:
        return _accept
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda value: first(value) and second(value)

    def check_all(value: Any) -> bool:
        for check in checks:  # noqa: SIM110 - a plain loop is measurably faster here
            if not check(value):
                return False
        return True

    return check_all


# Node shapes _fast_typed handles: one type, and only these keywords besides type and CEL.
_TYPED_KEYWORDS: Final = {
    kind: frozenset({"type", "x-kubernetes-validations", *keywords})
    for kind, keywords in {
        "string": ("maxLength", "minLength", "enum", "pattern"),
        "integer": ("minimum", "maximum"),
        "object": ("properties", "additionalProperties", "required", "maxProperties", "minProperties"),
        "array": ("items", "maxItems", "minItems", "x-kubernetes-list-type", "x-kubernetes-list-map-keys"),
    }.items()
}


def _fast_typed(schema: Mapping[str, Any], kind: str) -> _Check:
    """The common shapes as one closure each: the type test first, then unguarded checks."""
    rules = tuple(rule.check for rule in schema.get("x-kubernetes-validations", ()))
    if kind == "string":
        low, high = schema.get("minLength", 0), schema.get("maxLength", math.inf)
        options = frozenset(schema["enum"]) if "enum" in schema else None
        regex = re.compile(schema["pattern"]) if "pattern" in schema else None

        def string(value: Any) -> bool:
            if not isinstance(value, str) or not low <= len(value) <= high:
                return False
            if (options is not None and value not in options) or (regex and not regex.search(value)):
                return False
            return all(rule(value) for rule in rules) if rules else True

        return string
    if kind == "integer":
        lowest, highest = schema.get("minimum", -math.inf), schema.get("maximum", math.inf)

        def integer(value: Any) -> bool:
            if type(value) is not int and (not isinstance(value, int) or isinstance(value, bool)):
                return False
            if not lowest <= value <= highest:
                return False
            return all(rule(value) for rule in rules) if rules else True

        return integer
    if kind == "object":
        members = _fast_members(schema.get("properties", {}), schema.get("additionalProperties", True))
        required = tuple(schema.get("required", ()))
        fewest, most = schema.get("minProperties", 0), schema.get("maxProperties", math.inf)

        def mapping(value: Any) -> bool:
            if not isinstance(value, dict) or not fewest <= len(value) <= most:
                return False
            for name in required:
                if name not in value:
                    return False
            if not members(value):
                return False
            return all(rule(value) for rule in rules) if rules else True

        return mapping
    item = _fast_check(schema.get("items", {}))
    shortest, longest = schema.get("minItems", 0), schema.get("maxItems", math.inf)
    list_type = schema.get("x-kubernetes-list-type")
    unique = _fast_keyword(schema, "x-kubernetes-list-type", list_type) if list_type else None

    def array(value: Any) -> bool:
        if not isinstance(value, list) or not shortest <= len(value) <= longest:
            return False
        for element in value:
            if not item(element):
                return False
        if unique is not None and not unique(value):
            return False
        return all(rule(value) for rule in rules) if rules else True

    return array


def _fast_keywords(schema: Mapping[str, Any]) -> Iterator[_Check]:
    """Each keyword as a predicate, with jsonschema's Draft 7 semantics and our overrides."""
    if "properties" in schema or "additionalProperties" in schema:
        yield _fast_members(schema.get("properties", {}), schema.get("additionalProperties", True))
    if "minimum" in schema or "maximum" in schema:
        yield _fast_bounds(schema.get("minimum"), schema.get("maximum"))
    for key, expected in schema.items():
        if key not in _FAST_SHARED_KEYWORDS:
            yield _fast_keyword(schema, key, expected)


_FAST_SHARED_KEYWORDS: Final = frozenset(
    {"properties", "additionalProperties", "minimum", "maximum", "x-kubernetes-list-map-keys"}
)


def _fast_keyword(schema: Mapping[str, Any], key: str, expected: Any) -> _Check:
    if key == "type":
        return _fast_type(expected if isinstance(expected, list) else [expected])
    if key == "items":
        item_check = _fast_check(expected)
        return lambda value: not isinstance(value, list) or all(map(item_check, value))
    if key == "required":
        names = tuple(expected)
        return lambda value: not isinstance(value, dict) or all(name in value for name in names)
    if key == "enum":
        if not all(isinstance(option, str) for option in expected):
            raise ValueError(f"non-string enum not supported: {expected!r}")
        options = frozenset(expected)
        return lambda value: isinstance(value, str) and value in options
    if key[:3] in ("min", "max") and key[3:] in _SIZE_TYPES:
        return _fast_size(_SIZE_TYPES[key[3:]], expected, low=key.startswith("min"))
    if key == "pattern":
        regex = re.compile(expected)
        return lambda value: not isinstance(value, str) or regex.search(value) is not None
    if key in ("oneOf", "anyOf", "allOf", "not"):
        return _fast_combinator(key, expected)
    if key == "x-kubernetes-validations":
        rules = tuple(rule.check for rule in expected)
        return rules[0] if len(rules) == 1 else (lambda value: all(rule(value) for rule in rules))
    if key == "x-kubernetes-list-type":
        return lambda value: next(_list_type(None, expected, value, schema), None) is None
    raise ValueError(f"keyword not supported by the compiled check: {key!r}")


def _fast_type(names: Sequence[str]) -> _Check:
    if names == ["integer"]:
        return lambda value: type(value) is int or (isinstance(value, int) and not isinstance(value, bool))
    if len(names) == 1 and names[0] in ("object", "array", "string", "boolean"):
        cls = _TYPE_CLASSES[names[0]]
        return lambda value: isinstance(value, cls)
    classes = tuple(_TYPE_CLASSES[name] for name in names)
    allow_bool = "boolean" in names
    return lambda value: isinstance(value, classes) and (allow_bool or not isinstance(value, bool))


def _fast_members(properties: Mapping[str, Any], extra: Any) -> _Check:
    table = {name: _fast_check(sub) for name, sub in properties.items()}
    if extra is False:
        other: _Check | None = None
    elif isinstance(extra, Mapping):
        other = _fast_check(extra)
    else:
        other = _accept

    def members(value: Any) -> bool:
        if not isinstance(value, dict):
            return True
        for name, item in value.items():
            check = table.get(name, other)
            if check is None or not check(item):
                return False
        return True

    return members


def _fast_bounds(low: Any, high: Any) -> _Check:
    lowest = -math.inf if low is None else low
    highest = math.inf if high is None else high

    def bounds(value: Any) -> bool:  # written like jsonschema's, so NaN compares the same way
        if type(value) is int or (isinstance(value, (int, float)) and not isinstance(value, bool)):
            return not (value < lowest or value > highest)
        return True

    return bounds


def _fast_size(kind: type[Sized], limit: int, *, low: bool) -> _Check:
    if low:
        return lambda value: not isinstance(value, kind) or len(value) >= limit
    return lambda value: not isinstance(value, kind) or len(value) <= limit


def _fast_combinator(key: str, expected: Any) -> _Check:
    if key == "not":
        inner = _fast_check(expected)
        return lambda value: not inner(value)
    branches = tuple(_fast_check(sub) for sub in expected)
    if key == "allOf":
        return lambda value: all(branch(value) for branch in branches)
    if key == "anyOf":
        return lambda value: any(branch(value) for branch in branches)
    return lambda value: sum(1 for branch in branches if branch(value)) == 1


@dataclass(frozen=True, slots=True)
class _CompiledKind:
    schema: dict[str, Any]
    validator: Validator
    accepts: _Check

    def problems(self, obj: Mapping[str, Any]) -> Problems:
        if self.accepts(obj):
            return []
        return self.explain(obj)

    def explain(self, obj: Any) -> Problems:
        """Every schema problem, from jsonschema (also used when the compiled check says no)."""
        return [
            f"{_format_path(self.schema, error.absolute_path)}: {_error_text(error)}"
            for error in self.validator.iter_errors(obj)
        ]


def _load_crd_schema(file_name: str) -> Mapping[str, Any]:
    text = resources.files("syncd.render").joinpath("schemas", file_name).read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    crd = yaml.load(text, Loader=loader)  # a safe loader (libyaml's when present)
    for version in crd["spec"]["versions"]:
        if version["name"] == "v1":
            schema: Mapping[str, Any] = version["schema"]["openAPIV3Schema"]
            return schema
    raise LookupError(f"{file_name} has no v1 version")


@functools.cache
def _compiled(kind: str) -> _CompiledKind:
    """Load, translate and compile one kind's v1 schema; cached, so each is built once."""
    schema = _convert(_load_crd_schema(_CRD_FILES[kind]))
    # apiVersion, kind and metadata are implicit in every CRD; metadata is checked separately.
    schema["properties"] = {
        "apiVersion": {"type": "string"},
        "kind": {"type": "string"},
        "metadata": {},
        **schema.get("properties", {}),
    }
    schema["additionalProperties"] = False
    return _CompiledKind(schema, _K8sValidator(schema), _fast_check(schema))


def _format_path(schema: Mapping[str, Any], parts: Iterable[Any]) -> str:
    """``spec.endpoints[3].labels[app]``: fields with dots, list indexes and map keys in brackets."""
    text = ""
    node: Any = schema
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
            node = node.get("items") if isinstance(node, Mapping) else None
            continue
        properties = node.get("properties", {}) if isinstance(node, Mapping) else {}
        extra = node.get("additionalProperties") if isinstance(node, Mapping) else None
        if part in properties or not isinstance(extra, Mapping):
            text += f".{part}" if text else str(part)
            node = properties.get(part)
        else:
            text += f"[{part}]"
            node = extra
    return text or "<root>"


def _show(value: Any, limit: int = 80) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _error_text(error: ValidationError) -> str:
    keyword: Any = error.validator
    expected: Any = error.validator_value
    instance: Any = error.instance
    if keyword in ("required", "additionalProperties", "x-kubernetes-validations", "x-kubernetes-list-type"):
        return error.message
    if keyword == "type":
        names = expected if isinstance(expected, list) else [expected]
        return f"Invalid value: {_show(instance)}: must be of type {' or '.join(map(str, names))}"
    if keyword == "enum":
        return f"Unsupported value: {_show(instance)}: supported values: " + ", ".join(map(_show, expected))
    if keyword in ("maxItems", "maxProperties"):
        unit = "items" if keyword == "maxItems" else "entries"
        return f"Too many: {len(instance)}: must have at most {expected} {unit}"
    if keyword in ("minItems", "minProperties"):
        unit = "items" if keyword == "minItems" else "entries"
        return f"Invalid value: {len(instance)}: must have at least {expected} {unit}"
    if keyword == "maxLength":
        return f"Too long: may not be longer than {expected}"
    if keyword == "minLength":
        return f"Invalid value: {_show(instance)}: must be at least {expected} characters"
    if keyword == "minimum":
        return f"Invalid value: {_show(instance)}: must be >= {expected}"
    if keyword == "maximum":
        return f"Invalid value: {_show(instance)}: must be <= {expected}"
    if keyword == "pattern":
        return f"Invalid value: {_show(instance)}: must match {expected}"
    if keyword == "oneOf":
        names = sorted({name for branch in expected for name in branch.get("required", ())})
        if names:
            return f"Invalid value: at most one of {', '.join(names)} may be set"
        return "Invalid value: must match exactly one of the allowed shapes"
    if keyword == "anyOf":
        return f"Invalid value: {_show(instance)}: must match at least one of the allowed shapes"
    if keyword == "not":
        return f"Invalid value: {_show(instance)}: matches a shape that is not allowed"
    return f"Invalid value: {_show(instance)}: {keyword}={_show(expected)}"


# ---------------------------------------------------------------------------------------------
# Durations: CEL's duration() reads Go durations; istiod reads protobuf JSON durations.
# ---------------------------------------------------------------------------------------------

_GO_DURATION_UNITS: Final = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,
    "\u03bcs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_GO_DURATION_PART = re.compile(r"([0-9]*)(?:\.([0-9]*))?([^0-9.]*)")
_PROTO_DURATION = re.compile(r"(-?)([0-9]+)(?:\.([0-9]{1,9}))?s")
_PROTO_DURATION_MAX_SECONDS = 315_576_000_000
_INT64_MAX = 2**63 - 1


def _go_duration_nanos(text: str) -> int | None:
    """Go ``time.ParseDuration`` (what CEL's ``duration()`` uses); None when it fails."""
    rest = text
    negative = rest[:1] == "-"
    if rest[:1] in ("-", "+"):
        rest = rest[1:]
    if rest == "0":
        return 0
    if not rest:
        return None
    total = Fraction(0)
    while rest:
        match = _GO_DURATION_PART.match(rest)
        if match is None:
            return None
        whole, frac, unit = match.groups()
        if not whole and not frac:
            return None
        if unit not in _GO_DURATION_UNITS:
            return None
        value = Fraction(int(whole or "0"))
        if frac:
            value += Fraction(int(frac), 10 ** len(frac))
        total += value * _GO_DURATION_UNITS[unit]
        rest = rest[match.end() :]
    nanos = int(total)
    if nanos > _INT64_MAX:
        return None
    return -nanos if negative else nanos


def _proto_duration_nanos(text: str) -> int | None:
    """Protobuf JSON ``google.protobuf.Duration`` (``10s``, ``1.5s``); None when malformed."""
    match = _PROTO_DURATION.fullmatch(text)
    if match is None:
        return None
    sign, seconds, frac = match.groups()
    if int(seconds) > _PROTO_DURATION_MAX_SECONDS:
        return None
    nanos = int(seconds) * 1_000_000_000 + int((frac or "").ljust(9, "0") or "0")
    return -nanos if sign else nanos


def _duration_problems(value: Any, path: str, *, istiod_checks: bool) -> Problems:
    """A Duration field: protobuf JSON syntax; istiod's ValidateDuration where it applies."""
    if not isinstance(value, str):
        return []
    nanos = _proto_duration_nanos(value)
    if nanos is None:
        return [f"{path}: Invalid value: {_show(value)}: must be a protobuf duration such as 10s or 1.5s"]
    if istiod_checks:
        if nanos < 1_000_000:
            return [f"{path}: Invalid value: {_show(value)}: duration must be greater than 1ms"]
        if nanos % 1_000_000:
            return [f"{path}: Invalid value: {_show(value)}: only durations to ms precision are supported"]
    return []


# ---------------------------------------------------------------------------------------------
# Step 2: istiod's webhook (istio/istio pkg/config/validation, validation.go and agent/), on
# objects the API server accepted. Names follow istio's helpers so the two can be compared.
# Rules the CRD already enforces are left out. What is checked here:
#   all kinds:       the istio.io/dry-run and internal.istio.io/webhook-always-reject annotations
#   ServiceEntry:    hosts (ValidateWildcardDomain; no partial wildcard, per DESIGN.md),
#                    addresses (IP or CIDR), port names (DNS labels) and protocols (istio's list,
#                    any case), STATIC endpoints (IP or unix://, address unless network, one
#                    service port for unix sockets), DNS endpoints (IP or FQDN), endpoint port
#                    names defined in ports, endpoint labels (Kubernetes syntax, per DESIGN.md),
#                    FQDN hosts for DNS without endpoints, several hosts need HTTP/TLS ports
#                    unless resolution is NONE, exportTo, DYNAMIC_DNS only with wildcard hosts
#   WorkloadEntry:   address (IP, FQDN or unix://, unless network), labels
#   DestinationRule: host, subsets (unique DNS-label names, labels), exportTo (incl. with a
#                    workloadSelector), traffic policies at every level: not empty, tunnel xor
#                    proxyProtocol, connection pool values >= 0, durations (protobuf syntax,
#                    >= 1ms, ms precision where istiod checks), outlier percentages 0..100,
#                    local-origin failures need the split flag, consistent hash (cookie name,
#                    ring size vs algorithm, maglev table prime < 5000011), locality LB, client
#                    TLS (credentialName excludes inline files; MUTUAL needs cert and key;
#                    insecureSkipVerify conflicts), per-port policies need a port and a field
# ---------------------------------------------------------------------------------------------

# istio's labels.IsDNS1123Label accepts upper case (unlike Kubernetes names).
_ISTIO_DNS_LABEL = re.compile(r"[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?")
_ISTIO_WILDCARD_LABEL = re.compile(r"\*|(?:\*|\*-)?[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?")
_GO_ATOI = re.compile(r"[+-]?[0-9]+")
_PROTOCOLS: Final = frozenset(
    {
        "tcp",
        "udp",
        "grpc",
        "grpc-web",
        "http",
        "http_proxy",
        "http2",
        "https",
        "tls",
        "mongo",
        "redis",
        "mysql",
    }
)
_HTTP_PROTOCOLS: Final = frozenset({"http", "http2", "http_proxy", "grpc", "grpc-web"})
_TLS_PROTOCOLS: Final = frozenset({"https", "tls"})
_REJECTING_ANNOTATIONS: Final = {
    "istio.io/dry-run": "only AuthorizationPolicy supports it",
    "internal.istio.io/webhook-always-reject": "istiod rejects every object that carries it",
}


def _istio_dns_label(value: str) -> bool:
    return len(value) <= 63 and _ISTIO_DNS_LABEL.fullmatch(value) is not None


def _dns_labels_error(domain: str) -> str | None:
    """istio ``ValidateDNS1123Labels``: labels valid, top-level label not all-numeric."""
    parts = domain.split(".")
    top = parts[-1]
    if _GO_ATOI.fullmatch(top) and -(2**63) <= int(top) <= _INT64_MAX:
        return f"domain name {domain!r} invalid (top level domain {top!r} cannot be all-numeric)"
    for index, label in enumerate(parts):
        if index == len(parts) - 1 and label == "":
            return None  # a trailing dot is allowed
        if not _istio_dns_label(label):
            return f"domain name {domain!r} invalid (label {label!r} invalid)"
    return None


def _dns_preconditions_error(name: str) -> str | None:
    if len(name) > 255:
        return f"domain name {_show(name, 40)} too long (max 255)"
    if not name:
        return "empty domain name not allowed"
    return None


def _fqdn_error(name: str) -> str | None:
    """istio ``ValidateFQDN`` (a valid DNS name; it does not require a dot)."""
    return _dns_preconditions_error(name) or _dns_labels_error(name)


def _wildcard_domain_error(name: str) -> str | None:
    """istio ``ValidateWildcardDomain``: a wildcard only in the first label."""
    error = _dns_preconditions_error(name)
    if error:
        return error
    first, dot, rest = name.partition(".")
    if len(first) > 63 or _ISTIO_WILDCARD_LABEL.fullmatch(first) is None:
        return f"domain name {name!r} invalid (label {first!r} invalid)"
    return _dns_labels_error(rest) if dot else None


def _ip_subnet_error(address: str) -> str | None:
    """istio ``ValidateIPSubnet``: an IP, or an ``ip/bits`` CIDR block."""
    if address.count("/") == 1:
        ip, _, bits = address.partition("/")
        max_bits = 32 if "." in ip and ":" not in ip else 128
        if not is_ip(ip) or re.fullmatch(r"0|[1-9][0-9]{0,2}", bits) is None or int(bits) > max_bits:
            return f"{address} is not a valid CIDR block"
        return None
    return None if is_ip(address) else f"{address} is not a valid IP"


def _annotation_rule_problems(obj: Mapping[str, Any]) -> Problems:
    annotations = obj.get("metadata", {}).get("annotations") or {}
    return [
        f"metadata.annotations[{key}]: istiod rejects this annotation ({why})"
        for key, why in _REJECTING_ANNOTATIONS.items()
        if key in annotations
    ]


def _namespace(obj: Mapping[str, Any]) -> str:
    namespace = obj.get("metadata", {}).get("namespace")
    return namespace if isinstance(namespace, str) else ""


def _export_to_problems(
    namespace: str, export_to: Sequence[str], *, service_entry: bool, selector: bool = False
) -> Problems:
    """istio ``validateExportTo``: no duplicates (``.`` is the namespace), and consistent values."""
    out: Problems = []
    seen: list[str] = []
    for index, entry in enumerate(export_to):
        path = f"spec.exportTo[{index}]"
        key = namespace if entry == "." and namespace else entry
        if key in seen:
            if key != entry:
                out.append(f"{path}: duplicate entries in exportTo: . and current namespace {namespace}")
            else:
                out.append(f"{path}: duplicate entries in exportTo for entry {entry}")
        elif service_entry and entry == "~":
            seen.append(key)
        elif key == "~":
            out.append(f"{path}: exportTo ~ (none) is not allowed for Istio configuration objects")
        elif key not in (".", "*") and not _istio_dns_label(key):
            out.append(f"{path}: only .,*,~, or a valid DNS 1123 label is allowed as exportTo entry")
        else:
            seen.append(key)
    if selector and seen:
        current = namespace or "."
        if current not in seen:
            out.append(
                "spec.exportTo: destination rule with workload selector cannot have exportTo beyond "
                "current namespace"
            )
        elif len(seen) > 1:
            out.append(
                "spec.exportTo: destination rule with workload selector cannot have multiple entries in "
                "exportTo"
            )
    if "*" in seen and len(export_to) > 1:
        out.append("spec.exportTo: cannot have both public (*) and non-public exportTo values for a resource")
    if "~" in seen and len(export_to) > 1:
        out.append("spec.exportTo: cannot export service entry to no one (~) and someone")
    return out


def _workload_entry_problems(
    entry: Mapping[str, Any], path: str, *, service_ports: set[str] | None, allow_fqdn: bool
) -> Problems:
    """istio ``validateWorkloadEntry`` (a WorkloadEntry spec, or a STATIC ServiceEntry endpoint).

    The CRD's CEL rules already cover unix socket syntax, ports on unix sockets, port name
    syntax and port ranges; what is left is the address and port and label semantics.
    """
    out: Problems = []
    address = entry.get("address", "")
    if address == "" and not entry.get("network"):
        return [f"{path}.address: Required value: address is required"]
    unix = address.startswith("unix://")
    if not unix and address and not is_ip(address):
        if not allow_fqdn:
            out.append(
                f"{path}.address: Invalid value: {_show(address)}: endpoint address is not a valid IP address"
            )
        elif _fqdn_error(address):
            out.append(
                f"{path}.address: Invalid value: {_show(address)}: "
                "endpoint address is not a valid FQDN or an IP address"
            )
    out += _endpoint_port_problems(entry, path, service_ports)
    out += _label_problems(entry.get("labels", {}), f"{path}.labels")
    if unix and service_ports is not None and len(service_ports) != 1:
        out.append(f"{path}.address: exactly 1 service port required for unix endpoints")
    return out


def _endpoint_port_problems(entry: Mapping[str, Any], path: str, service_ports: set[str] | None) -> Problems:
    if service_ports is None:
        return []
    return [
        f"{path}.ports[{name}]: endpoint port {name!r} is not defined by the service entry's ports"
        for name in entry.get("ports", {})
        if name not in service_ports
    ]


def _service_entry_rules(obj: Mapping[str, Any]) -> Problems:
    """istio ``ValidateServiceEntry`` plus DESIGN.md's stricter host rule (no partial wildcards)."""
    spec: Mapping[str, Any] = obj.get("spec", {})
    out = _annotation_rule_problems(obj)
    selector = spec.get("workloadSelector")
    if selector is not None:
        for key in selector.get("labels", {}):  # values with "*": a CEL rule
            if key == "" or "*" in key:
                out.append(
                    f"spec.workloadSelector.labels: Invalid value: {_show(key)}: empty or wildcard key"
                )
    hosts: list[str] = spec["hosts"]
    for index, host in enumerate(hosts):
        if host == "*":
            continue  # a CEL rule
        error = _wildcard_domain_error(host)
        if error:
            out.append(f"spec.hosts[{index}]: Invalid value: {error}")
        elif "*" in host and not host.startswith("*."):
            # istiod only warns; DESIGN.md allows a wildcard only as a leading "*.".
            out.append(f"spec.hosts[{index}]: Invalid value: partial wildcard {host!r} not allowed")
    for index, address in enumerate(spec.get("addresses", [])):
        error = _ip_subnet_error(address)
        if error:
            out.append(f"spec.addresses[{index}]: Invalid value: {error}")
    ports: list[Mapping[str, Any]] = spec.get("ports", [])
    for index, port in enumerate(ports):
        name, protocol = port["name"], port.get("protocol", "")
        if not _istio_dns_label(name):
            out.append(f"spec.ports[{index}].name: Invalid value: {_show(name)}: invalid port name")
        if protocol and protocol.lower() not in _PROTOCOLS:
            out.append(
                f"spec.ports[{index}].protocol: Unsupported value: {_show(protocol)}: unsupported protocol"
            )
    service_ports = {port["name"] for port in ports}
    resolution = spec.get("resolution", "NONE")
    endpoints: list[Mapping[str, Any]] = spec.get("endpoints", [])
    if resolution == "STATIC":
        for index, endpoint in enumerate(endpoints):
            path = f"spec.endpoints[{index}]"
            out += _workload_entry_problems(endpoint, path, service_ports=service_ports, allow_fqdn=False)
    elif resolution in ("DNS", "DNS_ROUND_ROBIN"):
        if not endpoints:
            for index, host in enumerate(hosts):
                if host != "*" and not _wildcard_domain_error(host) and _fqdn_error(host):
                    out.append(
                        f"spec.hosts[{index}]: Invalid value: {_show(host)}: hosts must be FQDN if no "
                        f"endpoints are provided for resolution mode {resolution}"
                    )
        for index, endpoint in enumerate(endpoints):
            path = f"spec.endpoints[{index}]"
            address = endpoint.get("address", "")
            if not is_ip(address) and _fqdn_error(address):
                out.append(
                    f"{path}.address: Invalid value: {_show(address)}: "
                    "endpoint address is not a valid FQDN or an IP address"
                )
            out += _label_problems(endpoint.get("labels", {}), f"{path}.labels")
            out += _endpoint_port_problems(endpoint, path, service_ports)
    elif resolution == "DYNAMIC_DNS":
        # The API documents DYNAMIC_DNS as "only supported for wildcard hosts"; stay on the safe side.
        for index, host in enumerate(hosts):
            if not host.startswith("*."):
                out.append(
                    f"spec.hosts[{index}]: Invalid value: {_show(host)}: DYNAMIC_DNS needs wildcard hosts"
                )
    if resolution != "NONE" and len(hosts) > 1:
        for index, port in enumerate(ports):
            protocol = port.get("protocol", "").lower()
            if protocol not in _HTTP_PROTOCOLS and protocol not in _TLS_PROTOCOLS:
                out.append(
                    f"spec.ports[{index}].protocol: Invalid value: {_show(port.get('protocol', ''))}: "
                    f"{len(hosts)} hosts with a non-HTTP, non-TLS port need resolution NONE"
                )
                break
    out += _export_to_problems(_namespace(obj), spec.get("exportTo", []), service_entry=True)
    return out


def _workload_entry_rules(obj: Mapping[str, Any]) -> Problems:
    """istio ``ValidateWorkloadEntry``: FQDN addresses allowed, ports not tied to a service."""
    spec: Mapping[str, Any] = obj.get("spec", {})
    return _annotation_rule_problems(obj) + _workload_entry_problems(
        spec, "spec", service_ports=None, allow_fqdn=True
    )


# DestinationRule ------------------------------------------------------------------------------

_TOPOLOGY_LABELS: Final = frozenset(
    {"topology.kubernetes.io/region", "topology.kubernetes.io/zone", "topology.istio.io/subzone"}
)
_POLICY_FIELDS: Final = (
    "outlierDetection", "connectionPool", "loadBalancer", "tls", "portLevelSettings", "tunnel",
    "proxyProtocol", "retryBudget",
)  # fmt: skip
_PORT_POLICY_FIELDS: Final = ("outlierDetection", "connectionPool", "loadBalancer", "tls")
_MAGLEV_TABLE_LIMIT: Final = 5_000_011


def _destination_rule_rules(obj: Mapping[str, Any]) -> Problems:
    """istio ``ValidateDestinationRule``."""
    spec: Mapping[str, Any] = obj.get("spec") or {}
    out = _annotation_rule_problems(obj)
    error = _wildcard_domain_error(spec.get("host", ""))
    if error:
        out.append(f"spec.host: Invalid value: {error}")
    if "trafficPolicy" in spec:
        out += _traffic_policy_problems(spec["trafficPolicy"], "spec.trafficPolicy")
    names: set[str] = set()
    for index, subset in enumerate(spec.get("subsets", [])):
        path = f"spec.subsets[{index}]"
        name = subset["name"]
        if name in names:
            out.append(f"{path}.name: Duplicate value: duplicate subset names: {name}")
        names.add(name)
        if name == "":
            out.append(f"{path}.name: Required value: subset name cannot be empty")
        elif not _istio_dns_label(name):
            out.append(f"{path}.name: Invalid value: {_show(name)}: subset name is invalid")
        out += _label_problems(subset.get("labels", {}), f"{path}.labels")
        if "trafficPolicy" in subset:
            out += _traffic_policy_problems(subset["trafficPolicy"], f"{path}.trafficPolicy")
    out += _export_to_problems(
        _namespace(obj), spec.get("exportTo", []), service_entry=False, selector="workloadSelector" in spec
    )
    return out


def _traffic_policy_problems(policy: Mapping[str, Any], path: str) -> Problems:
    if not any(policy.get(field) not in (None, []) for field in _POLICY_FIELDS):
        return [f"{path}: Invalid value: traffic policy must have at least one field"]
    if "tunnel" in policy and "proxyProtocol" in policy:
        return [f"{path}: Invalid value: tunnel and proxyProtocol must not be set together"]
    out = _policy_part_problems(policy, path)
    for index, port_policy in enumerate(policy.get("portLevelSettings", [])):
        port_path = f"{path}.portLevelSettings[{index}]"
        if "port" not in port_policy:
            out.append(f"{port_path}.port: Required value: portTrafficPolicy must have valid port")
        if not any(port_policy.get(field) is not None for field in _PORT_POLICY_FIELDS):
            out.append(f"{port_path}: Invalid value: port traffic policy must have at least one field")
        else:
            out += _policy_part_problems(port_policy, port_path)
    if "tunnel" in policy:
        out += _tunnel_problems(policy["tunnel"], f"{path}.tunnel")
    if "retryBudget" in policy:
        budget = policy["retryBudget"]
        out += _duration_problems(
            budget.get("budgetInterval"), f"{path}.retryBudget.budgetInterval", istiod_checks=False
        )
    return out


def _policy_part_problems(policy: Mapping[str, Any], path: str) -> Problems:
    """The parts a TrafficPolicy shares with a per-port policy."""
    out: Problems = []
    outlier = policy.get("outlierDetection")
    if outlier is not None:
        out += _outlier_problems(outlier, f"{path}.outlierDetection")
    if "connectionPool" in policy:
        out += _connection_pool_problems(policy["connectionPool"], f"{path}.connectionPool")
    if "loadBalancer" in policy:
        out += _load_balancer_problems(policy["loadBalancer"], outlier, f"{path}.loadBalancer")
    if "tls" in policy:
        out += _client_tls_problems(policy["tls"], f"{path}.tls")
    return out


def _outlier_problems(outlier: Mapping[str, Any], path: str) -> Problems:
    out: Problems = []
    for field in ("baseEjectionTime", "interval"):
        out += _duration_problems(outlier.get(field), f"{path}.{field}", istiod_checks=True)
    local_failures = outlier.get("consecutiveLocalOriginFailures") or 0
    if local_failures > 0 and not outlier.get("splitExternalLocalOriginErrors", False):
        out.append(
            f"{path}.consecutiveLocalOriginFailures: Invalid value: consecutive local origin failures "
            "needs splitExternalLocalOriginErrors: true"
        )
    for field in ("maxEjectionPercent", "minHealthPercent"):
        value = outlier.get(field, 0)
        if not 0 <= value <= 100:
            out.append(f"{path}.{field}: Invalid value: {value}: percentage is not in range 0..100")
    return out


def _connection_pool_problems(pool: Mapping[str, Any], path: str) -> Problems:
    if pool.get("http") is None and pool.get("tcp") is None:
        return [f"{path}: Invalid value: connection pool must have at least one field"]
    out: Problems = []
    http = pool.get("http")
    if http is not None:
        for field in (
            "http1MaxPendingRequests",
            "http2MaxRequests",
            "maxRequestsPerConnection",
            "maxRetries",
            "maxConcurrentStreams",
        ):
            if http.get(field, 0) < 0:
                out.append(f"{path}.http.{field}: Invalid value: {http[field]}: must be non-negative")
        out += _duration_problems(http.get("idleTimeout"), f"{path}.http.idleTimeout", istiod_checks=True)
        keepalive = http.get("http2KeepAlive") or {}
        for field in ("interval", "timeout"):
            out += _duration_problems(
                keepalive.get(field), f"{path}.http.http2KeepAlive.{field}", istiod_checks=False
            )
        if http.get("h2UpgradePolicy") == "UPGRADE" and http.get("useClientProtocol"):
            out.append(
                f"{path}.http.useClientProtocol: Invalid value: must not be true when h2UpgradePolicy "
                "is UPGRADE"
            )
    tcp = pool.get("tcp")
    if tcp is not None:
        if tcp.get("maxConnections", 0) < 0:
            out.append(
                f"{path}.tcp.maxConnections: Invalid value: {tcp['maxConnections']}: must be non-negative"
            )
        for field in ("connectTimeout", "maxConnectionDuration", "idleTimeout"):
            out += _duration_problems(tcp.get(field), f"{path}.tcp.{field}", istiod_checks=True)
        keepalive = tcp.get("tcpKeepalive") or {}
        for field in ("time", "interval"):
            out += _duration_problems(
                keepalive.get(field), f"{path}.tcp.tcpKeepalive.{field}", istiod_checks=True
            )
    return out


def _is_envoy_prime(number: int) -> bool:
    """Envoy's primality test for maglev table sizes (1, 2 and 3 count as prime)."""
    if 0 < number < 4:
        return True
    if number % 2 == 0:
        return False
    return all(number % factor for factor in range(3, math.isqrt(number) + 1, 2))


def _load_balancer_problems(lb: Mapping[str, Any], outlier: Any, path: str) -> Problems:
    out: Problems = []
    consistent = lb.get("consistentHash")
    if consistent is not None:
        cookie = consistent.get("httpCookie")
        if cookie is not None:
            if cookie.get("name", "") == "":
                out.append(
                    f"{path}.consistentHash.httpCookie.name: Required value: name required for HttpCookie"
                )
            out += _duration_problems(
                cookie.get("ttl"), f"{path}.consistentHash.httpCookie.ttl", istiod_checks=False
            )
        algorithm = consistent.get("ringHash") is not None or consistent.get("maglev") is not None
        if consistent.get("minimumRingSize", 0) != 0 and algorithm:
            out.append(
                f"{path}.consistentHash: Invalid value: only one of minimumRingSize or maglev/ringHash "
                "can be specified"
            )
        maglev = consistent.get("maglev")
        if maglev is not None:
            size = maglev.get("tableSize", 0)
            if size == 0:
                out.append(
                    f"{path}.consistentHash.maglev.tableSize: Required value: tableSize must be set for "
                    "maglev"
                )
            if size >= _MAGLEV_TABLE_LIMIT:
                out.append(
                    f"{path}.consistentHash.maglev.tableSize: Invalid value: {size}: must be less than "
                    "5000011"
                )
            if not _is_envoy_prime(size):
                out.append(
                    f"{path}.consistentHash.maglev.tableSize: Invalid value: {size}: must be a prime number"
                )
    if "localityLbSetting" in lb:
        out += _locality_lb_problems(lb["localityLbSetting"], f"{path}.localityLbSetting")
    out += _duration_problems(lb.get("warmupDurationSecs"), f"{path}.warmupDurationSecs", istiod_checks=True)
    warmup = lb.get("warmup") or {}
    out += _duration_problems(warmup.get("duration"), f"{path}.warmup.duration", istiod_checks=False)
    return out


def _locality_lb_problems(setting: Mapping[str, Any], path: str) -> Problems:
    """istio ``ValidateLocalityLbSetting`` (which stops at the first problem in several places)."""
    distribute = setting.get("distribute") or []
    failover = setting.get("failover") or []
    priority = setting.get("failoverPriority") or []
    if distribute and failover:
        return [f"{path}: Invalid value: can not simultaneously specify 'distribute' and 'failover'"]
    if failover:
        for label in priority:
            if label in _TOPOLOGY_LABELS:
                return [
                    f"{path}.failoverPriority: Invalid value: can not set 'failover' and topology label "
                    f"{label!r}"
                ]
    out: Problems = []
    sources: list[str] = []
    for index, rule in enumerate(distribute):
        sources.append(rule.get("from", ""))
        to: Mapping[str, int] = rule.get("to") or {}
        if any(not 0 < weight <= 100 for weight in to.values()):
            return [
                f"{path}.distribute[{index}].to: Invalid value: locality weight must be in range [1, 100]"
            ]
        if sum(to.values()) != 100:
            return [
                f"{path}.distribute[{index}].to: Invalid value: total locality weight "
                f"{sum(to.values())} != 100"
            ]
        error = _localities_error(list(to))
        if error:
            out.append(f"{path}.distribute[{index}].to: Invalid value: {error}")
    error = _localities_error(sources)
    if error:
        out.append(f"{path}.distribute: Invalid value: {error}")
    for index, rule in enumerate(failover):
        source, target = rule.get("from", ""), rule.get("to", "")
        where = f"{path}.failover[{index}]"
        if source == target:
            out.append(
                f"{where}: Invalid value: locality lb failover settings must specify different regions"
            )
        if "/" in source or "/" in target:
            out.append(f"{where}: Invalid value: locality lb failover only specify region")
        if "*" in source or "*" in target:
            out.append(f"{where}: Invalid value: locality lb failover region should not contain '*' wildcard")
    return out


def _localities_error(localities: Sequence[str]) -> str | None:
    """istio ``validateLocalities``: at most one trailing ``*`` each, no empty parts, no overlap."""
    tree: dict[str, dict[str, dict[str, bool]]] = {}
    for locality in localities:
        stars = locality.count("*")
        if stars and (stars > 1 or not locality.endswith("*")):
            return f"locality {locality} wildcard '*' number can not exceed 1 and must be in the end"
        if "*" in tree:
            return f"locality {locality} overlap with previous specified ones"
        items = locality.split("/", 2)
        if any(item == "" for item in items):
            return f"locality {locality} must not contain empty region/zone/subzone info"
        region = items[0]
        zone = items[1] if len(items) > 1 else ""
        subzone = items[2] if len(items) > 2 else ""
        overlap = f"locality {locality} overlap with previous specified ones"
        if len(items) == 1:
            if region in tree:
                return overlap
            tree[region] = {"*": {"*": True}}
        elif len(items) == 2:
            zones = tree.setdefault(region, {})
            if "*" in zones or zone in zones:
                return overlap
            zones[zone] = {"*": True}
        else:
            zones = tree.setdefault(region, {})
            if "*" in zones:
                return overlap
            subzones = zones.setdefault(zone, {})
            if subzones.get("*") or subzones.get(subzone):
                return overlap
            subzones[subzone] = True
    return None


def _client_tls_problems(tls: Mapping[str, Any], path: str) -> Problems:
    """istio ``ValidateTLS`` for ClientTLSSettings (credentialName excludes inline files)."""
    out: Problems = []
    mode = tls.get("mode", "DISABLE")
    ca, credential = tls.get("caCertificates", ""), tls.get("credentialName", "")
    names = tls.get("subjectAltNames") or []
    if tls.get("insecureSkipVerify"):
        if mode == "SIMPLE" and (ca or credential or names):
            out.append(
                f"{path}: Invalid value: cannot specify caCertificates, credentialName or "
                "subjectAltNames when insecureSkipVerify is true"
            )
        if mode == "MUTUAL" and (ca or names):
            out.append(
                f"{path}: Invalid value: cannot specify caCertificates or subjectAltNames when "
                "insecureSkipVerify is true"
            )
    if mode in ("SIMPLE", "MUTUAL") and credential:
        if tls.get("clientCertificate") or ca or tls.get("privateKey") or tls.get("caCrl"):
            out.append(
                f"{path}.credentialName: Invalid value: cannot specify client certificates or CA "
                "certificate or CA CRL if credentialName is set"
            )
        return out
    if mode == "MUTUAL":
        if not tls.get("clientCertificate"):
            out.append(
                f"{path}.clientCertificate: Required value: client certificate required for mutual tls"
            )
        if not tls.get("privateKey"):
            out.append(f"{path}.privateKey: Required value: private key required for mutual tls")
    return out


def _tunnel_problems(tunnel: Mapping[str, Any], path: str) -> Problems:
    out: Problems = []
    if tunnel.get("protocol", "") not in ("", "CONNECT", "POST"):
        out.append(
            f'{path}.protocol: Unsupported value: {_show(tunnel["protocol"])}: must be "CONNECT" or "POST"'
        )
    host = tunnel["targetHost"]
    if _fqdn_error(host) and not is_ip(host):
        out.append(f"{path}.targetHost: Invalid value: {_show(host)}: must be a valid FQDN or IP address")
    if not 1 <= tunnel["targetPort"] <= 65535:
        out.append(f"{path}.targetPort: Invalid value: {tunnel['targetPort']}: must be in the range 1..65535")
    return out


_ISTIOD_RULES: Final[dict[str, Callable[[Mapping[str, Any]], Problems]]] = {
    "ServiceEntry": _service_entry_rules,
    "WorkloadEntry": _workload_entry_rules,
    "DestinationRule": _destination_rule_rules,
}
