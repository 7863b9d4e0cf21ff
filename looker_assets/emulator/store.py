"""All content of one emulator instance: records, render caches and mutations.

Concurrency: request threads only read. Mutations take a lock, replace the affected kind's
record dict (copy-on-write, so readers never see a dict change size under them) and bump the
generation, which invalidates every cache (objects embed each other, e.g. a folder's name
inside each dashboard).
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import msgspec

from . import spec
from . import values as V
from .generate import API_USER_ID, Generator, Record, element_number
from .kinds import KIND_NAMES, KINDS
from .render import Indexes, Renderer

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


# What makes two queries (merge queries) the same query: the properties a client writes.
QUERY_KEYS = ("model", "view", "fields", "pivots", "fill_fields", "filters",
              "filter_expression", "sorts", "limit", "column_limit", "total", "row_total",
              "subtotals", "vis_config", "filter_config", "visible_ui_sections",
              "dynamic_fields", "query_timezone")
MERGE_KEYS = ("column_limit", "dynamic_fields", "pivots", "sorts", "source_queries", "total",
              "limit", "vis_config")


def _canonical(value: Any) -> str:
    # Objects compare by content whatever their key order; lists keep their order.
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def query_digest(query: dict[str, Any]) -> str:
    return _canonical({k: query.get(k) for k in QUERY_KEYS})


def merge_digest(merge: dict[str, Any]) -> str:
    content = {k: merge.get(k) for k in MERGE_KEYS}
    content["total"] = bool(content.get("total"))
    content["source_queries"] = [
        {"merge_fields": [{"field_name": f.get("field_name"),
                           "source_field_name": f.get("source_field_name")}
                          for f in s.get("merge_fields") or ()],
         "name": s.get("name"), "query_id": s.get("query_id"), "query_slug": s.get("query_slug")}
        for s in merge.get("source_queries") or ()]
    return _canonical(content)


class ByteCache:
    """LRU of encoded JSON, bounded by total size; entries remember their generation."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.data: OrderedDict[Any, tuple[int, bytes]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: Any, gen: int) -> bytes | None:
        with self.lock:
            hit = self.data.get(key)
            if hit is None or hit[0] != gen:
                return None
            self.data.move_to_end(key)
            return hit[1]

    def put(self, key: Any, gen: int, value: bytes) -> None:
        if len(value) > self.max_bytes // 4:
            return
        with self.lock:
            old = self.data.pop(key, None)
            if old is not None:
                self.size -= len(old[1])
            self.data[key] = (gen, value)
            self.size += len(value)
            while self.size > self.max_bytes and self.data:
                _, (_, dropped) = self.data.popitem(last=False)
                self.size -= len(dropped)

    def clear(self) -> None:
        with self.lock:
            self.data.clear()
            self.size = 0


