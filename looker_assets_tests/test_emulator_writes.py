"""The emulator's write side, through the real looker-sdk (and plain HTTP for status codes):
ids and timestamps the server assigns, read-only input ignored, 404/405/409/422 answers, query
dedup, dashboard children, trash, cascades, edges, and writes showing in every read view."""

from __future__ import annotations

import json
import time
from typing import Any

import looker_sdk
import pytest
from looker_sdk import models40 as m
from looker_sdk.error import SDKError

from looker_assets.emulator import LookerEmulator
from looker_assets_tests.conftest import Http


@pytest.fixture
def emu(fresh_emulator: LookerEmulator) -> LookerEmulator:
    return fresh_emulator


@pytest.fixture
def sdk(emu: LookerEmulator, monkeypatch: pytest.MonkeyPatch):
    for key, value in emu.looker_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("LOOKERSDK_TIMEOUT", "30")
    return looker_sdk.init40()


@pytest.fixture
def http(emu: LookerEmulator) -> Http:
    return Http(emu)


def _error(status: int, body: Any, want: int, code: str | None = None,
           field: str | None = None) -> None:
    assert status == want, body
    assert isinstance(body["message"], str) and isinstance(body["documentation_url"], str)
    if want == 422:
        assert body["message"] == "Validation Failed"
        err = body["errors"][0]
        assert set(err) == {"field", "code", "message", "documentation_url"}
        if code is not None:
            assert err["code"] == code, err
        if field is not None:
            assert err["field"] == field, err


def _explore(emu: LookerEmulator) -> tuple[str, str]:
    model, view = next(iter(emu.objects("explores"))).split("::")
    return model, view


def _query(sdk, emu: LookerEmulator, **extra: Any) -> m.Query:
    model, view = _explore(emu)
    return sdk.create_query(m.WriteQuery(model=model, view=view, fields=[f"{view}.id"],
                                         **extra))


# -- framework -----------------------------------------------------------------------------


def test_create_assigns_ids_and_ignores_read_only_and_unknown_keys(
        sdk, http: Http, emu: LookerEmulator) -> None:
    before = time.strftime("%Y-%m-%dT", time.gmtime())
    status, d = http("POST", "/dashboards", {
        "title": "Written", "folder_id": "1", "id": "77777", "created_at": "2001-01-01",
        "view_count": 999, "readonly": True, "zz_unknown": {"a": 1}})
    assert status == 200, d
    assert d["id"] != "77777" and isinstance(d["id"], str)
    assert d["created_at"].startswith(before) and d["updated_at"] == d["created_at"]
    assert d["view_count"] == 0 and d["readonly"] is False and "zz_unknown" not in d
    assert d["folder"]["name"] == "Shared" and d["user_id"] == "1"
    assert d["content_metadata_id"] and d["slug"]
    # exactly what the GET of the object answers, and in every list view
    assert sdk.dashboard(d["id"]).title == "Written"
    assert json.loads(sdk.get(f"/dashboards/{d['id']}", structure=str)) == d
    assert d["id"] in {x.id for x in sdk.all_dashboards(fields="id")}
    assert [x.id for x in sdk.search_dashboards(title="written", folder_id="1")] == [d["id"]]
    assert d["id"] in {x.id for x in sdk.folder_dashboards("1", fields="id")}
    assert d["id"] in {x["id"] for x in emu.objects("dashboards", "DashboardBase").values()}


def test_unknown_ids_404_and_bad_bodies(http: Http) -> None:
    _error(*http("POST", "/dashboards", {"title": "x", "folder_id": "999999"}), 404)
    _error(*http("POST", "/dashboards", {"title": "x", "folder_id": "1", "space_id": "1"}), 404)
    _error(*http("POST", "/dashboards", {"title": "x", "folder_id": "1", "user_id": "999999"}),
           404)
    _error(*http("PATCH", "/dashboards/999999", {"title": "x"}), 404)
    _error(*http("DELETE", "/looks/999999"), 404)
    _error(*http("POST", "/dashboards", {"folder_id": "1"}), 422, "missing", "title")
    status, body = http("PATCH", "/groups/1", [1, 2])
    assert status == 400, body
    status, _ = http("PUT", "/dashboards/1", {"title": "x"})
    assert status == 405  # the path exists, the method does not


def test_faults_apply_to_writes(emu: LookerEmulator, http: Http) -> None:
    emu.faults.update({"rate_limit_every": 2, "only_paths": "^/api/4\\.0/groups"})
    statuses = [http("POST", "/groups", {"name": f"Faulted {i}"})[0] for i in range(4)]
    assert statuses.count(429) == 2 and statuses.count(200) == 2
    emu.faults.update({"rate_limit_every": None})
    status, _ = http("POST", "/groups", {"name": "Faulted 0"})
    assert status == 422  # the 200s really created their groups


# -- queries and merge queries -------------------------------------------------------------


def test_queries_are_deduplicated_and_immutable(sdk, http: Http, emu: LookerEmulator) -> None:
    model, view = _explore(emu)
    body = {"model": model, "view": view, "fields": [f"{view}.id", f"{view}.count"],
            "filters": {"a": "1", "b": "2"}}
    s1, q1 = http("POST", "/queries", body)
    s2, q2 = http("POST", "/queries", {**body, "filters": {"b": "2", "a": "1"}, "slug": "x"})
    assert s1 == s2 == 200 and q1["id"] == q2["id"] and q1["slug"] == q2["slug"] != "x"
    _, q3 = http("POST", "/queries", {**body, "fields": body["fields"][::-1]})
    assert q3["id"] != q1["id"]  # list order matters
    assert sdk.query(q1["id"]).fields == body["fields"]
    status, q4 = http("POST", "/queries", {**body, "client_id": "abcdefghijklmnopqrstuv"})
    assert status == 200 and q4["client_id"] == "abcdefghijklmnopqrstuv" and q4["id"] != q1["id"]
    _error(*http("POST", "/queries", {**body, "limit": "5", "client_id": q4["client_id"]}),
           422, "already_exists", "client_id")
    _error(*http("POST", "/queries", {**body, "model": "no_such_model"}), 404)
    _error(*http("POST", "/queries", {**body, "view": "no_such_explore"}), 404)
    _error(*http("POST", "/queries", {"fields": ["a.b"]}), 422, "missing")
    status, _ = http("PATCH", f"/queries/{q1['id']}", body)
    assert status == 405  # queries cannot be changed


