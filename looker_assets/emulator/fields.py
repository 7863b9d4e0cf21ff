"""Looker's `fields` parameter: a comma list of names, each optionally followed by a
parenthesised sub-selection, e.g. `id,title,folder(id,name),dashboard_elements(id,query(model))`.
"""

from __future__ import annotations

import functools
from typing import Any

# name -> sub-selection (None = the whole value)
FieldTree = dict[str, "FieldTree | None"]


class FieldsError(ValueError):
    """Unbalanced parentheses or an empty name in a `fields` value."""


@functools.lru_cache(maxsize=1024)
def parse_fields(text: str) -> FieldTree | None:
    """Parse a `fields` value; None (select everything) for an empty value."""
    text = text.strip()
    if not text:
        return None
    tree, pos = _parse_list(text, 0)
    if pos != len(text):
        raise FieldsError(f"unexpected ')' at {pos} in fields={text!r}")
    return tree


def _parse_list(text: str, pos: int) -> tuple[FieldTree, int]:
    tree: FieldTree = {}
    n = len(text)
    while pos < n:
        start = pos
        while pos < n and text[pos] not in ",()":
            pos += 1
        name = text[start:pos].strip()
        sub: FieldTree | None = None
        if pos < n and text[pos] == "(":
            sub, pos = _parse_list(text, pos + 1)
            if pos >= n or text[pos] != ")":
                raise FieldsError(f"unclosed '(' in fields={text!r}")
            pos += 1
            while pos < n and text[pos] == " ":
                pos += 1
        if name:
            # A repeated name merges its sub-selections; a bare name wins (selects everything).
            if name in tree and (tree[name] is None or sub is None):
                tree[name] = None
            elif name in tree:
                tree[name] = {**tree[name], **sub}  # type: ignore[dict-item]
            else:
                tree[name] = sub
        elif sub is not None:
            raise FieldsError(f"'(' without a field name in fields={text!r}")
        if pos < n and text[pos] == ",":
            pos += 1
            continue
        if pos < n and text[pos] == ")":
            return tree, pos
    return tree, pos


def project(value: Any, tree: FieldTree | None) -> Any:
    """Keep only the selected keys (recursively; lists are projected element-wise).

    Names that the object lacks are skipped, as Looker does for unknown field names.
    """
    if tree is None:
        return value
    if isinstance(value, list):
        return [project(v, tree) for v in value]
    if not isinstance(value, dict):
        return value
    # Output follows the object's own key order (schema order), not the order of `fields`.
    out: dict[str, Any] = {}
    for name, v in value.items():
        if name in tree:
            sub = tree[name]
            out[name] = v if sub is None or v is None else project(v, sub)
    return out


def top_level_names(tree: FieldTree | None) -> frozenset[str] | None:
    return None if tree is None else frozenset(tree)
