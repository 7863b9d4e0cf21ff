"""Two emulated Looker instances for migrations, over HTTP (the real looker-sdk, configured
from a looker.ini, and plain JSON calls for status codes): what differs between them and what
they share, the searches a migration resolves natural keys with, query de-duplication, slug
and title uniqueness, and the content validator."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import looker_sdk
import pytest
from looker_sdk import models40 as m
from looker_sdk.error import SDKError

from looker_assets.emulator import LookerEmulator
from looker_assets_tests.conftest import Http, write_looker_ini

Pair = tuple[LookerEmulator, LookerEmulator]


@pytest.fixture
def sdks(two_instances: Pair, tmp_path: Path) -> tuple[Any, Any]:
    """looker-sdk clients for source and target, from one looker.ini with two sections."""
    source, target = two_instances
    ini = tmp_path / "looker.ini"
    write_looker_ini(ini, "source", source)
    write_looker_ini(ini, "target", target)
    return (looker_sdk.init40(config_file=str(ini), section="source"),
            looker_sdk.init40(config_file=str(ini), section="target"))


def _ids(rows: list[Any]) -> set[str]:
    return {str(r["id"] if isinstance(r, dict) else r.id) for r in rows}


def _plain(text: str) -> bool:
    """No LIKE wildcard in it: a search for it matches it alone (case aside)."""
    return "%" not in text and "_" not in text


# -- what differs and what is shared ---------------------------------------------------------


def test_instances_share_lookml_and_differ_in_everything_else(two_instances: Pair,
                                                              sdks: tuple[Any, Any]) -> None:
    source, target = two_instances
    src, dst = sdks
    # The same deployed LookML: models, explores (fields included), LookML dashboards.
    assert [x.name for x in src.all_lookml_models()] == [x.name for x in dst.all_lookml_models()]
    for model in source.objects("lookml_models"):
        for explore in source.objects("lookml_models")[model]["explores"]:
            a = src.lookml_model_explore(model, explore["name"], fields="fields")
            b = dst.lookml_model_explore(model, explore["name"], fields="fields")
            assert a == b
    assert ({k for k in source.objects("dashboards") if "::" in k}
            == {k for k in target.objects("dashboards") if "::" in k})

    # Unrelated objects at the same ids.
    a, b = src.dashboard("1"), dst.dashboard("1")
    assert a.title != b.title and a.slug != b.slug
    assert src.look("1").title != dst.look("1").title

    # Users: the same person at another id, and people only one instance has.
    src_users = {u.email: u.id for u in src.all_users(fields="id,email")}
    dst_users = {u.email: u.id for u in dst.all_users(fields="id,email")}
    both = {e for e in src_users.keys() & dst_users.keys() if src_users[e] != dst_users[e]}
    assert len(both) >= 3
    assert dst_users.keys() - src_users.keys() and src_users.keys() - dst_users.keys()
    for email in sorted(both):
        found = dst.search_users(email=email, fields="id,email,personal_folder_id")
        assert [u.id for u in found] == [dst_users[email]]
        # Their personal folders are named alike: a personal folder's path is its owner's
        # (users beyond the generated folder budget have none).
        mine, theirs = found[0].personal_folder_id, src.user(src_users[email]).personal_folder_id
        if mine and theirs:
            assert dst.folder(mine).name == src.folder(theirs).name

    # Top-level Shared folders: overlapping names, other ids, other content.
    def tops(sdk: Any) -> dict[str, str]:
        root = sdk.search_folders(is_shared_root=True)
        assert len(root) == 1
        return {f.name: f.id for f in sdk.search_folders(parent_id=root[0].id)}

    src_tops, dst_tops = tops(src), tops(dst)
    common = src_tops.keys() & dst_tops.keys()
    assert common and dst_tops.keys() - src_tops.keys()
    assert any(src_tops[n] != dst_tops[n] for n in common)

    # Group names: some shared ("All Users" and others), some not.
    src_groups = {g.name for g in src.all_groups()}
    dst_groups = {g.name for g in dst.all_groups()}
    assert len(src_groups & dst_groups) >= 2 and dst_groups - src_groups


def test_bare_target(bare_target_instances: Pair) -> None:
    source, target = bare_target_instances
    http = Http(target)
    assert http.get("/dashboards/search") == [] and http.get("/looks") == []
    assert http.get("/boards") == [] and http.get("/scheduled_plans", all_users="true") == []
    folders = http.get("/folders", fields="id,name,parent_id,is_personal")
    assert {f["name"] for f in folders if f["parent_id"] is None} == {
        "Shared", "Users", "LookML Dashboards"}
    assert all(f["is_personal"] for f in folders if f["parent_id"] == "2")
    assert len(http.get("/users")) == 4
    assert http.get("/lookml_models", fields="name") == [
        {"name": n} for n in source.objects("lookml_models")]


def test_info_names_the_instance(two_instances: Pair) -> None:
    source, target = two_instances
    for emu, n in ((source, 0), (target, 1)):
        with urllib.request.urlopen(emu.url + "/_emulator/info", timeout=10) as resp:
            assert json.loads(resp.read())["instance"] == n


# -- searches a migration resolves natural keys with ----------------------------------------


def test_searches_filter_exactly(two_instances: Pair) -> None:
    _, target = two_instances
    http = Http(target)
    folders = target.objects("folders")
    assert _ids(http.get("/folders/search", is_shared_root="true")) == {"1"}
    assert _ids(http.get("/folders/search", is_users_root="true")) == {"2"}
    personal = {k for k, f in folders.items() if f["parent_id"] == "2"}
    assert _ids(http.get("/folders/search", parent_id="2")) == personal
    name = next(f["name"] for f in folders.values() if f["parent_id"] == "1" and _plain(f["name"]))
    want = {k for k, f in folders.items() if f["name"].casefold() == name.casefold()}
    assert _ids(http.get("/folders/search", name=name)) == want
    assert _ids(http.get("/folders/search", name=name.upper())) == want  # case-insensitive
    assert _ids(http.get("/folders/search", name=name, parent_id="1")) == {
        k for k in want if folders[k]["parent_id"] == "1"}

    dashboards = {k: d for k, d in target.objects("dashboards").items() if "::" not in k}
    live = {k: d for k, d in dashboards.items() if not d["deleted"]}
    key, dash = next((k, d) for k, d in live.items() if _plain(d["title"]))
    assert _ids(http.get("/dashboards/search", title=dash["title"],
                         folder_id=dash["folder_id"])) == {key}
    assert _ids(http.get("/dashboards/search", slug=dash["slug"])) == {key}
    assert _ids(http.get("/dashboards/search", folder_id=dash["folder_id"])) == {
        k for k, d in live.items() if d["folder_id"] == dash["folder_id"]}
    trashed = {k for k, d in dashboards.items() if d["deleted"]}
    assert trashed and _ids(http.get("/dashboards/search", deleted="true")) == trashed
    gone = sorted(trashed)[0]
    # A trashed dashboard's slug: found only when the trash is searched.
    assert http.get("/dashboards/search", slug=dashboards[gone]["slug"]) == []
    assert _ids(http.get("/dashboards/search", slug=dashboards[gone]["slug"],
                         deleted="true")) == {gone}

    looks = target.objects("looks")
    key, look = next((k, x) for k, x in looks.items() if not x["deleted"] and _plain(x["title"]))
    assert _ids(http.get("/looks/search", title=look["title"], folder_id=look["folder_id"])) == {
        key}
    assert _ids(http.get("/looks/search", deleted="true")) == {
        k for k, x in looks.items() if x["deleted"]}

    users = target.objects("users")
    uid, user = sorted(users.items())[3]
    assert _ids(http.get("/users/search", email=user["email"])) == {uid}
    assert _ids(http.get("/users/search", email=user["email"].upper())) == {uid}
    assert http.get("/users/search", email="nobody@example.com") == []

    groups = target.objects("groups")
    for gid, group in groups.items():
        want = {k for k, g in groups.items() if g["name"].casefold() == group["name"].casefold()}
        if _plain(group["name"]):
            assert _ids(http.get("/groups/search", name=group["name"])) == want == {gid}

    boards = target.objects("boards")
    _, board = next((k, b) for k, b in boards.items() if _plain(b["title"]))
    assert _ids(http.get("/boards/search", title=board["title"])) == {
        k for k, b in boards.items() if b["title"].casefold() == board["title"].casefold()}


def test_lookml_model_and_explore_by_name(two_instances: Pair) -> None:
    _, target = two_instances
    http = Http(target)
    model = next(iter(target.objects("lookml_models")))
    got = http.get(f"/lookml_models/{model}")
    assert got["name"] == model and got["explores"]
    explore = got["explores"][0]["name"]
    assert http.get(f"/lookml_models/{model}/explores/{explore}")["name"] == explore
    assert http("GET", "/lookml_models/no_such_model")[0] == 404
    assert http("GET", f"/lookml_models/{model}/explores/no_such_explore")[0] == 404


# -- writes a migration makes ----------------------------------------------------------------


def _query_body(query: dict[str, Any]) -> dict[str, Any]:
    keys = ("model", "view", "fields", "pivots", "fill_fields", "filters", "filter_expression",
            "sorts", "limit", "column_limit", "total", "row_total", "subtotals", "vis_config",
            "filter_config", "visible_ui_sections", "dynamic_fields", "query_timezone")
    return {k: query.get(k) for k in keys}


def test_create_query_returns_the_identical_one_and_refuses_missing_lookml(
        two_instances: Pair) -> None:
    source, target = two_instances
    http = Http(target)
    # A look's query from the source: new in the target, then found again, whatever the
    # key order of the body.
    look = next(x for x in source.objects("looks").values() if not x["deleted"])
    body = _query_body(source.api_get(f"/queries/{look['query_id']}"))
    status, first = http("POST", "/queries", body)
    assert status == 200 and first["id"] != look["query_id"]
    status, again = http("POST", "/queries", dict(reversed(body.items())))
    assert status == 200 and again["id"] == first["id"]
    # A query the target's own content already uses comes back as that query.
    own = next(x for x in target.objects("looks").values())
    status, same = http("POST", "/queries", _query_body(target.api_get(
        f"/queries/{own['query_id']}")))
    assert status == 200 and same["id"] == own["query_id"]
    # Any change is another query.
    status, other = http("POST", "/queries", {**body, "limit": "17"})
    assert status == 200 and other["id"] != first["id"]
    # A merge query of the two: the second create returns the first.
    merge = {"source_queries": [
        {"query_id": first["id"], "name": "a", "merge_fields": []},
        {"query_id": other["id"], "name": "b", "merge_fields": [
            {"field_name": body["fields"][0], "source_field_name": body["fields"][0]}]}]}
    status, mq = http("POST", "/merge_queries", merge)
    assert status == 200
    assert http("POST", "/merge_queries", merge)[1]["id"] == mq["id"]
    # A model or explore the target lacks: not found, and nothing is created.
    status, err = http("POST", "/queries", {**body, "model": "no_such_model"})
    assert status == 404 and "no_such_model" in err["message"]
    status, err = http("POST", "/queries", {**body, "view": "no_such_explore"})
    assert status == 404 and "no_such_explore" in err["message"]
    status, after = http("POST", "/queries", {**body, "limit": "18"})
    assert int(after["id"]) == int(other["id"]) + 1  # the refused ones made no query


def test_slug_unique_with_trash_and_title_unique_per_folder(sdks: tuple[Any, Any],
                                                            two_instances: Pair) -> None:
    source, target = two_instances
    _, dst = sdks
    http = Http(target)
    dashboards = {k: d for k, d in target.objects("dashboards").items() if "::" not in k}
    trashed = next(d for d in dashboards.values() if d["deleted"])
    live = next(d for d in dashboards.values() if not d["deleted"])
    folder = live["folder_id"]
    for taken in (live["slug"], trashed["slug"]):  # the trash keeps its slugs
        status, err = http("POST", "/dashboards", {"title": "New", "folder_id": folder,
                                                   "slug": taken})
        assert status == 409 and taken in err["message"]
    # A source slug free in the target is kept.
    slug = source.objects("dashboards")["1"]["slug"]
    assert not any(d["slug"] == slug for d in dashboards.values())
    made = dst.create_dashboard(m.WriteDashboard(title="Migrated", folder_id=folder, slug=slug))
    assert made.slug == slug
    assert [d.id for d in dst.search_dashboards(slug=slug)] == [made.id]
    # Titles: unique among a folder's live dashboards, free elsewhere and against the trash.
    status, err = http("POST", "/dashboards", {"title": live["title"], "folder_id": folder})
    assert status == 422 and err["errors"][0]["code"] == "already_exists"
    other = next(k for k, f in target.objects("folders").items()
                 if k != folder and k not in ("2", "lookml") and f["parent_id"] != "2")
    assert http("POST", "/dashboards", {"title": live["title"], "folder_id": other})[0] == 200
    status, _ = http("POST", "/dashboards", {"title": trashed["title"],
                                             "folder_id": trashed["folder_id"]})
    assert status == 200
    with pytest.raises(SDKError):
        dst.update_dashboard(made.id, m.WriteDashboard(slug=live["slug"]))


def test_content_validation_reports_broken_queries(two_instances: Pair) -> None:
    _, target = two_instances
    http = Http(target)
    clean = http.get("/content_validation")
    assert clean["content_with_errors"] == []
    assert clean["total_looks_validated"] > 0 and clean["total_dashboard_elements_validated"] > 0

    model, explore = next(iter(target.objects("explores"))).split("::")
    folder = http("POST", "/folders", {"name": "Migrated", "parent_id": "1"})[1]["id"]
    # A look whose query names a field the explore lacks (create_query does not check fields).
    q = http("POST", "/queries", {"model": model, "view": explore,
                                  "fields": [f"{explore}.id", f"{explore}.no_such_field"]})[1]
    look = http("POST", "/looks", {"title": "Broken", "folder_id": folder, "query_id": q["id"]})
    assert look[0] == 200
    # A tile whose explore is then removed from the LookML.
    dash = http("POST", "/dashboards", {"title": "Tiles", "folder_id": folder})[1]
    other = next(k for k in target.objects("explores") if k != f"{model}::{explore}")
    om, ov = other.split("::")
    q2 = http("POST", "/queries", {"model": om, "view": ov, "fields": [f"{ov}.id"]})[1]
    el = http("POST", "/dashboard_elements", {"dashboard_id": dash["id"], "type": "vis",
                                              "query_id": q2["id"], "title": "Gone"})[1]
    target.delete("explores", other)

    report = http.get("/content_validation", space_ids=folder)
    by_id = {e["id"]: e for e in report["content_with_errors"]}
    assert set(by_id) == {f"look-{look[1]['id']}", f"element-{el['id']}"}
    look_err = by_id[f"look-{look[1]['id']}"]
    assert look_err["look"]["folder"] == {"name": "Migrated", "id": folder}
    assert [(e["field_name"], e["model_name"], e["explore_name"]) for e in look_err["errors"]] == [
        (f"{explore}.no_such_field", model, explore)]
    tile_err = by_id[f"element-{el['id']}"]
    assert tile_err["dashboard"]["id"] == dash["id"]
    assert tile_err["dashboard_element"]["id"] == el["id"]
    assert tile_err["errors"][0]["explore_name"] == ov
    assert re.search("explore", tile_err["errors"][0]["message"], re.IGNORECASE)
    assert report["total_looks_validated"] == 1
    assert report["total_dashboard_elements_validated"] == 1

    # Outside the folders asked for, and outside the projects asked for: not reported.
    assert http.get("/content_validation", space_ids="1")["content_with_errors"] == []
    project = target.objects("lookml_models")[model]["project_name"]
    others = [p for p in target.objects("projects") if p != project]
    by_project = http.get("/content_validation", project_names=",".join(others))
    assert f"look-{look[1]['id']}" not in {e["id"] for e in by_project["content_with_errors"]}
    assert f"look-{look[1]['id']}" in {e["id"] for e in http.get(
        "/content_validation", project_names=project)["content_with_errors"]}
    # The whole instance: these two, and the target's own content on the removed explore.
    everything = http.get("/content_validation")["content_with_errors"]
    assert set(by_id) <= {e["id"] for e in everything}
    assert {(x["model_name"], x["explore_name"]) for e in everything if e["id"] not in by_id
            for x in e["errors"]} <= {(om, ov)}


@pytest.mark.parametrize("instance", [0, 1])
def test_generated_queries_are_found_by_content_before_and_after_writes(instance: int) -> None:
    """Generated queries (look queries, tile queries, merge sources) stay the same whatever
    was written since, and POST /queries with one's content returns a query with that content
    (the generated one, or one identical to it): the content index, GET /queries/{id} and the
    tiles agree on every instance (instance 1 once rendered its generated content from the
    company seed until the first write, and from its own seed after)."""
    from looker_assets.emulator.store import QUERY_KEYS, query_digest

    emu = LookerEmulator(scale=20, seed=11, instance=instance, base_scale=20)
    store = emu._store

    def tiles() -> dict[str, dict[str, Any]]:
        out = {}
        for key in store.seed_keys("dashboards"):
            for el in (emu.api_get(f"/dashboards/{urllib.parse.quote(key)}") or {}).get(
                    "dashboard_elements") or ():
                if el.get("query"):
                    out[el["id"]] = el["query"]
        return out

    def generated() -> list[dict[str, Any]]:
        queries = []
        for kind in ("looks", "dashboards"):
            for key in store.seed_keys(kind):
                rec = store.seed_record(kind, key)
                assert rec is not None
                if kind == "looks":
                    queries.append(store.renderer.look_query(rec))
                else:
                    queries.extend(store.renderer.seed_children(rec)["queries"].values())
        return queries

    def check() -> None:
        for q in generated():
            assert store.query_dict(q["id"]) == q, q["id"]
            hit = store.query_by_content(query_digest(q))
            assert hit is not None and _query_body(hit) == _query_body(q), q["id"]

    assert set(QUERY_KEYS) <= set(_query_body({}))
    before = tiles()
    assert len(before) >= 10
    # A first create builds the content index; a tile's own query content comes back.
    query = next(iter(before.values()))
    status, hit = emu.api("POST", "/queries", _query_body(query))
    assert status == 200 and _query_body(hit) == _query_body(query), (query["id"], hit["id"])
    check()
    # Any write starts a new generation: generated content must not change with it.
    dash = next(k for k in store.seed_keys("dashboards") if k.isdigit())
    assert emu.api("PATCH", f"/dashboards/{dash}", {"title": "Renamed by a test"})[0] == 200
    assert tiles() == before
    check()
    for query in before.values():
        assert _query_body(emu.api_get(f"/queries/{query['id']}")) == _query_body(query)
        status, hit = emu.api("POST", "/queries", _query_body(query))
        assert status == 200 and _query_body(hit) == _query_body(query), query["id"]
