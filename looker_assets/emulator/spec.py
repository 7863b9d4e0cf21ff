"""The Looker API 4.0 OpenAPI spec shipped beside this module, and schema templates built from it.

Everything the emulator serves is shaped by this file: the property list of every schema, the
parameters every operation accepts and the schema every operation returns.
"""

from __future__ import annotations

import copy
import functools
import zlib
from dataclasses import dataclass
from importlib import resources
from typing import Any

import msgspec

SPEC_FILE = "Looker.4.0.oas.json"
# Objects carry URLs; a fixed host keeps generated data independent of the port we bind.
URL_HOST = "https://looker.emulator.invalid"
TEMPLATE_TIMESTAMP = "2024-01-02T03:04:05.000+00:00"


@functools.cache
def spec() -> dict[str, Any]:
    """The decoded OpenAPI document (loaded once per process)."""
    raw = resources.files(__package__).joinpath(SPEC_FILE).read_bytes()
    return msgspec.json.decode(raw)


def schemas() -> dict[str, Any]:
    return spec()["components"]["schemas"]


def release_version() -> str:
    return str(spec()["info"].get("x-looker-release-version", "26.12.3"))


def full_version() -> str:
    return str(spec()["info"].get("version", "4.0.26.12"))


@functools.cache
def properties(schema: str) -> tuple[str, ...]:
    """Property names of a schema, in spec order (the order Looker serialises them)."""
    return tuple(schemas()[schema].get("properties", {}))


@functools.cache
def property_set(schema: str) -> frozenset[str]:
    return frozenset(properties(schema))


def ref_name(node: dict[str, Any]) -> str | None:
    ref = node.get("$ref")
    return ref.rsplit("/", 1)[-1] if ref else None


@functools.cache
def nested_schema(schema: str, prop: str) -> tuple[str | None, bool]:
    """(schema name of a property's object or array items, whether it is an array)."""
    node = schemas()[schema]["properties"][prop]
    if node.get("type") == "array":
        return ref_name(node.get("items", {})), True
    return ref_name(node), False


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    location: str
    type: str


@dataclass(frozen=True, slots=True)
class Operation:
    method: str
    path: str
    operation_id: str
    params: dict[str, Param]
    response_schema: str | None
    response_is_array: bool

    def accepts(self, name: str) -> bool:
        return name in self.params


@functools.cache
def operation(method: str, path: str) -> Operation:
    """The spec's operation for `METHOD path` (path as written in the spec, without /api/4.0)."""
    op = spec()["paths"][path][method.lower()]
    params: dict[str, Param] = {}
    for p in op.get("parameters", []):
        params[p["name"]] = Param(p["name"], p["in"], p.get("schema", {}).get("type", "string"))
    schema_name: str | None = None
    is_array = False
    for status in ("200", "201", "204"):
        resp = op["responses"].get(status)
        if resp and "content" in resp:
            body = next(iter(resp["content"].values()))["schema"]
            if body.get("type") == "array":
                schema_name, is_array = ref_name(body.get("items", {})), True
            else:
                schema_name = ref_name(body)
            break
    return Operation(method.upper(), path, op["operationId"], params, schema_name, is_array)


# --- templates: one value per property, chosen from type/format/enum -------------------------

_WORDS = ("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel")


def _h(*parts: str) -> int:
    return zlib.crc32("|".join(parts).encode())


def _string_value(schema: str, prop: str, node: dict[str, Any]) -> Any:
    fmt = node.get("format")
    if "enum" in node:
        return node["enum"][0]
    if fmt == "date-time":
        return TEMPLATE_TIMESTAMP
    if fmt in ("uri", "uri-reference") or prop.endswith("url"):
        return f"{URL_HOST}/{schema.lower()}/{prop}"
    if prop == "id" or prop.endswith("_id"):
        return str(_h(schema, prop) % 90 + 1)
    if "color" in prop:
        return "#%06X" % (_h(schema, prop) & 0xFFFFFF)
    if prop.endswith("_at"):
        return TEMPLATE_TIMESTAMP
    if "email" in prop:
        return "someone@example.com"
    return f"{_WORDS[_h(schema, prop) % len(_WORDS)]} {prop.replace('_', ' ')}"


