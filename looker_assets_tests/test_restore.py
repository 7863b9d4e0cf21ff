"""Restore, tried as a user would: a full sync, damage at the emulator through Looker's own
API, another sync that captures the damage, then `looker-assets restore --at` the moment
before it. Every restored object must equal its backed-up version on what a restore can
reproduce; the dry run and a repeated restore must write nothing.

The comparison here is the test's own (normalise both sides, map ids back), not the
engine's diff, so a restore that fooled itself would still fail.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from looker_assets.emulator import LookerEmulator
from looker_assets.looker.client import ClientConfig, LookerClient
from looker_assets.storage import codec
from looker_assets_tests.conftest import (
    run_restore,
    sync_every_type,
    write_requests,
)

# The dashboards the damage hits: one with tabs and one with merged-results tiles (both hard
# deleted), one damaged in place, one whose linked look is deleted, one trashed.
DASHBOARDS = ("tabs", "merge", "edited", "linking", "trashed")


class Api:
    """Looker's API as a user (or their script) would call it to do damage."""

    def __init__(self, emu: LookerEmulator) -> None:
        self.client = LookerClient(ClientConfig(base_url=emu.url, client_id=emu.client_id,
                                                client_secret=emu.client_secret,
                                                verify_ssl=False))

    def get(self, path: str, **params: str) -> Any:
        return self.client.get_json(path, params or None)

    def __call__(self, method: str, path: str, body: Any = None) -> Any:
        return self.client.write_json(method, path, body)


def _user_dashboards(emu: LookerEmulator) -> dict[str, dict[str, Any]]:
    return {k: d for k, d in emu.objects("dashboards").items()
            if "::" not in k and not d.get("deleted")}


def _pick(emu: LookerEmulator) -> dict[str, str]:
    """Objects the damage will hit, chosen from what the emulator generated."""
    dashboards = _user_dashboards(emu)
    tabs = next(k for k, d in dashboards.items() if len(d["dashboard_layouts"]) > 1)
    merge = next(k for k, d in dashboards.items() if k != tabs
                 and any(e.get("merge_result_id") for e in d["dashboard_elements"]))
    edited = next(k for k, d in dashboards.items() if k not in (tabs, merge)
                  and d["dashboard_filters"]
                  and sum(1 for e in d["dashboard_elements"] if e.get("query")) >= 2
                  and not any(e.get("look_id") for e in d["dashboard_elements"]))
    linking = next(k for k, d in dashboards.items() if k not in (tabs, merge, edited)
                   and any(e.get("look_id") for e in d["dashboard_elements"]))
    look = next(str(e["look_id"]) for e in dashboards[linking]["dashboard_elements"]
                if e.get("look_id"))
    trashed = next(k for k in dashboards if k not in (tabs, merge, edited, linking))
    used = {tabs, merge, edited, linking, trashed}
    folders = emu.objects("folders")
    folder = next(k for k, f in folders.items()
                  if not any(f.get(x) for x in ("is_personal", "is_personal_descendant",
                                                "is_shared_root", "is_users_root",
                                                "is_embed_shared_root", "is_embed_users_root"))
                  and any(d.get("folder_id") == k for d in dashboards.values())
                  and not any(dashboards[u].get("folder_id") == k for u in used)
                  and str(folders[k].get("parent_id")) in folders)
    role = next(k for k, r in emu.objects("roles").items() if r.get("name") != "Admin"
                and any(k in (g.get("role_ids") or [])
                        for g in emu.objects("groups", "GroupHierarchy").values()))
    board = next(iter(k for k, b in emu.objects("boards").items() if not b.get("deleted_at")))
    group = next(k for k, g in emu.objects("groups").items()
                 if not g.get("externally_managed") and k != "1")
    attribute = next(k for k, a in emu.objects("user_attributes").items()
                     if not a.get("is_system"))
    return {"tabs": tabs, "merge": merge, "edited": edited, "linking": linking, "look": look,
            "trashed": trashed, "folder": folder, "role": role, "board": board,
            "group": group, "attribute": attribute}


def _set_alerts(api: Api, p: dict[str, str]) -> dict[str, str]:
    """An alert on a tile of the dashboard that will be deleted, and one on a tile of the
    damaged dashboard that the damage leaves alone (its id must survive the restore)."""
    made = {}
    for key, which in (("tabs", 0), ("edited", -1)):
        dash = api.get(f"/dashboards/{p[key]}")
        tile = [e for e in dash["dashboard_elements"] if e.get("query")][which]
        made[key] = str(api("POST", "/alerts", {
            "dashboard_element_id": tile["id"], "query_id": tile["query"]["id"],
            "field": {"title": "Count", "name": tile["query"]["fields"][-1]},
            "comparison_type": "GREATER_THAN", "threshold": 100, "cron": "0 6 * * *",
            "destinations": [{"destination_type": "EMAIL",
                              "email_address": "ops@example.com"}]})["id"])
    return made