def test_query_dedup_covers_generated_queries(http: Http, emu: LookerEmulator) -> None:
    el = next(e for d in emu.objects("dashboards").values() for e in d["dashboard_elements"]
              if e["query"] and e["query"]["filters"])
    backup = {k: v for k, v in el["query"].items()
              if k not in ("id", "slug", "client_id", "share_url", "expanded_share_url", "url",
                           "can", "has_table_calculations")}
    backup["filters"] = dict(reversed(list(backup["filters"].items())))
    status, q = http("POST", "/queries", backup)
    assert status == 200 and q["id"] == el["query_id"] and q == el["query"]
    _error(*http("POST", "/queries", {**backup, "limit": "1",
                                      "client_id": el["query"]["client_id"]}),
           422, "already_exists", "client_id")
    merge_id = next(e["merge_result_id"] for d in emu.objects("dashboards").values()
                    for e in d["dashboard_elements"] if e["merge_result_id"])
    _, merge = http("GET", f"/merge_queries/{merge_id}")
    status, again = http("POST", "/merge_queries", {**merge, "id": None})
    assert status == 200 and again["id"] == merge_id


def test_merge_queries(http: Http, emu: LookerEmulator) -> None:
    model, view = _explore(emu)
    _, a = http("POST", "/queries", {"model": model, "view": view, "fields": [f"{view}.id"]})
    _, b = http("POST", "/queries", {"model": model, "view": view, "fields": [f"{view}.x"]})
    body = {"source_queries": [
        {"query_id": a["id"], "name": "A", "merge_fields": []},
        {"query_id": b["id"], "name": "B",
         "merge_fields": [{"field_name": f"{view}.id", "source_field_name": f"{view}.x"}]}],
        "limit": "500", "id": "ignored"}
    s1, m1 = http("POST", "/merge_queries", body)
    s2, m2 = http("POST", "/merge_queries", body)
    assert s1 == s2 == 200 and m1["id"] == m2["id"] != "ignored"
    assert [s["query_id"] for s in m1["source_queries"]] == [a["id"], b["id"]]
    assert m1["source_queries"][0]["query_slug"] == a["slug"]
    _, m3 = http("POST", "/merge_queries", {**body,
                                            "source_queries": body["source_queries"][::-1]})
    assert m3["id"] != m1["id"]
    status, got = http("GET", f"/merge_queries/{m1['id']}")
    assert status == 200 and got == m1
    _error(*http("POST", "/merge_queries", {"source_queries": [{"query_id": "424242424"}]}),
           404)


def test_generated_queries_and_merges_are_readable(sdk, emu: LookerEmulator) -> None:
    merged = 0
    for d in emu.objects("dashboards").values():
        for el in d["dashboard_elements"]:
            if el["query_id"]:
                assert json.loads(sdk.get(f"/queries/{el['query_id']}", structure=str)) \
                    == el["query"]
            if el["merge_result_id"]:
                merged += 1
                merge = sdk.merge_query(el["merge_result_id"])
                assert 2 <= len(merge.source_queries) <= 3
                assert el["query_id"] is None and el["result_maker"]["merge_result_id"]
                for src in merge.source_queries:
                    assert sdk.query(src.query_id, fields="id,model,view").id == src.query_id
    assert merged
    look = next(iter(emu.objects("looks").values()))
    assert sdk.query(look["query_id"]).model == look["query"]["model"]


def test_generated_dashboards_have_tabs_filter_tiles_and_listeners(emu: LookerEmulator) -> None:
    dashboards = [d for k, d in emu.objects("dashboards").items() if "::" not in k]
    tabbed = [d for d in dashboards if len(d["dashboard_layouts"]) > 1]
    assert tabbed
    for d in tabbed:
        layouts = d["dashboard_layouts"]
        assert sum(x["active"] for x in layouts) == 1
        assert all(x["label"] and x["order"] is not None for x in layouts)
        for lay in layouts:
            comp_elements = {c["dashboard_element_id"] for c in lay["dashboard_layout_components"]}
            assert comp_elements == {e["id"] for e in d["dashboard_elements"]
                                     if e["dashboard_layout_id"] == lay["id"]}
    filter_tiles = [(d, e) for d in dashboards for e in d["dashboard_elements"] if e["filter_id"]]
    assert filter_tiles
    for d, e in filter_tiles:
        assert e["filter_id"] in {f["id"] for f in d["dashboard_filters"]}
    listened = 0
    for d in dashboards:
        names = {f["name"] for f in d["dashboard_filters"]}
        for e in d["dashboard_elements"]:
            for fil in (e["result_maker"] or {}).get("filterables") or ():
                for listen in fil["listen"]:
                    listened += 1
                    assert listen["dashboard_filter_name"] in names and listen["field"]
    assert listened
    assert any(f["listens_to_filters"] for d in dashboards for f in d["dashboard_filters"])


# -- dashboards ------------------------------------------------------------------------------


