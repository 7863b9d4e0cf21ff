"""A dashboard's children, reconciled against the backup (../shared/notes/looker-restore.md
§3.2): filters, then layouts (tabs), then elements, then component positions.

Children are matched by id (or through the id map, for ones an earlier restore re-created),
then by natural key: a filter by name, a layout by (active, order, label), an element by
(title, type, what it shows). A matched child that differs is patched; an unchanged tile is
never re-created (alerts and favourites hang off its id); a missing one is created and its id
mapped; a live extra is deleted. Queries are immutable: a changed query is a new query, and
the tile is re-pointed. Listeners travel in result_maker.filterables by filter name; filter
tiles point at their filter by id, through the filter map.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from looker_assets.restore.fields import pick, query_form, same, writable

if TYPE_CHECKING:
    from looker_assets.restore.engine import Restore, Target

FILTER_FIELDS = writable("DashboardFilter")
LAYOUT_FIELDS = writable("DashboardLayout") - {"dashboard_id", "lookml_link_id"}
COMPONENT_FIELDS = ("row", "column", "width", "height", "granular_row", "granular_column",
                    "granular_width", "granular_height")
# What a tile is, besides what it shows (look, query, merge, filter) and where (its tab).
ELEMENT_FIELDS = writable("DashboardElement") - {
    "dashboard_id", "dashboard_layout_id", "look", "look_id", "merge_result_id", "query",
    "query_id", "filter_id", "result_maker", "result_maker_id"}
# The result maker's own settings (listeners, table calculations); its ids are Looker's.
RESULT_MAKER_FIELDS = frozenset({"filterables", "dynamic_fields", "vis_config", "sorts",
                                 "total"})


def _text(el: dict[str, Any]) -> bool:
    return el.get("type") == "text"


def _shows_query(el: dict[str, Any]) -> bool:
    """A query tile (not a look's or a merge's, whose queries are theirs)."""
    return bool(el.get("query")) and not _text(el) and not el.get("look_id") \
        and not el.get("merge_result_id")


def dependencies(r: Restore, t: Target) -> list[tuple[str, str]]:
    """Looks its tiles link to (re-linked, never copied)."""
    return [("looks", str(el["look_id"])) for el in t.backup.get("dashboard_elements") or []
            if el.get("look_id")]


def alerts_on_tiles(r: Restore, t: Target) -> list[tuple[str, str]]:
    """The alerts set on its tiles: a re-created tile needs its alerts made again."""
    elements = {str(el.get("id")) for el in t.backup.get("dashboard_elements") or []}
    if not elements:
        return []
    return [("alerts", id_) for id_, alert in r.backup_all("alerts")
            if str(alert.get("dashboard_element_id")) in elements]


@dataclass
class Maps:
    """Backup child id -> live child id, per child kind, for one dashboard."""

    filters: dict[str, str | None] = field(default_factory=dict)
    layouts: dict[str, str | None] = field(default_factory=dict)
    elements: dict[str, str | None] = field(default_factory=dict)


@dataclass
class Op:
    child: str  # dashboard_filters, dashboard_layouts, dashboard_elements, components
    op: str  # create, update, delete
    old_id: str | None
    live_id: str | None
    fields: list[str] = field(default_factory=list)

    def describe(self) -> str:
        what = f"{self.child}[{self.old_id or self.live_id}]"
        return f"{what} {self.op}" + (f" ({', '.join(self.fields)})" if self.fields else "")


def _match(backup: list[dict[str, Any]], live: list[dict[str, Any]], child: str, r: Restore,
           key: Callable[[dict[str, Any]], Any]) -> dict[str, str | None]:
    """Backup id -> live id: by id, by the id map, then by natural key; None: unmatched."""
    by_id = {str(c.get("id")): c for c in live}
    taken: set[str] = set()
    out: dict[str, str | None] = {}
    for c in backup:
        old = str(c.get("id"))
        # On another instance (migrate) a live child of the same id is not this one.
        same_id = old if r.migration is None else None
        for candidate in (same_id, r.records.mapped(child, old)):
            if candidate is not None and candidate in by_id and candidate not in taken:
                out[old] = candidate
                taken.add(candidate)
                break
        else:
            out[old] = None
    for c in backup:
        old = str(c.get("id"))
        if out[old] is not None:
            continue
        for lc in live:
            lid = str(lc.get("id"))
            if lid not in taken and key(lc) == key(c):
                out[old] = lid
                taken.add(lid)
                if r.migration is not None:  # kept in the id map: the next run finds it so
                    r.remember_child(child, old, lid)
                break
    return out


class Reconciler:
    """The child plan of one dashboard; `run` writes it (dry: only computes it)."""

    def __init__(self, r: Restore, t: Target, live: dict[str, Any], write: bool) -> None:
        self.r, self.t, self.live, self.write = r, t, live, write
        self.dash_id = str(live.get("id"))
        self.ops: list[Op] = []
        self.maps = Maps()
        self.backup_filters = {str(f.get("id")): f for f in t.backup.get("dashboard_filters") or []}

    # -- helpers ----------------------------------------------------------------------------

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.r.write(self.t, "POST", path, body)

    def _patch(self, path: str, body: dict[str, Any]) -> Any:
        return self.r.write(self.t, "PATCH", path, body)

    def _refresh(self) -> None:
        self.live = self.r.get(f"/dashboards/{quote(self.dash_id, safe='')}")

    # -- filters and layouts: flat children, written with their own fields -----------------

    def _flat(self, child: str, backup: list[dict[str, Any]], fields: frozenset[str],
              matched: dict[str, str | None]) -> None:
        """Create what is missing, patch what differs (and keep the live read current: the
        tiles are compared against it next, and a renamed filter is what a filter tile's
        form names)."""
        live_by_id = {str(c.get("id")): c for c in self.live.get(child) or []}
        for c in backup:
            old = str(c.get("id"))
            want = pick(c, fields)
            lid = matched[old]
            if lid is None:
                self.ops.append(Op(child, "create", old, None))
                if self.write:
                    made = self._post(f"/{child}", {**want, "dashboard_id": self.dash_id})
                    matched[old] = str(made["id"])
                    self.r.remember_child(child, old, str(made["id"]))
                continue
            have = pick(live_by_id[lid], fields)
            changed = {k: want[k] for k in want if not same(want[k], have.get(k))}
            if changed:
                self.ops.append(Op(child, "update", old, lid, list(changed)))
                if self.write:
                    self._patch(f"/{child}/{lid}", changed)
                    live_by_id[lid].update(changed)

    def _extras(self, child: str, matched: dict[str, str | None],
                keep: Callable[[dict[str, Any]], bool] = lambda _c: False) -> None:
        """Delete the live children the backup does not have (after the tiles moved off)."""
        taken = set(matched.values())
        for c in self.live.get(child) or []:
            lid = str(c.get("id"))
            if lid not in taken and not keep(c):
                self.ops.append(Op(child, "delete", None, lid))
                if self.write:
                    self.r.write(self.t, "DELETE", f"/{child}/{lid}")

    def filters(self) -> None:
        # In row order, as Looker lays them out (gzr sorts the same way).
        backup = sorted(self.t.backup.get("dashboard_filters") or [],
                        key=lambda f: (f.get("row") is None, f.get("row") or 0))
        self.maps.filters = _match(backup, self.live.get("dashboard_filters") or [],
                                   "dashboard_filters", self.r, lambda f: f.get("name"))
        self._flat("dashboard_filters", backup, FILTER_FIELDS, self.maps.filters)

    def layouts(self) -> None:
        backup = self.t.backup.get("dashboard_layouts") or []
        live = self.live.get("dashboard_layouts") or []
        self.maps.layouts = _match(backup, live, "dashboard_layouts", self.r,
                                   lambda lay: (bool(lay.get("active")), lay.get("order"),
                                                lay.get("label")))
        # The backup's active layout is the live active one (create_dashboard makes one).
        live_active = next((str(lay.get("id")) for lay in live if lay.get("active")), None)
        taken = set(self.maps.layouts.values())
        for lay in backup:
            old = str(lay.get("id"))
            if self.maps.layouts[old] is None and lay.get("active") and live_active \
                    and live_active not in taken:
                self.maps.layouts[old] = live_active
                taken.add(live_active)
        self._flat("dashboard_layouts", backup, LAYOUT_FIELDS, self.maps.layouts)

    # -- elements ---------------------------------------------------------------------------

    def _filter_name(self, filter_id: Any, filters: dict[str, dict[str, Any]]) -> Any:
        f = filters.get(str(filter_id)) if filter_id is not None else None
        return None if f is None else f.get("name")

    def form(self, el: dict[str, Any], backup: bool) -> dict[str, Any]:
        """What a tile is, comparable across the backup and Looker: ids of other objects
        as live ids, its filter by name, its query by content."""
        out = pick(el, ELEMENT_FIELDS)
        layout = el.get("dashboard_layout_id")
        look = el.get("look_id")
        if backup:
            layout = self.maps.layouts.get(str(layout), f"<new {layout}>") if layout else None
            look = self.r.live_ref("looks", str(look)) or f"<gone {look}>" if look else None
            filters = self.backup_filters
        else:
            filters = {str(f.get("id")): f for f in self.live.get("dashboard_filters") or []}
        out["dashboard_layout_id"] = layout
        out["look_id"] = look
        out["filter"] = self._filter_name(el.get("filter_id"), filters)
        merge = el.get("merge_result_id")
        if backup and merge and self.r.migration is not None:
            # Made again on the other instance: compared through the id map.
            merge = self.r.records.mapped("merge_queries", str(merge)) or f"<new {merge}>"
        out["merge_result_id"] = merge
        out["query"] = None if look or el.get("merge_result_id") else query_form(el.get("query"))
        rm = el.get("result_maker")
        out["result_maker"] = None if _text(el) or not rm else pick(rm, RESULT_MAKER_FIELDS)
        return out

    def _identity(self, el: dict[str, Any]) -> Any:
        return (el.get("title"), el.get("type"), str(el.get("look_id")),
                str(el.get("merge_result_id")), repr(query_form(el.get("query"))))

    def elements(self) -> None:
        backup = self.t.backup.get("dashboard_elements") or []
        live = self.live.get("dashboard_elements") or []
        self.maps.elements = _match(backup, live, "dashboard_elements", self.r, self._identity)
        live_by_id = {str(e.get("id")): e for e in live}
        for el in backup:
            old = str(el.get("id"))
            lid = self.maps.elements[old]
            want = self.form(el, backup=True)
            if lid is not None:
                have_el = live_by_id[lid]
                if _text(el) != _text(have_el):
                    # Text and data tiles cannot turn into each other (gzr#24): replace.
                    self.ops.append(Op("dashboard_elements", "delete", None, lid))
                    if self.write:
                        self.r.write(self.t, "DELETE", f"/dashboard_elements/{lid}")
                    lid = self.maps.elements[old] = None
                else:
                    have = self.form(have_el, backup=False)
                    changed = [k for k in want if not same(want[k], have.get(k))]
                    if changed:
                        self.ops.append(Op("dashboard_elements", "update", old, lid, changed))
                        if self.write:
                            body = self.body(el)
                            patch = {k: body[k] for k in body if k in changed}
                            if "filter" in changed:
                                patch["filter_id"] = body.get("filter_id")
                            query = el.get("query") if "query" in changed else None
                            self.r.send_with_query(self.t, "PATCH", f"/dashboard_elements/{lid}",
                                                   patch, query)
                    continue
            self.ops.append(Op("dashboard_elements", "create", old, None))
            if self.write:
                query = el.get("query") if _shows_query(el) else None
                made = self.r.send_with_query(self.t, "POST", "/dashboard_elements",
                                              self.body(el), query)
                self.maps.elements[old] = str(made["id"])
                self.r.remember_child("dashboard_elements", old, str(made["id"]))
        matched = set(self.maps.elements.values())
        for el in live:
            lid = str(el.get("id"))
            if lid not in matched:
                self.ops.append(Op("dashboard_elements", "delete", None, lid))
                if self.write:
                    self.r.write(self.t, "DELETE", f"/dashboard_elements/{lid}")

    def body(self, el: dict[str, Any]) -> dict[str, Any]:
        """The create body of a tile: what it shows by live ids, never the source's result
        maker id or nested query/look (Looker refuses those together, gzr#287)."""
        body = pick(el, ELEMENT_FIELDS)
        body["dashboard_id"] = self.dash_id
        layout = el.get("dashboard_layout_id")
        if layout is not None:
            body["dashboard_layout_id"] = self.maps.layouts.get(str(layout))
        if el.get("look_id"):
            body["look_id"] = self.r.map_refs(self.t, {"look_id": el["look_id"]},
                                              (("look_id", "looks"),))["look_id"]
        elif el.get("merge_result_id"):
            body["merge_result_id"] = self.merge_id(str(el["merge_result_id"]))
        if el.get("filter_id") is not None:
            body["filter_id"] = self.maps.filters.get(str(el["filter_id"]))
        rm = el.get("result_maker")
        if rm and not _text(el):
            body["result_maker"] = pick(rm, RESULT_MAKER_FIELDS)
        return body

    def query_id(self, query: dict[str, Any]) -> str:
        # Looker deduplicates queries: an unchanged one comes back with its id.
        return str(self._post("/queries", query_form(query) or {})["id"])

    def merge_id(self, old: str) -> str:
        """A merge query is immutable and never deleted on its instance; where it is missing
        (another instance, a purge), it is made again from the backup with its sources."""
        elsewhere = self.r.migration is not None
        if not elsewhere and self.r.get_or_none(f"/merge_queries/{quote(old, safe='')}"):
            return old
        mapped = self.r.records.mapped("merge_queries", old)
        if mapped is not None and (not elsewhere or self.r.get_or_none(
                f"/merge_queries/{quote(mapped, safe='')}") is not None):
            return mapped  # (on another instance, only while it is still there)
        merge = self.r.backup_of("merge_queries", old) if "merge_queries" in _types() else None
        if merge is None:
            from looker_assets.restore.engine import RestoreError

            raise RestoreError(f"merge query {old} is gone from Looker and not in the backup")
        sources = []
        for source in merge.get("source_queries") or []:
            query = None if elsewhere else self.r.get_or_none(
                f"/queries/{quote(str(source.get('query_id')), safe='')}")
            if query is None and "queries" in _types():
                query = self.r.backup_of("queries", str(source.get("query_id")))
            if query is None and elsewhere:
                from looker_assets.restore.engine import RestoreError

                raise RestoreError(f"merge query {old}: its source query "
                                   f"{source.get('query_id')} is not in the backup")
            qid = self.query_id(query) if query else str(source.get("query_id"))
            sources.append({**{k: v for k, v in source.items() if k != "query_slug"},
                            "query_id": qid})
        body = pick(merge, writable("MergeQuery"))
        body["source_queries"] = sources
        new = str(self._post("/merge_queries", body)["id"])
        self.r.remember_child("merge_queries", old, new)
        return new

    # -- positions --------------------------------------------------------------------------

    def components(self) -> None:
        moves: list[tuple[str, dict[str, Any]]] = []
        live_layouts = {str(lay.get("id")): lay for lay in self.live.get("dashboard_layouts") or []}
        for lay in self.t.backup.get("dashboard_layouts") or []:
            lid = self.maps.layouts.get(str(lay.get("id")))
            live_lay = live_layouts.get(lid or "")
            if live_lay is None:
                continue
            by_element = {str(c.get("dashboard_element_id")): c
                          for c in live_lay.get("dashboard_layout_components") or []}
            for comp in lay.get("dashboard_layout_components") or []:
                element = self.maps.elements.get(str(comp.get("dashboard_element_id")))
                have = by_element.get(element or "")
                if have is None:
                    if element is None or not self.write:
                        self.ops.append(Op("components", "update", str(comp.get("id")), None,
                                           ["position"]))
                    continue
                want = pick(comp, set(COMPONENT_FIELDS))
                changed = [k for k in want if not same(want[k], have.get(k))]
                if changed:
                    self.ops.append(Op("components", "update", str(comp.get("id")),
                                       str(have.get("id")), changed))
                    moves.append((f"/dashboard_layout_components/{have.get('id')}",
                                  {k: want[k] for k in changed}))
        if self.write and moves:
            # Positions do not depend on each other: patched in parallel.
            with ThreadPoolExecutor(self.r.request.max_concurrency) as pool:
                list(pool.map(lambda move: self._patch(*move), moves))

    # -- the whole ----------------------------------------------------------------------------

    def run(self) -> list[Op]:
        self.filters()
        self.layouts()
        self.elements()
        if self.write and any(op.op == "create" for op in self.ops):
            # New tiles brought components (and new tabs hold them); one read finds them.
            self._refresh()
        self.components()
        # The active layout stays: Looker refuses to delete it (there is always one).
        self._extras("dashboard_layouts", self.maps.layouts, keep=lambda lay: bool(
            lay.get("active")))
        self._extras("dashboard_filters", self.maps.filters)
        return self.ops


def _types() -> set[str]:
    from looker_assets import content_types

    return {ct.name for ct in content_types.CONTENT_TYPES}


def child_changes(r: Restore, t: Target) -> list[str]:
    """What reconciling the children would change, in words (nothing is written)."""
    if t.live is None:
        return []
    return [op.describe() for op in Reconciler(r, t, t.live, write=False).run()]


def reconcile(r: Restore, t: Target) -> None:
    """Write the children so they match the backup."""
    assert t.live is not None
    Reconciler(r, t, t.live, write=True).run()
