"""The write side of the API: create/update/delete of every restorable kind, with the rules a
restore meets on a real Looker (ids and timestamps the server assigns, read-only input
ignored, 404/405/409/422 answers, replace-all edge endpoints, trash, cascades).

Written objects and edges become stored state: a record gets the properties written to it
(`meta["written"]` names them, so they win over values the renderer would otherwise derive),
and the first write to a generated dashboard, board, attribute or access list copies its
generated children into the record (`meta["children"]`, ...), rendered from then on.

Every handler works inside one `Tx` and commits once: one copy of each touched kind's dict,
one generation bump. Handlers return the response body, or a callable that builds it after
the commit (so it is rendered exactly like the GET of the object).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import msgspec

from . import spec
from . import values as V
from .generate import ADMIN_ROLE_ID, API_USER_ID, DIALECTS, USERS_ROOT, Record
from .store import MERGE_KEYS, QUERY_KEYS, merge_digest, query_digest

if TYPE_CHECKING:
    from .store import Store

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode
DOCS = "https://docs.cloud.google.com/looker/docs/r/err/4.0/422"


class ApiError(Exception):
    """An error answer: status, message and (for 422) the ValidationError entries."""

    def __init__(self, status: int, message: str, errors: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors


def not_found(what: str = "Not found") -> ApiError:
    return ApiError(404, what)


def unprocessable(field: str, code: str, message: str) -> ApiError:
    return ApiError(422, "Validation Failed",
                    [{"field": field, "code": code, "message": message,
                      "documentation_url": DOCS}])


def missing(field: str) -> ApiError:
    return unprocessable(field, "missing", "This field is required.")


def taken(field: str, message: str = "has already been taken") -> ApiError:
    return unprocessable(field, "already_exists", message)


def built_in() -> ApiError:
    return ApiError(405, "Resource Can't Be Modified")


def _copy(value: Any) -> Any:
    return _decode(_encode(value))


# Where the ids of each kind of child start (they never meet the generated ones).
CHILD_IDS = {"filters": 1_000_000_000, "layouts": 100_000_000, "elements": 3_000_000_000,
             "components": 40_000_000_000, "board_sections": 10_000_000,
             "board_items": 900_000_000}


def _str_refs(obj: dict[str, Any], refs: Iterable[str]) -> None:
    """Ids sent as numbers are stored as the strings Looker answers with."""
    for ref in refs:
        if obj.get(ref) is not None:
            obj[ref] = str(obj[ref])


def _check_order(changes: dict[str, Any], prop: str, parts: list[dict[str, Any]],
                 what: str) -> None:
    """An order sent in `changes` lists every one of `parts` (as strings)."""
    if prop in changes:
        ids = [str(x) for x in changes[prop] or ()]
        if sorted(ids) != sorted(p["id"] for p in parts):
            raise unprocessable(prop, "invalid", f"{prop} must list {what}")
        changes[prop] = ids


def _with_can(schema: str) -> dict[str, Any]:
    """A blank child with its schema's `can` as the template has it."""
    return {**blank(schema), "can": spec.shared_template(schema).get("can")}


def blank(schema: str) -> dict[str, Any]:
    """Every property of `schema` with the value Looker gives what nobody set."""
    out: dict[str, Any] = {}
    for prop, node in spec.schemas()[schema].get("properties", {}).items():
        if prop == "can":
            out[prop] = spec.shared_template(schema).get("can") or {}
        elif node.get("nullable") or "$ref" in node:
            out[prop] = None
        else:
            out[prop] = {"boolean": False, "array": [], "object": {}, "integer": 0,
                         "number": 0.0, "string": ""}.get(node.get("type", ""))
    return out


