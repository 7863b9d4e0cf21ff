"""Records → full spec objects.

`top()` builds every property except a kind's heavy ones (KindInfo.heavy) from the schema
template, the record and a few cross-kind look-ups; `full()` adds the heavy ones. Templates
give each property a type-correct value, so every schema property is present.
"""

from __future__ import annotations

import functools
import html
import re
import zlib
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

from . import spec
from . import values as V
from .generate import API_USER_ID, Record, element_id, element_number
from .kinds import KINDS

if TYPE_CHECKING:
    from .store import Store

DIM_NAMES = (
    "id", "created_date", "created_week", "created_month", "status", "name", "email", "city",
    "state", "country", "zip", "age", "gender", "category", "brand", "department", "sku",
    "price", "cost", "traffic_source", "region", "channel", "plan", "segment", "tier",
    "currency", "quantity", "discount", "margin", "returned_date", "shipped_date", "priority",
    "owner", "stage", "source", "campaign", "device", "browser", "language", "score",
)  # fmt: skip
MEASURE_NAMES = (
    "count", "total_revenue", "average_price", "total_cost", "count_distinct_users",
    "gross_margin", "return_rate", "average_age", "sum_quantity", "median_score",
    "p90_latency", "conversion_rate", "total_discount", "count_orders", "arpu",
)  # fmt: skip
VIS_TYPES = (
    "looker_column", "looker_line", "looker_bar", "looker_pie", "single_value", "looker_grid",
    "looker_area", "looker_scatter", "looker_map", "table",
)  # fmt: skip


@functools.cache
def top_template(kind: str) -> dict[str, Any]:
    info = KINDS[kind]
    t = dict(spec.shared_template(info.schema))
    for prop in info.heavy:
        if prop in t:
            t[prop] = None
    return t


def _tmpl(schema: str) -> dict[str, Any]:
    return spec.shared_template(schema)


def _can(schema: str) -> dict[str, bool]:
    return spec.shared_template(schema).get("can") or {}