def test_dashboard_rules(http: Http, sdk) -> None:
    _, a = http("POST", "/dashboards", {"title": "Same", "folder_id": "1", "slug": "slug-a"})
    _error(*http("POST", "/dashboards", {"title": "Same", "folder_id": "1"}), 422,
           "already_exists")
    status, other = http("POST", "/dashboards", {"title": "Same", "folder_id": "3"})
    assert status == 200  # unique per folder only
    _error(*http("POST", "/dashboards", {"title": "New", "folder_id": "1", "slug": "slug-a"}),
           409)
    sdk.update_dashboard(a["id"], m.WriteDashboard(deleted=True))
    _error(*http("POST", "/dashboards", {"title": "New", "folder_id": "1", "slug": "slug-a"}),
           409)  # a trashed dashboard keeps its slug
    status, _ = http("POST", "/dashboards", {"title": "Same", "folder_id": "1"})
    assert status == 200  # but not its title
    _error(*http("PATCH", f"/dashboards/{other['id']}/move?folder_id=3"), 422)
    _error(*http("PATCH", f"/dashboards/{other['id']}/move?folder_id=1"), 422, "already_exists")
    moved = sdk.move_dashboard(other["id"], folder_id="4")
    assert moved.folder_id == "4" and moved.folder.id == "4"
    lookml = "thelook::business_pulse"
    _error(*http("PATCH", f"/dashboards/{lookml}", {"title": "x"}), 405)
    _error(*http("DELETE", f"/dashboards/{lookml}"), 405)
    assert sdk.dashboard(lookml).title != "x"


def test_trash_toggle(sdk, emu: LookerEmulator) -> None:
    live = next(k for k, d in emu.objects("dashboards").items()
                if not d["deleted"] and "::" not in k)
    d = sdk.update_dashboard(live, m.WriteDashboard(deleted=True))
    assert d.deleted and d.deleted_at and d.deleter_id == "1"
    assert live not in {x.id for x in sdk.all_dashboards(fields="id")}
    assert live not in {x.id for x in sdk.search_dashboards(fields="id")}
    assert live in {x.id for x in sdk.search_dashboards(fields="id", deleted=True)}
    folder = emu.objects("folders")[d.folder_id]
    assert live not in {x["id"] for x in folder["dashboards"]}
    assert sdk.dashboard(live).deleted  # GET by id still works
    back = sdk.update_dashboard(live, m.WriteDashboard(deleted=False))
    assert not back.deleted and back.deleted_at is None and back.deleter_id is None
    assert live in {x.id for x in sdk.all_dashboards(fields="id")}
    look = sdk.update_look("3", m.WriteLookWithQuery(deleted=True))
    assert look.deleted and "3" not in {x.id for x in sdk.all_looks(fields="id")}
    sdk.delete_dashboard(live)
    with pytest.raises(SDKError):
        sdk.dashboard(live)


def test_update_dashboard_leaves_children_alone(http: Http) -> None:
    _, before = http("GET", "/dashboards/5")
    status, after = http("PATCH", "/dashboards/5", {
        "title": "Only the title", "dashboard_filters": [{"name": "sneaky"}],
        "dashboard_elements": [], "dashboard_layouts": []})
    assert status == 200 and after["title"] == "Only the title"
    assert after["dashboard_elements"] == before["dashboard_elements"]
    assert after["dashboard_filters"] == before["dashboard_filters"]
    assert after["dashboard_layouts"] == [{**x, "dashboard_title": "Only the title"}
                                          for x in before["dashboard_layouts"]]
    assert after["updated_at"] > (before["updated_at"] or "")


def test_dashboard_children_lifecycle(sdk, http: Http, emu: LookerEmulator) -> None:
    d = sdk.create_dashboard(m.WriteDashboard(title="Children", folder_id="1"))
    assert len(d.dashboard_layouts) == 1 and d.dashboard_layouts[0].active
    active = d.dashboard_layouts[0].id
    _error(*http("POST", "/dashboard_filters", {"dashboard_id": d.id, "name": "F"}), 422,
           "missing")
    _error(*http("POST", "/dashboard_filters", {"dashboard_id": "999999", "name": "F",
                                                "title": "F", "type": "string_filter"}), 404)
    f = sdk.create_dashboard_filter(m.WriteCreateDashboardFilter(
        dashboard_id=d.id, name="Region", title="Region", type="string_filter"))
    tab = sdk.create_dashboard_layout(m.WriteDashboardLayout(
        dashboard_id=d.id, label="Second", order=1, active=False, type="newspaper"))
    q = _query(sdk, emu)
    body = {"dashboard_id": d.id, "type": "vis", "query_id": q.id, "title": "Q",
            "result_maker": {"filterables": [{"model": q.model, "view": q.view, "name": "x",
                                              "listen": [{"dashboard_filter_name": "Region",
                                                          "field": f"{q.view}.id"}]}],
                             "id": "1", "query_id": "2"}}
    _, first = http("POST", "/dashboard_elements", body)
    _, second = http("POST", "/dashboard_elements", {**body, "dashboard_layout_id": tab.id})
    text = sdk.create_dashboard_element(m.WriteDashboardElement(
        dashboard_id=d.id, type="text", title_text="Hello", body_text="## Hi\n**bold**"))
    assert text.body_text_as_html == "<h2>Hi</h2><p><strong>bold</strong></p>"
    tile = sdk.create_dashboard_element(m.WriteDashboardElement(
        dashboard_id=d.id, type="filter", filter_id=f.id, title="Region"))
    assert tile.filter_id == f.id
    # listeners kept, result maker derived from the query; read-only ids ignored
    rm = first["result_maker"]
    assert rm["filterables"][0]["listen"][0]["dashboard_filter_name"] == "Region"
    assert rm["query_id"] == q.id and rm["query"]["id"] == q.id and rm["id"] != "1"
    assert first["dashboard_layout_id"] == active and second["dashboard_layout_id"] == tab.id
    # a component per element, in its tab, 8 wide, each below the ones before
    comps = sdk.dashboard_layout_dashboard_layout_components(active)
    assert [c.dashboard_element_id for c in comps] == [first["id"], text.id, tile.id]
    assert all(c.width == 8 for c in comps) and [c.row for c in comps] == [0, 6, 12]
    assert comps[0].element_title == "Q" and comps[1].element_title is None
    assert comps[0].vis_type is None  # the query was created without a vis_config
    assert [c.dashboard_element_id for c in
            sdk.dashboard_layout_dashboard_layout_components(tab.id)] == [second["id"]]
    moved = sdk.update_dashboard_layout_component(comps[0].id, m.WriteDashboardLayoutComponent(
        row=20, column=8, width=16, height=3))
    assert (moved.row, moved.column, moved.width, moved.granular_row) == (20, 8, 16, 200)
    # the three element rules
    _error(*http("POST", "/dashboard_elements", {"dashboard_id": d.id, "type": "vis"}), 422,
           "invalid", "type")
    _error(*http("POST", "/dashboard_elements", {"dashboard_id": d.id, "type": "text",
                                                 "result_maker_id": first["result_maker_id"]}),
           422, "invalid", "type")
    _error(*http("POST", "/dashboard_elements", {
        "dashboard_id": d.id, "type": "vis", "query_id": q.id,
        "result_maker_id": first["result_maker_id"]}), 422, "invalid", "type")
    _error(*http("POST", "/dashboard_elements", {"dashboard_id": d.id, "type": "vis",
                                                 "query_id": "987654321"}), 404)
    _error(*http("PATCH", f"/dashboard_elements/{text.id}",
                 {"result_maker_id": first["result_maker_id"]}), 422, "invalid")
    # the stored state survives re-reads and unrelated writes
    sdk.update_dashboard(d.id, m.WriteDashboard(description="touched"))
    again = sdk.dashboard(d.id)
    assert [e.id for e in again.dashboard_elements] == [first["id"], second["id"], text.id,
                                                         tile.id]
    assert [x.id for x in again.dashboard_filters] == [f.id]
    assert {x.id for x in sdk.dashboard_dashboard_layouts(d.id)} == {active, tab.id}
    assert [x.id for x in sdk.dashboard_dashboard_filters(d.id)] == [f.id]
    assert len(sdk.dashboard_dashboard_elements(d.id)) == 4
    assert sdk.dashboard_element(first["id"]).result_maker.filterables[0].listen
    # deleting an element takes its component with it; layouts guard the active one
    sdk.delete_dashboard_element(first["id"])
    assert first["id"] not in {c.dashboard_element_id for c in
                               sdk.dashboard_layout_dashboard_layout_components(active)}
    _error(*http("DELETE", f"/dashboard_layouts/{active}"), 422)
    sdk.delete_dashboard_layout(tab.id)
    _error(*http("DELETE", f"/dashboard_layouts/{active}"), 422)  # the last one
    status, _ = http("PATCH", f"/dashboard_filters/{f.id}", {"title": "Area",
                                                              "dashboard_id": "1"})
    assert status == 200
    assert sdk.dashboard_filter(f.id).title == "Area"
    assert sdk.dashboard_filter(f.id).dashboard_id == d.id  # dashboard_id read-only here
    sdk.delete_dashboard_filter(f.id)
    assert sdk.dashboard(d.id).dashboard_filters == []