class Tx:
    """The records one write changes, committed together."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.changes: dict[str, dict[str, Record | None]] = defaultdict(dict)

    def get(self, kind: str, key: str | None) -> Record | None:
        if key is None:
            return None
        pending = self.changes.get(kind, {})
        if key in pending:
            return pending[key]
        return self.store.record(kind, key)

    def records(self, kind: str) -> dict[str, Record]:
        out = dict(self.store.records(kind))
        for key, rec in self.changes.get(kind, {}).items():
            if rec is None:
                out.pop(key, None)
            else:
                out[key] = rec
        return out

    def put(self, kind: str, rec: Record) -> Record:
        self.changes[kind][rec.key] = rec
        return rec

    def drop(self, kind: str, key: str) -> None:
        self.changes[kind][key] = None

    def update(self, kind: str, rec: Record, changes: dict[str, Any],
               meta: dict[str, Any] | None = None, touch: bool = True) -> Record:
        """A new version of `rec` with `changes` written (and updated_at bumped)."""
        changes = dict(changes)
        if touch and "updated_at" in rec.fields:
            changes.setdefault("updated_at", self.store.now())
        written = rec.meta.get("written", frozenset()) | changes.keys()
        new = Record(rec.key, {**rec.fields, **changes},
                     {**rec.meta, **(meta or {}), "written": written})
        return self.put(kind, new)


Result = Any  # a body, or a callable producing it after the commit


def _plain_delete(kind: str, param: str,
                  guard: Callable[[Writer, Tx, str], Record] | None = None
                  ) -> Callable[..., Result]:
    """The delete of a kind whose objects take nothing with them: 404 (or what `guard`
    refuses), else gone."""
    def delete(self: Writer, tx: Tx, body: Any, raw: Any, params: dict[str, str],
               query: dict[str, str]) -> Result:
        key = params[param]
        if guard is None:
            self._get(tx, kind, key)
        else:
            guard(self, tx, key)
        tx.drop(kind, key)
        return None
    return delete


class Writer:
    """One method per supported operationId (see OPERATIONS)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- shared helpers -------------------------------------------------------------------

    def run(self, op_id: str, body: Any, raw: Any, params: dict[str, str],
            query: dict[str, str]) -> Any:
        store = self.store
        with store.lock:
            tx = Tx(store)
            result = getattr(self, op_id)(tx, body, raw, params, query)
            if tx.changes:
                store.apply(tx.changes)
        return result() if callable(result) else result

    def _get(self, tx: Tx, kind: str, key: str | None) -> Record:
        rec = tx.get(kind, key)
        if rec is None:
            raise not_found()
        return rec

    def _ref(self, tx: Tx, kind: str, key: Any, field: str) -> None:
        """404 for a body naming an object that does not exist."""
        if key is not None and key != "" and tx.get(kind, str(key)) is None:
            raise not_found(f"{field} {key} not found")

    def _detail(self, kind: str, key: str) -> Callable[[], Any]:
        return lambda: self.store.detail_dict(kind, key)

    def _write(self, tx: Tx, kind: str, rec: Record, changes: dict[str, Any],
               meta: dict[str, Any] | None = None) -> Result:
        """An update of `rec`, answered as the GET of the object."""
        tx.update(kind, rec, changes, meta)
        return self._detail(kind, rec.key)

    @staticmethod
    def _pick(body: dict[str, Any], schema: str) -> dict[str, Any]:
        allowed = spec.writable(schema)
        return {k: v for k, v in body.items() if k in allowed}

    def _child_id(self, kind: str, owner: str) -> str:
        """A new id for a child of dashboard or board `owner`, remembered as its child."""
        cid = str(self.store.next_id(kind, CHILD_IDS[kind]))
        self.store.child_owner[(kind, cid)] = owner
        return cid

    def _body_record(self, tx: Tx, body: Any, kind: str, prop: str) -> Record:
        """The object a body names by id in `prop`: 422 when missing, 404 when unknown."""
        key = str(body.get(prop) or "") if isinstance(body, dict) else ""
        if not key:
            raise missing(prop)
        rec = tx.get(kind, key)
        if rec is None:
            raise not_found(f"{prop} {key} not found")
        return rec

    def _new_content_meta(self) -> str:
        """A content_metadata_id for new content that inherits its parent's access."""
        cm = str(self.store.next_id("content_metadata", 10_000_000))
        self.store.set_access(cm, {"inherits": True, "entries": []})
        return cm

    def _new(self, tx: Tx, kind: str, schema: str, key: str, fields: dict[str, Any],
             written: Iterable[str], meta: dict[str, Any] | None = None) -> Record:
        now = self.store.now()
        base = blank(schema)
        for prop in ("created_at", "updated_at"):
            if prop in base:
                base[prop] = now
        rec = Record(key, {**base, **fields},
                     {**(meta or {}), "written": frozenset(written), "created": True})
        return tx.put(kind, rec)

    def _unique(self, tx: Tx, kind: str, prop: str, value: Any, skip: str | None = None,
                fold: bool = False) -> bool:
        if value is None:
            return True
        want = value.casefold() if fold and isinstance(value, str) else value
        for key, rec in tx.records(kind).items():
            have = rec.fields.get(prop)
            if fold and isinstance(have, str):
                have = have.casefold()
            if key != skip and have == want:
                return False
        return True

    # -- queries and merge queries ---------------------------------------------------------

    def create_query(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                     query: dict[str, str]) -> Result:
        store = self.store
        for prop in ("model", "view"):
            if not body.get(prop):
                raise missing(prop)
        model, view = str(body["model"]), str(body["view"])
        if tx.get("lookml_models", model) is None:
            raise not_found(f"model {model} not found")
        if tx.get("explores", f"{model}::{view}") is None:
            raise not_found(f"explore {view} not found in model {model}")
        content = {k: body.get(k) for k in QUERY_KEYS}
        client_id = body.get("client_id")
        if client_id and store.query_by_client_id(client_id) is not None:
            raise taken("client_id", "Client ID has already been taken")
        digest = query_digest(content)
        if not client_id:
            hit = store.query_by_content(digest)
            if hit is not None:
                return hit
        n = store.next_id("queries", 0)
        qid = str(n)
        rng = V.rng_for(store.seed, "created-query", qid)
        slug = V.slug(rng, 7)
        q = {
            **blank("Query"),
            **content,
            "can": spec.shared_template("Query").get("can") or {},
            "id": qid,
            "slug": slug,
            "client_id": client_id or V.slug(rng, 22),
            "share_url": f"{spec.URL_HOST}/x/{slug}",
            "expanded_share_url": f"{spec.URL_HOST}/explore/{model}/{view}?qid={slug}",
            "url": f"/explore/{model}/{view}?qid={slug}",
            "has_table_calculations": "table_calculation" in (content.get("dynamic_fields")
                                                              or ""),
        }
        store.add_query(q, digest)
        return q

    def create_merge_query(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                           query: dict[str, str]) -> Result:
        store = self.store
        sources = body.get("source_queries")
        if not sources:
            raise missing("source_queries")
        clean_sources = []
        for src in sources:
            if not isinstance(src, dict):
                raise unprocessable("source_queries", "invalid", "must be objects")
            q = store.query_dict(src.get("query_id")) if src.get("query_id") else None
            if q is None:
                raise not_found(f"query {src.get('query_id')} not found")
            clean_sources.append({
                "merge_fields": [{"field_name": f.get("field_name"),
                                  "source_field_name": f.get("source_field_name")}
                                 for f in src.get("merge_fields") or ()],
                "name": src.get("name"),
                "query_id": q["id"],
                "query_slug": q.get("slug"),
            })
        content = {k: body.get(k) for k in MERGE_KEYS}
        content["source_queries"] = clean_sources
        content["total"] = bool(content.get("total"))
        digest = merge_digest(content)
        hit = store.merge_by_content(digest)
        if hit is not None:
            return hit
        n = store.next_id("merge_queries", 0)
        rng = V.rng_for(store.seed, "created-merge", n)
        merge = {**blank("MergeQuery"), **content,
                 "can": spec.shared_template("MergeQuery").get("can") or {},
                 "id": V.slug(rng, 22), "result_maker_id": str(900_000_000 + n)}
        merge["source_queries"] = [{**blank("MergeQuerySourceQuery"), **s}
                                   for s in clean_sources]
        store.add_merge_query(merge, digest)
        return merge

    # -- dashboards -----------------------------------------------------------------------

    def _no_space_id(self, raw: Any) -> None:
        # Bodies that still say space_id are answered 404 (gzr#129).
        if isinstance(raw, dict) and raw.get("space_id") not in (None, ""):
            raise not_found(f"space {raw['space_id']} not found")

    def _title_free(self, tx: Tx, kind: str, title: Any, folder: Any, skip: str | None) -> None:
        """A dashboard's title is unique among the live dashboards of its folder."""
        if title is None:
            return
        for key, rec in tx.records(kind).items():
            f = rec.fields
            if (key != skip and not f.get("deleted") and f.get("folder_id") == folder
                    and f.get("title") == title):
                raise taken("[:title, :space_id]", "Dashboard with this title already exists.")

    def _slug_free(self, tx: Tx, slug: Any, skip: str | None) -> None:
        if slug and not self._unique(tx, "dashboards", "slug", slug, skip):
            raise ApiError(409, f"Dashboard with slug {slug} already exists")

    def create_dashboard(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                         query: dict[str, str]) -> Result:
        self._no_space_id(raw)
        if not body.get("title"):
            raise missing("title")
        folder = body.get("folder_id")
        if not folder:
            raise missing("folder_id")
        self._ref(tx, "folders", folder, "folder_id")
        self._ref(tx, "users", body.get("user_id"), "user_id")
        self._title_free(tx, "dashboards", body["title"], str(folder), None)
        self._slug_free(tx, body.get("slug"), None)
        key = self.store.new_key("dashboards")
        fields = self._pick(body, "Dashboard")
        fields.pop("folder", None)
        fields.pop("deleted", None)
        rng = V.rng_for(self.store.seed, "created-dashboard", key)
        layout = {**_with_can("DashboardLayout"), "id": self._child_id("layouts", key),
                  "dashboard_id": key, "type": "newspaper", "active": True,
                  "dashboard_layout_components": [], "order": 0}
        self._new(tx, "dashboards", "Dashboard", key, {
            **fields,
            "id": key,
            "folder_id": str(folder),
            "slug": fields.get("slug") or V.slug(rng),
            "user_id": fields.get("user_id") or API_USER_ID,
            "last_updater_id": API_USER_ID,
            "content_metadata_id": str(self.store.next_id("content_metadata", 10_000_000)),
            "deleted": False, "deleted_at": None, "deleter_id": None,
            "readonly": False, "favorite_count": 0, "view_count": 0,
        }, fields.keys(), {"children": {"elements": [], "filters": [], "layouts": [layout]}})
        return self._detail("dashboards", key)

    def _udd(self, tx: Tx, key: str) -> Record:
        if "::" in key:
            if tx.get("dashboards", key) is None:
                raise not_found()
            raise built_in()  # LookML dashboards live in git
        return self._get(tx, "dashboards", key)

    def update_dashboard(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                         query: dict[str, str]) -> Result:
        key = params["dashboard_id"]
        rec = self._udd(tx, key)
        self._no_space_id(raw)
        # Only the dashboard's own properties: nested children have endpoints of their own.
        changes = self._pick(body, "Dashboard")
        changes.pop("folder", None)
        folder = changes.get("folder_id", rec.fields.get("folder_id"))
        if "folder_id" in changes:
            self._ref(tx, "folders", folder, "folder_id")
        self._ref(tx, "users", changes.get("user_id"), "user_id")
        if "slug" in changes:
            self._slug_free(tx, changes["slug"], key)
        self._trash_changes(rec, changes)
        live = not changes.get("deleted", rec.fields.get("deleted"))
        # Undeleting does not check the title: gzr ignores trashed matches, Looker's rule
        # for this case is unknown, and a restore must be able to bring a dashboard back.
        if live and "deleted" not in changes and ("title" in changes or "folder_id" in changes):
            self._title_free(tx, "dashboards", changes.get("title", rec.fields.get("title")),
                             folder, key)
        changes["last_updater_id"] = API_USER_ID
        return self._write(tx, "dashboards", rec, changes)

    def _trash_changes(self, rec: Record, changes: dict[str, Any]) -> None:
        """`deleted` true/false moves a dashboard or look to the trash and back."""
        if "deleted" not in changes:
            return
        flag = bool(changes["deleted"])
        changes["deleted"] = flag
        if flag and not rec.fields.get("deleted"):
            changes.update(deleted_at=self.store.now(), deleter_id=API_USER_ID)
        elif not flag:
            changes.update(deleted_at=None, deleter_id=None)

    delete_dashboard = _plain_delete("dashboards", "dashboard_id", _udd)

    def move_dashboard(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                       query: dict[str, str]) -> Result:
        key = params["dashboard_id"]
        rec = self._udd(tx, key)
        folder = query.get("folder_id")
        if not folder:
            raise missing("folder_id")
        self._ref(tx, "folders", folder, "folder_id")
        if folder == rec.fields.get("folder_id"):
            raise unprocessable("folder_id", "invalid",
                                "Dashboard is already in the destination folder")
        if not rec.fields.get("deleted"):
            self._title_free(tx, "dashboards", rec.fields.get("title"), folder, key)
        return self._write(tx, "dashboards", rec, {"folder_id": folder})

    # -- dashboard children ---------------------------------------------------------------

    def _children(self, rec: Record) -> dict[str, Any]:
        """A dashboard's children as a private copy, ready to change."""
        ch = rec.meta.get("children")
        if ch is None:
            seed = self.store.seed_children(rec.key)
            ch = {k: seed[k] for k in ("elements", "filters", "layouts")}
        return _copy(ch)

    def _save_children(self, tx: Tx, rec: Record, ch: dict[str, Any], ckind: str = "",
                       cid: str | None = None) -> Result:
        """Stores the changed children; answers child `cid` as its GET does (None: a delete)."""
        tx.update("dashboards", rec, {}, {"children": ch})
        if cid is None:
            return None

        def build() -> Any:
            return _child(self.store, ckind, cid, rec.key)
        return build

    def _locate(self, tx: Tx, ckind: str, cid: str
                ) -> tuple[Record, dict[str, Any], dict[str, Any]]:
        """The dashboard holding child `cid`, its children (a private copy) and the child."""
        rec, ch, child = self._holder(tx, "dashboards", self.store.child_dashboard(ckind, cid),
                                      self._children, _find, ckind, cid)
        if rec.meta.get("lookml"):
            raise built_in()
        return rec, ch, child

    @staticmethod
    def _holder(tx: Tx, kind: str, key: str | None, copy: Callable[[Record], Any],
                find: Callable[[Any, str, str], dict[str, Any] | None], what: str, xid: str,
                gone: str = "Not found") -> tuple[Record, Any, dict[str, Any]]:
        """The dashboard or board `key` holding part `xid`, its parts copied by `copy`, and
        the part `find` finds in them (404 `gone` when any of them is missing)."""
        rec = tx.get(kind, key) if key else None
        if rec is None:
            raise not_found(gone)
        held = copy(rec)
        part = find(held, what, xid)
        if part is None:
            raise not_found(gone)
        return rec, held, part

    def _dashboard_for_child(self, tx: Tx, body: dict[str, Any]) -> tuple[Record, dict[str, Any]]:
        """The dashboard a new child's body names, and its children (a private copy)."""
        rec = self._body_record(tx, body, "dashboards", "dashboard_id")
        if rec.meta.get("lookml"):
            raise built_in()
        return rec, self._children(rec)

    def create_dashboard_filter(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                                query: dict[str, str]) -> Result:
        for prop in ("dashboard_id", "name", "title", "type"):
            if body.get(prop) in (None, ""):
                raise missing(prop)
        rec, ch = self._dashboard_for_child(tx, body)
        fid = self._child_id("filters", rec.key)
        fil = {**_with_can("DashboardFilter"), **self._pick(body, "CreateDashboardFilter"),
               "id": fid, "dashboard_id": rec.key, "field": None}
        if fil.get("listens_to_filters") is None:
            fil["listens_to_filters"] = []
        ch["filters"].append(fil)
        return self._save_children(tx, rec, ch, "filters", fid)

    def update_dashboard_filter(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                                query: dict[str, str]) -> Result:
        fid = params["dashboard_filter_id"]
        rec, ch, fil = self._locate(tx, "filters", fid)
        fil.update(self._pick(body, "DashboardFilter"))  # dashboard_id is read-only here
        return self._save_children(tx, rec, ch, "filters", fid)

    def delete_dashboard_filter(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                                query: dict[str, str]) -> Result:
        fid = params["dashboard_filter_id"]
        rec, ch, _ = self._locate(tx, "filters", fid)
        ch["filters"] = [f for f in ch["filters"] if f["id"] != fid]
        return self._save_children(tx, rec, ch)

    def create_dashboard_layout(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                                query: dict[str, str]) -> Result:
        rec, ch = self._dashboard_for_child(tx, body)
        lid = self._child_id("layouts", rec.key)
        lay = {**_with_can("DashboardLayout"), **self._pick(body, "DashboardLayout"),
               "id": lid, "dashboard_id": rec.key, "deleted": False,
               "dashboard_layout_components": []}
        lay["active"] = bool(lay.get("active"))
        if lay["active"]:
            for other in ch["layouts"]:
                other["active"] = False
        ch["layouts"].append(lay)
        return self._save_children(tx, rec, ch, "layouts", lid)

    def update_dashboard_layout(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                                query: dict[str, str]) -> Result:
        lid = params["dashboard_layout_id"]
        rec, ch, lay = self._locate(tx, "layouts", lid)
        changes = self._pick(body, "DashboardLayout")
        changes.pop("dashboard_id", None)
        lay.update(changes)
        if changes.get("active"):  # one active layout per dashboard
            for other in ch["layouts"]:
                other["active"] = other["id"] == lid
        return self._save_children(tx, rec, ch, "layouts", lid)

    def delete_dashboard_layout(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                                query: dict[str, str]) -> Result:
        lid = params["dashboard_layout_id"]
        rec, ch, lay = self._locate(tx, "layouts", lid)
        if lay.get("active") or len(ch["layouts"]) == 1:
            raise unprocessable("id", "invalid",
                                "Cannot delete the active or the only layout of a dashboard")
        ch["layouts"] = [x for x in ch["layouts"] if x["id"] != lid]
        return self._save_children(tx, rec, ch)

    NO_SOURCE_TYPES = frozenset({"text", "button"})  # tiles that run no query
    ELEMENT_REFS = ("look_id", "query_id", "filter_id", "dashboard_layout_id", "merge_result_id")

    def _check_element(self, tx: Tx, el: dict[str, Any], sent: dict[str, Any],
                       ch: dict[str, Any], update: bool) -> None:
        """The 422/404 rules of a tile: `el` is the tile as it would be, `sent` the body."""
        if el.get("type") == "text" and (sent.get("result_maker_id") or (
                sent.get("result_maker") and not update)):
            msg = ("Cannot update text element with result_maker_id" if update
                   else "Result Maker IDs should not be provided for text elements")
            raise unprocessable("type", "invalid", msg)
        if sent.get("result_maker_id") and (sent.get("query_id") or sent.get("look_id")):
            raise unprocessable("type", "invalid",
                                "result_maker_id cannot be combined with query_id or look_id")
        if el.get("type") not in self.NO_SOURCE_TYPES and not el.get("filter_id") and not (
                el.get("look_id") or el.get("query_id") or el.get("merge_result_id")
                or (el.get("result_maker") or {}).get("merge_result_id")
                or el.get("result_maker_id")):
            raise unprocessable("type", "invalid", "Must provide either a look_id, query_id, "
                                "or result_maker_id for non-text dashboard element")
        self._ref(tx, "looks", sent.get("look_id"), "look_id")
        if sent.get("query_id") and self.store.query_dict(str(sent["query_id"])) is None:
            raise not_found(f"query_id {sent['query_id']} not found")
        merge = sent.get("merge_result_id") or (sent.get("result_maker") or {}).get(
            "merge_result_id")
        if merge and self.store.merge_query_dict(str(merge)) is None:
            raise not_found(f"merge_result_id {merge} not found")
        if sent.get("filter_id") and _find(ch, "filters", str(sent["filter_id"])) is None:
            raise not_found(f"filter_id {sent['filter_id']} not found")
        if sent.get("dashboard_layout_id") and _find(
                ch, "layouts", str(sent["dashboard_layout_id"])) is None:
            raise not_found(f"dashboard_layout_id {sent['dashboard_layout_id']} not found")
        rm_id = sent.get("result_maker_id")
        if rm_id and not self.store.result_maker_exists(str(rm_id)):
            raise unprocessable("result_maker_id", "invalid", "Unknown result_maker_id")

    def _result_maker(self, el: dict[str, Any], sent: dict[str, Any] | None,
                      filters: list[dict[str, Any]], apply_filters: bool) -> dict[str, Any] | None:
        """The stored result maker of a tile: what the client sent (filterables with their
        listeners, vis_config, ...) or one built from the tile's query, look or merge."""
        merge_id = el.get("merge_result_id") or (sent or {}).get("merge_result_id")
        sources: list[dict[str, Any]] = []
        if merge_id:
            merge = self.store.merge_query_dict(str(merge_id)) or {}
            sources = [self.store.query_dict(s.get("query_id")) or {}
                       for s in merge.get("source_queries") or ()]
            el["merge_result_id"] = str(merge_id)
        elif el.get("query_id"):
            sources = [self.store.query_dict(str(el["query_id"])) or {}]
        elif el.get("look_id"):
            look = self.store.detail_dict("looks", str(el["look_id"])) or {}
            sources = [look.get("query") or {}]
        elif sent is None:
            return None
        rm = {**blank("ResultMakerWithIdVisConfigAndDynamicFields"),
              "can": spec.shared_template("ResultMakerWithIdVisConfigAndDynamicFields").get(
                  "can")}
        if sent:
            rm.update({k: v for k, v in sent.items()
                       if k in ("dynamic_fields", "filterables", "sorts", "merge_result_id",
                                "total", "sql_query_id", "vis_config")})
        rm["merge_result_id"] = el.get("merge_result_id")
        rm["total"] = bool(rm.get("total"))
        if rm.get("filterables") is None:
            rm["filterables"] = [
                {"model": q.get("model"), "view": q.get("view"), "name": q.get("view"),
                 "listen": []} for q in sources]
        for fil in rm["filterables"]:
            fil.setdefault("listen", [])
            if fil.get("listen") is None:
                fil["listen"] = []
            if apply_filters and not fil["listen"]:
                fil["listen"] = [{"dashboard_filter_name": f["name"], "field": f["dimension"]}
                                 for f in filters if f.get("dimension")
                                 and str(f["dimension"]).split(".")[0] == fil.get("view")]
        if not merge_id and sources and rm.get("vis_config") is None and el.get("query_id"):
            rm["vis_config"] = sources[0].get("vis_config")
        if merge_id and rm.get("vis_config") is None:
            rm["vis_config"] = (self.store.merge_query_dict(str(merge_id)) or {}).get(
                "vis_config")
        return rm

    def create_dashboard_element(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                                 query: dict[str, str]) -> Result:
        rec, ch = self._dashboard_for_child(tx, body)
        sent = self._pick(body, "DashboardElement")
        sent.pop("look", None)
        sent.pop("query", None)
        self._check_element(tx, sent, sent, ch, update=False)
        eid = self._child_id("elements", rec.key)
        el = {**_with_can("DashboardElement"), **sent, "id": eid, "dashboard_id": rec.key}
        _str_refs(el, self.ELEMENT_REFS)
        if not el.get("type"):
            el["type"] = "text" if el.get("body_text") and not el.get("query_id") else "vis"
        el["result_maker"] = (None if el["type"] in self.NO_SOURCE_TYPES else
                              self._result_maker(el, sent.get("result_maker"), ch["filters"],
                                                 query.get("apply_filters") == "true"))
        if el["result_maker"] is not None and not el.get("result_maker_id"):
            el["result_maker_id"] = eid
        ch["elements"].append(el)
        layouts = ch["layouts"]
        target = (_find(ch, "layouts", el["dashboard_layout_id"])
                  if el.get("dashboard_layout_id")
                  else next((x for x in layouts if x.get("active")), layouts[0] if layouts
                            else None))
        if target is not None:
            if not el.get("dashboard_layout_id"):
                el["dashboard_layout_id"] = target["id"]
            comps = target["dashboard_layout_components"]
            row = max((c["row"] or 0) + (c["height"] or 0) for c in comps) if comps else 0
            comps.append(_new_component(self._child_id("components", rec.key), target["id"],
                                        eid, row, 0, 8, 6))
        return self._save_children(tx, rec, ch, "elements", eid)

    def update_dashboard_element(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                                 query: dict[str, str]) -> Result:
        eid = params["dashboard_element_id"]
        rec, ch, el = self._locate(tx, "elements", eid)
        sent = self._pick(body, "DashboardElement")
        for prop in ("look", "query", "dashboard_id"):
            sent.pop(prop, None)
        merged = {**el, **sent}
        if "query_id" in sent or "look_id" in sent:
            # A new source replaces the tile's result maker unless one is sent with it.
            merged["result_maker_id"] = sent.get("result_maker_id")
        self._check_element(tx, merged, sent, ch, update=True)
        _str_refs(merged, self.ELEMENT_REFS)
        if merged["type"] not in self.NO_SOURCE_TYPES and (
                "result_maker" in sent or "query_id" in sent or "look_id" in sent
                or "merge_result_id" in sent):
            rm = self._result_maker(merged, sent.get("result_maker") or (
                {k: v for k, v in (el.get("result_maker") or {}).items()
                 if k in ("filterables", "dynamic_fields", "vis_config", "sorts", "total")}
                if "result_maker" not in sent else None), ch["filters"], False)
            merged["result_maker"] = rm
            if rm is not None and not merged.get("result_maker_id"):
                merged["result_maker_id"] = eid
        if merged.get("dashboard_layout_id") != el.get("dashboard_layout_id"):
            for lay in ch["layouts"]:
                for comp in lay["dashboard_layout_components"]:
                    if comp["dashboard_element_id"] == eid:
                        comp["dashboard_layout_id"] = merged["dashboard_layout_id"]
        el.clear()
        el.update(merged)
        return self._save_children(tx, rec, ch, "elements", eid)

    def delete_dashboard_element(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                                 query: dict[str, str]) -> Result:
        eid = params["dashboard_element_id"]
        rec, ch, _ = self._locate(tx, "elements", eid)
        ch["elements"] = [e for e in ch["elements"] if e["id"] != eid]
        for lay in ch["layouts"]:  # its positions go with it; alerts on it are left behind
            lay["dashboard_layout_components"] = [
                c for c in lay["dashboard_layout_components"]
                if c.get("dashboard_element_id") != eid]
        return self._save_children(tx, rec, ch)

    COMPONENT_SIZES = ("row", "column", "width", "height")

    def update_dashboard_layout_component(self, tx: Tx, body: Any, raw: Any,
                                          params: dict[str, str],
                                          query: dict[str, str]) -> Result:
        cid = params["dashboard_layout_component_id"]
        rec, ch, comp = self._locate(tx, "components", cid)
        changes = self._pick(body, "DashboardLayoutComponent")
        for ref in ("dashboard_layout_id", "dashboard_element_id"):
            # A position belongs to its element and layout: relinking is not a position edit.
            if changes.get(ref) is not None and str(changes[ref]) != comp.get(ref):
                raise unprocessable(ref, "invalid", f"{ref} cannot be changed")
            changes.pop(ref, None)
        for prop in self.COMPONENT_SIZES:
            # The granular grid follows the coarse one unless it is sent too.
            if prop in changes and f"granular_{prop}" not in changes and changes[prop] is not None:
                changes[f"granular_{prop}"] = changes[prop] * 10
        comp.update(changes)
        return self._save_children(tx, rec, ch, "components", cid)

    # -- looks ----------------------------------------------------------------------------

    def create_look(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                    query: dict[str, str]) -> Result:
        self._no_space_id(raw)
        if not body.get("title"):
            raise missing("title")
        if not body.get("query_id"):
            raise missing("query_id")
        if not body.get("folder_id"):
            raise missing("folder_id")
        self._ref(tx, "folders", body["folder_id"], "folder_id")
        self._ref(tx, "users", body.get("user_id"), "user_id")
        q = self.store.query_dict(str(body["query_id"]))
        if q is None:
            raise not_found(f"query_id {body['query_id']} not found")
        key = self.store.new_key("looks")
        fields = self._pick(body, "LookWithQuery")
        for prop in ("folder", "query", "model", "deleted"):
            fields.pop(prop, None)
        rng = V.rng_for(self.store.seed, "created-look", key)
        self._new(tx, "looks", "LookWithQuery", key, {
            **fields, "id": key, "query_id": q["id"], "folder_id": str(body["folder_id"]),
            "user_id": fields.get("user_id") or API_USER_ID, "last_updater_id": API_USER_ID,
            "content_metadata_id": str(self.store.next_id("content_metadata", 10_000_000)),
            "deleted": False, "deleted_at": None, "deleter_id": None,
            "short_url": f"/x/{V.slug(rng)}", "favorite_count": 0, "view_count": 0,
        }, fields.keys(), {"explore": f"{q['model']}::{q['view']}"})
        return self._detail("looks", key)

    def update_look(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                    query: dict[str, str]) -> Result:
        key = params["look_id"]
        rec = self._get(tx, "looks", key)
        self._no_space_id(raw)
        changes = self._pick(body, "LookWithQuery")
        for prop in ("folder", "query", "model"):
            changes.pop(prop, None)
        if "folder_id" in changes:
            self._ref(tx, "folders", changes["folder_id"], "folder_id")
        self._ref(tx, "users", changes.get("user_id"), "user_id")
        meta = None
        if "query_id" in changes:
            q = self.store.query_dict(str(changes["query_id"]))
            if q is None:
                raise not_found(f"query_id {changes['query_id']} not found")
            changes["query_id"] = q["id"]
            meta = {"explore": f"{q['model']}::{q['view']}"}
        self._trash_changes(rec, changes)
        changes["last_updater_id"] = API_USER_ID
        return self._write(tx, "looks", rec, changes, meta)

    delete_look = _plain_delete("looks", "look_id")

    def move_look(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                  query: dict[str, str]) -> Result:
        key = params["look_id"]
        rec = self._get(tx, "looks", key)
        folder = query.get("folder_id")
        if not folder:
            raise missing("folder_id")
        self._ref(tx, "folders", folder, "folder_id")
        if folder == rec.fields.get("folder_id"):
            raise unprocessable("folder_id", "invalid", "Look is already in the destination folder")
        return self._write(tx, "looks", rec, {"folder_id": folder})

    # -- folders --------------------------------------------------------------------------

    def create_folder(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                      query: dict[str, str]) -> Result:
        if not body.get("name"):
            raise missing("name")
        parent_id = body.get("parent_id")
        if not parent_id:
            raise missing("parent_id")
        parent = tx.get("folders", str(parent_id))
        if parent is None or parent.key == "lookml":
            raise not_found(f"parent folder {parent_id} not found")
        if parent.fields.get("is_users_root"):
            # Personal folders come with their users; nobody creates one by hand.
            raise unprocessable("parent_id", "invalid", "Cannot create a folder in Users")
        key = self.store.new_key("folders")
        personal = bool(parent.fields.get("is_personal")
                        or parent.fields.get("is_personal_descendant"))
        self._new(tx, "folders", "Folder", key, {
            "name": body["name"], "parent_id": parent.key, "id": key,
            "content_metadata_id": self._new_content_meta(), "creator_id": API_USER_ID,
            "is_personal": False, "is_personal_descendant": personal,
        }, ("name", "parent_id"))
        return self._detail("folders", key)

    def update_folder(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                      query: dict[str, str]) -> Result:
        key = params["folder_id"]
        rec = self._get(tx, "folders", key)
        changes = self._pick(body, "UpdateFolder")
        f = rec.fields
        if "parent_id" in changes and changes["parent_id"] != f.get("parent_id"):
            if f.get("is_shared_root") or f.get("is_users_root") or f.get("is_personal") or \
                    key == "lookml":
                raise unprocessable("parent_id", "invalid", "This folder cannot be moved")
            parent = tx.get("folders", str(changes["parent_id"] or ""))
            if parent is None:
                raise not_found(f"parent folder {changes['parent_id']} not found")
            if parent.key == key or key in self._ancestors(tx, parent.key):
                raise unprocessable("parent_id", "invalid",
                                    "A folder cannot move into itself or its subfolders")
            changes["parent_id"] = parent.key
        if "name" in changes and not changes["name"]:
            raise missing("name")
        return self._write(tx, "folders", rec, changes)

    def _ancestors(self, tx: Tx, key: str) -> list[str]:
        out = []
        rec = tx.get("folders", key)
        while rec is not None and rec.fields.get("parent_id") and len(out) < 1000:
            out.append(rec.fields["parent_id"])
            rec = tx.get("folders", rec.fields["parent_id"])
        return out

    def delete_folder(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                      query: dict[str, str]) -> Result:
        key = params["folder_id"]
        rec = self._get(tx, "folders", key)
        f = rec.fields
        if f.get("is_shared_root") or f.get("is_users_root") or f.get("is_personal") or \
                key == "lookml":
            raise unprocessable("id", "invalid", "This folder cannot be deleted")
        # Subfolders, looks and dashboards (trashed ones too) go with it.
        children: dict[str | None, list[str]] = defaultdict(list)
        for k, r in tx.records("folders").items():
            children[r.fields.get("parent_id")].append(k)
        doomed, todo = set(), [key]
        while todo:
            k = todo.pop()
            doomed.add(k)
            todo.extend(children.get(k, ()))
        for k in doomed:
            tx.drop("folders", k)
        for kind in ("looks", "dashboards"):
            for k, r in tx.records(kind).items():
                if r.fields.get("folder_id") in doomed:
                    tx.drop(kind, k)
        return None

    # -- boards ---------------------------------------------------------------------------

    def _sections(self, rec: Record) -> list[dict[str, Any]]:
        raw = rec.meta.get("board_sections")
        if raw is None:
            raw = self.store.renderer.seed_sections(rec)
        return _copy(raw)

    def _save_sections(self, tx: Tx, rec: Record, sections: list[dict[str, Any]],
                       changes: dict[str, Any] | None = None, what: str = "",
                       xid: str | None = None) -> Result:
        """Stores the changed sections; answers part `xid` as its GET does (None: a delete)."""
        changes = dict(changes or {})
        if "section_order" not in rec.meta.get("written", ()) and "section_order" not in changes:
            changes["section_order"] = [s["id"] for s in sections]
        tx.update("boards", rec, changes, {"board_sections": sections})
        if xid is None:
            return None

        def build() -> Any:
            board = self.store.detail_dict("boards", rec.key) or {}
            return _board_find(board.get("board_sections") or [], what, xid)
        return build

    def _section_order(self, rec: Record, order: Callable[[list[str]], list[str]]
                       ) -> dict[str, Any] | None:
        """A section_order the client wrote follows sections made or deleted."""
        if "section_order" not in rec.meta.get("written", ()):
            return None
        return {"section_order": order(list(rec.fields.get("section_order") or ()))}

    def create_board(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                     query: dict[str, str]) -> Result:
        if not body.get("title"):
            raise missing("title")
        self._ref(tx, "users", body.get("user_id"), "user_id")
        key = self.store.new_key("boards")
        fields = self._pick(body, "Board")
        self._new(tx, "boards", "Board", key, {
            **fields, "id": key, "content_metadata_id": self._new_content_meta(),
            "user_id": fields.get("user_id") or API_USER_ID,
            "section_order": fields.get("section_order") or [], "primary_homepage": False,
        }, [*fields, "section_order"], {"board_sections": []})
        return self._detail("boards", key)

    def update_board(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                     query: dict[str, str]) -> Result:
        key = params["board_id"]
        rec = self._get(tx, "boards", key)
        changes = self._pick(body, "Board")
        self._ref(tx, "users", changes.get("user_id"), "user_id")
        sections = self._sections(rec)
        _check_order(changes, "section_order", sections, "the board's sections")
        self._save_sections(tx, rec, sections, changes)
        return self._detail("boards", key)

    delete_board = _plain_delete("boards", "board_id")

    def _locate_board(self, tx: Tx, what: str, xid: str
                      ) -> tuple[Record, list[dict[str, Any]], dict[str, Any]]:
        """The board holding section or item `xid`, its sections (a private copy) and the
        section or item."""
        return self._holder(tx, "boards", self.store.child_board(what, xid), self._sections,
                            _board_find, what, xid)

    def create_board_section(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                             query: dict[str, str]) -> Result:
        rec = self._body_record(tx, body, "boards", "board_id")
        sections = self._sections(rec)
        sid = self._child_id("board_sections", rec.key)
        now = self.store.now()
        fields = self._pick(body, "BoardSection")
        sections.append({"id": sid, "board_id": rec.key, "title": fields.get("title"),
                         "description": fields.get("description"), "created_at": now,
                         "updated_at": now, "deleted_at": fields.get("deleted_at"),
                         "item_order": [], "items": []})
        order = self._section_order(rec, lambda ids: [*ids, sid])
        return self._save_sections(tx, rec, sections, order, "sections", sid)

    def update_board_section(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                             query: dict[str, str]) -> Result:
        sid = params["board_section_id"]
        rec, sections, sec = self._locate_board(tx, "sections", sid)
        changes = self._pick(body, "BoardSection")
        changes.pop("board_id", None)
        _check_order(changes, "item_order", sec["items"], "the section's items")
        sec.update(changes)
        sec["updated_at"] = self.store.now()
        return self._save_sections(tx, rec, sections, None, "sections", sid)

    def delete_board_section(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                             query: dict[str, str]) -> Result:
        sid = params["board_section_id"]
        rec, sections, _ = self._locate_board(tx, "sections", sid)
        sections = [s for s in sections if s["id"] != sid]
        order = self._section_order(rec, lambda ids: [x for x in ids if x != sid])
        return self._save_sections(tx, rec, sections, order)

    def _item_content(self, tx: Tx, item: dict[str, Any]) -> None:
        targets = [(k, item.get(p)) for k, p in (("dashboards", "dashboard_id"),
                                                  ("looks", "look_id"),
                                                  ("dashboards", "lookml_dashboard_id"))
                   if item.get(p)]
        if len(targets) != 1:
            raise unprocessable("dashboard_id", "invalid", "A board item shows one dashboard, "
                                "look or LookML dashboard")
        kind, key = targets[0]
        self._ref(tx, kind, key, "dashboard_id" if kind == "dashboards" else "look_id")

    def create_board_item(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                          query: dict[str, str]) -> Result:
        sid = body.get("board_section_id")
        if not sid:
            raise missing("board_section_id")
        rec, sections, sec = self._holder(
            tx, "boards", self.store.child_board("sections", str(sid)), self._sections,
            _board_find, "sections", str(sid), f"board_section_id {sid} not found")
        fields = self._pick(body, "BoardItem")
        fields.pop("custom_image_data_base64", None)  # write-only: never echoed
        self._item_content(tx, fields)
        iid = self._child_id("board_items", rec.key)
        item = {**{p: None for p in spec.writable("BoardItem")}, **fields, "id": iid,
                "board_section_id": sec["id"]}
        _str_refs(item, ("dashboard_id", "look_id"))
        if item.get("order") is None:
            item["order"] = len(sec["items"])
        sec["items"].append(item)
        sec["item_order"].append(iid)
        return self._save_sections(tx, rec, sections, None, "items", iid)

    def update_board_item(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                          query: dict[str, str]) -> Result:
        iid = params["board_item_id"]
        rec, sections, item = self._locate_board(tx, "items", iid)
        changes = self._pick(body, "BoardItem")
        changes.pop("custom_image_data_base64", None)
        if changes.get("board_section_id") not in (None, item["board_section_id"]):
            raise unprocessable("board_section_id", "invalid", "Items cannot change section")
        changes.pop("board_section_id", None)
        merged = {**item, **changes}
        self._item_content(tx, merged)
        item.update(changes)
        return self._save_sections(tx, rec, sections, None, "items", iid)

    def delete_board_item(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                          query: dict[str, str]) -> Result:
        iid = params["board_item_id"]
        rec, sections, _ = self._locate_board(tx, "items", iid)
        for sec in sections:
            sec["items"] = [i for i in sec["items"] if i["id"] != iid]
            sec["item_order"] = [x for x in sec["item_order"] if x != iid]
        return self._save_sections(tx, rec, sections)

    # -- users ----------------------------------------------------------------------------

    USER_PROPS = ("first_name", "last_name", "home_folder_id", "is_disabled", "locale",
                  "models_dir_validated", "ui_state", "can_manage_api3_creds")

    def create_user(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                    query: dict[str, str]) -> Result:
        fields = {k: v for k, v in body.items() if k in self.USER_PROPS}
        self._ref(tx, "folders", fields.get("home_folder_id"), "home_folder_id")
        key = self.store.new_key("users")
        folder = self.store.new_key("folders")
        first, last = fields.get("first_name") or "", fields.get("last_name") or ""
        display = f"{first} {last}".strip() or None
        cm = self._new_content_meta()
        # Every user comes with a personal folder under Users.
        self._new(tx, "folders", "Folder", folder, {
            "name": display or f"User {key}", "parent_id": USERS_ROOT, "id": folder,
            "content_metadata_id": cm, "creator_id": key, "is_personal": True,
        }, ())
        now = self.store.now()
        self._new(tx, "users", "User", key, {
            **fields, "id": key, "display_name": display, "email": None,
            "personal_folder_id": folder,
            "home_folder_id": str(fields.get("home_folder_id") or folder),
            "group_ids": [], "role_ids": [], "is_disabled": bool(fields.get("is_disabled")),
            "is_service_account": False,
        }, fields.keys(), {"created": 0, "email_created": now, "logged_in": None})
        return self._detail("users", key)

    def update_user(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                    query: dict[str, str]) -> Result:
        key = params["user_id"]
        rec = self._get(tx, "users", key)
        changes = {k: v for k, v in body.items() if k in self.USER_PROPS}
        self._ref(tx, "folders", changes.get("home_folder_id"), "home_folder_id")
        if "first_name" in changes or "last_name" in changes:
            first = changes.get("first_name", rec.fields.get("first_name")) or ""
            last = changes.get("last_name", rec.fields.get("last_name")) or ""
            changes["display_name"] = f"{first} {last}".strip() or None
        return self._write(tx, "users", rec, changes)

    def delete_user(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                    query: dict[str, str]) -> Result:
        key = params["user_id"]
        self._get(tx, "users", key)
        if key == API_USER_ID:
            raise ApiError(403, "You cannot delete yourself")
        tx.drop("users", key)
        now = self.store.now()
        for kind in ("looks", "dashboards"):  # their content goes to the trash
            for r in tx.records(kind).values():
                if r.fields.get("user_id") == key and not r.fields.get("deleted"):
                    tx.update(kind, r, {"deleted": True, "deleted_at": now,
                                        "deleter_id": API_USER_ID}, touch=False)
        for k, r in tx.records("scheduled_plans").items():  # and their schedules go
            if r.fields.get("user_id") == key:
                tx.drop("scheduled_plans", k)
        return None

    def create_user_credentials_email(self, tx: Tx, body: Any, raw: Any,
                                      params: dict[str, str], query: dict[str, str]) -> Result:
        key = params["user_id"]
        rec = self._get(tx, "users", key)
        if rec.fields.get("email"):
            raise ApiError(409, "User already has email credentials")
        return self._set_email(tx, rec, body, key)

    def _set_email(self, tx: Tx, rec: Record, body: dict[str, Any], key: str) -> Result:
        email = body.get("email", rec.fields.get("email"))
        if not email:
            raise missing("email")
        if not re.fullmatch(r"[^@\s]+@[^@\s]+", str(email)):
            raise unprocessable("email", "invalid", "is not a valid email address")
        if not self._unique(tx, "users", "email", email, key, fold=True):
            raise taken("email")
        meta = {"forced_reset": bool(body.get("forced_password_reset_at_next_login",
                                              rec.meta.get("forced_reset", False)))}
        if not rec.fields.get("email"):
            meta["email_created"] = self.store.now()
        tx.update("users", rec, {"email": email}, meta)
        return lambda: (self.store.detail_dict("users", key) or {}).get("credentials_email")

    def update_user_credentials_email(self, tx: Tx, body: Any, raw: Any,
                                      params: dict[str, str], query: dict[str, str]) -> Result:
        key = params["user_id"]
        rec = self._get(tx, "users", key)
        if not rec.fields.get("email"):
            raise not_found("User has no email credentials")
        return self._set_email(tx, rec, body, key)

    def delete_user_credentials_email(self, tx: Tx, body: Any, raw: Any,
                                      params: dict[str, str], query: dict[str, str]) -> Result:
        rec = self._get(tx, "users", params["user_id"])
        if not rec.fields.get("email"):
            raise not_found("User has no email credentials")
        tx.update("users", rec, {"email": None})
        return None

    def set_user_roles(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                       query: dict[str, str]) -> Result:
        key = params["user_id"]
        rec = self._get(tx, "users", key)
        ids = self._id_list(tx, body, "roles", "role_ids")
        tx.update("users", rec, {"role_ids": ids})
        return lambda: [self.store.detail_dict("roles", r) for r in ids]

    def _id_list(self, tx: Tx, body: Any, kind: str, field: str) -> list[str]:
        if not isinstance(body, list):
            raise unprocessable(field, "invalid", "must be an array of ids")
        ids = list(dict.fromkeys(str(x) for x in body))
        for x in ids:
            self._ref(tx, kind, x, field)
        return ids

    # -- groups ---------------------------------------------------------------------------

    def create_group(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                     query: dict[str, str]) -> Result:
        fields = self._pick(body, "Group")
        if not fields.get("name"):
            raise missing("name")
        if not self._unique(tx, "groups", "name", fields["name"], fold=True):
            raise taken("name")
        key = self.store.new_key("groups")
        self._new(tx, "groups", "Group", key, {
            **fields, "id": key, "can_add_to_content_metadata":
                fields.get("can_add_to_content_metadata", True),
            "externally_managed": False, "include_by_default": False,
        }, fields.keys(), {"parent_group_ids": [], "role_ids": []})
        return self._detail("groups", key)

    def update_group(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                     query: dict[str, str]) -> Result:
        key = params["group_id"]
        rec = self._get(tx, "groups", key)
        changes = self._pick(body, "Group")
        if "name" in changes:
            if not changes["name"]:
                raise missing("name")
            if not self._unique(tx, "groups", "name", changes["name"], key, fold=True):
                raise taken("name")
        return self._write(tx, "groups", rec, changes)

    def delete_group(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                     query: dict[str, str]) -> Result:
        key = params["group_id"]
        self._get(tx, "groups", key)
        tx.drop("groups", key)
        # Its memberships, roles and sub-group edges go with it.
        self._unlink(tx, "users", "group_ids", key)
        self._unlink(tx, "groups", "parent_group_ids", key, in_meta=True)
        return None

    def _unlink(self, tx: Tx, kind: str, prop: str, key: str, in_meta: bool = False) -> None:
        """`key` leaves the id list `prop` of every object of `kind` (a field, or kept in
        the record's meta)."""
        for r in tx.records(kind).values():
            ids = (r.meta.get(prop) if in_meta else r.fields.get(prop)) or ()
            if key in ids:
                kept = [x for x in ids if x != key]
                if in_meta:
                    tx.update(kind, r, {}, {prop: kept}, touch=False)
                else:
                    tx.update(kind, r, {prop: kept}, touch=False)

    def _membership(self, tx: Tx, group: Record) -> None:
        if group.fields.get("externally_managed"):
            raise ApiError(403, "Membership of an externally managed group belongs to its "
                                "identity provider")

    def add_group_user(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                       query: dict[str, str]) -> Result:
        group = self._get(tx, "groups", params["group_id"])
        self._membership(tx, group)
        user = self._body_record(tx, body, "users", "user_id")
        uid = user.key
        ids = list(user.fields.get("group_ids") or ())
        if group.key not in ids:
            tx.update("users", user, {"group_ids": [*ids, group.key]}, touch=False)
        return self._detail("users", uid)

    def delete_group_user(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                          query: dict[str, str]) -> Result:
        group = self._get(tx, "groups", params["group_id"])
        self._membership(tx, group)
        user = self._get(tx, "users", params["user_id"])
        ids = list(user.fields.get("group_ids") or ())
        if group.key not in ids:
            raise not_found("User is not a member of this group")
        tx.update("users", user, {"group_ids": [g for g in ids if g != group.key]},
                  touch=False)
        return None

    def add_group_group(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                        query: dict[str, str]) -> Result:
        parent = self._get(tx, "groups", params["group_id"])
        child = self._body_record(tx, body, "groups", "group_id")
        gid = child.key
        if child.key == parent.key or child.key in self._group_ancestors(tx, parent.key):
            raise unprocessable("group_id", "invalid", "A group cannot include itself")
        parents = list(child.meta.get("parent_group_ids", ()))
        if parent.key not in parents:
            tx.update("groups", child, {}, {"parent_group_ids": [*parents, parent.key]},
                      touch=False)
        return self._detail("groups", gid)

    def _group_ancestors(self, tx: Tx, key: str) -> set[str]:
        seen: set[str] = set()
        todo = [key]
        while todo:
            rec = tx.get("groups", todo.pop())
            for p in (rec.meta.get("parent_group_ids", ()) if rec else ()):
                if p not in seen:
                    seen.add(p)
                    todo.append(p)
        return seen

    def delete_group_from_group(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                                query: dict[str, str]) -> Result:
        parent = self._get(tx, "groups", params["group_id"])
        child = self._get(tx, "groups", params["deleting_group_id"])
        parents = list(child.meta.get("parent_group_ids", ()))
        if parent.key not in parents:
            raise not_found("Group is not included in this group")
        tx.update("groups", child, {}, {"parent_group_ids": [
            p for p in parents if p != parent.key]}, touch=False)
        return None

    # -- roles and sets -------------------------------------------------------------------

    def _role_sets(self, tx: Tx, body: dict[str, Any], out: dict[str, Any]) -> None:
        # Write-only ids win; the nested objects a GET returns also name them.
        for prop, kind in (("permission_set", "permission_sets"), ("model_set", "model_sets")):
            value = body.get(f"{prop}_id")
            if value is None and isinstance(body.get(prop), dict):
                value = body[prop].get("id")
            if value is not None:
                self._ref(tx, kind, str(value), f"{prop}_id")
                out[f"{prop}_id"] = str(value)

    def create_role(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                    query: dict[str, str]) -> Result:
        if not body.get("name"):
            raise missing("name")
        if not self._unique(tx, "roles", "name", body["name"], fold=True):
            raise taken("name")
        fields: dict[str, Any] = {"name": body["name"]}
        self._role_sets(tx, body, fields)
        for prop in ("permission_set_id", "model_set_id"):
            if prop not in fields:
                raise missing(prop)
        key = self.store.new_key("roles")
        self._new(tx, "roles", "Role", key, {**fields, "id": key}, ("name",))
        return self._detail("roles", key)

    def _role(self, tx: Tx, key: str) -> Record:
        rec = self._get(tx, "roles", key)
        if key == ADMIN_ROLE_ID:
            raise built_in()
        return rec

    def update_role(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                    query: dict[str, str]) -> Result:
        key = params["role_id"]
        rec = self._role(tx, key)
        changes: dict[str, Any] = {}
        if "name" in body:
            if not body["name"]:
                raise missing("name")
            if not self._unique(tx, "roles", "name", body["name"], key, fold=True):
                raise taken("name")
            changes["name"] = body["name"]
        self._role_sets(tx, body, changes)
        return self._write(tx, "roles", rec, changes)

    def delete_role(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                    query: dict[str, str]) -> Result:
        key = params["role_id"]
        self._role(tx, key)
        tx.drop("roles", key)
        self._unlink(tx, "users", "role_ids", key)
        self._unlink(tx, "groups", "role_ids", key, in_meta=True)
        return None

    def set_role_groups(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                        query: dict[str, str]) -> Result:
        key = params["role_id"]
        self._get(tx, "roles", key)
        ids = self._id_list(tx, body, "groups", "group_ids")
        wanted = set(ids)
        for k, r in tx.records("groups").items():
            has = key in r.meta.get("role_ids", ())
            if has != (k in wanted):
                roles = [x for x in r.meta.get("role_ids", ()) if x != key]
                tx.update("groups", r, {}, {"role_ids": roles + ([key] if k in wanted else [])},
                          touch=False)
        return lambda: [self.store.detail_dict("groups", g) for g in ids]

    def set_role_users(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                       query: dict[str, str]) -> Result:
        key = params["role_id"]
        self._get(tx, "roles", key)
        ids = self._id_list(tx, body, "users", "user_ids")
        wanted = set(ids)
        for k, r in tx.records("users").items():
            roles = list(r.fields.get("role_ids") or ())
            if (key in roles) != (k in wanted):
                roles = [x for x in roles if x != key] + ([key] if k in wanted else [])
                tx.update("users", r, {"role_ids": roles}, touch=False)
        return lambda: [self.store.detail_dict("users", u) for u in ids]

    def _set_kind(self, tx: Tx, kind: str, schema: str, body: dict[str, Any],
                  key: str | None) -> Result:
        """Create (key None) or update a permission set or model set."""
        fields = self._pick(body, schema)
        rec = None
        if key is not None:
            rec = self._get(tx, kind, key)
            if rec.fields.get("built_in"):
                raise built_in()
        elif not fields.get("name"):
            raise missing("name")
        if "name" in fields and not self._unique(tx, kind, "name", fields["name"], key,
                                                 fold=True):
            raise taken("name")
        if kind == "model_sets" and fields.get("models") is not None:
            for model in fields["models"]:
                self._ref(tx, "lookml_models", str(model), "models")
        if kind == "permission_sets" and fields.get("permissions") is not None:
            from .generate import PERMISSIONS
            bad = [p for p in fields["permissions"] if p not in PERMISSIONS]
            if bad:
                raise unprocessable("permissions", "invalid", f"unknown permissions {bad}")
        if rec is None:
            key = self.store.new_key(kind)
            list_prop = "models" if kind == "model_sets" else "permissions"
            self._new(tx, kind, schema, key, {list_prop: [], **fields, "id": key,
                                              "built_in": False, "all_access": False},
                      fields.keys())
        else:
            tx.update(kind, rec, fields)
        return self._detail(kind, key)

    def create_permission_set(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                              query: dict[str, str]) -> Result:
        return self._set_kind(tx, "permission_sets", "PermissionSet", body, None)

    def update_permission_set(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                              query: dict[str, str]) -> Result:
        return self._set_kind(tx, "permission_sets", "PermissionSet", body,
                              params["permission_set_id"])

    def create_model_set(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                         query: dict[str, str]) -> Result:
        return self._set_kind(tx, "model_sets", "ModelSet", body, None)

    def update_model_set(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                         query: dict[str, str]) -> Result:
        return self._set_kind(tx, "model_sets", "ModelSet", body, params["model_set_id"])

    def _delete_set(self, tx: Tx, kind: str, key: str) -> Result:
        rec = self._get(tx, kind, key)
        if rec.fields.get("built_in"):
            raise built_in()
        prop = "permission_set_id" if kind == "permission_sets" else "model_set_id"
        if any(r.fields.get(prop) == key for r in tx.records("roles").values()):
            raise unprocessable("id", "invalid", "Roles still use this set")
        tx.drop(kind, key)
        return None

    def delete_permission_set(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                              query: dict[str, str]) -> Result:
        return self._delete_set(tx, "permission_sets", params["permission_set_id"])

    def delete_model_set(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                         query: dict[str, str]) -> Result:
        return self._delete_set(tx, "model_sets", params["model_set_id"])

    # -- user attributes ------------------------------------------------------------------

    UA_TYPES = ("string", "number", "datetime", "relative_url", "yesno", "zipcode",
                "advanced_filter_string", "advanced_filter_number", "advanced_filter_datetime")

    def _ua_checks(self, tx: Tx, fields: dict[str, Any], key: str | None) -> None:
        for prop in ("name", "label"):
            if prop in fields and not self._unique(tx, "user_attributes", prop, fields[prop],
                                                   key, fold=True):
                raise taken(prop)
        if "name" in fields and not re.fullmatch(r"[a-z0-9_]+", str(fields["name"] or "")):
            raise unprocessable("name", "invalid",
                                "may contain only lowercase letters, digits and _")
        if "type" in fields and fields["type"] not in self.UA_TYPES:
            raise unprocessable("type", "invalid", f"must be one of {', '.join(self.UA_TYPES)}")

    def create_user_attribute(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                              query: dict[str, str]) -> Result:
        fields = self._pick(body, "UserAttribute")
        for prop in ("name", "label", "type"):
            if not fields.get(prop):
                raise missing(prop)
        self._ua_checks(tx, fields, None)
        key = self.store.new_key("user_attributes")
        self._new(tx, "user_attributes", "UserAttribute", key, {
            "user_can_view": True, **fields, "id": key, "is_system": False,
            "is_permanent": False}, fields.keys(), {"group_values": []})
        return self._detail("user_attributes", key)

    def _custom_ua(self, tx: Tx, key: str) -> Record:
        rec = self._get(tx, "user_attributes", key)
        if rec.fields.get("is_system"):
            raise unprocessable("id", "invalid", "System user attributes cannot be changed")
        return rec

    def update_user_attribute(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                              query: dict[str, str]) -> Result:
        key = params["user_attribute_id"]
        rec = self._custom_ua(tx, key)
        changes = self._pick(body, "UserAttribute")
        self._ua_checks(tx, changes, key)
        return self._write(tx, "user_attributes", rec, changes)

    delete_user_attribute = _plain_delete("user_attributes", "user_attribute_id", _custom_ua)

    def _group_values(self, rec: Record) -> list[list[str]]:
        """[group_id, value] pairs, highest precedence first."""
        stored = rec.meta.get("group_values")
        if stored is not None:
            return [list(p) for p in stored]
        return [[v["group_id"], v["value"]] for v in self.store.group_values(rec.key) or ()]

    def _group_value(self, tx: Tx, params: dict[str, str]
                     ) -> tuple[str, Record, list[list[str]]]:
        """The group and attribute of a group value's path (404 for either) and the
        attribute's [group_id, value] pairs."""
        gid, key = params["group_id"], params["user_attribute_id"]
        self._get(tx, "groups", gid)
        rec = self._get(tx, "user_attributes", key)
        return gid, rec, self._group_values(rec)

    def set_user_attribute_group_values(self, tx: Tx, body: Any, raw: Any,
                                        params: dict[str, str],
                                        query: dict[str, str]) -> Result:
        key = params["user_attribute_id"]
        rec = self._get(tx, "user_attributes", key)
        if not isinstance(body, list):
            raise unprocessable("group_values", "invalid", "must be an array")
        pairs: list[list[Any]] = []
        for entry in body:  # array order is precedence
            gid = str((entry or {}).get("group_id") or "")
            if not gid:
                raise missing("group_id")
            self._ref(tx, "groups", gid, "group_id")
            if any(p[0] == gid for p in pairs):
                raise unprocessable("group_id", "invalid", "a group appears twice")
            pairs.append([gid, entry.get("value")])
        tx.update("user_attributes", rec, {}, {"group_values": pairs}, touch=False)
        return lambda: self.store.group_values(key)

    def update_user_attribute_group_value(self, tx: Tx, body: Any, raw: Any,
                                          params: dict[str, str],
                                          query: dict[str, str]) -> Result:
        gid, rec, pairs = self._group_value(tx, params)
        value = body.get("value") if isinstance(body, dict) else None
        for p in pairs:
            if p[0] == gid:
                p[1] = value
                break
        else:
            pairs.append([gid, value])
        tx.update("user_attributes", rec, {}, {"group_values": pairs}, touch=False)
        return lambda: next(v for v in self.store.group_values(rec.key) or ()
                            if v["group_id"] == gid)

    def delete_user_attribute_group_value(self, tx: Tx, body: Any, raw: Any,
                                          params: dict[str, str],
                                          query: dict[str, str]) -> Result:
        gid, rec, pairs = self._group_value(tx, params)
        if not any(p[0] == gid for p in pairs):
            raise not_found("The group has no value for this attribute")
        tx.update("user_attributes", rec, {},
                  {"group_values": [p for p in pairs if p[0] != gid]}, touch=False)
        return None

    # -- scheduled plans and alerts -------------------------------------------------------

    PLAN_TARGETS = (("look_id", "looks"), ("dashboard_id", "dashboards"),
                    ("lookml_dashboard_id", "dashboards"))

    def _destinations(self, plan: str, sent: Any) -> list[dict[str, Any]]:
        if not isinstance(sent, list) or not sent:
            raise unprocessable("scheduled_plan_destination", "missing",
                                "A scheduled plan needs at least one destination")
        out = []
        for d in sent:
            if not isinstance(d, dict) or not d.get("type") or not d.get("format"):
                raise unprocessable("scheduled_plan_destination", "invalid",
                                    "Each destination needs a type and a format")
            did = str(self.store.next_id("plan_destinations", 50_000_000))
            dest = {**blank("ScheduledPlanDestination"), **self._pick(
                d, "ScheduledPlanDestination"), "id": did, "scheduled_plan_id": plan,
                "looker_recipient": False}
            dest["secret_parameters"] = None  # write-only: never echoed
            out.append(dest)
        return out

    def _plan_checks(self, tx: Tx, plan: dict[str, Any]) -> None:
        if not plan.get("name"):
            raise missing("name")
        targets = [p for p, _ in self.PLAN_TARGETS if plan.get(p)] + (
            ["query_id"] if plan.get("query_id") else [])
        if not targets:
            raise unprocessable("look_id", "missing", "A plan needs a look_id, dashboard_id, "
                                "lookml_dashboard_id or query_id")
        for prop, kind in self.PLAN_TARGETS:
            self._ref(tx, kind, plan.get(prop), prop)
        if plan.get("query_id") and self.store.query_dict(str(plan["query_id"])) is None:
            raise not_found(f"query_id {plan['query_id']} not found")
        if not plan.get("crontab") and not plan.get("datagroup"):
            raise unprocessable("crontab", "missing", "A plan needs a crontab or a datagroup")
        self._ref(tx, "users", plan.get("user_id"), "user_id")

    def create_scheduled_plan(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                              query: dict[str, str]) -> Result:
        fields = self._pick(body, "ScheduledPlan")
        fields.pop("user", None)
        dests = fields.pop("scheduled_plan_destination", None)
        self._plan_checks(tx, fields)
        if fields.get("look_id"):
            for flag in ("require_results", "require_no_results", "require_change"):
                if fields.get(flag) is None:
                    raise missing(flag)
        key = self.store.new_key("scheduled_plans")
        fields.setdefault("user_id", API_USER_ID)
        fields["user_id"] = fields["user_id"] or API_USER_ID
        self._new(tx, "scheduled_plans", "ScheduledPlan", key, {
            "enabled": True, **fields, "id": key}, fields.keys(),
            {"destinations": self._destinations(key, dests)})
        return self._detail("scheduled_plans", key)

    def update_scheduled_plan(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                              query: dict[str, str]) -> Result:
        key = params["scheduled_plan_id"]
        rec = self._get(tx, "scheduled_plans", key)
        changes = self._pick(body, "ScheduledPlan")
        changes.pop("user", None)
        if "scheduled_plan_destination" in changes:  # sent: they replace the old ones
            meta = {"destinations": self._destinations(
                key, changes.pop("scheduled_plan_destination"))}
        else:  # kept as they are, whatever else changes
            meta = {"destinations": (self.store.detail_dict("scheduled_plans", key) or {}).get(
                "scheduled_plan_destination") or []}
        self._plan_checks(tx, {**rec.fields, **changes})
        return self._write(tx, "scheduled_plans", rec, changes, meta)

    delete_scheduled_plan = _plain_delete("scheduled_plans", "scheduled_plan_id")

    ALERT_REQUIRED = ("field", "destinations", "comparison_type", "threshold", "cron")

    def _alert_checks(self, tx: Tx, alert: dict[str, Any], required: Iterable[str]) -> None:
        for prop in required:
            if alert.get(prop) in (None, "", []):
                raise missing(prop)
        eid = alert.get("dashboard_element_id")
        if eid:
            self._holder(tx, "dashboards", self.store.child_dashboard("elements", str(eid)),
                         self._children, _find, "elements", str(eid),
                         f"dashboard_element_id {eid} not found")
        self._ref(tx, "users", alert.get("owner_id"), "owner_id")
        if alert.get("query_id") and self.store.query_dict(str(alert["query_id"])) is None:
            raise not_found(f"query_id {alert['query_id']} not found")

    def create_alert(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                     query: dict[str, str]) -> Result:
        fields = self._pick(body, "Alert")
        self._alert_checks(tx, fields, self.ALERT_REQUIRED)
        key = self.store.new_key("alerts")
        fields["owner_id"] = str(fields.get("owner_id") or API_USER_ID)
        for ref in ("dashboard_element_id", "query_id"):
            if fields.get(ref) is not None:
                fields[ref] = str(fields[ref])
        self._new(tx, "alerts", "Alert", key, {
            "enhancements": "NONE", **fields, "id": key, "followed": False,
            "followable": True}, [*fields, "enhancements"])
        return self._detail("alerts", key)

    def update_alert(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                     query: dict[str, str]) -> Result:
        key = params["alert_id"]
        rec = self._get(tx, "alerts", key)
        fields = self._pick(body, "Alert")
        self._alert_checks(tx, fields, ("owner_id", *self.ALERT_REQUIRED))
        if fields.get("dashboard_element_id") is not None and str(
                fields["dashboard_element_id"]) != rec.fields.get("dashboard_element_id"):
            # looker_deployer#97: an alert stays on its tile
            raise unprocessable("dashboard_element_id", "invalid",
                                "dashboard_element_id cannot be changed")
        # A full replace: what is not sent returns to its default.
        replaced = {p: blank("Alert").get(p) for p in spec.writable("Alert")
                    if p not in ("dashboard_element_id",)}
        replaced.update({k: v for k, v in fields.items() if k != "dashboard_element_id"})
        replaced["owner_id"] = str(replaced["owner_id"])
        return self._write(tx, "alerts", rec, replaced)

    def update_alert_field(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                           query: dict[str, str]) -> Result:
        key = params["alert_id"]
        rec = self._get(tx, "alerts", key)
        changes = self._pick(body, "AlertPatch")
        self._ref(tx, "users", changes.get("owner_id"), "owner_id")
        return self._write(tx, "alerts", rec, changes)

    delete_alert = _plain_delete("alerts", "alert_id")

    # -- themes and colour collections ----------------------------------------------------

    def _theme_name(self, name: Any) -> None:
        if not name:
            raise missing("name")
        if not re.fullmatch(r"[A-Za-z0-9_]+", str(name)):
            raise unprocessable("name", "invalid",
                                "Theme names may contain only letters, digits and _")

    def create_theme(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                     query: dict[str, str]) -> Result:
        fields = self._pick(body, "Theme")
        self._theme_name(fields.get("name"))
        key = self.store.new_key("themes")
        self._new(tx, "themes", "Theme", key, {**fields, "id": key}, fields.keys(),
                  {"primary": "#1A73E8"})
        return self._detail("themes", key)

    def update_theme(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                     query: dict[str, str]) -> Result:
        key = params["theme_id"]
        rec = self._get(tx, "themes", key)
        changes = self._pick(body, "Theme")
        if "name" in changes:
            self._theme_name(changes["name"])
        return self._write(tx, "themes", rec, changes)

    delete_theme = _plain_delete("themes", "theme_id")

    def create_color_collection(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                                query: dict[str, str]) -> Result:
        fields = self._pick(body, "ColorCollection")
        if not fields.get("label"):
            raise missing("label")
        key = f"custom-{self.store.next_id('color_collections', 0)}"
        self._new(tx, "color_collections", "ColorCollection", key, {
            "categoricalPalettes": [], "sequentialPalettes": [], "divergingPalettes": [],
            **fields, "id": key}, fields.keys())
        return self._detail("color_collections", key)

    def update_color_collection(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                                query: dict[str, str]) -> Result:
        key = params["collection_id"]
        rec = self._get(tx, "color_collections", key)
        return self._write(tx, "color_collections", rec, self._pick(body, "ColorCollection"))

    delete_color_collection = _plain_delete("color_collections", "collection_id")

    # -- connections and models (keyed by name) -------------------------------------------

    SECRETS = ("password", "certificate", "file_type")

    def _connection_fields(self, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        fields = self._pick(body, "DBConnection")
        fields.pop("dialect", None)
        secrets = {k: fields.pop(k) for k in self.SECRETS if k in fields}
        override = fields.get("pdt_context_override")
        if isinstance(override, dict):  # its secrets are write-only too
            fields["pdt_context_override"] = {
                k: (None if k in ("password", "pdt_password", "certificate", "pdt_certificate",
                                  "file_type", "pdt_file_type") else v)
                for k, v in override.items()}
        return fields, secrets

    def _dialect(self, name: Any) -> tuple[str, str]:
        for dialect, label, _, _ in DIALECTS:
            if dialect == name:
                return dialect, label
        raise unprocessable("dialect_name", "invalid", f"Unknown dialect {name}")

    def create_connection(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                          query: dict[str, str]) -> Result:
        fields, secrets = self._connection_fields(body)
        name = fields.get("name")
        if not name:
            raise missing("name")
        if tx.get("connections", str(name)) is not None:
            raise ApiError(409, f"A connection named {name} already exists")
        if not fields.get("dialect_name"):
            raise missing("dialect_name")
        dialect = self._dialect(fields["dialect_name"])
        self._new(tx, "connections", "DBConnection", str(name), {
            **fields, "user_id": API_USER_ID}, fields.keys(),
            {"dialect": dialect, "has_password": bool(secrets.get("password"))})
        return self._detail("connections", str(name))

    def update_connection(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                          query: dict[str, str]) -> Result:
        key = params["connection_name"]
        rec = self._get(tx, "connections", key)
        changes, secrets = self._connection_fields(body)
        if changes.get("name") not in (None, key):
            raise unprocessable("name", "invalid", "A connection cannot be renamed")
        changes.pop("name", None)
        meta: dict[str, Any] = {}
        if "dialect_name" in changes:
            meta["dialect"] = self._dialect(changes["dialect_name"])
        if "password" in secrets:
            meta["has_password"] = bool(secrets["password"])
        return self._write(tx, "connections", rec, changes, meta)

    delete_connection = _plain_delete("connections", "connection_name")

    def create_lookml_model(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                            query: dict[str, str]) -> Result:
        fields = self._pick(body, "LookmlModel")
        name = fields.get("name")
        if not name:
            raise missing("name")
        if tx.get("lookml_models", str(name)) is not None:
            raise ApiError(409, f"A model named {name} already exists")
        for conn in fields.get("allowed_db_connection_names") or ():
            self._ref(tx, "connections", str(conn), "allowed_db_connection_names")
        self._new(tx, "lookml_models", "LookmlModel", str(name), {
            **fields, "label": str(name).replace("_", " ").title(), "has_content": False},
            fields.keys(), {"explores": []})
        return self._detail("lookml_models", str(name))

    def update_lookml_model(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                            query: dict[str, str]) -> Result:
        key = params["lookml_model_name"]
        rec = self._get(tx, "lookml_models", key)
        changes = self._pick(body, "LookmlModel")
        if changes.get("name") not in (None, key):
            raise unprocessable("name", "invalid", "A model cannot be renamed")
        changes.pop("name", None)
        for conn in changes.get("allowed_db_connection_names") or ():
            self._ref(tx, "connections", str(conn), "allowed_db_connection_names")
        return self._write(tx, "lookml_models", rec, changes)

    def delete_lookml_model(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                            query: dict[str, str]) -> Result:
        key = params["lookml_model_name"]
        rec = self._get(tx, "lookml_models", key)
        tx.drop("lookml_models", key)
        for explore in rec.meta.get("explores", ()):
            if tx.get("explores", explore) is not None:
                tx.drop("explores", explore)
        return None

    # -- content access -------------------------------------------------------------------

    def update_content_metadata(self, tx: Tx, body: Any, raw: Any, params: dict[str, str],
                                query: dict[str, str]) -> Result:
        cm = params["content_metadata_id"]
        meta = self.store.content_meta(cm)
        if meta is None:
            raise not_found()
        if "inherits" in body:
            inherits = bool(body["inherits"])
            if not inherits and meta["content_type"] not in ("space", "board"):
                raise unprocessable("inherits", "invalid",
                                    "Only folders and boards can stop inheriting access")
            if not inherits and meta["parent_id"] is None:
                raise unprocessable("inherits", "invalid", "A root sets its own access")
            entries = self.store.content_access(cm) or []
            self.store.set_access(cm, {"inherits": inherits,
                                       "entries": [] if inherits else entries})
        return lambda: self.store.content_meta(cm)

    def _principal(self, tx: Tx, body: dict[str, Any]) -> tuple[str | None, str | None]:
        gid = body.get("group_id")
        uid = body.get("user_id")
        if bool(gid) == bool(uid):
            raise unprocessable("group_id", "invalid", "Give exactly one of group_id, user_id")
        self._ref(tx, "groups", gid, "group_id")
        self._ref(tx, "users", uid, "user_id")
        return (str(gid) if gid else None), (str(uid) if uid else None)

    def create_content_metadata_access(self, tx: Tx, body: Any, raw: Any,
                                       params: dict[str, str], query: dict[str, str]) -> Result:
        cm = body.get("content_metadata_id")
        if not cm:
            raise missing("content_metadata_id")
        cm = str(cm)
        meta = self.store.content_meta(cm)
        if meta is None:
            raise not_found(f"content_metadata_id {cm} not found")
        permission = body.get("permission_type")
        if permission not in ("view", "edit"):
            raise unprocessable("permission_type", "invalid", "must be view or edit")
        gid, uid = self._principal(tx, body)
        if meta["inherits"]:
            raise unprocessable("content_metadata_id", "invalid",
                                "Content inheriting its parent's access has no entries of its "
                                "own: set inherits false first")
        entries = list(self.store.content_access(cm) or ())
        if any(e["group_id"] == gid and e["user_id"] == uid for e in entries):
            raise ApiError(409, "Access for this group or user already exists")
        entry = {**spec.shared_template("ContentMetaGroupUser"),
                 "id": f"{cm}-{self.store.next_id('content_access', 100)}",
                 "content_metadata_id": cm, "permission_type": permission,
                 "group_id": gid, "user_id": uid}
        self.store.set_access(cm, {"inherits": False, "entries": [*entries, entry]})
        return entry

    def _access_entry(self, eid: str) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
        cm = eid.rsplit("-", 1)[0]
        entries = list(self.store.content_access(cm) or ()) if "-" in eid else []
        entry = next((e for e in entries if e["id"] == eid), None)
        if entry is None:
            raise not_found()
        return cm, entries, entry

    def update_content_metadata_access(self, tx: Tx, body: Any, raw: Any,
                                       params: dict[str, str], query: dict[str, str]) -> Result:
        cm, entries, entry = self._access_entry(params["content_metadata_access_id"])
        permission = body.get("permission_type", entry["permission_type"])
        if permission not in ("view", "edit"):
            raise unprocessable("permission_type", "invalid", "must be view or edit")
        new = {**entry, "permission_type": permission}
        if body.get("group_id") or body.get("user_id"):
            new["group_id"], new["user_id"] = self._principal(tx, body)
        self.store.set_access(cm, {"inherits": False, "entries": [
            new if e["id"] == entry["id"] else e for e in entries]})
        return new

    def delete_content_metadata_access(self, tx: Tx, body: Any, raw: Any,
                                       params: dict[str, str], query: dict[str, str]) -> Result:
        cm, entries, entry = self._access_entry(params["content_metadata_access_id"])
        self.store.set_access(cm, {"inherits": False, "entries": [
            e for e in entries if e["id"] != entry["id"]]})
        return None


# Every public method but `run` is an operation (the upper-case constants are not callable).
OPERATIONS: tuple[str, ...] = tuple(
    name for name, value in vars(Writer).items()
    if not name.startswith("_") and callable(value) and name != "run")


# -- finding children -----------------------------------------------------------------------


def _find(ch: dict[str, Any], ckind: str, cid: str) -> dict[str, Any] | None:
    """A child of a dashboard's children by kind and id (components live in layouts)."""
    if ckind == "components":
        for lay in ch.get("layouts") or ():
            for comp in lay.get("dashboard_layout_components") or ():
                if comp.get("id") == cid:
                    return comp
        return None
    return next((x for x in ch.get(ckind) or () if x.get("id") == cid), None)


def _rendered_children(dash: dict[str, Any]) -> dict[str, Any]:
    return {"elements": dash.get("dashboard_elements") or [],
            "filters": dash.get("dashboard_filters") or [],
            "layouts": dash.get("dashboard_layouts") or []}


def _board_find(sections: list[dict[str, Any]], what: str, xid: str) -> dict[str, Any] | None:
    for sec in sections:
        if what == "sections" and sec.get("id") == xid:
            return sec
        if what == "items":
            for item in sec.get("items", sec.get("board_items")) or ():
                if item.get("id") == xid:
                    return item
    return None


def _new_component(cid: str, layout: str, eid: str, row: int, col: int, width: int,
                   height: int) -> dict[str, Any]:
    return {**blank("DashboardLayoutComponent"),
            "can": spec.shared_template("DashboardLayoutComponent").get("can"),
            "id": cid, "dashboard_layout_id": layout, "dashboard_element_id": eid,
            "row": row, "column": col, "width": width, "height": height, "deleted": False,
            "granular_row": row * 10, "granular_column": col * 10,
            "granular_width": width * 10, "granular_height": height * 10}


# -- reads of what the writes above manage ------------------------------------------------------


def _dash_children(store: Store, key: str, prop: str) -> Any:
    dash = store.detail_dict("dashboards", key)
    return None if dash is None else dash.get(prop) or []


def _child(store: Store, ckind: str, cid: str, key: str | None = None) -> Any:
    """One child as its GET answers it. Filters, elements and components are rendered on
    their own (a 400-tile dashboard need not be rendered for one tile); layouts embed their
    components' element titles, so they come from the dashboard's detail."""
    key = key or store.child_dashboard(ckind, cid)
    rec = store.record("dashboards", key) if key else None
    if rec is None:
        return None
    if ckind == "layouts":
        dash = store.detail_dict("dashboards", key) or {}
        return _find(_rendered_children(dash), ckind, cid)
    raw = rec.meta.get("children") or store.seed_children(key)
    found = _find(raw, ckind, cid)
    if found is None:
        return None
    if ckind == "filters":
        return dict(found)
    if ckind == "elements":
        return store.renderer.element(found)
    element = _find(raw, "elements", found.get("dashboard_element_id") or "")
    return store.renderer.component(found, store.renderer.element(element) if element
                                    else None)


def _board_part(store: Store, what: str, xid: str) -> Any:
    key = store.child_board(what, xid)
    board = store.detail_dict("boards", key) if key else None
    return None if board is None else _board_find(board.get("board_sections") or [], what, xid)


def _layout_components(store: Store, lid: str) -> Any:
    lay = _child(store, "layouts", lid)
    return None if lay is None else lay.get("dashboard_layout_components") or []


def _group_users(store: Store, gid: str) -> Any:
    if store.record("groups", gid) is None:
        return None
    return [store.detail_dict("users", k) for k, r in store.records("users").items()
            if gid in (r.fields.get("group_ids") or ())]


def _group_groups(store: Store, gid: str) -> Any:
    if store.record("groups", gid) is None:
        return None
    return [store.detail_dict("groups", k) for k, r in store.records("groups").items()
            if gid in r.meta.get("parent_group_ids", ())]


def _role_groups(store: Store, rid: str) -> Any:
    if store.record("roles", rid) is None:
        return None
    return [store.detail_dict("groups", k) for k, r in store.records("groups").items()
            if rid in r.meta.get("role_ids", ())]


def _user_roles(store: Store, uid: str, query: dict[str, str]) -> Any:
    rec = store.record("users", uid)
    if rec is None:
        return None
    ids = list(rec.fields.get("role_ids") or ())
    if query.get("direct_association_only", "false").lower() != "true":
        groups = set(rec.fields.get("group_ids") or ())
        for k, g in store.records("groups").items():
            if k in groups:
                ids += [r for r in g.meta.get("role_ids", ()) if r not in ids]
    return [r for r in (store.detail_dict("roles", x) for x in ids) if r is not None]


def _folder_content(store: Store, fid: str, kind: str) -> Any:
    if store.record("folders", fid) is None:
        return None
    # Live content only, as the folder's own `dashboards` and `looks` show it.
    return [store.detail_dict(kind, k) for k in store.indexes.folder_content.get((kind, fid), ())]


def _folder_children(store: Store, fid: str) -> Any:
    if store.record("folders", fid) is None:
        return None
    return [store.detail_dict("folders", k) for k, r in store.records("folders").items()
            if r.fields.get("parent_id") == fid]


READS: dict[str, Callable[[Store, dict[str, str], dict[str, str]], Any]] = {
    "folder_dashboards": lambda s, p, q: _folder_content(s, p["folder_id"], "dashboards"),
    "folder_looks": lambda s, p, q: _folder_content(s, p["folder_id"], "looks"),
    "folder_children": lambda s, p, q: _folder_children(s, p["folder_id"]),
    "dashboard_dashboard_elements":
        lambda s, p, q: _dash_children(s, p["dashboard_id"], "dashboard_elements"),
    "dashboard_dashboard_filters":
        lambda s, p, q: _dash_children(s, p["dashboard_id"], "dashboard_filters"),
    "dashboard_dashboard_layouts":
        lambda s, p, q: _dash_children(s, p["dashboard_id"], "dashboard_layouts"),
    "dashboard_layout_dashboard_layout_components":
        lambda s, p, q: _layout_components(s, p["dashboard_layout_id"]),
    "dashboard_element": lambda s, p, q: _child(s, "elements", p["dashboard_element_id"]),
    "dashboard_filter": lambda s, p, q: _child(s, "filters", p["dashboard_filter_id"]),
    "dashboard_layout": lambda s, p, q: _child(s, "layouts", p["dashboard_layout_id"]),
    "dashboard_layout_component":
        lambda s, p, q: _child(s, "components", p["dashboard_layout_component_id"]),
    "board_section": lambda s, p, q: _board_part(s, "sections", p["board_section_id"]),
    "board_item": lambda s, p, q: _board_part(s, "items", p["board_item_id"]),
    "all_group_users": lambda s, p, q: _group_users(s, p["group_id"]),
    "all_group_groups": lambda s, p, q: _group_groups(s, p["group_id"]),
    "role_groups": lambda s, p, q: _role_groups(s, p["role_id"]),
    "user_roles": lambda s, p, q: _user_roles(s, p["user_id"], q),
    # What a client needs to tell when a project's LookML was last deployed.
    "project_workspace": lambda s, p, q: s.project_workspace(p["project_id"]),
    "manifest": lambda s, p, q: s.manifest(p["project_id"]),
}


def clean_body(raw: Any, schema: str | None, is_array: bool) -> Any:
    """The body as the server reads it: keys the schema does not know are dropped, and so are
    read-only ones (in nested objects too, as the SDK's Write* types do; array items are
    kept whole, which is how `filterables[].listen` reaches the server)."""
    if schema is None:
        return raw
    if is_array:
        if not isinstance(raw, list):
            raise ApiError(400, "The body must be a JSON array")
        return [_clean_object(x, schema) if isinstance(x, dict) else x for x in raw]
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ApiError(400, "The body must be a JSON object")
    return _clean_object(raw, schema)


def _clean_object(raw: dict[str, Any], schema: str) -> dict[str, Any]:
    allowed = spec.writable(schema)
    out = {}
    for key, value in raw.items():
        if key not in allowed:
            continue
        nested, is_list = spec.nested_schema(schema, key)
        if nested is not None and not is_list and isinstance(value, dict):
            value = _clean_object(value, nested)
        out[key] = value
    return out