def _value(schema: str, prop: str, node: dict[str, Any], stack: tuple[str, ...]) -> Any:
    ref = ref_name(node)
    if ref is not None:
        return None if ref in stack else _build(ref, stack)
    kind = node.get("type")
    if kind == "array":
        items = node.get("items", {})
        item_ref = ref_name(items)
        if item_ref is not None:
            return [] if item_ref in stack else [_build(item_ref, stack)]
        if "enum" in items:
            return [items["enum"][0]]
        if items.get("type") == "string":
            return [f"{prop}_{_WORDS[_h(schema, prop) % len(_WORDS)]}"]
        return []
    if kind == "object":
        extra = node.get("additionalProperties")
        if prop == "can":
            return {"show": True, "index": True, "update": True, "destroy": True}
        if isinstance(extra, dict) and extra.get("type") == "string":
            return {"key": "value"}
        return {}
    if kind == "boolean":
        return _h(schema, prop) % 3 == 0
    if kind == "integer":
        return _h(schema, prop) % 12
    if kind == "number":
        return float(_h(schema, prop) % 100) / 4
    if kind == "string":
        return _string_value(schema, prop, node)
    return "any value"  # `type: any` properties such as AlertFieldFilter.field_value


def _build(schema: str, stack: tuple[str, ...]) -> dict[str, Any]:
    stack = (*stack, schema)
    out: dict[str, Any] = {}
    for prop, node in schemas()[schema].get("properties", {}).items():
        # Looker answers many nullable properties with an explicit null; mirror that for roughly
        # a third of them so clients see nulls without any per-kind code.
        if node.get("nullable") and _h(schema, prop) % 3 == 0:
            out[prop] = None
        else:
            out[prop] = _value(schema, prop, node, stack)
    return out


@functools.cache
def _template(schema: str) -> dict[str, Any]:
    return _build(schema, ())


def template(schema: str) -> dict[str, Any]:
    """A fresh object of `schema` with every property present (deep copy, safe to mutate)."""
    return copy.deepcopy(_template(schema))


def shared_template(schema: str) -> dict[str, Any]:
    """The cached template itself: callers must copy before changing it (`{**t, ...}`)."""
    return _template(schema)


# --- write operations -------------------------------------------------------------------------


@functools.cache
def operations_by_id() -> dict[str, tuple[str, str]]:
    """operationId -> (METHOD, path) for every operation in the spec."""
    out: dict[str, tuple[str, str]] = {}
    for path, methods in spec()["paths"].items():
        for method, op in methods.items():
            if isinstance(op, dict) and "operationId" in op:
                out[op["operationId"]] = (method.upper(), path)
    return out


@functools.cache
def request_body(method: str, path: str) -> tuple[str | None, bool]:
    """(schema name of the operation's JSON body, whether the body is an array of it)."""
    body = spec()["paths"][path][method.lower()].get("requestBody")
    if not body:
        return None, False
    node = next(iter(body.get("content", {}).values()), {}).get("schema", {})
    if node.get("type") == "array":
        return ref_name(node.get("items", {})), True
    return ref_name(node), False


@functools.cache
def success_status(method: str, path: str) -> int:
    responses = spec()["paths"][path][method.lower()]["responses"]
    return next((int(c) for c in ("200", "201", "204") if c in responses), 200)


@functools.cache
def read_only(schema: str) -> frozenset[str]:
    return frozenset(p for p, n in schemas()[schema].get("properties", {}).items()
                     if n.get("readOnly"))


@functools.cache
def writable(schema: str) -> tuple[str, ...]:
    """Properties a client may send. A schema whose properties are all read-only is sent as
    it is (the SDK generator keeps its read type): then every property counts as writable."""
    props = properties(schema)
    ro = read_only(schema)
    if props and all(p in ro for p in props):
        return props
    return tuple(p for p in props if p not in ro)