def test_generated_dashboard_children_are_writable(sdk, emu: LookerEmulator) -> None:
    d = next(x for k, x in emu.objects("dashboards").items()
             if "::" not in k and len(x["dashboard_elements"]) >= 2 and x["dashboard_filters"])
    el = d["dashboard_elements"][0]
    sdk.update_dashboard_element(el["id"], m.WriteDashboardElement(title="Renamed tile"))
    comp = next(c for lay in d["dashboard_layouts"] for c in lay["dashboard_layout_components"]
                if c["dashboard_element_id"] == el["id"])
    sdk.update_dashboard_layout_component(comp["id"], m.WriteDashboardLayoutComponent(row=99))
    after = emu.objects("dashboards")[d["id"]]
    assert after["dashboard_elements"][0]["title"] == "Renamed tile"
    assert [e["id"] for e in after["dashboard_elements"]] == \
        [e["id"] for e in d["dashboard_elements"]]
    comps = {c["id"]: c for lay in after["dashboard_layouts"]
             for c in lay["dashboard_layout_components"]}
    assert comps[comp["id"]]["row"] == 99 and comps[comp["id"]]["element_title"] == \
        "Renamed tile"
    assert after["dashboard_filters"] == d["dashboard_filters"]
    assert after["updated_at"] > (d["updated_at"] or "")
    for e in after["dashboard_elements"]:  # a tile's own GET answers what the dashboard shows
        assert json.loads(sdk.get(f"/dashboard_elements/{e['id']}", structure=str)) == e
    lay = after["dashboard_layouts"][0]
    assert json.loads(sdk.get(f"/dashboard_layouts/{lay['id']}", structure=str)) == lay
    assert json.loads(sdk.get(f"/dashboard_layout_components/{comp['id']}", structure=str)) \
        == comps[comp["id"]]


def test_alerts_on_deleted_elements_are_left_behind(sdk, http: Http, emu: LookerEmulator) -> None:
    alert = next(iter(emu.objects("alerts").values()))
    sdk.delete_dashboard_element(alert["dashboard_element_id"])
    assert sdk.get_alert(alert["id"]).dashboard_element_id == alert["dashboard_element_id"]


# -- looks, folders, boards ----------------------------------------------------------------


def test_looks(sdk, http: Http, emu: LookerEmulator) -> None:
    q = _query(sdk, emu)
    _error(*http("POST", "/looks", {"title": "L", "folder_id": "1"}), 422, "missing")
    _error(*http("POST", "/looks", {"title": "L", "folder_id": "1", "query_id": "31337"}), 404)
    look = sdk.create_look(m.WriteLookWithQuery(title="L", folder_id="1", query_id=q.id))
    assert look.query.id == q.id and look.user_id == "1" and look.folder.name == "Shared"
    q2 = _query(sdk, emu, limit="10")
    again = sdk.update_look(look.id, m.WriteLookWithQuery(query_id=q2.id))
    assert again.query_id == q2.id and again.query.limit == "10"
    assert look.id in {x.id for x in sdk.search_looks(title="l", folder_id="1", fields="id")}
    _error(*http("PATCH", f"/looks/{look.id}/move?folder_id=1"), 422)
    assert sdk.move_look(look.id, folder_id="3").folder_id == "3"
    sdk.delete_look(look.id)
    assert look.id not in {x.id for x in sdk.all_looks(fields="id")}