def _set_plan(api: Api, p: dict[str, str]) -> str:
    """A schedule of one tab of the dashboard that will be deleted (tab_ids: its layout)."""
    dash = api.get(f"/dashboards/{p['tabs']}")
    tab = next(lay for lay in dash["dashboard_layouts"] if not lay.get("active"))
    return str(api("POST", "/scheduled_plans", {
        "name": "Weekly tab", "dashboard_id": p["tabs"], "crontab": "0 7 * * 1",
        "tab_ids": [tab["id"]], "scheduled_plan_destination": [
            {"format": "wysiwyg_pdf", "type": "email", "address": "ops@example.com"}]})["id"])


def _damage(api: Api, emu: LookerEmulator, p: dict[str, str]) -> None:
    api("PATCH", f"/dashboards/{p['trashed']}", {"deleted": True})
    api("DELETE", f"/dashboards/{p['tabs']}")
    api("DELETE", f"/dashboards/{p['merge']}")
    api("DELETE", f"/looks/{p['look']}")
    api("DELETE", f"/folders/{p['folder']}")
    api("DELETE", f"/boards/{p['board']}")
    api("DELETE", f"/groups/{p['group']}")
    api("DELETE", f"/user_attributes/{p['attribute']}")
    api("PUT", f"/roles/{p['role']}/groups", [])
    # In place, on one dashboard: retitle, a removed tile, a stray tile, a changed filter,
    # a changed query, a moved tile.
    dash = api.get(f"/dashboards/{p['edited']}")
    api("PATCH", f"/dashboards/{p['edited']}", {"title": dash["title"] + " (rewritten)"})
    query_tiles = [e for e in dash["dashboard_elements"] if e.get("query")]
    api("DELETE", f"/dashboard_elements/{query_tiles[0]['id']}")
    api("POST", "/dashboard_elements", {"dashboard_id": p["edited"], "type": "text",
                                        "body_text": "stray", "title_text": "Stray"})
    flt = dash["dashboard_filters"][0]
    api("PATCH", f"/dashboard_filters/{flt['id']}", {"default_value": "damaged"})
    changed = query_tiles[1]
    query = {k: v for k, v in changed["query"].items()
             if k not in ("id", "slug", "client_id", "share_url", "expanded_share_url", "url",
                          "can", "has_table_calculations")}
    new_query = api("POST", "/queries", {**query, "limit": "7"})
    api("PATCH", f"/dashboard_elements/{changed['id']}", {"query_id": new_query["id"]})
    layout = next(lay for lay in dash["dashboard_layouts"]
                  if any(str(c["dashboard_element_id"]) == str(changed["id"])
                         for c in lay["dashboard_layout_components"]))
    comp = next(c for c in layout["dashboard_layout_components"]
                if str(c["dashboard_element_id"]) == str(changed["id"]))
    api("PATCH", f"/dashboard_layout_components/{comp['id']}",
        {"row": (comp.get("row") or 0) + 40, "column": 0})


# -- the test's own notion of "equal on what a restore can reproduce" ------------------------

_QUERY_OWN = {"id", "slug", "client_id", "share_url", "expanded_share_url", "url", "can",
              "has_table_calculations"}


def _query(q: dict[str, Any] | None) -> Any:
    return None if not q else {k: v for k, v in q.items() if k not in _QUERY_OWN}


