"""Which objects a list/search operation returns, in which order: visibility rules (trash,
LookML dashboards, "only my schedules"), search filters, `sorts` and paging parameters.

Filter semantics follow the spec's descriptions: criteria are ANDed unless filter_or=true;
string matches are case-insensitive with SQL LIKE wildcards `%` and `_`; id filters accept a
comma list; "IS NULL" / "NOT NULL" test for null.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

from . import spec
from .generate import API_USER_ID
from .kinds import KINDS
from .spec import Operation
from .store import Store

RESERVED = frozenset({"fields", "limit", "offset", "page", "per_page", "sorts", "filter_or"})
# Scoping flags and UI hints: accepted, but not property filters. Any other parameter that
# names no property of the kind's schema is ignored as well (e.g. `embed_user`, `frequency`).
IGNORED = frozenset(
    {
        "all_users", "all_owners", "group_by", "curate", "not_owned_by", "exclude_empty",
        "exclude_hidden", "include_internal", "include_self_service", "get_all_support_roles",
        "add_drills_metadata", "deleted",
    }
)  # fmt: skip
# Search parameters named differently from the property they filter.
RENAMED = {
    ("alerts", "disabled"): "is_disabled",
    ("roles", "model_set_ids"): "model_set_id",
    ("roles", "permission_set_ids"): "permission_set_id",
    ("users", "full_name"): "display_name",
    ("boards", "creator_id"): "user_id",
}


class ParamError(ValueError):
    """A query parameter Looker would reject with 400."""


def truthy(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("true", "1", "yes", "t", "y")


def _like(token: str) -> Callable[[str], bool]:
    if "%" not in token and "_" not in token:
        folded = token.casefold()
        return lambda s: s.casefold() == folded
    pattern = "".join(".*" if ch == "%" else "." if ch == "_" else re.escape(ch) for ch in token)
    rx = re.compile(pattern, re.IGNORECASE | re.DOTALL)
    return lambda s: rx.fullmatch(s) is not None


def _as_text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def value_predicate(raw: str, param_type: str, prop: str) -> Callable[[Any], bool]:
    text = raw.strip()
    upper = text.upper()
    if upper == "IS NULL":
        return lambda v: v is None
    if upper == "NOT NULL":
        return lambda v: v is not None
    if param_type == "boolean":
        want = truthy(text)
        return lambda v: v is not None and bool(v) == want
    idish = prop == "id" or prop.endswith("_id") or prop.endswith("_ids") or param_type == "array"
    if idish or param_type == "integer":
        tokens = {t.strip() for t in text.strip("[]").replace('"', "").split(",") if t.strip()}

        def match_ids(v: Any) -> bool:
            if v is None:
                return False
            if isinstance(v, list):
                return any(_as_text(x) in tokens for x in v)
            return _as_text(v) in tokens

        return match_ids
    matchers = [_like(t) for t in (text,)]

    def match_text(v: Any) -> bool:
        if v is None:
            return False
        if isinstance(v, list):
            return any(m(_as_text(x)) for x in v for m in matchers)
        return any(m(_as_text(v)) for m in matchers)

    return match_text


def _sort_key(v: Any) -> tuple[int, float | int, str]:
    # None first (as SQL sorts NULL low); numeric strings (ids) numerically; text case-folded.
    if v is None:
        return (0, 0, "")
    if isinstance(v, bool):
        return (1, int(v), "")
    if isinstance(v, int | float):
        return (1, v, "")
    if isinstance(v, str):
        if v.isascii() and v.isdigit():
            return (1, int(v), "")
        return (2, 0, v.casefold())
    return (3, 0, str(v))


def parse_sorts(text: str) -> list[tuple[str, bool]]:
    out = []
    for part in text.split(","):
        bits = part.split()
        if not bits:
            continue
        desc = len(bits) > 1 and bits[-1].lower() == "desc"
        out.append((bits[0], desc))
    return out


class Lister:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.lock = threading.Lock()

    def select(self, kind: str, op: Operation, params: dict[str, str], search: bool) -> list[str]:
        """Keys of the objects the operation returns, filtered and sorted (not paged)."""
        store = self.store
        relevant = tuple(
            sorted(
                (k, v)
                for k, v in params.items()
                if k not in ("fields", "limit", "offset", "page", "per_page")
            )
        )
        cache_key = (kind, op.path, relevant, store.generation)
        cache = store.query_cache
        with self.lock:
            hit = cache.get(cache_key)
            if hit is not None:
                cache.move_to_end(cache_key)
                return hit
        keys = self._select(kind, op, params, search)
        with self.lock:
            if store.query_cache is cache:
                cache[cache_key] = keys
                while len(cache) > 128:
                    cache.popitem(last=False)
        return keys

    def _select(self, kind: str, op: Operation, params: dict[str, str], search: bool) -> list[str]:
        store = self.store
        keys = list(store.keys(kind))
        recs = store.records(kind)
        # Visibility rules that apply before any filter.
        if kind in ("dashboards", "looks"):
            if search and kind == "dashboards":
                keys = [k for k in keys if not recs[k].meta.get("lookml")]
            deleted = store.column(kind, "deleted")
            raw = params.get("deleted") if op.accepts("deleted") else None
            if raw is None or raw.strip() == "":
                keys = [k for k in keys if not deleted[k]]
            elif raw.strip().upper() not in ("IS NULL", "NOT NULL"):
                want = truthy(raw)
                keys = [k for k in keys if bool(deleted[k]) == want]
        elif kind == "boards":
            gone = store.column(kind, "deleted_at")
            keys = [k for k in keys if gone[k] is None]
        elif kind == "scheduled_plans":
            if not truthy(params.get("all_users")) and not params.get("user_id"):
                owner = store.column(kind, "user_id")
                keys = [k for k in keys if owner[k] == API_USER_ID]
        elif kind == "alerts" and not truthy(params.get("all_owners")):
            owner = store.column(kind, "owner_id")
            keys = [k for k in keys if owner[k] == API_USER_ID]

        predicates: list[Callable[[str], bool]] = []
        for name, raw in params.items():
            param = op.params.get(name)
            if param is None or param.location != "query" or name in RESERVED:
                continue
            if name in IGNORED:
                continue
            if name == "ids":
                wanted = value_predicate(raw, "array", "id")
                predicates.append(lambda k, w=wanted: w(k))
                continue
            if kind == "users" and name == "group_id":
                col = store.column(kind, "group_ids")
                test = value_predicate(raw, "string", "group_id")
                predicates.append(lambda k, c=col, t=test: t(c[k]))
                continue
            prop = RENAMED.get((kind, name), name)
            if prop not in spec.property_set(KINDS[kind].schema):
                continue
            col = store.column(kind, prop)
            test = value_predicate(raw, param.type, prop)
            predicates.append(lambda k, c=col, t=test: t(c.get(k)))
        if predicates:
            if truthy(params.get("filter_or")):
                keys = [k for k in keys if any(p(k) for p in predicates)]
            else:
                keys = [k for k in keys if all(p(k) for p in predicates)]

        sorts = params.get("sorts") if op.accepts("sorts") else None
        if sorts:
            for prop, desc in reversed(parse_sorts(sorts)):
                col = store.column(kind, prop)
                keys.sort(key=lambda k, c=col: _sort_key(c.get(k)), reverse=desc)
        return keys


def page_bounds(op: Operation, params: dict[str, str]) -> tuple[int, int | None, bool]:
    """(offset, limit or None, whether paging was requested). limit/offset win over
    page/per_page, as the spec says."""

    def number(name: str) -> int | None:
        raw = params.get(name)
        if raw is None or raw == "" or not op.accepts(name):
            return None
        try:
            value = int(raw)
        except ValueError:
            raise ParamError(f"{name} must be an integer, got {raw!r}") from None
        if value < 0:
            raise ParamError(f"{name} must not be negative")
        return value

    limit, offset = number("limit"), number("offset")
    if limit is not None or offset is not None:
        return offset or 0, limit, limit is not None
    per_page, page = number("per_page"), number("page")
    if per_page is not None:
        return max(0, ((page or 1) - 1) * per_page), per_page, True
    return 0, None, False