def test_folders_and_cascade(sdk, http: Http, emu: LookerEmulator) -> None:
    _error(*http("POST", "/folders", {"name": "No parent"}), 422, "missing")
    _error(*http("POST", "/folders", {"name": "X", "parent_id": "999999"}), 404)
    _error(*http("POST", "/folders", {"name": "X", "parent_id": "2"}), 422)  # Users root
    top = sdk.create_folder(m.CreateFolder(name="Top", parent_id="1"))
    sub = sdk.create_folder(m.CreateFolder(name="Sub", parent_id=top.id))
    assert sub.parent_id == top.id and not sub.is_personal and sub.content_metadata_id
    assert sdk.folder(top.id).child_count == 1
    assert [f.id for f in sdk.search_folders(name="sub", parent_id=top.id)] == [sub.id]
    q = _query(sdk, emu)
    look = sdk.create_look(m.WriteLookWithQuery(title="In sub", folder_id=sub.id, query_id=q.id))
    dash = sdk.create_dashboard(m.WriteDashboard(title="In sub", folder_id=sub.id))
    trashed = sdk.create_dashboard(m.WriteDashboard(title="Trashed", folder_id=top.id))
    sdk.update_dashboard(trashed.id, m.WriteDashboard(deleted=True))
    assert sdk.update_folder(sub.id, m.UpdateFolder(name="Renamed")).name == "Renamed"
    assert sdk.dashboard(dash.id).folder.name == "Renamed"  # embedded copies follow
    _error(*http("PATCH", f"/folders/{top.id}", {"parent_id": sub.id}), 422)
    _error(*http("DELETE", "/folders/1"), 422)
    sdk.delete_folder(top.id)
    for path in (f"/folders/{sub.id}", f"/looks/{look.id}", f"/dashboards/{dash.id}",
                 f"/dashboards/{trashed.id}"):
        assert http("GET", path)[0] == 404, path


def test_boards(sdk, http: Http, emu: LookerEmulator) -> None:
    board = sdk.create_board(m.WriteBoard(title="Home", description="start"))
    assert board.board_sections == [] and board.content_metadata_id
    s1 = sdk.create_board_section(m.WriteBoardSection(board_id=board.id, title="One"))
    s2 = sdk.create_board_section(m.WriteBoardSection(board_id=board.id, title="Two"))
    look_id = next(k for k, x in emu.objects("looks").items() if not x["deleted"])
    i1 = sdk.create_board_item(m.WriteBoardItem(board_section_id=s1.id, look_id=look_id))
    i2 = sdk.create_board_item(m.WriteBoardItem(board_section_id=s1.id, dashboard_id="3",
                                                custom_title="Mine", use_custom_title=True))
    assert i1.title == emu.objects("looks")[look_id]["title"] and i2.title == "Mine"
    _error(*http("POST", "/board_items", {"board_section_id": s1.id}), 422)
    _error(*http("POST", "/board_items", {"board_section_id": s1.id, "look_id": "999999"}), 404)
    sdk.update_board_section(s1.id, m.WriteBoardSection(item_order=[i2.id, i1.id]))
    sdk.update_board(board.id, m.WriteBoard(section_order=[s2.id, s1.id]))
    got = sdk.board(board.id)
    assert got.section_order == [s2.id, s1.id]
    sec = next(s for s in got.board_sections if s.id == s1.id)
    assert sec.item_order == [i2.id, i1.id] and [i.id for i in sec.board_items] == [i2.id, i1.id]
    sdk.delete_board_item(i2.id)
    assert [i.id for i in sdk.board_section(s1.id).board_items] == [i1.id]
    status, _ = http("PATCH", f"/boards/{board.id}",
                     {"deleted_at": "2025-01-01T00:00:00.000+00:00"})
    assert status == 200
    assert board.id not in {b.id for b in sdk.all_boards()}
    assert sdk.board(board.id).deleted_at
    # generated boards take writes too
    gen = next(iter(emu.objects("boards").values()))
    sec_id = gen["board_sections"][0]["id"]
    sdk.update_board_section(sec_id, m.WriteBoardSection(title="Renamed section"))
    assert sdk.board(gen["id"]).board_sections[0].title == "Renamed section"
    sdk.delete_board(gen["id"])
    assert http("GET", f"/board_sections/{sec_id}")[0] == 404


# -- people ------------------------------------------------------------------------------------


def test_users_and_credentials(sdk, http: Http, emu: LookerEmulator) -> None:
    user = sdk.create_user(m.WriteUser(first_name="Ada", last_name="Byron"))
    assert user.display_name == "Ada Byron" and user.credentials_email is None
    folder = sdk.folder(user.personal_folder_id)
    assert folder.is_personal and folder.parent_id == "2" and folder.name == "Ada Byron"
    creds = sdk.create_user_credentials_email(user.id, m.WriteCredentialsEmail(
        email="ada@example.com"))
    assert creds.email == "ada@example.com" and creds.user_id == user.id
    _error(*http("POST", f"/users/{user.id}/credentials_email", {"email": "b@example.com"}), 409)
    assert sdk.user(user.id).email == "ada@example.com"
    assert [u.id for u in sdk.search_users(email="ADA@example.com")] == [user.id]
    sdk.update_user_credentials_email(user.id, m.WriteCredentialsEmail(email="ada2@example.com"))
    assert sdk.user(user.id).credentials_email.email == "ada2@example.com"
    other = next(k for k in emu.objects("users") if k not in ("1", user.id))
    _error(*http("POST", f"/users/{other}/credentials_email", {"email": "x@example.com"}), 409)
    sdk.delete_user_credentials_email(user.id)
    assert sdk.user(user.id).credentials_email is None
    roles = sdk.set_user_roles(user.id, ["2", "3"])
    assert [r.id for r in roles] == ["2", "3"] and sdk.user(user.id).role_ids == ["2", "3"]
    sdk.set_user_roles(user.id, ["3"])
    assert sdk.user(user.id).role_ids == ["3"]
    assert user.id in {u.id for u in sdk.role_users("3", direct_association_only=True)}
    assert user.id not in {u.id for u in sdk.role_users("2", direct_association_only=True)}
    _error(*http("PUT", f"/users/{user.id}/roles", ["999"]), 404)
    assert sdk.update_user(user.id, m.WriteUser(last_name="King")).display_name == "Ada King"