def _dashboard(d: dict[str, Any], look_ids: dict[str, str]) -> dict[str, Any]:
    """A dashboard with Looker's ids replaced by what they stand for: filters by name, tabs
    by (order, label), tiles by content and tab, positions per tile."""
    filters = {str(f["id"]): f["name"] for f in d["dashboard_filters"]}
    tabs = {str(lay["id"]): (lay.get("order"), lay.get("label"), bool(lay.get("active")))
            for lay in d["dashboard_layouts"]}
    elements = {}
    positions = {str(c["dashboard_element_id"]): (tabs[str(lay["id"])], c.get("row"),
                                                  c.get("column"), c.get("width"),
                                                  c.get("height"))
                 for lay in d["dashboard_layouts"] for c in lay["dashboard_layout_components"]}
    for e in d["dashboard_elements"]:
        rm = e.get("result_maker") or {}
        key = json.dumps([e.get("title"), e.get("type"), e.get("body_text"),
                          _query(e.get("query")), look_ids.get(str(e.get("look_id")),
                                                               e.get("look_id")),
                          e.get("merge_result_id") is not None,
                          filters.get(str(e.get("filter_id"))),
                          rm.get("filterables"), positions.get(str(e["id"]))],
                         sort_keys=True, default=str)
        elements[key] = elements.get(key, 0) + 1
    return {
        "title": d["title"], "description": d.get("description"), "user_id": d.get("user_id"),
        "slug": d.get("slug"), "deleted": bool(d.get("deleted")),
        "filters": sorted(json.dumps({k: f.get(k) for k in (
            "name", "title", "type", "default_value", "model", "explore", "dimension", "row",
            "listens_to_filters", "allow_multiple_values", "required", "ui_config")},
            sort_keys=True) for f in d["dashboard_filters"]),
        "tabs": sorted(json.dumps([lay.get("order"), lay.get("label"), lay.get("description"),
                                   bool(lay.get("active")), lay.get("type")], default=str)
                       for lay in d["dashboard_layouts"]),
        "elements": elements,
    }


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    emu = LookerEmulator(scale=300, seed=11).start("127.0.0.1", 0)
    db = tmp_path_factory.mktemp("restore") / "backup.sqlite"
    try:
        api = Api(emu)
        picked = _pick(emu)
        alerts = _set_alerts(api, picked)
        picked["plan"] = _set_plan(api, picked)
        sync_every_type(emu, db)
        before = codec.now_utc()
        backup = {k: api.get(f"/dashboards/{picked[k]}") for k in DASHBOARDS}
        backup["folder_dashboards"] = {
            k: d for k, d in _user_dashboards(emu).items()
            if d.get("folder_id") == picked["folder"]}
        backup["role_groups"] = sorted(str(g["id"]) for g in
                                       api.get(f"/roles/{picked['role']}/groups"))
        _damage(api, emu, picked)
        sync_every_type(emu, db)
        backup["alerts"] = {k: api.get(f"/alerts/{a}") for k, a in alerts.items()}
        backup["plan"] = api.get(f"/scheduled_plans/{picked['plan']}")
        yield {"emu": emu, "db": db, "at": before, "picked": picked, "backup": backup,
               "api": api, "alerts": alerts}
    finally:
        emu.stop()


def _selection(p: dict[str, str]) -> list[list[str]]:
    return [["dashboards", *(p[k] for k in DASHBOARDS)],
            ["boards", p["board"]], ["groups", p["group"]],
            ["user_attributes", p["attribute"]], ["roles", p["role"]],
            ["scheduled_plans", p["plan"]]]


def _run_all(s: dict[str, Any], *flags: str, code: int = 0) -> list[dict[str, Any]]:
    results = []
    for selection in _selection(s["picked"]):
        results += run_restore(s["emu"], s["db"], *selection, "--at", s["at"], *flags,
                                code=code)["results"]
    results += run_restore(s["emu"], s["db"], "--folder", s["picked"]["folder"], "--at",
                            s["at"], *flags, code=code)["results"]
    return results


def test_dry_run_plans_and_writes_nothing(scenario: dict[str, Any]) -> None:
    emu, p = scenario["emu"], scenario["picked"]
    emu.reset_stats()
    results = _run_all(scenario, "--dry-run")
    assert write_requests(emu) == 0
    action = {(r["type"], r["id"]): r["action"] for r in results}
    assert action[("dashboards", p["tabs"])] == "create"
    assert action[("dashboards", p["merge"])] == "create"
    assert action[("dashboards", p["trashed"])] == "undelete"
    assert action[("dashboards", p["edited"])] == "update"
    assert action[("folders", p["folder"])] == "create"
    assert action[("boards", p["board"])] == "create"
    assert action[("groups", p["group"])] == "create"
    assert action[("user_attributes", p["attribute"])] == "create"
    assert action[("looks", p["look"])] == "create"  # pulled in by the tile that links it
    # Everything deleted or trashed since the moment, found in the backup by itself.
    gone = run_restore(emu, scenario["db"], "--deleted-since", scenario["at"], "--dry-run")
    assert write_requests(emu) == 0
    gone_keys = {(r["type"], r["id"]) for r in gone["results"] if r["requested"]}
    for key in (("dashboards", p["tabs"]), ("dashboards", p["merge"]),
                ("dashboards", p["trashed"]), ("looks", p["look"]), ("folders", p["folder"]),
                ("boards", p["board"]), ("groups", p["group"]),
                ("user_attributes", p["attribute"])):
        assert key in gone_keys, key
    assert ("dashboards", p["edited"]) not in gone_keys  # damaged, not deleted
    edited = next(r for r in results if (r["type"], r["id"]) == ("dashboards", p["edited"]))
    assert "title" in edited["changes"]
    assert any(c.startswith("dashboard_elements") for c in edited["changes"])


