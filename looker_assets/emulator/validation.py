"""`GET /content_validation`: what Looker's content validator reports about looks and
dashboards whose queries no longer match the instance's LookML.

A migration writes content built on another instance's LookML; running the validator on the
migrated folders afterwards is how it learns which tiles broke. Checked, per the emulator's
LookML: a query's model and explore exist, and every field it names (fields, pivots, filters,
sorts) is a dimension, measure, filter or parameter of the explore, or belongs to one of its
joins; field filters of dashboards likewise. LookML dashboards are left out (Looker checks
those with the LookML validator), and so are tiles that show a look (the look is checked).

Generated content is not all valid: some generated queries name a measure their explore lacks
(none at scale 300 with seed 11, the `two_instances` source; some 10% at scale 10000), as real ones
carry content errors. The LookML is the same on every instance of a company, so a query has the
same errors on each: a migration compares the target's report with the source's.

Filters, as the spec names them: `space_ids` (comma list) keeps content directly in those
folders; `project_names` keeps queries whose model belongs to one of those projects (content
whose model is missing belongs to no project and is then left out).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from .writes import blank

if TYPE_CHECKING:
    from .store import Store


def _ids(raw: str | None) -> set[str] | None:
    if raw is None or not raw.strip():
        return None
    return {t.strip() for t in raw.strip("[]").replace('"', "").split(",") if t.strip()}


def _error(message: str, model: Any, explore: Any, field: str | None,
           removable: bool) -> dict[str, Any]:
    return {**blank("ContentValidationError"), "message": message, "field_name": field,
            "model_name": model, "explore_name": explore, "removable": removable}


def _field_names(query: dict[str, Any]) -> list[str]:
    """Every field a query names, in order, once each."""
    names: list[str] = []
    names.extend(query.get("fields") or ())
    names.extend(query.get("pivots") or ())
    names.extend(query.get("fill_fields") or ())
    names.extend((query.get("filters") or {}).keys())
    for sort in query.get("sorts") or ():
        bits = str(sort).split()
        if bits:
            names.append(bits[0])
    return list(dict.fromkeys(n for n in names if isinstance(n, str) and n))


class Validator:
    """One validation run over a store (callers read; nothing is written)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._explores: dict[tuple[str, str], tuple[frozenset[str], frozenset[str]] | None] = {}
        self.explores_seen: set[tuple[str, str]] = set()

    def _explore(self, model: str, view: str) -> tuple[frozenset[str], frozenset[str]] | None:
        """(field names, joined view names) of an explore; None when it does not exist."""
        key = (model, view)
        if key not in self._explores:
            obj = self.store.detail_dict("explores", f"{model}::{view}")
            if obj is None:
                self._explores[key] = None
            else:
                groups = obj.get("fields") or {}
                names = frozenset(f["name"] for part in groups.values() for f in part or ()
                                  if isinstance(f, dict) and f.get("name"))
                joins = frozenset(j["name"] for j in obj.get("joins") or () if j.get("name"))
                self._explores[key] = (names, joins)
        return self._explores[key]

    def project_of(self, model: Any) -> str | None:
        rec = self.store.record("lookml_models", model) if isinstance(model, str) else None
        return None if rec is None else rec.fields.get("project_name")

    def query_errors(self, model: Any, view: Any, fields: Iterable[str]) -> list[dict[str, Any]]:
        """What is wrong with a query (or a field filter) on model/view naming `fields`."""
        if not model or self.store.record("lookml_models", str(model)) is None:
            return [_error(f'Unknown or inaccessible model "{model}".', model, view, None,
                           False)]
        explore = self._explore(str(model), str(view)) if view else None
        if explore is None:
            return [_error(f'Unknown or inaccessible explore "{view}" in model "{model}".',
                           model, view, None, False)]
        self.explores_seen.add((str(model), str(view)))
        names, joins = explore
        out = []
        for name in fields:
            scope = name.split(".", 1)[0] if "." in name else ""
            if name in names or scope in joins:
                continue
            out.append(_error(f'Unknown field "{name}".', model, view, name, True))
        return out


