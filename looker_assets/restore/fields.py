"""Which fields of an object a client can write, from the Looker API 4.0 spec.

The spec declares request bodies with the read schemas; the SDK generator derives the Write*
forms by dropping read-only properties and nested objects whose properties are all read-only
(../shared/notes/looker-restore.md §0). The same rule here keeps a restore in step with the
spec instead of a hand-kept list.
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import msgspec

# The spec ships inside the package (beside the emulator that is built from it).
_SPEC = ("emulator", "Looker.4.0.oas.json")


@functools.cache
def _schemas() -> dict[str, Any]:
    raw = resources.files("looker_assets").joinpath(*_SPEC).read_bytes()
    return msgspec.json.decode(raw)["components"]["schemas"]


def _ref(node: dict[str, Any]) -> str | None:
    ref = node.get("$ref") or (node.get("items") or {}).get("$ref")
    return ref.rsplit("/", 1)[-1] if ref else None


def _all_read_only(schema: str) -> bool:
    props = _schemas().get(schema, {}).get("properties", {})
    return bool(props) and all(p.get("readOnly") for p in props.values())


@functools.cache
def writable(schema: str) -> frozenset[str]:
    """Properties of `schema` a write body may carry."""
    out = set()
    for name, node in _schemas()[schema].get("properties", {}).items():
        if node.get("readOnly"):
            continue
        nested = _ref(node)
        if nested is not None and _all_read_only(nested):
            continue
        out.add(name)
    return frozenset(out)


def pick(obj: dict[str, Any], names: frozenset[str] | set[str]) -> dict[str, Any]:
    """The keys of `obj` among `names`, in the object's order (absent keys stay absent)."""
    return {k: v for k, v in obj.items() if k in names}


# Query fields that say what a query is; client_id is Looker's handle for the query, and a
# reused one is refused (../shared/notes/looker-restore.md §1.7).
QUERY_FIELDS = writable("Query") - {"client_id"}


def query_form(query: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if not query else pick(query, QUERY_FIELDS)


def same(a: Any, b: Any) -> bool:
    """Equal as Looker means it: ids compare as strings, a missing key as null."""
    if isinstance(a, dict) and isinstance(b, dict):
        return all(same(a.get(k), b.get(k)) for k in a.keys() | b.keys())
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, (int, str)) and isinstance(b, (int, str)) and not isinstance(a, bool) \
            and not isinstance(b, bool):
        return str(a) == str(b)
    return a == b