def test_delete_user_trashes_content_and_deletes_plans(sdk, emu: LookerEmulator) -> None:
    plans = emu.objects("scheduled_plans")
    owner = next(p["user_id"] for p in plans.values() if p["user_id"] != "1")
    mine = {k for k, d in emu.objects("dashboards").items()
            if d["user_id"] == owner and not d["deleted"]}
    sdk.delete_user(owner)
    for k in mine:
        assert sdk.dashboard(k).deleted
    assert not [p for p in sdk.all_scheduled_plans(all_users=True) if p.user_id == owner]


def test_groups_edges(sdk, http: Http, emu: LookerEmulator) -> None:
    parent = sdk.create_group(m.WriteGroup(name="Parents"))
    child = sdk.create_group(m.WriteGroup(name="Children"))
    _error(*http("POST", "/groups", {"name": "parents"}), 422, "already_exists")
    user = "3"
    assert sdk.add_group_user(parent.id, m.GroupIdForGroupUserInclusion(user_id=user)).id == user
    assert parent.id in sdk.user(user).group_ids
    assert [u.id for u in sdk.all_group_users(parent.id)] == [user]
    assert sdk.group(parent.id).user_count == 1
    sdk.add_group_group(parent.id, m.GroupIdForGroupInclusion(group_id=child.id))
    assert [g.id for g in sdk.all_group_groups(parent.id)] == [child.id]
    _error(*http("POST", f"/groups/{child.id}/groups", {"group_id": parent.id}), 422)  # cycle
    sdk.set_role_groups("2", [child.id])
    rows = {g["id"]: g for g in json.loads(sdk.get("/groups/search/with_hierarchy",
                                                   structure=str))}
    assert rows[child.id]["parent_group_ids"] == [parent.id]
    assert rows[child.id]["role_ids"] == ["2"]
    assert [g.id for g in sdk.role_groups("2")] == [child.id]
    sdk.delete_group_from_group(parent.id, child.id)
    sdk.delete_group_user(parent.id, user)
    assert parent.id not in sdk.user(user).group_ids
    sdk.add_group_user(parent.id, m.GroupIdForGroupUserInclusion(user_id=user))
    sdk.delete_group(parent.id)
    assert parent.id not in sdk.user(user).group_ids
    ext = next(k for k, g in emu.objects("groups").items() if g["externally_managed"])
    _error(*http("POST", f"/groups/{ext}/users", {"user_id": user}), 403)


def test_roles_and_sets(sdk, http: Http, emu: LookerEmulator) -> None:
    _error(*http("PATCH", "/roles/1", {"name": "Boss"}), 405)
    _error(*http("DELETE", "/roles/1"), 405)
    _error(*http("PATCH", "/permission_sets/1", {"name": "x"}), 405)
    _error(*http("DELETE", "/model_sets/1"), 405)
    ps = sdk.create_permission_set(m.WritePermissionSet(name="Readers",
                                                        permissions=["access_data"]))
    _error(*http("POST", "/permission_sets", {"name": "readers", "permissions": []}), 422,
           "already_exists")
    _error(*http("POST", "/permission_sets", {"name": "Bad", "permissions": ["fly"]}), 422)
    model = next(iter(emu.objects("lookml_models")))
    ms = sdk.create_model_set(m.WriteModelSet(name="Some models", models=[model]))
    _error(*http("POST", "/roles", {"name": "R", "permission_set_id": "999",
                                    "model_set_id": ms.id}), 404)
    role = sdk.create_role(m.WriteRole(name="Reader", permission_set_id=ps.id,
                                       model_set_id=ms.id))
    assert role.permission_set.id == ps.id and role.model_set.models == [model]
    users = sdk.set_role_users(role.id, ["2", "3"])
    assert [u.id for u in users] == ["2", "3"]
    assert {u.id for u in sdk.role_users(role.id, direct_association_only=True)} == {"2", "3"}
    sdk.set_role_users(role.id, ["3"])
    assert {u.id for u in sdk.role_users(role.id, direct_association_only=True)} == {"3"}
    _error(*http("DELETE", f"/permission_sets/{ps.id}"), 422)  # still used by the role
    sdk.update_permission_set(ps.id, m.WritePermissionSet(permissions=["see_looks"]))
    assert sdk.role(role.id).permission_set.permissions == ["see_looks"]
    sdk.delete_role(role.id)
    assert role.id not in sdk.user("3").role_ids
    sdk.delete_permission_set(ps.id)
    assert ps.id not in {p.id for p in sdk.all_permission_sets()}


def test_user_attributes_and_group_values(sdk, http: Http, emu: LookerEmulator) -> None:
    ua = sdk.create_user_attribute(m.WriteUserAttribute(name="team", label="Team",
                                                        type="string"))
    _error(*http("POST", "/user_attributes", {"name": "team", "label": "Other",
                                              "type": "string"}), 422, "already_exists", "name")
    _error(*http("POST", "/user_attributes", {"name": "other", "label": "team",
                                              "type": "string"}), 422, "already_exists", "label")
    _error(*http("POST", "/user_attributes", {"name": "x"}), 422, "missing")
    system = next(k for k, a in emu.objects("user_attributes").items() if a["is_system"])
    _error(*http("PATCH", f"/user_attributes/{system}", {"label": "x"}), 422)
    groups = list(emu.objects("groups"))
    # the spec marks every UserAttributeGroupValue property read-only: they must still count
    status, values = http("POST", f"/user_attributes/{ua.id}/group_values", [
        {"group_id": groups[1], "value": "b"}, {"group_id": groups[0], "value": "a"}])
    assert status == 200 and [(v["group_id"], v["rank"]) for v in values] == \
        [(groups[1], 1), (groups[0], 2)]
    sdk.update_user_attribute_group_value(groups[2], ua.id, m.UserAttributeGroupValue(
        value="c"))
    got = sdk.all_user_attribute_group_values(ua.id)
    assert [(v.group_id, v.value) for v in got] == [(groups[1], "b"), (groups[0], "a"),
                                                    (groups[2], "c")]
    sdk.delete_user_attribute_group_value(groups[1], ua.id)
    assert [v.group_id for v in sdk.all_user_attribute_group_values(ua.id)] == \
        [groups[0], groups[2]]
    http("POST", f"/user_attributes/{ua.id}/group_values", [])
    assert sdk.all_user_attribute_group_values(ua.id) == []
    _error(*http("POST", f"/user_attributes/{ua.id}/group_values",
                 [{"group_id": "999", "value": "x"}]), 404)
    status, body = http("PATCH", f"/user_attributes/{ua.id}", {"label": "Team!"})
    assert status == 200 and body["label"] == "Team!" and body["name"] == "team"