class Indexes:
    """Cross-kind look-ups, rebuilt lazily after each mutation."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @functools.cached_property
    def folder_children(self) -> Counter[str]:
        return Counter(r.fields.get("parent_id") for r in self.store.records("folders").values())

    @functools.cached_property
    def folder_content(self) -> dict[tuple[str, str], list[str]]:
        out: dict[tuple[str, str], list[str]] = defaultdict(list)
        for kind in ("dashboards", "looks"):
            for key, r in self.store.records(kind).items():
                if not r.fields.get("deleted"):
                    out[(kind, r.fields.get("folder_id"))].append(key)
        return out

    @functools.cached_property
    def look_dashboards(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        for key, r in self.store.records("dashboards").items():
            if r.fields.get("deleted"):
                continue
            children = r.meta.get("children")
            looks = (el.get("look_id") for el in children["elements"]) if children else \
                r.meta.get("elements", ())
            for look_id in dict.fromkeys(x for x in looks if x):
                out[look_id].append(key)
        return out

    @functools.cached_property
    def element_alerts(self) -> Counter[str]:
        """dashboard_element_id -> how many alerts watch that tile (alert_count)."""
        return Counter(r.fields.get("dashboard_element_id")
                       for r in self.store.records("alerts").values())

    @functools.cached_property
    def group_users(self) -> Counter[str]:
        c: Counter[str] = Counter()
        for r in self.store.records("users").values():
            c.update(r.fields.get("group_ids") or ())
        return c

    @functools.cached_property
    def content_metadata(self) -> dict[str, tuple[str, str]]:
        """content_metadata_id -> (kind, key) of the folder or board it belongs to."""
        out: dict[str, tuple[str, str]] = {}
        for kind in ("folders", "boards"):
            for key, r in self.store.records(kind).items():
                cm = r.fields.get("content_metadata_id")
                if cm is not None:
                    out[cm] = (kind, key)
        return out

    @functools.cached_property
    def api_user_groups(self) -> frozenset[str]:
        rec = self.store.record("users", API_USER_ID)
        return frozenset(rec.fields.get("group_ids") or ()) if rec else frozenset()


class Renderer:
    def __init__(self, store: Store, seed: int) -> None:
        self.store = store
        self.seed = seed

    # -- shared look-ups ------------------------------------------------------------------

    def user_name(self, user_id: str | None) -> str | None:
        rec = self.store.record("users", user_id) if user_id else None
        return rec.fields["display_name"] if rec else None

    def user_disabled(self, user_id: str | None) -> bool:
        rec = self.store.record("users", user_id) if user_id else None
        return bool(rec.fields.get("is_disabled")) if rec else False

    def folder_base(self, folder_id: str | None) -> dict[str, Any] | None:
        """The nested FolderBase; always carries `name` (the SDK requires it)."""
        if folder_id is None:
            return None
        rec = self.store.record("folders", folder_id)
        if rec is None:
            return None
        return self.store.cached_row("folders", folder_id, "FolderBase")

    def explore_parts(self, explore_key: str) -> tuple[str, str]:
        model, view = explore_key.split("::", 1)
        return model, view

    # -- entry points ---------------------------------------------------------------------

    def top(self, kind: str, rec: Record) -> dict[str, Any]:
        d = dict(top_template(kind))
        d.update(rec.fields)
        getattr(self, f"_top_{kind}")(d, rec)
        # What a client wrote wins over what generated content derives for it.
        for prop in rec.meta.get("written", ()):
            if prop in rec.fields:
                d[prop] = rec.fields[prop]
        return d

    def full(self, kind: str, rec: Record) -> dict[str, Any]:
        d = self.top(kind, rec)
        heavy = getattr(self, f"_heavy_{kind}", None)
        if heavy is not None:
            heavy(d, rec)
        return d

    # -- dashboards -----------------------------------------------------------------------

    def _top_dashboards(self, d: dict[str, Any], rec: Record) -> None:
        key = rec.key
        lookml = bool(rec.meta.get("lookml"))
        d["folder"] = self.folder_base(d.get("folder_id"))
        d["user_name"] = self.user_name(d.get("user_id"))
        d["last_updater_name"] = self.user_name(d.get("last_updater_id"))
        d["is_owner_disabled"] = self.user_disabled(d.get("user_id"))
        d["url"] = f"/dashboards/{key}"
        d["edit_uri"] = (
            f"/projects/{key.split('::')[0]}/files/{key.split('::')[-1]}.dashboard.lookml"
            if lookml
            else None
        )
        interval = d.get("refresh_interval")
        d["refresh_interval_to_i"] = {"1 hour": 3600, "15 minutes": 900}.get(interval or "")
        d["certification_metadata"] = None
        d["load_configuration"] = "wait"
        d["show_filters_bar"] = True
        d["show_title"] = True
        d["background_color"] = None
        d["text_tile_text_color"] = None
        d["tile_background_color"] = None
        d["tile_text_color"] = None
        d["title_color"] = None

    def _heavy_dashboards(self, d: dict[str, Any], rec: Record) -> None:
        raw = rec.meta.get("children") or self.store.seed_children(rec.key)
        alerts = self.store.indexes.element_alerts
        elements = [self.element(el, alerts) for el in raw["elements"]]
        by_id = {el["id"]: el for el in elements}
        d["dashboard_elements"] = elements
        d["dashboard_filters"] = [dict(f) for f in raw["filters"]]
        d["dashboard_layouts"] = [
            self.layout(lay, d.get("title"), by_id) for lay in raw["layouts"]
        ]

    # Stored children hold what a client can write; these fill in what Looker derives.

    def element(self, raw: dict[str, Any], alerts: Counter[str] | None = None) -> dict[str, Any]:
        el = dict(raw)
        look_id = el.get("look_id")
        look = self.store.detail_dict("looks", look_id) if look_id else None
        query = self.store.query_dict(el.get("query_id"))
        el["look"] = look
        el["query"] = query
        rm = el.get("result_maker")
        if rm is not None:
            rm = dict(rm)
            rm_query = query or (look or {}).get("query")
            rm["id"] = el.get("result_maker_id")
            rm["query"] = rm_query
            rm["query_id"] = rm_query["id"] if rm_query else None
            if rm_query and not rm.get("merge_result_id"):
                rm["vis_config"] = rm.get("vis_config") or rm_query.get("vis_config")
            el["result_maker"] = rm
        el["body_text_as_html"] = _html(el.get("body_text"))
        el["note_text_as_html"] = _html(el.get("note_text"))
        el["title_text_as_html"] = _html(el.get("title_text"), inline=True)
        el["subtitle_text_as_html"] = _html(el.get("subtitle_text"), inline=True)
        interval = el.get("refresh_interval")
        el["refresh_interval_to_i"] = _INTERVALS.get(interval or "")
        alerts = alerts if alerts is not None else self.store.indexes.element_alerts
        el["alert_count"] = alerts.get(el["id"], 0)
        return el

    def layout(
        self, raw: dict[str, Any], title: str | None, elements: dict[str, dict[str, Any]]
    ) -> dict[str, Any]:
        lay = dict(raw)
        lay["dashboard_title"] = title
        lay["dashboard_layout_components"] = [
            self.component(c, elements.get(c.get("dashboard_element_id") or ""))
            for c in raw["dashboard_layout_components"]
        ]
        return lay

    @staticmethod
    def component(raw: dict[str, Any], element: dict[str, Any] | None) -> dict[str, Any]:
        comp = dict(raw)
        el = element or {}
        vis = (el.get("result_maker") or {}).get("vis_config") or {}
        comp["element_title"] = el.get("title")
        comp["element_title_hidden"] = bool(el.get("title_hidden"))
        comp["vis_type"] = vis.get("type") if el.get("type") == "vis" else None
        return comp

    def seed_children(self, rec: Record) -> dict[str, Any]:
        """A generated dashboard's children as stored state (what a client can write, plus
        ids), and the queries and merge queries its tiles use."""
        key = rec.key
        lookml = bool(rec.meta.get("lookml"))
        # LookML dashboards are the same on every instance of a company (see generate.py).
        seed = self.store.lookml_seed if lookml else self.seed
        rng = V.rng_for(seed, "dashboards", key)
        # Tabs, filter tiles, merged results and listeners draw from an RNG of their own, so
        # the tiles generated before they existed stay as they were.
        ex = V.rng_for(seed, "dashboard-extras", key)
        explores = self.store.seed_keys("explores")
        looks = rec.meta.get("elements", ())
        first_layout = int(element_number(key, 0) // 1000 * 10 + 1)
        n_tabs = ex.choice((2, 2, 3)) if not lookml and len(looks) >= 2 and ex.random() < 0.2 else 1
        layout_ids = [str(first_layout + t) for t in range(n_tabs)]
        queries: dict[str, dict[str, Any]] = {}
        merges: dict[str, dict[str, Any]] = {}
        elements: list[dict[str, Any]] = []
        components: list[list[dict[str, Any]]] = [[] for _ in layout_ids]
        cursor = [[0, 0, 0] for _ in layout_ids]  # per tab: row, column, bottom

        def place(tab: int, eid: str, width: int, height: int) -> None:
            pos = cursor[tab]
            if pos[1] + width > 24:
                pos[0], pos[1] = pos[0] + height, 0
            row, col = pos[0], pos[1]
            components[tab].append(_component(eid, layout_ids[tab], row, col, width, height))
            pos[1] += width
            pos[2] = max(pos[2], row + height)

        for i, look_id in enumerate(looks):
            eid = element_id(key, i)
            tab = i * n_tabs // len(looks)
            explore = explores[rng.randrange(len(explores))] if explores else "thelook::orders"
            roll = rng.random()
            query = None
            if look_id:
                etype = "vis"
            elif roll < 0.75:
                query = self.query(rng, explore, str(1_000_000 + element_number(key, i)))
                queries[query["id"]] = query
                etype = "vis"
            elif roll < 0.92:
                etype = "text"
            else:
                etype = "button"
            title = None if etype == "text" and rng.random() < 0.5 else V.title(rng, "Tile")
            filterable = query or (self._look_filterable(look_id) if look_id else None)
            el = _element(key, eid, layout_ids[tab], etype, title)
            el.update(
                body_text="## Notes\nRevenue is **net** of returns." if etype == "text" else None,
                look_id=look_id,
                lookml_link_id=f"{key}::{i}" if lookml else None,
                query_id=query["id"] if query else None,
                result_maker=self.result_maker(eid, query) if query else (
                    self.result_maker(eid, filterable, look=True) if filterable else None),
                result_maker_id=eid if filterable else None,
                subtitle_text=rng.choice((None, "", "last 30 days")),
                title_text=title if etype == "text" else None,
            )
            if i == 0 and rec.meta.get("nested_extra", rng.random() < 0.05):
                el["zz_tile_theme"] = {"palette": "midnight", "rounded": True}
            elements.append(el)
            width = 12 if etype == "text" else rng.choice((6, 8, 12, 24))
            place(tab, eid, width, rng.choice((2, 4, 6, 8)))
        filters = []
        for j in range(rec.meta.get("n_filters", 0)):
            explore = explores[rng.randrange(len(explores))] if explores else "thelook::orders"
            model, view = self.explore_parts(explore)
            dim = DIM_NAMES[j % len(DIM_NAMES)]
            ftype = ("field_filter", "date_filter", "string_filter", "number_filter")[j % 4]
            filters.append(
                {
                    **_tmpl("DashboardFilter"),
                    "id": str(first_layout * 10 + j),
                    "dashboard_id": key,
                    "name": f"{dim.replace('_', ' ').title()} {j + 1}",
                    "title": f"{dim.replace('_', ' ').title()}",
                    "type": ftype,
                    "default_value": rng.choice(("", "30 days", "EMEA", None)),
                    "model": model if ftype == "field_filter" else None,
                    "explore": view if ftype == "field_filter" else None,
                    "dimension": f"{view}.{dim}" if ftype == "field_filter" else None,
                    "field": None,
                    "row": j,
                    "listens_to_filters": [],
                    "allow_multiple_values": True,
                    "required": j == 0 and rng.random() < 0.2,
                    "ui_config": {"type": "advanced", "display": "popover", "options": []},
                }
            )
        if not lookml:
            self._seed_extras(key, ex, explores, elements, filters, queries, merges, place, cursor)
        layouts = [
            {
                **_tmpl("DashboardLayout"),
                "id": lid,
                "dashboard_id": key,
                "type": "newspaper",
                "active": t == 0,
                "column_width": None,
                "width": None,
                "deleted": False,
                "dashboard_title": None,
                "dashboard_layout_components": components[t],
                "label": TAB_LABELS[t] if n_tabs > 1 else None,
                "description": TAB_DESCRIPTIONS[t] if n_tabs > 1 and t else None,
                "order": t,
                "lookml_link_id": key if lookml else None,
            }
            for t, lid in enumerate(layout_ids)
        ]
        return {"elements": elements, "filters": filters, "layouts": layouts,
                "queries": queries, "merges": merges}

    def _seed_extras(
        self,
        key: str,
        ex: Any,
        explores: tuple[str, ...],
        elements: list[dict[str, Any]],
        filters: list[dict[str, Any]],
        queries: dict[str, dict[str, Any]],
        merges: dict[str, dict[str, Any]],
        place: Any,
        cursor: list[list[int]],
    ) -> None:
        """Filter tiles, merged-results tiles, listeners and faceted filters."""
        n = len(elements)
        for j, f in enumerate(filters):
            if j and ex.random() < 0.3:
                f["listens_to_filters"] = [filters[ex.randrange(j)]["name"]]
        if filters and ex.random() < 0.3:
            for f in ex.sample(filters, ex.randint(1, min(2, len(filters)))):
                eid = element_id(key, n)
                n += 1
                el = _element(key, eid, elements[0]["dashboard_layout_id"] if elements
                              else str(element_number(key, 0) // 1000 * 10 + 1), "filter",
                              f["title"])
                el["filter_id"] = f["id"]
                elements.append(el)
                place(0, eid, 8, 2)
        if explores and ex.random() < 0.15:
            for _ in range(ex.randint(1, 2)):
                eid = element_id(key, n)
                n += 1
                number = element_number(key, n - 1)
                sources = []
                for j in range(ex.randint(2, 3)):
                    explore = explores[ex.randrange(len(explores))]
                    q = self.query(ex, explore, str(100_000_000_000 + number * 10 + j))
                    queries[q["id"]] = q
                    sources.append(q)
                merge = self.merge_query(str(200_000_000_000 + number), eid, sources, ex)
                merges[merge["id"]] = merge
                title = V.title(ex, "Merged")
                el = _element(key, eid, elements[0]["dashboard_layout_id"] if elements
                              else str(element_number(key, 0) // 1000 * 10 + 1), "vis", title)
                el.update(
                    merge_result_id=merge["id"],
                    result_maker_id=eid,
                    result_maker={
                        **_tmpl("ResultMakerWithIdVisConfigAndDynamicFields"),
                        "id": eid,
                        "dynamic_fields": None,
                        "filterables": [
                            {"model": q["model"], "view": q["view"],
                             "name": s["name"], "listen": []}
                            for q, s in zip(sources, merge["source_queries"], strict=True)
                        ],
                        "sorts": merge["sorts"],
                        "merge_result_id": merge["id"],
                        "total": False,
                        "query_id": None,
                        "sql_query_id": None,
                        "query": None,
                        "vis_config": merge["vis_config"],
                    },
                )
                elements.append(el)
                tab = len(cursor) - 1 if ex.random() < 0.5 else 0
                el["dashboard_layout_id"] = str(int(el["dashboard_layout_id"]) + tab)
                place(tab, eid, 12, 6)
        # Listeners: tiles filtered by the dashboard's filters, wired by filter name.
        for el in elements:
            rm = el.get("result_maker")
            if not filters or rm is None or ex.random() < 0.4:
                continue
            chosen = ex.sample(filters, ex.randint(1, len(filters)))
            for fil in rm["filterables"]:
                fil["listen"] = [
                    {"dashboard_filter_name": f["name"],
                     "field": f"{fil['view']}.{(f.get('dimension') or f['title']).split('.')[-1]}"
                     .lower().replace(" ", "_")}
                    for f in chosen
                ]

    def _look_filterable(self, look_id: str) -> dict[str, Any] | None:
        """The query of a generated look (model and view for a look tile's filterable)."""
        rec = self.store.seed_record("looks", look_id)
        return None if rec is None else self.look_query(rec)

    def look_query(self, rec: Record) -> dict[str, Any]:
        """The query a generated look was created with."""
        rng = V.rng_for(self.seed, "looks", rec.key)
        return self.query(rng, rec.meta["explore"], rec.fields["query_id"])

    def merge_query(
        self, mid: str, eid: str, sources: list[dict[str, Any]], rng: Any
    ) -> dict[str, Any]:
        first = sources[0]
        join = first["fields"][0].split(".", 1)[1]
        return {
            **_tmpl("MergeQuery"),
            "column_limit": "50",
            "dynamic_fields": None,
            "id": mid,
            "pivots": None,
            "result_maker_id": eid,
            "sorts": list(first.get("sorts") or []),
            "source_queries": [
                {
                    **_tmpl("MergeQuerySourceQuery"),
                    "merge_fields": [] if j == 0 else [
                        {"field_name": f"{first['view']}.{join}",
                         "source_field_name": f"{q['view']}.{join}"}],
                    "name": q["view"].replace("_", " ").title(),
                    "query_id": q["id"],
                    "query_slug": q["slug"],
                }
                for j, q in enumerate(sources)
            ],
            "total": False,
            "limit": rng.choice(("500", "5000")),
            "vis_config": {"type": rng.choice(VIS_TYPES), "stacking": ""},
        }

    def query(self, rng: Any, explore: str, query_id: str) -> dict[str, Any]:
        model, view = self.explore_parts(explore)
        n_dims = rng.randint(1, 3)
        fields = [f"{view}.{DIM_NAMES[j]}" for j in range(n_dims)]
        fields.append(f"{view}.{MEASURE_NAMES[rng.randrange(4)]}")
        vis = rng.choice(VIS_TYPES)
        return {
            **_tmpl("Query"),
            "id": query_id,
            "model": model,
            "view": view,
            "fields": fields,
            "pivots": None,
            "fill_fields": None,
            "filters": {f"{view}.created_date": "30 days"} if rng.random() < 0.6 else None,
            "filter_expression": None,
            "sorts": [f"{fields[-1]} desc"],
            "limit": rng.choice(("500", "5000", None)),
            "column_limit": "50",
            "total": None,
            "row_total": None,
            "subtotals": None,
            "vis_config": {"type": vis, "show_value_labels": rng.random() < 0.5, "stacking": ""},
            "filter_config": None,
            "visible_ui_sections": None,
            "slug": V.slug(rng, 7),
            "dynamic_fields": rng.choice(
                (None, '[{"table_calculation":"pct","expression":"${x}/100"}]')
            ),
            "client_id": V.slug(rng, 22),
            "share_url": f"{spec.URL_HOST}/x/{query_id}",
            "expanded_share_url": f"{spec.URL_HOST}/explore/{model}/{view}?qid={query_id}",
            "url": f"/explore/{model}/{view}?qid={query_id}",
            "query_timezone": None,
            "has_table_calculations": False,
        }

    def result_maker(
        self, eid: str, query: dict[str, Any], look: bool = False
    ) -> dict[str, Any]:
        """A tile's result maker as stored: its query and query_id are filled in at read time
        (a look tile's follow the look's current query)."""
        return {
            **_tmpl("ResultMakerWithIdVisConfigAndDynamicFields"),
            "id": eid,
            "dynamic_fields": query.get("dynamic_fields"),
            "filterables": [
                {
                    "model": query["model"],
                    "view": query["view"],
                    "name": query["view"],
                    "listen": [],
                }
            ],
            "sorts": query.get("sorts"),
            "merge_result_id": None,
            "total": False,
            "query_id": None,
            "sql_query_id": None,
            "query": None,
            "vis_config": None if look else query.get("vis_config"),
        }

    # -- looks ----------------------------------------------------------------------------

    def _top_looks(self, d: dict[str, Any], rec: Record) -> None:
        key = rec.key
        model, _view = self.explore_parts(rec.meta["explore"])
        d["folder"] = self.folder_base(d.get("folder_id"))
        d["model"] = {"id": model, "label": model.replace("_", " ").title()}
        d["user_name"] = self.user_name(d.get("user_id"))
        d["is_owner_disabled"] = self.user_disabled(d.get("user_id"))
        d["certification_metadata"] = None
        d["embed_url"] = f"{spec.URL_HOST}/embed/looks/{key}"
        d["excel_file_url"] = f"{spec.URL_HOST}/looks/{key}.xlsx"
        d["google_spreadsheet_formula"] = f'=IMPORTDATA("{spec.URL_HOST}/looks/{key}.csv")'
        d["image_embed_url"] = f"{spec.URL_HOST}/looks/{key}.png"
        d["url"] = f"/looks/{key}"

    def _heavy_looks(self, d: dict[str, Any], rec: Record) -> None:
        d["query"] = self.store.query_dict(d.get("query_id"))

    # -- models and explores --------------------------------------------------------------

    def _top_lookml_models(self, d: dict[str, Any], rec: Record) -> None:
        d["can"] = _can("LookmlModel")

    def _heavy_lookml_models(self, d: dict[str, Any], rec: Record) -> None:
        nav = []
        for key in rec.meta.get("explores", ()):
            e = self.store.record("explores", key)
            if e is None:
                continue
            f = e.fields
            nav.append(
                {
                    "name": f["name"],
                    "description": f.get("description"),
                    "label": f.get("label"),
                    "hidden": f.get("hidden", False),
                    "group_label": f.get("group_label"),
                }
            )
        d["explores"] = nav

    def _top_explores(self, d: dict[str, Any], rec: Record) -> None:
        d["scopes"] = [d["view_name"]]
        d["can_total"] = True
        d["can_develop"] = True
        d["can_see_lookml"] = True
        d["can_save"] = True
        d["can_explain"] = False
        d["can_pivot_in_db"] = True
        d["can_subtotal"] = True
        d["has_timezone_support"] = True
        d["self_service_explore_data"] = None
        d["supports_cost_estimate"] = d.get("dialect_name") == "bigquery_standard_sql"
        d["null_sort_treatment"] = "low"
        d["access_filter_fields"] = []
        d["access_filters"] = []
        d["always_filter"] = []
        d["conditionally_filter"] = []
        d["index_fields"] = [f"{d['view_name']}.id"]
        d["tags"] = []
        d["errors"] = []
        d["always_join"] = []

    def _heavy_explores(self, d: dict[str, Any], rec: Record) -> None:
        rng = V.rng_for(self.store.lookml_seed, "explores", rec.key)
        view = d["view_name"]
        model = d["model_name"]
        project = d.get("project_name")
        n_dims = rec.meta.get("n_dims", 6)
        n_measures = rec.meta.get("n_measures", 2)

        def field(name: str, category: str, j: int) -> dict[str, Any]:
            numeric = category == "measure" or name in ("price", "cost", "age", "quantity", "score")
            ftype = (
                "count"
                if name == "count"
                else ("sum" if category == "measure" else ("number" if numeric else "string"))
            )
            is_date = name.endswith("_date") or name.endswith("_week") or name.endswith("_month")
            if is_date:
                ftype = "date_" + name.rsplit("_", 1)[1]
            label_short = name.replace("_", " ").title()
            return {
                **_tmpl("LookmlModelExploreField"),
                "align": "right" if numeric else "left",
                "available_custom_timeframes": None,
                "timeframe_labels": None,
                "can_filter": True,
                "category": category,
                "default_filter_value": None,
                "description": rng.choice((None, "", f"The {label_short.lower()}")),
                "dimension_group": name.rsplit("_", 1)[0] if is_date else None,
                "drill_fields": [],
                "enumerations": None,
                "error": None,
                "field_group_label": None,
                "field_group_variant": None,
                "fill_style": None,
                "fiscal_month_offset": 0,
                "has_allowed_values": False,
                "has_drills_metadata": False,
                "hidden": rng.random() < 0.05,
                "is_filter": category == "filter",
                "is_fiscal": False,
                "is_numeric": numeric,
                "is_timeframe": is_date,
                "can_time_filter": is_date,
                "time_interval": None,
                "label": f"{view.replace('_', ' ').title()} {label_short}",
                "label_from_parameter": None,
                "label_short": label_short,
                "lookml_link": (
                    f"/projects/{project}/files/views%2F{view}.view.lkml?line={j * 5 + 1}"
                ),
                "links": [],
                "map_layer": None,
                "measure": category == "measure",
                "name": f"{view}.{name}",
                "strict_value_format": False,
                "parameter": category == "parameter",
                "period_over_period_params": None,
                "permanent": None,
                "primary_key": name == "id",
                "project_name": project,
                "requires_refresh_on_sort": False,
                "scope": view,
                "sortable": True,
                "source_file": f"views/{view}.view.lkml",
                "source_file_path": f"{project}/views/{view}.view.lkml",
                "sql": f"${{TABLE}}.{name}" if category != "measure" else f"${{{name}}}",
                "sql_case": None,
                "filters": None,
                "suggest_dimension": f"{view}.{name}",
                "suggest_explore": view,
                "suggestable": not numeric,
                "suggestions": None,
                "synonyms": [],
                "tags": [],
                "type": ftype,
                "user_attribute_filter_types": [
                    "advanced_filter_number" if numeric else "advanced_filter_string",
                    "number" if numeric else "string",
                ],
                "value_format": None,
                "value_format_name": "usd" if "revenue" in name or "price" in name else None,
                "view": view,
                "view_label": view.replace("_", " ").title(),
                "dynamic": False,
                "week_start_day": "monday",
                "times_used": rng.randint(0, 500),
                "original_view": view,
                "datatype": "date" if is_date else None,
                "convert_tz": None,
            }

        dims = [
            field(
                DIM_NAMES[j % len(DIM_NAMES)] + ("" if j < len(DIM_NAMES) else f"_{j}"),
                "dimension",
                j,
            )
            for j in range(n_dims)
        ]
        measures = [
            field(
                MEASURE_NAMES[j % len(MEASURE_NAMES)] + ("" if j < len(MEASURE_NAMES) else f"_{j}"),
                "measure",
                j,
            )
            for j in range(n_measures)
        ]
        params = [field("date_granularity", "parameter", 0)] if rng.random() < 0.3 else []
        dropped = set(rec.meta.get("dropped_fields", ()))  # removed by a later LookML change
        d["fields"] = {
            group: [f for f in part if f["name"] not in dropped]
            for group, part in (("dimensions", dims), ("measures", measures), ("filters", []),
                                ("parameters", params))
        }
        joins = []
        for other in rng.sample(DIM_NAMES[4:12], rng.randint(0, 3)):
            joins.append(
                {
                    "name": f"{other}s",
                    "dependent_fields": [],
                    "fields": [],
                    "foreign_key": None,
                    "from": None,
                    "outer_only": False,
                    "relationship": rng.choice(("many_to_one", "one_to_many", "one_to_one")),
                    "required_joins": [],
                    "sql_foreign_key": None,
                    "sql_on": f"${{{view}.{other}_id}} = ${{{other}s.id}}",
                    "sql_table_name": None,
                    "type": "left_outer",
                    "view_label": None,
                }
            )
        d["joins"] = joins
        d["sets"] = [{"name": "detail", "value": [f"{view}.id", f"{view}.name"]}]
        d["aliases"] = []
        d["supported_measure_types"] = [
            {"dimension_type": "number", "measure_types": ["sum", "average", "max", "min"]},
            {"dimension_type": "string", "measure_types": ["count_distinct", "list"]},
        ]
        _ = model

    # -- people and permissions -----------------------------------------------------------

    def _top_users(self, d: dict[str, Any], rec: Record) -> None:
        key = rec.key
        meta = rec.meta
        f = rec.fields
        url = f"{spec.URL_HOST}/api/4.0/users/{key}"
        created = meta.get("email_created") or V.ts(meta["created"])
        email: dict[str, Any] | None = None if not f.get("email") else {
            **_tmpl("CredentialsEmail"),
            "created_at": created,
            "email": f["email"],
            "forced_password_reset_at_next_login": bool(meta.get("forced_reset")),
            "user_id": key,
            "is_disabled": False,
            "logged_in_at": V.ts(meta["logged_in"]) if meta.get("logged_in") else None,
            "password_reset_url": None,
            "account_setup_url": None,
            "password_reset_url_expired": False,
            "account_setup_url_expired": False,
            "type": "email",
            "url": f"{url}/credentials_email",
            "user_url": url,
        }
        if meta.get("nested_extra") and email is not None:
            email["mfa_enrolled_at"] = None  # a key the spec does not (yet) know
        api3 = []
        if key == API_USER_ID:
            api3.append(
                {
                    **_tmpl("CredentialsApi3"),
                    "id": "1",
                    "client_id": self.store.client_id,
                    "created_at": V.ts(meta["created"]),
                    "is_disabled": False,
                    "type": "api3",
                    "purpose": "looker_assets emulator",
                    "url": f"{url}/credentials_api3/1",
                }
            )
        avatar = (
            f"https://www.gravatar.com/avatar/{int(key) * 2654435761 % 2**32:08x}?s=156&d=blank"
        )
        d.update(
            {
                "avatar_url": avatar,
                "avatar_url_without_sizing": avatar.split("?")[0],
                "credentials_api3": api3,
                "credentials_email": email,
                "credentials_embed": [],
                "credentials_google": None,
                "credentials_ldap": None,
                "credentials_looker_openid": None,
                "credentials_oidc": None,
                "credentials_saml": None,
                "credentials_totp": None,
                "credentials_workforce": None,
                "embed_group_space_id": None,
                "looker_versions": [spec.release_version()],
                "presumed_looker_employee": False,
                "sessions": [],
                "verified_looker_employee": False,
                "roles_externally_managed": False,
                "allow_direct_roles": True,
                "allow_normal_group_membership": True,
                "allow_roles_from_normal_groups": True,
                "embed_group_folder_id": None,
                "is_iam_admin": key == API_USER_ID,
                "url": url,
            }
        )

    def _top_roles(self, d: dict[str, Any], rec: Record) -> None:
        d["permission_set"] = self.store.detail_dict("permission_sets", d.get("permission_set_id"))
        d["model_set"] = self.store.detail_dict("model_sets", d.get("model_set_id"))
        d["internal"] = False
        d["url"] = f"{spec.URL_HOST}/api/4.0/roles/{rec.key}"
        d["users_url"] = f"{spec.URL_HOST}/api/4.0/roles/{rec.key}/users"

    def _top_groups(self, d: dict[str, Any], rec: Record) -> None:
        idx = self.store.indexes
        d["user_count"] = idx.group_users.get(rec.key, 0)
        d["contains_current_user"] = rec.key in idx.api_user_groups

    def _top_permission_sets(self, d: dict[str, Any], rec: Record) -> None:
        d["url"] = f"{spec.URL_HOST}/api/4.0/permission_sets/{rec.key}"

    def _top_model_sets(self, d: dict[str, Any], rec: Record) -> None:
        d["url"] = f"{spec.URL_HOST}/api/4.0/model_sets/{rec.key}"

    def _top_user_attributes(self, d: dict[str, Any], rec: Record) -> None:
        pass

    # -- folders and boards ---------------------------------------------------------------

    def _top_folders(self, d: dict[str, Any], rec: Record) -> None:
        d["child_count"] = self.store.indexes.folder_children.get(rec.key, 0)

    def _heavy_folders(self, d: dict[str, Any], rec: Record) -> None:
        content = self.store.indexes.folder_content
        d["dashboards"] = [
            self.store.cached_row("dashboards", k, "DashboardBase")
            for k in content.get(("dashboards", rec.key), ())
        ]
        looks = []
        for k in content.get(("looks", rec.key), ()):
            looks.append(self.store.cached_row("looks", k, "LookWithDashboards"))
        d["looks"] = looks

    def _top_boards(self, d: dict[str, Any], rec: Record) -> None:
        if "board_sections" in rec.meta:
            return  # a written board stores its section_order
        d["section_order"] = [
            self._section_id(rec.key, j) for j in range(len(rec.meta["sections"]))
        ]

    @staticmethod
    def _section_id(board: str, j: int) -> str:
        return str(int(board) * 10 + j + 1) if board.isdigit() else f"{board}-{j + 1}"

    def seed_sections(self, rec: Record) -> list[dict[str, Any]]:
        """A generated board's sections and items as stored state (writable parts and ids)."""
        sections = []
        for j, items in enumerate(rec.meta.get("sections", ())):
            sid = self._section_id(rec.key, j)
            stored = [{
                "id": f"{sid}{n + 1:02d}", "board_section_id": sid,
                "dashboard_id": cid if kind == "dashboards" else None,
                "look_id": cid if kind == "looks" else None, "lookml_dashboard_id": None,
                "order": n, "custom_description": None, "custom_title": None,
                "custom_url": None, "use_custom_description": False, "use_custom_title": False,
                "use_custom_url": False, "use_custom_image": False, "custom_image_url": None,
            } for n, (kind, cid) in enumerate(items)]
            sections.append({
                "id": sid, "board_id": rec.key, "title": None if j == 0 else f"Section {j + 1}",
                "description": None, "created_at": rec.fields.get("created_at"),
                "updated_at": rec.fields.get("updated_at"), "deleted_at": None,
                "item_order": [it["id"] for it in stored], "items": stored,
            })
        return sections

    def _board_item(self, item: dict[str, Any]) -> dict[str, Any]:
        kind, cid = next(((k, item[p]) for k, p in (("dashboards", "dashboard_id"),
                                                     ("looks", "look_id"),
                                                     ("dashboards", "lookml_dashboard_id"))
                          if item.get(p)), ("dashboards", None))
        content = self.store.record(kind, cid) if cid else None
        cf = content.fields if content else {}
        out = {**_tmpl("BoardItem"), **item}
        out.update(
            content_created_by=self.user_name(cf.get("user_id")),
            content_favorite_id=cf.get("content_favorite_id"),
            content_metadata_id=cf.get("content_metadata_id"),
            content_updated_at=cf.get("updated_at"),
            description=item.get("custom_description") if item.get("use_custom_description")
            else cf.get("description"),
            favorite_count=cf.get("favorite_count"),
            image_url=f"/{kind}/{cid}.png",
            location=None,
            title=item.get("custom_title") if item.get("use_custom_title") else cf.get("title"),
            url=item.get("custom_url") if item.get("use_custom_url") else f"/{kind}/{cid}",
            view_count=cf.get("view_count"),
            custom_image_data_base64=None,
        )
        return out

    def _heavy_boards(self, d: dict[str, Any], rec: Record) -> None:
        raw = rec.meta.get("board_sections")
        sections = []
        for sec in self.seed_sections(rec) if raw is None else raw:
            by_id = {it["id"]: it for it in sec["items"]}
            order = [i for i in sec["item_order"] if i in by_id]
            order += [i for i in by_id if i not in order]
            board_items = [self._board_item(by_id[i]) for i in order]
            sections.append({
                **_tmpl("BoardSection"),
                **{k: v for k, v in sec.items() if k != "items"},
                "board_items": board_items,
                "item_order": list(sec["item_order"]),
                "visible_item_order": order,
            })
        d["board_sections"] = sections

    # -- schedules and alerts -------------------------------------------------------------

    def _top_scheduled_plans(self, d: dict[str, Any], rec: Record) -> None:
        key = rec.key
        target = None
        if d.get("dashboard_id"):
            target = self.store.record("dashboards", d["dashboard_id"])
        elif d.get("look_id"):
            target = self.store.record("looks", d["look_id"])
        elif d.get("lookml_dashboard_id"):
            target = self.store.record("dashboards", d["lookml_dashboard_id"])
        d["title"] = target.fields.get("title") if target else None
        user = self.store.record("users", d.get("user_id")) if d.get("user_id") else None
        if user:
            uf = user.fields
            d["user"] = {
                "can": _can("UserPublic"),
                "id": user.key,
                "first_name": uf["first_name"],
                "last_name": uf["last_name"],
                "display_name": uf["display_name"],
                "avatar_url": avatar_url(user.key),
                "url": f"{spec.URL_HOST}/api/4.0/users/{user.key}",
            }
        else:
            d["user"] = None
        stored = rec.meta.get("destinations")
        dests = [dict(x) for x in stored] if stored is not None else []
        for j in range(0 if stored is not None else rec.meta.get("n_dest", 1)):
            email = j < 2
            dests.append(
                {
                    **_tmpl("ScheduledPlanDestination"),
                    "id": str(int(key) * 10 + j + 1),
                    "scheduled_plan_id": key,
                    "format": "wysiwyg_pdf" if d.get("dashboard_id") else "csv",
                    "apply_formatting": True,
                    "apply_vis": True,
                    "address": f"team{j}@example.com" if email else "s3://acme-exports/looker",
                    "looker_recipient": False,
                    "type": "email" if email else "action_hub",
                    "parameters": None if email else '{"bucket":"acme-exports"}',
                    "secret_parameters": None,
                    "message": None,
                }
            )
        d["scheduled_plan_destination"] = dests
        d["tab_ids"] = None
        d["custom_url_base"] = None
        d["custom_url_params"] = None
        d["custom_url_label"] = None
        d["show_custom_url"] = False

    def _top_alerts(self, d: dict[str, Any], rec: Record) -> None:
        d["owner_display_name"] = self.user_name(d.get("owner_id"))
        d["followed"] = False
        d["followable"] = True
        d["destinations"] = [
            {
                "destination_type": "EMAIL",
                "email_address": f"alerts+{rec.key}@example.com",
                "action_hub_integration_id": None,
                "action_hub_form_params_json": None,
            }
        ]
        d["enhancements"] = "NONE"
        d["investigative_content_title"] = None
        d["custom_url_base"] = None
        d["custom_url_params"] = None
        d["custom_url_label"] = None
        d["show_custom_url"] = False
        d["time_series_condition_state"] = None

    # -- infrastructure -------------------------------------------------------------------

    def _top_connections(self, d: dict[str, Any], rec: Record) -> None:
        dialect, label = rec.meta["dialect"]
        d["dialect"] = _dialect(dialect, label)
        d["snippets"] = []
        d["pdts_enabled"] = True
        d["named_driver_version_requested"] = None
        d["named_driver_version_actual"] = None
        d["has_password"] = rec.meta.get("has_password", True)
        d["uses_oauth"] = False
        d["uses_key_pair_auth"] = False
        d["uses_instance_oauth"] = False
        d["uses_service_auth"] = False
        d["certificate"] = None
        d["file_type"] = None
        d["example"] = False
        d["managed"] = False
        d["user_attribute_fields"] = []
        d["pdt_context_override"] = None
        d["last_regen_at"] = None
        d["last_reap_at"] = None
        d["default_bq_connection"] = False
        d["p4sa_name"] = None

    def _top_projects(self, d: dict[str, Any], rec: Record) -> None:
        d["is_git_dev_locked"] = False
        d["has_production_counterpart"] = False
        d["dependency_status"] = None

    def _top_color_collections(self, d: dict[str, Any], rec: Record) -> None:
        pass  # every property is in the record

    def _top_themes(self, d: dict[str, Any], rec: Record) -> None:
        d["settings"] = {
            **_tmpl("ThemeSettings"),
            "background_color": "#F6F8FA",
            "font_color": None,
            "font_family": "Roboto, 'Noto Sans JP', 'Noto Sans CJK KR', sans-serif",
            "font_source": None,
            "primary_button_color": rec.meta["primary"],
            "title_color": "#3A4245",
            "tile_title_alignment": "left",
        }


TAB_LABELS = ("Overview", "Details", "Appendix")
TAB_DESCRIPTIONS = (None, "The numbers behind the overview", "Definitions and raw data")
_INTERVALS = {"1 hour": 3600, "15 minutes": 900, "5 minutes": 300, "1 day": 86400}


def _element(key: str, eid: str, layout_id: str, etype: str, title: str | None) -> dict[str, Any]:
    """A tile as stored, every writable property set (derived ones are filled in on read)."""
    return {
        **_tmpl("DashboardElement"),
        "body_text": None,
        "body_text_as_html": None,
        "dashboard_id": key,
        "dashboard_layout_id": layout_id,
        "edit_uri": None,
        "id": eid,
        "look": None,
        "look_id": None,
        "lookml_link_id": None,
        "merge_result_id": None,
        "note_display": None,
        "note_state": None,
        "note_text": None,
        "note_text_as_html": None,
        "query": None,
        "query_id": None,
        "filter_id": None,
        "refresh_interval": None,
        "refresh_interval_to_i": None,
        "result_maker": None,
        "result_maker_id": None,
        "subtitle_text": None,
        "title": title,
        "title_hidden": False,
        "title_text": None,
        "type": etype,
        "alert_count": 0,
        "rich_content_json": None,
        "title_text_as_html": None,
        "subtitle_text_as_html": None,
        "extension_id": None,
        "aria_description": None,
        "certification_metadata": None,
    }


def _component(
    eid: str, layout_id: str, row: int, col: int, width: int, height: int
) -> dict[str, Any]:
    return {
        **_tmpl("DashboardLayoutComponent"),
        "id": str(int(eid) * 10 + 1),
        "dashboard_layout_id": layout_id,
        "dashboard_element_id": eid,
        "row": row,
        "column": col,
        "width": width,
        "height": height,
        "deleted": False,
        "element_title": None,
        "element_title_hidden": False,
        "vis_type": None,
        "granular_row": row * 10,
        "granular_column": col * 10,
        "granular_width": width * 10,
        "granular_height": height * 10,
    }


def _html(text: str | None, inline: bool = False) -> str | None:
    """Looker's *_as_html: the text's markdown rendered (headings, bold, paragraphs)."""
    if not text:
        return None if text is None else ""
    out = []
    for line in html.escape(text).split("\n"):
        line = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", line)
        if inline:
            out.append(line)
        elif m := re.match(r"(#{1,6}) (.*)", line):
            out.append(f"<h{len(m.group(1))}>{m.group(2)}</h{len(m.group(1))}>")
        elif line.strip():
            out.append(f"<p>{line}</p>")
    return ("<br>" if inline else "").join(out)


def avatar_url(user_id: str) -> str:
    digest = zlib.crc32(user_id.encode())
    return f"https://www.gravatar.com/avatar/{digest:08x}?s=156&d=blank"


@functools.cache
def _dialect(name: str, label: str) -> dict[str, Any]:
    return {
        **_tmpl("Dialect"),
        "name": name,
        "label": label,
        "supports_cost_estimate": name.startswith("bigquery"),
        "cost_estimate_style": "bytes" if name.startswith("bigquery") else None,
        "connection_tests": ["connect", "query", "tmp_db"],
    }