def content_validation(store: Store, query: dict[str, str]) -> dict[str, Any]:
    """The ContentValidation answer for the given `space_ids` / `project_names` filters."""
    started = time.perf_counter()
    spaces, projects = _ids(query.get("space_ids")), _ids(query.get("project_names"))
    v = Validator(store)
    found: list[dict[str, Any]] = []
    totals = {"looks": 0, "elements": 0, "filters": 0}

    def folder(fid: Any) -> dict[str, Any] | None:
        rec = store.record("folders", fid) if isinstance(fid, str) else None
        return None if rec is None else {"name": rec.fields.get("name"), "id": rec.key}

    def in_scope(model: Any) -> bool:
        return projects is None or v.project_of(model) in projects

    def check(q: dict[str, Any] | None) -> list[dict[str, Any]] | None:
        """Errors of a query; None when the project filter leaves it out."""
        if q is None or not in_scope(q.get("model")):
            return None
        return v.query_errors(q.get("model"), q.get("view"), _field_names(q))

    for key in store.keys("looks"):
        rec = store.record("looks", key)
        if rec is None or rec.fields.get("deleted"):
            continue
        if spaces is not None and rec.fields.get("folder_id") not in spaces:
            continue
        errors = check(store.query_dict(rec.fields.get("query_id")))
        if errors is None:
            continue
        totals["looks"] += 1
        if errors:
            found.append({**blank("ContentValidatorError"), "id": f"look-{key}",
                          "look": {**blank("ContentValidationLook"), "id": key,
                                   "title": rec.fields.get("title"),
                                   "short_url": rec.fields.get("short_url"),
                                   "folder": folder(rec.fields.get("folder_id"))},
                          "errors": errors})

    for key in store.keys("dashboards"):
        rec = store.record("dashboards", key)
        if rec is None or rec.meta.get("lookml") or rec.fields.get("deleted"):
            continue
        if spaces is not None and rec.fields.get("folder_id") not in spaces:
            continue
        dash = store.detail_dict("dashboards", key) or {}
        about = {**blank("ContentValidationDashboard"), "id": key, "title": dash.get("title"),
                 "description": dash.get("description"), "folder": folder(dash.get("folder_id")),
                 "url": f"/dashboards/{key}"}
        for el in dash.get("dashboard_elements") or ():
            if el.get("look_id"):
                continue  # the look itself is validated
            queries: list[dict[str, Any] | None] = []
            if el.get("query_id") or el.get("query"):
                queries.append(el.get("query") or store.query_dict(el.get("query_id")))
            merge = store.merge_query_dict(el.get("merge_result_id"))
            for src in (merge or {}).get("source_queries") or ():
                queries.append(store.query_dict(src.get("query_id")))
            results = [r for r in (check(q) for q in queries if q is not None) if r is not None]
            if not results:
                continue
            totals["elements"] += 1
            errors = [e for r in results for e in r]
            if errors:
                shown = blank("ContentValidationDashboardElement")
                found.append({**blank("ContentValidatorError"), "id": f"element-{el['id']}",
                              "dashboard": about,
                              "dashboard_element": {k: el.get(k) for k in shown},
                              "errors": errors})
        for flt in dash.get("dashboard_filters") or ():
            if flt.get("type") != "field_filter" or not in_scope(flt.get("model")):
                continue
            totals["filters"] += 1
            dim = flt.get("dimension")
            errors = v.query_errors(flt.get("model"), flt.get("explore"), [dim] if dim else [])
            if errors:
                shown = blank("ContentValidationDashboardFilter")
                found.append({**blank("ContentValidatorError"), "id": f"filter-{flt['id']}",
                              "dashboard": about,
                              "dashboard_filter": {k: flt.get(k) for k in shown},
                              "errors": errors})

    return {**blank("ContentValidation"), "content_with_errors": found,
            "computation_time": round(time.perf_counter() - started, 3),
            "total_looks_validated": totals["looks"],
            "total_dashboard_elements_validated": totals["elements"],
            "total_dashboard_filters_validated": totals["filters"],
            "total_scheduled_plans_validated": 0, "total_alerts_validated": 0,
            "total_explores_validated": len(v.explores_seen)}