def test_scheduled_plans(sdk, http: Http, emu: LookerEmulator) -> None:
    dest = [{"type": "email", "format": "csv", "address": "a@example.com",
             "secret_parameters": "{\"x\": 1}"}]
    _error(*http("POST", "/scheduled_plans", {"look_id": "1", "crontab": "0 1 * * *",
                                              "scheduled_plan_destination": dest}), 422)
    _error(*http("POST", "/scheduled_plans", {"name": "P", "crontab": "0 1 * * *",
                                              "scheduled_plan_destination": dest}), 422)
    _error(*http("POST", "/scheduled_plans", {"name": "P", "look_id": "1",
                                              "scheduled_plan_destination": dest}), 422)
    _error(*http("POST", "/scheduled_plans", {"name": "P", "dashboard_id": "3",
                                              "crontab": "0 1 * * *"}), 422)
    _error(*http("POST", "/scheduled_plans", {"name": "P", "look_id": "1",
                                              "crontab": "0 1 * * *",
                                              "scheduled_plan_destination": dest}), 422,
           "missing")  # a look plan needs the three require_* flags
    _error(*http("POST", "/scheduled_plans", {"name": "P", "dashboard_id": "999999",
                                              "crontab": "0 1 * * *",
                                              "scheduled_plan_destination": dest}), 404)
    status, plan = http("POST", "/scheduled_plans", {
        "name": "P", "dashboard_id": "3", "crontab": "0 1 * * *", "user_id": "2",
        "scheduled_plan_destination": dest, "user": {"id": "9"}})
    assert status == 200, plan
    assert plan["user"]["id"] == "2" and plan["title"] == emu.objects("dashboards")["3"]["title"]
    assert plan["scheduled_plan_destination"][0]["secret_parameters"] is None
    first_dest = plan["scheduled_plan_destination"][0]["id"]
    _error(*http("PATCH", f"/scheduled_plans/{plan['id']}",
                 {"scheduled_plan_destination": []}), 422)
    kept = sdk.update_scheduled_plan(plan["id"], m.WriteScheduledPlan(name="Q"))
    assert kept.name == "Q" and kept.scheduled_plan_destination[0].id == first_dest
    replaced = sdk.update_scheduled_plan(plan["id"], m.WriteScheduledPlan(
        scheduled_plan_destination=[m.ScheduledPlanDestination(type="email", format="pdf",
                                                               address="b@example.com")]))
    assert [d.address for d in replaced.scheduled_plan_destination] == ["b@example.com"]
    sdk.delete_scheduled_plan(plan["id"])
    assert http("GET", f"/scheduled_plans/{plan['id']}")[0] == 404


def test_alerts(sdk, http: Http, emu: LookerEmulator) -> None:
    d = next(x for k, x in emu.objects("dashboards").items()
             if "::" not in k and any(e["query_id"] for e in x["dashboard_elements"]))
    el = next(e for e in d["dashboard_elements"] if e["query_id"])
    body = {"dashboard_element_id": el["id"], "query_id": el["query_id"],
            "field": {"title": "Count", "name": "x.count"}, "comparison_type": "GREATER_THAN",
            "threshold": 5, "cron": "0 5 * * *",
            "destinations": [{"destination_type": "EMAIL", "email_address": "a@example.com"}]}
    for prop in ("field", "destinations", "comparison_type", "threshold", "cron"):
        _error(*http("POST", "/alerts", {k: v for k, v in body.items() if k != prop}), 422,
               "missing", prop)
    _error(*http("POST", "/alerts", {**body, "dashboard_element_id": "123456789"}), 404)
    status, alert = http("POST", "/alerts", {**body, "owner_id": "2", "id": "x"})
    assert status == 200 and alert["id"] != "x"
    assert alert["owner_display_name"] == emu.objects("users")["2"]["display_name"]
    assert sdk.dashboard_element(el["id"]).alert_count >= 1
    _error(*http("PUT", f"/alerts/{alert['id']}", body), 422, "missing", "owner_id")
    status, put = http("PUT", f"/alerts/{alert['id']}", {**body, "owner_id": "1",
                                                         "threshold": 9})
    assert status == 200 and put["threshold"] == 9 and put["owner_id"] == "1"
    assert put["custom_title"] is None
    patched = sdk.update_alert_field(alert["id"], m.AlertPatch(is_disabled=True,
                                                               disabled_reason="why"))
    assert patched.is_disabled and patched.threshold == 9
    sdk.delete_alert(alert["id"])
    assert http("GET", f"/alerts/{alert['id']}")[0] == 404


# -- infrastructure ----------------------------------------------------------------------