def test_restore_puts_everything_back_and_a_second_one_writes_nothing(
        scenario: dict[str, Any]) -> None:
    emu, p, api, backup = scenario["emu"], scenario["picked"], scenario["api"], \
        scenario["backup"]
    results = _run_all(scenario, "--yes")
    failed = [r for r in results if r["action"] == "failed" or r["differs"]]
    assert not failed, failed
    new = {(r["type"], r["id"]): r["new_id"] for r in results}
    # Looks re-created by this restore (the deleted one, and those the folder took with it).
    look_ids = {r["new_id"]: r["id"] for r in results if r["type"] == "looks"}
    # Re-created objects have new ids; the rest kept theirs.
    assert new[("dashboards", p["tabs"])] != p["tabs"]
    assert new[("dashboards", p["edited"])] == p["edited"]
    assert new[("dashboards", p["trashed"])] == p["trashed"]
    for key in DASHBOARDS:
        live = api.get(f"/dashboards/{new[('dashboards', p[key])]}")
        assert _dashboard(live, look_ids) == _dashboard(backup[key], {}), key
    # The look-linked tile points at the re-created look, not a copy of it.
    linking = api.get(f"/dashboards/{p['linking']}")
    assert new[("looks", p["look"])] in {str(e.get("look_id"))
                                         for e in linking["dashboard_elements"]}
    assert sum(1 for lk in emu.objects("looks").values()
               if lk["title"] == api.get(f"/looks/{new[('looks', p['look'])]}")["title"]) == 1
    # The folder's dashboards came back into the re-created folder.
    new_folder = new[("folders", p["folder"])]
    for old_id, dash in backup["folder_dashboards"].items():
        live = api.get(f"/dashboards/{new[('dashboards', old_id)]}")
        assert str(live["folder_id"]) == new_folder
        assert _dashboard(live, look_ids) == _dashboard(dash, {})
    # The role's groups again, the deleted group under its new id.
    group_ids = {r["id"]: r["new_id"] for r in results if r["type"] == "groups"}
    assert sorted(str(g["id"]) for g in api.get(f"/roles/{p['role']}/groups")) == \
        sorted(group_ids.get(g, g) for g in backup["role_groups"])
    assert group_ids[p["group"]] != p["group"]

    # The alert on the untouched tile kept its id and tile; the one on the deleted
    # dashboard's tile is on the re-created tile, with the same condition.
    alerts = scenario["alerts"]
    kept = api.get(f"/alerts/{alerts['edited']}")
    assert kept["dashboard_element_id"] == backup["alerts"]["edited"]["dashboard_element_id"]
    moved = next(r for r in results if (r["type"], r["id"]) == ("alerts", alerts["tabs"]))
    assert moved["verified"], moved
    remade = api.get(f"/alerts/{moved['new_id']}")
    new_tiles = {str(e["id"]) for e in
                 api.get(f"/dashboards/{new[('dashboards', p['tabs'])]}")["dashboard_elements"]}
    assert str(remade["dashboard_element_id"]) in new_tiles
    for key in ("field", "threshold", "cron", "comparison_type", "destinations"):
        assert remade[key] == backup["alerts"]["tabs"][key], key

    # The schedule of a tab follows the re-created dashboard to the re-created tab.
    plan = api.get(f"/scheduled_plans/{p['plan']}")
    new_dash = api.get(f"/dashboards/{new[('dashboards', p['tabs'])]}")
    assert str(plan["dashboard_id"]) == new[("dashboards", p["tabs"])]
    old_tab = next(lay for lay in backup["tabs"]["dashboard_layouts"]
                   if str(lay["id"]) == str(backup["plan"]["tab_ids"][0]))
    [new_tab] = [str(lay["id"]) for lay in new_dash["dashboard_layouts"]
                 if (lay["label"], lay["order"]) == (old_tab["label"], old_tab["order"])]
    assert [str(t) for t in plan["tab_ids"]] == [new_tab]

    emu.reset_stats()
    again = _run_all(scenario, "--yes")
    assert write_requests(emu) == 0
    assert {r["action"] for r in again} <= {"unchanged", "skipped"}, \
        [r for r in again if r["action"] not in ("unchanged", "skipped")]