class Store:
    def __init__(
        self, scale: int, seed: int, client_id: str, cache_bytes: int = 192 * 1024 * 1024,
        instance: int = 0, base_scale: int | None = None,
    ) -> None:
        self.scale = scale
        self.client_id = client_id
        self.instance = instance
        self.generator = Generator(scale, seed, client_id, instance, base_scale)
        # Another instance draws its own content from a seed of its own and shares the LookML
        # (drawn from the given seed) with instance 0; for instance 0 both are `seed`.
        self.seed = self.generator.seed
        self.lookml_seed = seed
        self._records: dict[str, dict[str, Record]] = self.generator.generate()
        self._order: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in self._records.items()}
        self.generation = 0
        self.lock = threading.RLock()
        self.cache = ByteCache(cache_bytes)
        # The instance's own seed, as after every write (_invalidate): generated queries and
        # children are memoised and indexed by content, so they must not depend on whether
        # anything was written yet.
        self.renderer = Renderer(self, self.seed)
        self.indexes = Indexes(self)
        self._folder_bases: dict[str, dict[str, Any]] = {}
        self._columns: dict[tuple[str, str], dict[str, Any]] = {}
        self.query_cache: OrderedDict[Any, list[str]] = OrderedDict()
        self._last_now = 0.0
        # The highest id each kind ever had: Looker never gives a deleted object's id to a new
        # one, even when the deleted one had the highest id.
        self._max_ids: dict[str, int] = {
            kind: max((int(k) for k in recs if k.isdigit()), default=0)
            for kind, recs in self._records.items()}
        # The generated records, never changed: what generated queries are derived from, so
        # they outlive the objects that first used them (queries are never deleted).
        self._seed = self._records
        self._seed_keys = {k: tuple(v) for k, v in self._records.items()}
        self._lookml_numbers = {
            element_number(k, 0) // 1000: k for k in self._records["dashboards"] if "::" in k}
        self._seed_lru: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._seed_lock = threading.Lock()
        # Queries and merge queries created through the API (or taken over from generated
        # content), by id; both are immutable.
        self.queries: dict[str, dict[str, Any]] = {}
        self.merge_queries: dict[str, dict[str, Any]] = {}
        self._query_digests: dict[str, str] = {}
        self._merge_digests: dict[str, str] = {}
        self._client_ids: dict[str, str] = {}
        self._seed_index: tuple[dict[str, str], dict[str, str], dict[str, str]] | None = None
        # Write-side state beside the records: id counters, the owners of children created
        # through the API, and access settings written to content metadata.
        self._counters: dict[str, int] = {}
        self.child_owner: dict[tuple[str, str], str] = {}
        self._access: dict[str, dict[str, Any]] = {}

    # -- reading --------------------------------------------------------------------------

    def records(self, kind: str) -> dict[str, Record]:
        return self._records[kind]

    def record(self, kind: str, key: str | None) -> Record | None:
        if key is None:
            return None
        return self._records[kind].get(key)

    def keys(self, kind: str) -> tuple[str, ...]:
        return self._order[kind]

    def detail_bytes(self, kind: str, key: str) -> bytes | None:
        """The detail endpoint's JSON body for one object (None: no such object)."""
        return self._detail(kind, key)[0]

    def detail_to_read(self, kind: str, key: str) -> dict[str, Any] | None:
        """The detail object, to read and not to change: the one just rendered when it was not
        in the cache (no encode and decode round trip), else the cached body decoded."""
        body, rendered = self._detail(kind, key)
        return rendered if rendered is not None else None if body is None else _decode(body)

    def _detail(self, kind: str, key: str) -> tuple[bytes | None, dict[str, Any] | None]:
        """(the detail body, the object if it was rendered by this call)."""
        gen = self.generation
        hit = self.cache.get((kind, key), gen)
        if hit is not None:
            return hit, None
        rec = self._records[kind].get(key)
        if rec is None:
            return None, None
        obj = self.renderer.full(kind, rec)
        body = _encode(obj)
        self.cache.put((kind, key), gen, body)
        return body, obj

    def memo_bytes(self, key: tuple[Any, ...], make: Callable[[], bytes | None]) -> bytes | None:
        """make(), kept in the render cache under `key` until the next mutation."""
        gen = self.generation  # captured first: a mutation meanwhile makes the entry stale
        hit = self.cache.get(key, gen)
        if hit is not None:
            return hit
        body = make()
        if body is not None:
            self.cache.put(key, gen, body)
        return body

    def detail_dict(self, kind: str, key: str | None) -> dict[str, Any] | None:
        """A fresh decoded copy of the detail object (safe to embed or change)."""
        body = self.detail_bytes(kind, key) if key is not None else None
        return None if body is None else _decode(body)

    def top(self, kind: str, key: str) -> dict[str, Any] | None:
        """The object without its heavy properties (see KindInfo.heavy)."""
        rec = self._records[kind].get(key)
        return None if rec is None else self.renderer.top(kind, rec)

    def row(self, kind: str, key: str, schema: str) -> dict[str, Any] | None:
        """The object as a list operation whose rows use another `schema` returns it."""
        if schema == "GroupHierarchy":
            top = self.top(kind, key)
            if top is None:
                return None
            rec = self._records[kind][key]
            out = {k: v for k, v in top.items() if k in spec.property_set(schema)}
            # Edges to groups and roles deleted since are gone, as in Looker.
            out["parent_group_ids"] = [g for g in rec.meta.get("parent_group_ids", ())
                                       if g in self._records["groups"]]
            out["role_ids"] = [r for r in rec.meta.get("role_ids", ())
                               if r in self._records["roles"]]
            return out
        if schema == "LookWithDashboards":
            top = self.top(kind, key)
            if top is None:
                return None
            allowed = spec.property_set(schema)
            out = {k: v for k, v in top.items() if k in allowed}
            out["dashboards"] = [
                self.row("dashboards", d, "DashboardBase")
                for d in self.indexes.look_dashboards.get(key, ())
            ]
            return out
        top = self.top(kind, key)
        if top is None:
            return None
        allowed = spec.property_set(schema)
        return {k: v for k, v in top.items() if k in allowed}

    def row_bytes(self, kind: str, key: str, schema: str) -> bytes | None:
        def make() -> bytes | None:
            row = self.row(kind, key, schema)
            return None if row is None else _encode(row)

        return self.memo_bytes((kind, key, schema), make)

    def cached_row(self, kind: str, key: str, schema: str) -> dict[str, Any] | None:
        """Rows embedded in many objects; FolderBase ones are memoised per generation."""
        if kind == "folders" and schema == "FolderBase":
            memo = self._folder_bases  # a mutation meanwhile swaps in a new dict: no stale entry
            hit = memo.get(key)
            if hit is None:
                hit = self.row(kind, key, schema)
                if hit is not None:
                    memo[key] = hit
            return hit
        return self.row(kind, key, schema)

    def column(self, kind: str, prop: str) -> dict[str, Any]:
        """`prop` of every object of a kind (for filters and sorts), memoised per generation."""
        cache_key = (kind, prop)
        memo = self._columns  # captured first, like cached_row(): never store a stale column
        hit = memo.get(cache_key)
        if hit is not None:
            return hit
        recs = self._records[kind]
        if prop in KINDS[kind].heavy:
            col: dict[str, Any] = dict.fromkeys(recs)
        else:
            # Record fields are what top() renders for them (render never overrides a field),
            # so most columns need no rendering at all.
            render = self.renderer.top
            col = {
                k: r.fields[prop] if prop in r.fields else render(kind, r).get(prop)
                for k, r in recs.items()
            }
        memo[cache_key] = col
        return col

    def objects(self, kind: str, schema: str | None = None) -> dict[str, dict[str, Any]]:
        """Every object of `kind`: as its detail endpoint returns it, or as rows of `schema`
        (a list operation's)."""
        if kind in ("merge_queries", "queries"):
            return self._merge_objects(kind)
        if kind not in KINDS:
            raise KeyError(f"unknown kind {kind!r}; expected one of {KIND_NAMES}")
        out: dict[str, dict[str, Any]] = {}
        for key in self._order[kind]:
            obj = self.detail_dict(kind, key) if schema is None else self.row(kind, key, schema)
            if obj is not None:
                out[key] = obj
        return out

    # -- generated content: stable whatever was written since ------------------------------

    def seed_keys(self, kind: str) -> tuple[str, ...]:
        return self._seed_keys[kind]

    def seed_record(self, kind: str, key: str | None) -> Record | None:
        return None if key is None else self._seed[kind].get(key)

    def seed_children(self, key: str) -> dict[str, Any]:
        """A generated dashboard's children, queries and merge queries (memoised: they never
        change; callers must not modify them)."""
        with self._seed_lock:
            hit = self._seed_lru.get(key)
            if hit is not None:
                self._seed_lru.move_to_end(key)
                return hit
        rec = self._seed["dashboards"].get(key)
        if rec is None:
            return {"elements": [], "filters": [], "layouts": [], "queries": {}, "merges": {}}
        out = self.renderer.seed_children(rec)
        with self._seed_lock:
            self._seed_lru[key] = out
            while len(self._seed_lru) > 64:
                self._seed_lru.popitem(last=False)
        return out

    def _seed_dashboard_of(self, number: int) -> str | None:
        """The generated dashboard whose tiles' numbers start at number * 1000."""
        if number < 1_000_000:
            return str(number)
        return self._lookml_numbers.get(number)

    def query_dict(self, query_id: str | None) -> dict[str, Any] | None:
        """A query by id: created through the API, or one generated content uses (their ids
        say where they come from: look queries, tile queries, merge source queries)."""
        if not query_id:
            return None
        hit = self.queries.get(query_id)
        if hit is not None:
            return hit
        if not query_id.isdigit():
            return None
        n = int(query_id)
        if 500_000 <= n < 1_000_000:
            rec = self._seed["looks"].get(str(n - 500_000))
            return None if rec is None else self.renderer.look_query(rec)
        if n >= 100_000_000_000:
            number = (n - 100_000_000_000) // 10
        elif n > 1_000_000:
            number = n - 1_000_000
        else:
            return None
        dash = self._seed_dashboard_of(number // 1000)
        return None if dash is None else self.seed_children(dash)["queries"].get(query_id)

    def merge_query_dict(self, merge_id: str | None) -> dict[str, Any] | None:
        if not merge_id:
            return None
        hit = self.merge_queries.get(merge_id)
        if hit is not None:
            return hit
        if not merge_id.isdigit() or int(merge_id) < 200_000_000_000:
            return None
        dash = self._seed_dashboard_of((int(merge_id) - 200_000_000_000) // 1000)
        return None if dash is None else self.seed_children(dash)["merges"].get(merge_id)

    def _merge_objects(self, kind: str) -> dict[str, dict[str, Any]]:
        """The merge queries behind user-defined dashboards' tiles (trash included), or the
        source queries of those: objects that have no list operation of their own."""
        merges: dict[str, dict[str, Any]] = {}
        for key in self._order["dashboards"]:
            if "::" in key:
                continue
            dash = self.detail_dict("dashboards", key) or {}
            for el in dash.get("dashboard_elements") or ():
                merge = self.merge_query_dict(el.get("merge_result_id"))
                if merge is not None:
                    merges[merge["id"]] = merge
        if kind == "merge_queries":
            return merges
        out: dict[str, dict[str, Any]] = {}
        for merge in merges.values():
            for source in merge.get("source_queries") or ():
                query = self.query_dict(source.get("query_id"))
                if query is not None:
                    out[query["id"]] = query
        return out

    # -- write-side bookkeeping --------------------------------------------------------------

    def now(self) -> str:
        return self._now()

    def new_key(self, kind: str) -> str:
        return self._new_key(kind)

    def next_id(self, name: str, base: int) -> int:
        """The next number of a server-assigned id series (callers hold the lock)."""
        n = self._counters.get(name, base) + 1
        self._counters[name] = n
        return n

    def _seed_query_index(self) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
        """Content digests and client ids of every generated query, and digests of every
        generated merge query: built once, on the first create that needs them (about half
        a second at scale 10000), since generated content never changes."""
        index = self._seed_index
        if index is not None:
            return index
        digests: dict[str, str] = {}
        client_ids: dict[str, str] = {}
        merges: dict[str, str] = {}
        queries: list[dict[str, Any]] = [
            self.renderer.look_query(r) for r in self._seed["looks"].values()]
        for key in self._seed_keys["dashboards"]:
            children = self.renderer.seed_children(self._seed["dashboards"][key])
            queries.extend(children["queries"].values())
            for merge in children["merges"].values():
                merges.setdefault(merge_digest(merge), merge["id"])
        for q in queries:
            digests.setdefault(query_digest(q), q["id"])
            if q.get("client_id"):
                client_ids[q["client_id"]] = q["id"]
        self._seed_index = (digests, client_ids, merges)
        return self._seed_index

    def add_query(self, query: dict[str, Any], digest: str) -> None:
        self.queries[query["id"]] = query
        self._query_digests.setdefault(digest, query["id"])
        if query.get("client_id"):
            self._client_ids[query["client_id"]] = query["id"]

    def query_by_content(self, digest: str) -> dict[str, Any] | None:
        qid = self._query_digests.get(digest) or self._seed_query_index()[0].get(digest)
        return self.query_dict(qid)

    def query_by_client_id(self, client_id: str) -> dict[str, Any] | None:
        qid = self._client_ids.get(client_id) or self._seed_query_index()[1].get(client_id)
        return self.query_dict(qid)

    def add_merge_query(self, merge: dict[str, Any], digest: str) -> None:
        self.merge_queries[merge["id"]] = merge
        self._merge_digests.setdefault(digest, merge["id"])

    def merge_by_content(self, digest: str) -> dict[str, Any] | None:
        mid = self._merge_digests.get(digest) or self._seed_query_index()[2].get(digest)
        return self.merge_query_dict(mid)

    def child_dashboard(self, ckind: str, cid: str) -> str | None:
        """The dashboard a filter, layout, element or component id belongs to: from the
        record of API-created children, else from the numbering of generated ones."""
        owner = self.child_owner.get((ckind, cid))
        if owner is not None or not cid.isdigit():
            return owner
        n = int(cid)
        number = {"elements": n // 1000, "filters": n // 100, "layouts": n // 10,
                  "components": n // 10_000}.get(ckind)
        return None if number is None else self._seed_dashboard_of(number)

    def child_board(self, what: str, xid: str) -> str | None:
        """The board a section or item id belongs to (generated sections are board * 10 + j,
        their items the section id followed by two digits)."""
        owner = self.child_owner.get(("board_" + what, xid))
        if owner is not None or not xid.isdigit():
            return owner
        section = xid if what == "sections" else xid[:-2]
        return str((int(section) - 1) // 10) if section.isdigit() and int(section) > 0 else None

    def result_maker_exists(self, rm_id: str) -> bool:
        """Whether a result maker id names an existing tile's result maker."""
        key = self.child_dashboard("elements", rm_id)
        dash = self.detail_dict("dashboards", key) if key else None
        return any(el.get("result_maker_id") == rm_id
                   for el in (dash or {}).get("dashboard_elements") or ())

    def set_access(self, cm_id: str, state: dict[str, Any]) -> None:
        """Store a content metadata's inherits flag and own access entries."""
        with self.lock:
            self._access = {**self._access, cm_id: state}
            self.generation += 1
            self.cache.clear()
            self.query_cache = OrderedDict()

    def apply(self, changes: dict[str, dict[str, Record | None]]) -> None:
        """Commit the records of one write (None: deleted), whatever kinds they touch."""
        with self.lock:
            records, order = dict(self._records), dict(self._order)
            for kind, recs in changes.items():
                if not recs:
                    continue
                new = dict(records[kind])
                for key, rec in recs.items():
                    if rec is None:
                        new.pop(key, None)
                    else:
                        new[key] = rec
                records[kind] = new
                order[kind] = tuple(new)
            self._records, self._order = records, order
            self._invalidate()

    # -- sub-collections: edges that hang off one object ----------------------------------

    def role_users(self, role_id: str, direct_only: bool) -> list[str] | None:
        """Ids of the users holding a role: directly, or also through one of their groups;
        None when there is no such role."""
        if role_id not in self._records["roles"]:
            return None
        groups = {k for k, r in self._records["groups"].items()
                  if role_id in r.meta.get("role_ids", ())}
        return [k for k, r in self._records["users"].items()
                if role_id in (r.fields.get("role_ids") or ())
                or (not direct_only and groups & set(r.fields.get("group_ids") or ()))]

    def group_values(self, attribute_id: str) -> list[dict[str, Any]] | None:
        """A user attribute's values for groups, highest rank first (UserAttributeGroupValue);
        None when there is no such attribute."""
        rec = self._records["user_attributes"].get(attribute_id)
        if rec is None:
            return None
        hidden = bool(rec.fields.get("value_is_hidden"))
        groups_now = self._records["groups"]
        stored = rec.meta.get("group_values")
        if stored is not None:
            pairs = [(g, v) for g, v in stored if g in groups_now]
        else:
            # Drawn from the generated groups, so other groups' changes leave them be.
            rng = V.rng_for(self.seed, "group-values", attribute_id)
            groups = list(self._seed_keys["groups"])
            chosen = rng.sample(groups, min(len(groups), rng.choice((0, 1, 2, 3))))
            values_drawn = [rng.choice(("EMEA", "APAC", "42", "acme", "Ω")) for _ in chosen]
            pairs = [(g, v) for g, v in zip(chosen, values_drawn, strict=True)
                     if g in groups_now]
        values = [{
            **spec.shared_template("UserAttributeGroupValue"),
            "id": f"{attribute_id}-{group}",
            "group_id": group,
            "user_attribute_id": attribute_id,
            "value_is_hidden": hidden,
            "rank": rank + 1,
            # Hidden values never come back from the API.
            "value": None if hidden else value,
        } for rank, (group, value) in enumerate(pairs)]
        return values

    def content_meta(self, cm_id: str) -> dict[str, Any] | None:
        """The ContentMeta of a folder's or board's content_metadata_id (None: no such id).
        Roots and a quarter of the rest set their own access (inherits false)."""
        owner = self.indexes.content_metadata.get(cm_id)
        if owner is None:
            return None
        kind, key = owner
        rec = self._records[kind][key]
        parent_cm = None
        if kind == "folders":
            parent = self._records["folders"].get(rec.fields.get("parent_id") or "")
            parent_cm = parent.fields.get("content_metadata_id") if parent else None
        state = self._access.get(cm_id)
        own = parent_cm is None or (not state["inherits"] if state is not None else
                                    V.rng_for(self.seed, "access", cm_id).random() < 0.25)
        return {
            **spec.shared_template("ContentMeta"),
            "id": cm_id,
            "name": rec.fields.get("name") if kind == "folders" else rec.fields.get("title"),
            "parent_id": parent_cm,
            "dashboard_id": None,
            "look_id": None,
            "agent_id": None,
            "folder_id": key if kind == "folders" else None,
            "homepage_id": key if kind == "boards" else None,
            "content_type": "space" if kind == "folders" else "board",
            "inherits": not own,
            "inheriting_id": None if own else parent_cm,
            "slug": None,
        }

    def content_access(self, cm_id: str) -> list[dict[str, Any]] | None:
        """The access entries (ContentMetaGroupUser) a folder or board sets itself: none
        when it inherits its parent's."""
        meta = self.content_meta(cm_id)
        if meta is None:
            return None
        if meta["inherits"]:
            return []
        groups_now, users_now = self._records["groups"], self._records["users"]
        state = self._access.get(cm_id)
        if state is not None:
            # Entries naming a group or user deleted since are gone, as in Looker.
            return [e for e in state["entries"]
                    if (e["group_id"] or e["user_id"]) in (groups_now if e["group_id"]
                                                           else users_now)]
        rng = V.rng_for(self.seed, "access-entries", cm_id)
        groups, users = list(self._seed_keys["groups"]), list(self._seed_keys["users"])
        entries = []
        for j in range(rng.randint(1, 3)):
            to_group = rng.random() < 0.7 or not users
            entries.append({
                **spec.shared_template("ContentMetaGroupUser"),
                "id": f"{cm_id}-{j + 1}",
                "content_metadata_id": cm_id,
                "permission_type": rng.choice(("view", "edit")),
                "group_id": rng.choice(groups) if to_group and groups else None,
                "user_id": None if to_group and groups else rng.choice(users),
            })
        return [e for e in entries if (e["group_id"] in groups_now if e["group_id"]
                                       else e["user_id"] in users_now)]

    # -- LookML deploys: what a project's current workspace and manifest say ---------------

    def project_head(self, project_id: str) -> tuple[str, int] | None:
        """(deployed production commit, its unix time) of a project; None: no such project."""
        rec = self._records["projects"].get(project_id)
        if rec is None:
            return None
        # Projects always carry a head (generated and created ones); the fallback is the same
        # value the generator would have given, for records made some other way.
        head = rec.meta.get("head") or V.git_sha(self.seed, "head", project_id)
        at = rec.meta.get("commit_at")
        if at is None:
            at = V.random_epoch(V.rng_for(self.seed, "head-at", project_id))
        return head, int(at)

    def project_workspace(self, project_id: str) -> dict[str, Any] | None:
        """The ProjectWorkspace of an API session: always production mode, so the workspace
        is the deployed production branch (git_head = the last deploy's commit)."""
        deployed = self.project_head(project_id)
        if deployed is None:
            return None
        head, at = deployed
        rec = self._records["projects"][project_id]
        branch = rec.fields.get("git_production_branch_name") or "master"
        git_branch = {
            **spec.shared_template("GitBranch"),
            "name": branch, "remote": "origin", "remote_name": branch,
            "error": None, "message": None, "owner_name": None,
            "readonly": False, "personal": False,
            "is_local": True, "is_remote": True, "is_production": True,
            "ahead_count": 0, "behind_count": 0, "commit_at": at,
            "ref": head, "remote_ref": head,
        }
        return {
            **spec.shared_template("ProjectWorkspace"),
            "project_id": project_id,
            "workspace_id": "production",
            "git_status": "OK",
            "git_head": head,
            "dependency_status": "lock_optional",
            "git_branch": git_branch,
            "lookml_type": "lookml",
        }

    def manifest(self, project_id: str) -> dict[str, Any] | None:
        """A project's Manifest. With three or more projects, the last one (by id) imports
        the first as a local dependency, so clients meet one cross-project import."""
        projects = self._records["projects"]
        if project_id not in projects:
            return None
        ids = sorted(projects)
        imports = []
        if len(ids) >= 3 and project_id == ids[-1]:
            imports.append({"name": ids[0], "url": None, "ref": None, "is_remote": False})
        return {
            **spec.shared_template("Manifest"),
            "name": project_id,
            "imports": imports,
            "localization_settings": {"default_locale": None, "localization_level": None},
        }

    # -- mutating -------------------------------------------------------------------------

    def _now(self) -> str:
        now = max(time.time(), self._last_now + 0.001)
        self._last_now = now
        return V.ts(now)

    def _commit(self, kind: str, recs: dict[str, Record]) -> None:
        self._records = {**self._records, kind: recs}
        self._order = {**self._order, kind: tuple(recs)}
        self._invalidate()

    def _invalidate(self) -> None:
        """A new generation: objects embed each other, so every cache goes."""
        self.generation += 1
        self.renderer = Renderer(self, self.seed)
        self.indexes = Indexes(self)
        self._folder_bases = {}
        self._columns = {}
        self.query_cache = OrderedDict()
        self.cache.clear()

    def _require(self, kind: str, key: str) -> Record:
        if kind not in KINDS:
            raise KeyError(f"unknown kind {kind!r}")
        rec = self._records[kind].get(key)
        if rec is None:
            raise KeyError(f"no {kind} with id {key!r}")
        return rec

    def deploy(self, project_id: str) -> str:
        """A deploy of `project_id` that changed no explore: only its head moves. Returns the
        new head."""
        with self.lock:
            self._require("projects", project_id)
            return self._deploy(project_id)

    def _deploy(self, project_id: str) -> str:
        """Give a project a new deployed commit (callers hold the lock). Its Project JSON
        stays as it was: the head lives in meta, which the renderer never shows."""
        rec = self._records["projects"][project_id]
        old, old_at = self.project_head(project_id) or ("", 0)
        n = rec.meta.get("deploys", 0) + 1
        # Chained from the old head, so every deploy gives a new, reproducible commit id.
        head = V.git_sha(self.seed, "deploy", project_id, old, n)
        at = max(int(time.time()), old_at + 1)
        self._replace("projects", rec, {}, {"head": head, "commit_at": at, "deploys": n})
        return head

    def _lookml_changed(self, kind: str, rec: Record) -> None:
        """An explore, a model or a LookML dashboard changed: in Looker that only happens by a
        deploy of its project, so that project deploys. Called after the change is committed,
        so a client that sees the new head also sees the new LookML."""
        if kind == "lookml_models":
            project = rec.fields.get("project_name")
        elif kind == "explores" or (kind == "dashboards" and "::" in rec.key):
            model = self._records["lookml_models"].get(rec.key.split("::", 1)[0])
            project = (model or rec).fields.get("project_name")
        else:
            return
        if isinstance(project, str) and project in self._records["projects"]:
            self._deploy(project)

    def _replace(
        self, kind: str, rec: Record, changes: dict[str, Any], meta: dict[str, Any] | None = None
    ) -> None:
        if "updated_at" in spec.property_set(KINDS[kind].schema) and "updated_at" in rec.fields:
            changes.setdefault("updated_at", self._now())
        new = Record(rec.key, {**rec.fields, **changes}, {**rec.meta, **(meta or {})})
        recs = dict(self._records[kind])
        recs[rec.key] = new
        self._commit(kind, recs)

    def update(self, kind: str, key: str) -> None:
        """Bump updated_at (where the kind has it) and change a visible field."""
        with self.lock:
            rec = self._require(kind, key)
            prop = KINDS[kind].label_prop
            old = rec.fields.get(prop)
            version = rec.meta.get("version", 0) + 1
            base = str(old if old is not None else prop).split(" ✎")[0]
            changes: dict[str, Any] = {prop: f"{base} ✎{version}"}
            if kind == "users":
                changes["display_name"] = f"{changes[prop]} {rec.fields.get('last_name')}"
            self._replace(kind, rec, changes, {"version": version})
            self._lookml_changed(kind, rec)

    def drop_field(self, key: str, name: str) -> None:
        """A LookML change that removes one field from an explore (its project deploys)."""
        with self.lock:
            rec = self._require("explores", key)
            groups = (self.detail_dict("explores", key) or {}).get("fields") or {}
            if not any(f.get("name") == name for part in groups.values() for f in part or ()):
                raise KeyError(f"explore {key} has no field {name!r}")
            # Fields are rendered from the explore's seed: the dropped ones are left out then.
            dropped = [*rec.meta.get("dropped_fields", ()), name]
            self._replace("explores", rec, {}, {"dropped_fields": dropped})
            self._lookml_changed("explores", rec)

    def delete(self, kind: str, key: str) -> None:
        """Hard delete: the object disappears from every list and its detail answers 404."""
        with self.lock:
            rec = self._require(kind, key)
            recs = dict(self._records[kind])
            del recs[key]
            self._commit(kind, recs)
            if kind == "explores":
                model = key.split("::", 1)[0]
                mrec = self._records["lookml_models"].get(model)
                if mrec is not None:
                    meta = {**mrec.meta, "explores": [e for e in mrec.meta["explores"] if e != key]}
                    models = dict(self._records["lookml_models"])
                    models[model] = Record(model, dict(mrec.fields), meta)
                    self._commit("lookml_models", models)
            self._lookml_changed(kind, rec)

    def create(self, kind: str) -> str:
        """A new object of `kind` (fresh id, created/updated now); returns its id."""
        with self.lock:
            if kind not in KINDS:
                raise KeyError(f"unknown kind {kind!r}")
            gen = self.generator
            gen.records = dict(self._records)
            recs = self._records[kind]
            n = len(recs) + 1
            key = self._new_key(kind)
            rng = V.rng_for(self.seed, "create", kind, key)
            make = getattr(gen, {
                "dashboards": "dashboard", "looks": "look", "lookml_models": "lookml_model",
                "explores": "explore", "users": "user", "roles": "role", "groups": "group",
                "permission_sets": "permission_set", "model_sets": "model_set",
                "folders": "folder", "boards": "board", "scheduled_plans": "scheduled_plan",
                "alerts": "alert", "user_attributes": "user_attribute",
                "connections": "connection", "projects": "project", "themes": "theme",
                "color_collections": "color_collection",
            }[kind])  # fmt: skip
            rec = make(key, rng, n + 1000)
            now = self._now()
            for prop in ("created_at", "updated_at"):
                if prop in rec.fields:
                    rec.fields[prop] = now
            if "deleted" in rec.fields:
                rec.fields.update(deleted=False, deleted_at=None, deleter_id=None)
            if kind == "dashboards":
                # Not generated from the seed: its children and queries are stored from now on.
                raw = self.renderer.seed_children(rec)
                self.queries.update(raw["queries"])
                self.merge_queries.update(raw["merges"])
                rec.meta["children"] = {k: raw[k] for k in ("elements", "filters", "layouts")}
            elif kind == "looks":
                self.queries[rec.fields["query_id"]] = self.renderer.look_query(rec)
            new = dict(recs)
            new[key] = rec
            self._commit(kind, new)
            if kind == "explores":
                model = key.split("::", 1)[0]
                mrec = self._records["lookml_models"][model]
                models = dict(self._records["lookml_models"])
                models[model] = Record(
                    model,
                    dict(mrec.fields),
                    {**mrec.meta, "explores": [*mrec.meta["explores"], key]},
                )
                self._commit("lookml_models", models)
            self._lookml_changed(kind, rec)
            return key

    def _new_key(self, kind: str) -> str:
        recs = self._records[kind]
        if kind == "explores":
            model = next(iter(self._records["lookml_models"]))
            n = 1
            while f"{model}::new_explore_{n}" in recs:
                n += 1
            return f"{model}::new_explore_{n}"
        if kind in ("lookml_models", "connections", "projects"):
            stem = {"lookml_models": "new_model", "connections": "new_connection"}.get(
                kind, "new_project"
            )
            n = 1
            while f"{stem}_{n}" in recs:
                n += 1
            return f"{stem}_{n}"
        numeric = [int(k) for k in recs if k.isdigit()]
        top = max([*numeric, self._max_ids.get(kind, 0)], default=0) + 1
        self._max_ids[kind] = top  # ids are never reused, even after deletes
        return str(top)

    def trash(self, kind: str, key: str) -> None:
        """Soft delete (dashboards, looks: deleted + deleted_at; boards: deleted_at)."""
        with self.lock:
            rec = self._require(kind, key)
            if rec.meta.get("lookml"):
                raise ValueError("LookML dashboards cannot be moved to the trash")
            now = self._now()
            if kind in ("dashboards", "looks"):
                changes = {"deleted": True, "deleted_at": now, "deleter_id": API_USER_ID}
            elif kind == "boards":
                changes = {"deleted_at": now}
            else:
                raise ValueError(f"{kind} have no trash in Looker; use delete()")
            changes["updated_at"] = now
            self._replace(kind, rec, changes)

    def restore(self, kind: str, key: str) -> None:
        with self.lock:
            rec = self._require(kind, key)
            if kind in ("dashboards", "looks"):
                changes: dict[str, Any] = {"deleted": False, "deleted_at": None, "deleter_id": None}
            elif kind == "boards":
                changes = {"deleted_at": None}
            else:
                raise ValueError(f"{kind} have no trash in Looker")
            self._replace(kind, rec, changes)