def test_themes_collections_connections_models(sdk, http: Http, emu: LookerEmulator) -> None:
    _error(*http("POST", "/themes", {"name": "has space"}), 422, "invalid", "name")
    theme = sdk.create_theme(m.WriteTheme(name="Dark_2", settings=m.ThemeSettings(
        background_color="#000000")))
    assert theme.settings.background_color == "#000000"
    assert [t.id for t in sdk.search_themes(name="dark_2")] == [theme.id]
    sdk.delete_theme(theme.id)
    coll = sdk.create_color_collection(m.WriteColorCollection(label="Mine"))
    assert sdk.color_collection(coll.id).label == "Mine"
    sdk.delete_color_collection(coll.id)
    conn = next(iter(emu.objects("connections")))
    _error(*http("POST", "/connections", {"name": conn, "dialect_name": "postgres"}), 409)
    status, new = http("POST", "/connections", {
        "name": "restored", "dialect_name": "postgres", "host": "db", "password": "s3cret",
        "certificate": "CERT", "has_password": False})
    assert status == 200 and new["password"] is None and new["certificate"] is None
    assert new["has_password"] is True and new["dialect"]["name"] == "postgres"
    assert "s3cret" not in json.dumps(emu.objects("connections"))
    sdk.update_connection("restored", m.WriteDBConnection(host="db2"))
    assert sdk.connection("restored").host == "db2"
    sdk.delete_connection("restored")
    assert http("GET", "/connections/restored")[0] == 404
    _error(*http("POST", "/lookml_models", {"name": next(iter(emu.objects("lookml_models")))}),
           409)
    model = sdk.create_lookml_model(m.WriteLookmlModel(
        name="restored_model", project_name="thelook", allowed_db_connection_names=[conn]))
    assert model.name == "restored_model" and model.explores == []
    sdk.update_lookml_model("restored_model", m.WriteLookmlModel(unlimited_db_connections=True))
    assert sdk.lookml_model("restored_model").unlimited_db_connections is True
    sdk.delete_lookml_model("restored_model")
    assert "restored_model" not in {x.name for x in sdk.all_lookml_models()}


def test_content_access(sdk, http: Http, emu: LookerEmulator) -> None:
    folder = sdk.create_folder(m.CreateFolder(name="Private", parent_id="1"))
    cm = folder.content_metadata_id
    assert sdk.content_metadata(cm).inherits is True
    _error(*http("POST", "/content_metadata_access", {
        "content_metadata_id": cm, "permission_type": "view", "group_id": "1"}), 422)
    assert sdk.update_content_metadata(cm, m.WriteContentMeta(inherits=False)).inherits is False
    entry = sdk.create_content_metadata_access(m.ContentMetaGroupUser(
        content_metadata_id=cm, permission_type=m.PermissionType.view, group_id="1"))
    assert entry.group_id == "1" and entry.id
    _error(*http("POST", "/content_metadata_access", {
        "content_metadata_id": cm, "permission_type": "edit", "group_id": "1"}), 409)
    _error(*http("POST", "/content_metadata_access", {
        "content_metadata_id": cm, "permission_type": "edit", "group_id": "999"}), 404)
    sdk.update_content_metadata_access(entry.id, m.ContentMetaGroupUser(
        content_metadata_id=cm, permission_type=m.PermissionType.edit, group_id="1"))
    got = sdk.all_content_metadata_accesses(content_metadata_id=cm)
    assert [(e.group_id, e.permission_type) for e in got] == [("1", m.PermissionType.edit)]
    sdk.delete_content_metadata_access(entry.id)
    assert sdk.all_content_metadata_accesses(content_metadata_id=cm) == []
    # a generated folder's entries become stored state on the first write
    owned = next(f for f in emu.objects("folders").values()
                 if f["parent_id"] and not sdk.content_metadata(f["content_metadata_id"]).inherits
                 and sdk.all_content_metadata_accesses(
                     content_metadata_id=f["content_metadata_id"]))
    cm2 = owned["content_metadata_id"]
    before = sdk.all_content_metadata_accesses(content_metadata_id=cm2)
    sdk.delete_content_metadata_access(before[0].id)
    assert [e.id for e in sdk.all_content_metadata_accesses(content_metadata_id=cm2)] == \
        [e.id for e in before[1:]]
    sdk.update_content_metadata(cm2, m.WriteContentMeta(inherits=True))
    assert sdk.all_content_metadata_accesses(content_metadata_id=cm2) == []


def test_writes_stay_cheap_at_scale() -> None:
    """A write costs milliseconds however much content there is (no full re-render)."""
    with LookerEmulator(scale=6000, seed=2) as emu:
        http = Http(emu)
        model, view = next(iter(emu._store.keys("explores"))).split("::")
        _, q = http("POST", "/queries", {"model": model, "view": view, "fields": ["a.b"]})
        start = time.perf_counter()
        for i in range(60):
            status, d = http("POST", "/dashboards", {"title": f"Bench {i}", "folder_id": "1"})
            assert status == 200
            status, _ = http("POST", "/dashboard_elements", {"dashboard_id": d["id"],
                                                             "query_id": q["id"]})
            assert status == 200
        per_write = (time.perf_counter() - start) / 120
        assert per_write < 0.05, f"{per_write * 1000:.1f} ms per write"


def test_many_concurrent_writes_keep_every_edge(emu: LookerEmulator) -> None:
    import concurrent.futures

    group_status, group = Http(emu)("POST", "/groups", {"name": "Crowd"})
    assert group_status == 200
    users = [k for k in emu.objects("users") if k != "1"][:24]

    def add(user: str) -> int:
        return Http(emu)("POST", f"/groups/{group['id']}/users", {"user_id": user})[0]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        assert set(pool.map(add, users)) == {200}
    members = {k for k, u in emu.objects("users").items() if group["id"] in u["group_ids"]}
    assert members == set(users)


def test_python_side_api_helper(emu: LookerEmulator) -> None:
    status, d = emu.api("PATCH", "/dashboards/3", {"deleted": True})
    assert status == 200 and d["deleted"] is True
    assert emu.objects("dashboards")["3"]["deleted"] is True
    status, err = emu.api("POST", "/folders", {"name": "x"})
    assert status == 422 and err["errors"][0]["code"] == "missing"
    assert emu.api("DELETE", "/dashboards/3") == (204, None)
    assert emu.api("GET", "/dashboards/3")[0] == 404
