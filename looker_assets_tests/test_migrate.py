"""Migrate between two emulated instances whose ids, users and content differ (the same
LookML): a folder tree lands equal to the source after ids are replaced by what they point
at; a second run writes nothing; a change at the source updates the same target objects; an
unrelated target object at the same id is never touched; owners by email; model renames and
refusals; dry runs write nothing; an interrupted run finishes without duplicates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
from typer.testing import CliRunner

from looker_assets.assets import IO_MANAGER_KEY
from looker_assets.cli import app
from looker_assets.emulator import Faults, LookerEmulator
from looker_assets.io_manager import LookerContentIOManager
from looker_assets.looker.client import ClientConfig, LookerClient
from looker_assets.migrate import identity
from looker_assets.migrate_job import looker_migrate_job
from looker_assets.restore.fields import query_form
from looker_assets_tests.conftest import (
    serve_instances,
    sync_every_type,
    write_looker_ini,
)

FOLDER = "17"  # "Logistics Executive" of the seed-11 source: tabs, merges, filter tiles, links


def _migrate(s: dict[str, Any], *args: str, code: int = 0) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["migrate", "--target", "prod", "--ini", str(s["ini"]),
                                      "--db", str(s["db"]), "--json", *args])
    out = json.loads(result.stdout) if result.stdout.startswith("{") else {}
    assert result.exit_code == code, json.dumps([
        r for r in out.get("results", []) if r["action"] == "failed" or r["differs"]]) or (
        result.output, result.exception)
    return out


def _writes(emu: LookerEmulator) -> int:
    return sum(n for (method, route), n in emu.stats.by_route.items()
               if method in ("POST", "PATCH", "PUT", "DELETE") and not route.endswith("/login"))


def _state(emu: LookerEmulator) -> str:
    """Everything the target holds that a migration could write."""
    return json.dumps({k: emu.objects(k) for k in (
        "folders", "looks", "dashboards", "scheduled_plans", "alerts")}, sort_keys=True,
        default=str)


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    # A target as big as the source: more of its users share the source's emails.
    instances = serve_instances(target_scale=300)
    source, target = next(instances)
    work = tmp_path_factory.mktemp("migrate")
    db = work / "source.sqlite"
    sync_every_type(source, db)
    ini = write_looker_ini(work / "looker.ini", "prod", target)
    write_looker_ini(ini, "itself", source)
    try:
        yield {"source": source, "target": target, "db": db, "ini": ini, "work": work}
    finally:
        instances.close()


def _own(dash: dict[str, Any]) -> dict[str, Any]:
    """A dashboard's own fields and children, without what it embeds of other objects."""
    return {"fields": {k: v for k, v in dash.items() if not isinstance(v, (dict, list))},
            "children": {k: [{f: v for f, v in c.items() if not isinstance(v, dict)}
                             for c in dash.get(k) or []]
                         for k in ("dashboard_elements", "dashboard_filters",
                                   "dashboard_layouts")}}


def _portable(emu: LookerEmulator, dash: dict[str, Any],
              looks: dict[str, Any] | None = None) -> dict[str, Any]:
    """A dashboard with every instance-local id replaced by what it points at."""
    looks = emu.objects("looks") if looks is None else looks
    merges = {}
    filters = {str(f["id"]): f["name"] for f in dash.get("dashboard_filters") or []}
    tabs = {str(t["id"]): (t.get("label"), t.get("active"))
            for t in dash.get("dashboard_layouts") or []}
    tiles = []
    for el in dash.get("dashboard_elements") or []:
        merge = el.get("merge_result_id")
        if merge:
            body = emu.api_get(f"/merge_queries/{merge}")
            merges = [query_form(emu.api_get(f"/queries/{q['query_id']}"))
                      for q in body.get("source_queries") or []]
        look = looks.get(str(el.get("look_id"))) if el.get("look_id") else None
        listen = [(f.get("listen") or []) for f in (el.get("result_maker") or {}).get(
            "filterables") or []]
        tiles.append(json.dumps({
            "title": el.get("title"), "type": el.get("type"),
            "query": query_form(el.get("query")) if not look and not merge else None,
            "look": (look or {}).get("title"), "merge": merges if merge else None,
            "filter": filters.get(str(el.get("filter_id"))),
            "tab": tabs.get(str(el.get("dashboard_layout_id"))),
            "listen": [[{k: v for k, v in li.items() if k != "id"} for li in lis]
                       for lis in listen]}, sort_keys=True, default=str))
    return {"title": dash.get("title"), "description": dash.get("description"),
            "filters": sorted((f["name"], f.get("title"), f.get("type"), f.get("model"),
                               f.get("explore"), f.get("dimension"),
                               json.dumps(f.get("default_value")))
                              for f in dash.get("dashboard_filters") or []),
            "tabs": sorted((t.get("label") or "", bool(t.get("active")))
                           for t in dash.get("dashboard_layouts") or []),
            "tiles": sorted(tiles)}


def test_a_folder_tree_lands_equal_and_a_second_run_writes_nothing(
        scene: dict[str, Any]) -> None:
    source, target = scene["source"], scene["target"]
    before = _state(target)
    same_id = {k: target.objects("dashboards").get(k) for k in source.objects("dashboards")}

    # The plan, from reads alone: nothing in the target changes.
    writes = _writes(target)
    plan = _migrate(scene, "--folder", FOLDER, "--dry-run")
    assert _writes(target) == writes and _state(target) == before
    assert not plan["written"] and plan["summary"]["create"] > 0
    assert all(r["target_id"] is None for r in plan["results"] if r["action"] == "create")

    done = _migrate(scene, "--folder", FOLDER, "--yes")
    results = {(r["type"], r["id"]): r for r in done["results"]}
    assert done["written"] and done["summary"]["failed"] == 0
    written = [r for r in done["results"] if r["action"] in ("create", "update")]
    assert written and all(r["verified"] for r in written), [
        r for r in written if not r["verified"]]
    # What is refused says why, by name.
    for r in done["results"]:
        if r["action"] == "skipped":
            assert r["error"], r

    migrated = [(i, r["target_id"]) for (t, i), r in results.items()
                if t == "dashboards" and r["action"] == "create"]
    assert len(migrated) >= 5
    features: Counter[str] = Counter()
    source_looks, target_looks = source.objects("looks"), target.objects("looks")
    for old, new in migrated:
        src = source.api_get(f"/dashboards/{old}")
        dst = target.api_get(f"/dashboards/{new}")
        assert _portable(target, dst, target_looks) == _portable(source, src, source_looks), old
        for el in src.get("dashboard_elements") or []:
            features.update(k for k in ("merge_result_id", "look_id", "filter_id")
                            if el.get(k))
            if any(f.get("listen") for f in (el.get("result_maker") or {}).get(
                    "filterables") or []):
                features["listener"] += 1
        features["tabs"] += len(src.get("dashboard_layouts") or []) > 1
    assert all(features[k] for k in ("merge_result_id", "look_id", "filter_id", "listener",
                                     "tabs")), features
    # Its folders hang where the source's did, by path.
    folder = target.objects("folders")[results[("folders", FOLDER)]["target_id"]]
    assert folder["name"] == source.objects("folders")[FOLDER]["name"]
    assert folder["parent_id"] == "1"
    # Schedules and alerts come disabled.
    plans = [target.objects("scheduled_plans")[r["target_id"]] for (t, _), r in
             results.items() if t == "scheduled_plans" and r["action"] == "create"]
    assert plans and not any(p.get("enabled") for p in plans)
    # Owners by email, at the target's ids; a missing owner falls back, reported.
    users = {str(u["id"]): u.get("email") for u in target.objects("users").values()}
    source_users = {str(u["id"]): u.get("email") for u in source.objects("users").values()}
    by_email = 0
    source_dashboards, target_dashboards = source.objects("dashboards"), target.objects(
        "dashboards")
    for old, new in migrated:
        src_owner = source_users.get(str(source_dashboards[old].get("user_id")))
        dst_owner = users.get(str(target_dashboards[new].get("user_id")))
        if src_owner in users.values():
            assert dst_owner == src_owner
            by_email += 1
    assert by_email and done["owner_fallbacks"]
    # Unrelated target objects at the same ids were never written (what they embed of
    # others may change: a folder matched by path gained subfolders).
    for id_, obj in same_id.items():
        if obj is not None and id_ not in {n for _, n in migrated}:
            assert _own(target_dashboards[id_]) == _own(obj), id_

    # Again: everything unchanged, not one write.
    writes, routes = _writes(target), Counter(target.stats.by_route)
    again = _migrate(scene, "--folder", FOLDER, "--yes")
    assert again["summary"]["create"] == again["summary"]["update"] == 0, again["summary"]
    assert _writes(target) == writes
    # The looks and dashboards of a folder are read in one listing of it, not one by one.
    read = Counter(target.stats.by_route) - routes
    content = sum(1 for (t, _), r in results.items()
                  if t in ("looks", "dashboards") and r["action"] == "create")
    by_id = read[("GET", "/api/4.0/looks/{look_id}")] + read[
        ("GET", "/api/4.0/dashboards/{dashboard_id}")]
    listings = read[("GET", "/api/4.0/folders/{folder_id}/looks")] + read[
        ("GET", "/api/4.0/folders/{folder_id}/dashboards")]
    assert listings and by_id + listings < content, (by_id, listings, content)
    # What it cost, by kind, counted by the client the way the emulator saw it.
    assert again["requests"]["requests_write"] == 0
    assert again["requests"]["requests"] == sum(
        again["requests"][f"requests_{k}"] for k in ("list", "detail", "signal", "check",
                                                      "write", "login")) > 0


def test_a_change_at_the_source_updates_the_same_target_objects(
        scene: dict[str, Any]) -> None:
    source, target = scene["source"], scene["target"]
    first = _migrate(scene, "--folder", FOLDER, "--yes")
    pairs = {r["id"]: r["target_id"] for r in first["results"]
             if r["type"] == "dashboards" and r["target_id"]}
    old = next(i for i in pairs if len(source.api_get(f"/dashboards/{i}")[
        "dashboard_elements"]) >= 2 and source.api_get(f"/dashboards/{i}")["dashboard_filters"])
    new = pairs[old]
    api = LookerClient(ClientConfig(base_url=source.url, client_id=source.client_id,
                                    client_secret=source.client_secret, verify_ssl=False))
    dash = api.get_json(f"/dashboards/{old}")
    api.write_json("PATCH", f"/dashboards/{old}", {"title": dash["title"] + " (v2)"})
    gone, kept = dash["dashboard_elements"][0], dash["dashboard_elements"][1:]
    api.write_json("DELETE", f"/dashboard_elements/{gone['id']}")
    api.write_json("POST", "/dashboard_elements", {
        "dashboard_id": old, "type": "text", "title_text": "Added at the source",
        "body_text": "new"})
    flt = dash["dashboard_filters"][0]
    api.write_json("PATCH", f"/dashboard_filters/{flt['id']}", {"default_value": "7 days"})
    api.close()
    sync_every_type(source, scene["db"])
    tiles_before = {el["id"]: el.get("title") for el in target.api_get(
        f"/dashboards/{new}")["dashboard_elements"]}
    count = len(target.objects("dashboards"))

    done = _migrate(scene, "--folder", FOLDER, "--yes")
    row = next(r for r in done["results"] if r["type"] == "dashboards" and r["id"] == old)
    assert (row["action"], row["target_id"], row["verified"]) == ("update", new, True), row
    assert len(target.objects("dashboards")) == count  # no new dashboard
    after = target.api_get(f"/dashboards/{new}")
    assert after["title"] == dash["title"] + " (v2)"
    assert {f["name"]: f["default_value"] for f in after["dashboard_filters"]}[
        flt["name"]] == "7 days"
    # Unchanged tiles kept their ids; the removed one is gone, the added one is there.
    ids_after = {el["id"] for el in after["dashboard_elements"]}
    unchanged = [i for i, title in tiles_before.items()
                 if title in {el.get("title") for el in kept}]
    assert unchanged and set(unchanged) <= ids_after
    assert "Added at the source" in {el.get("title_text") for el in after["dashboard_elements"]}
    assert len(after["dashboard_elements"]) == len(kept) + 1
    assert _portable(target, after) == _portable(source, source.api_get(f"/dashboards/{old}"))


def test_into_the_same_instance_is_refused(scene: dict[str, Any]) -> None:
    result = CliRunner().invoke(app, ["migrate", "--target", "itself", "--ini",
                                      str(scene["ini"]), "--db", str(scene["db"]),
                                      "--folder", FOLDER, "--dry-run"])
    assert result.exit_code == 2 and "looker-assets restore" in result.output
    nowhere = CliRunner().invoke(app, ["migrate", "--target", "prod", "--ini",
                                       str(scene["ini"]), "--db", str(scene["db"]),
                                       "--folder", FOLDER, "--into", "Shared/No such folder",
                                       "--dry-run"])
    assert nowhere.exit_code == 2 and "no folder(s) 'Shared/No such folder'" in " ".join(
        nowhere.output.split()), nowhere.output


@pytest.fixture
def bare(tmp_path: Path) -> Iterator[dict[str, Any]]:
    instances = serve_instances(target_scale=0)
    source, target = next(instances)
    db = tmp_path / "source.sqlite"
    sync_every_type(source, db)
    ini = write_looker_ini(tmp_path / "looker.ini", "prod", target)
    try:
        yield {"source": source, "target": target, "db": db, "ini": ini, "work": tmp_path}
    finally:
        instances.close()


def _models(emu: LookerEmulator, ids: list[str]) -> set[str]:
    found = set()
    for id_ in ids:
        for el in emu.api_get(f"/dashboards/{id_}").get("dashboard_elements") or []:
            if (el.get("query") or {}).get("model"):
                found.add(el["query"]["model"])
    return found


def test_model_renames_and_refusals(bare: dict[str, Any]) -> None:
    source, target = bare["source"], bare["target"]
    used = _models(source, [d for d, obj in source.objects("dashboards").items()
                            if str(obj.get("folder_id")) == FOLDER])
    assert "thelook" in used or "finance" in used, used
    mapping = bare["work"] / "map.toml"
    # thelook -> ecommerce exists in the target; finance -> finance_prod does not. The
    # folder's path maps to the target's Shared root: what it holds lands there.
    folders = source.objects("folders")
    path = f"{folders['1']['name']}/{folders[FOLDER]['name']}"
    mapping.write_text('[models]\nthelook = "ecommerce"\nfinance = "finance_prod"\n'
                       f'[folders]\n{json.dumps(path)} = "Shared"\n')
    target_folders = len(target.objects("folders"))
    in_folder = sorted(d for d, o in source.objects("dashboards").items()
                       if str(o.get("folder_id")) == FOLDER)
    # Deleted at the source since the first sync: gone from the backup's present, so never
    # migrated (the store keeps it, as history).
    gone = in_folder[0]
    source.delete("dashboards", gone)
    # LookML that differs: the target lacks a field one migrated look uses (the migration's
    # error) and one another uses, which the source lacks too (the content's own error).
    def joined(emu: LookerEmulator, explore: str) -> set[str]:
        return {j["name"] for j in emu.objects("explores")[explore].get("joins") or []}

    looks: dict[str, dict[str, Any]] = {}
    for i, look in sorted(source.objects("looks").items(), key=lambda kv: int(kv[0])):
        if look.get("folder_id") != FOLDER or look.get("deleted"):
            continue  # (the validator leaves the trash out)
        query = source.api_get(f"/looks/{i}")["query"]
        view = query["view"]
        if query["model"] == "thelook" and view not in {q["view"] for q in looks.values()} \
                and view not in joined(target, f"ecommerce::{view}") | joined(
                    source, f"thelook::{view}"):
            looks[i] = query  # (a field of a joined view passes the emulator's validator)
    (new_look, new_q), (own_look, own_q) = list(looks.items())[:2]
    target.drop_field(f"ecommerce::{new_q['view']}", new_q["fields"][-1])
    target.drop_field(f"ecommerce::{own_q['view']}", own_q["fields"][-1])
    source.drop_field(f"thelook::{own_q['view']}", own_q["fields"][-1])
    sync_every_type(source, bare["db"])
    before = _state(target)
    done = _migrate(bare, "--folder", FOLDER, "--map", str(mapping), "--yes")
    made = {r["id"]: r["target_id"] for r in done["results"] if r["type"] == "looks"}
    for found, look, query in ((done["content_validation"], new_look, new_q),
                               (done["content_validation_at_source"], own_look, own_q)):
        assert any(v["type"] == "looks" and v["target_id"] == made[look]
                   and v["field"] == query["fields"][-1] for v in found), (look, found)
    assert not any(v["target_id"] == made[own_look] for v in done["content_validation"])
    refused = [r for r in done["results"] if r["action"] == "skipped"
               and "finance_prod" in (r["error"] or "")]
    written = [r for r in done["results"] if r["type"] == "dashboards"
               and r["action"] == "create"]
    if "finance" in used:
        assert refused
        for r in refused:  # refused objects are not written at all
            assert r["target_id"] is None
    assert written and _state(target) != before
    models = _models(target, [r["target_id"] for r in written])
    assert "thelook" not in models and "finance_prod" not in models
    if "thelook" in used:
        assert "ecommerce" in models
    assert ("dashboards", gone) not in {(r["type"], r["id"]) for r in done["results"]}
    row = next(r for r in done["results"] if r["type"] == "folders" and r["id"] == FOLDER)
    assert (row["action"], row["target_id"], row["matched_by"]) == (
        "unchanged", "1", "folder path"), row
    source_dashboards, target_dashboards = source.objects("dashboards"), target.objects(
        "dashboards")
    in_root = [r for r in written if str(source_dashboards[r["id"]]["folder_id"]) == FOLDER]
    assert in_root and all(target_dashboards[r["target_id"]]["folder_id"] == "1"
                           for r in in_root)
    assert len(target.objects("folders")) >= target_folders  # no folder renamed or removed
    assert target.objects("folders")["1"]["name"] == "Shared"


def test_dry_runs_write_nothing_and_an_interrupted_run_finishes_once(
        bare: dict[str, Any], dagster_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = bare["target"]
    before, writes = _state(target), _writes(target)
    config = {"ops": {"migrate_objects": {"config": {
        "target": "prod", "ini": str(bare["ini"]), "folders": [FOLDER]}}}}
    result = looker_migrate_job.execute_in_process(
        run_config=config, resources={IO_MANAGER_KEY: LookerContentIOManager(
            path=str(bare["db"]))}, instance=dg.DagsterInstance.get())
    assert result.success
    assert _writes(target) == writes and _state(target) == before

    # A dashboard whose slug another dashboard of the target holds, in the trash too (it
    # keeps its slug there): refused, said why; whether slugs are searched one by one or,
    # past the first few, all listed at once.
    source = bare["source"]
    creatable = {r["id"] for r in _migrate(bare, "--folder", FOLDER, "--dry-run")["results"]
                 if r["type"] == "dashboards" and r["action"] == "create"}
    slugged = sorted(d for d, o in source.objects("dashboards").items()
                     if str(o.get("folder_id")) == FOLDER and d in creatable)[-2:]
    assert len(slugged) == 2
    slugs = {d: source.objects("dashboards")[d]["slug"] for d in slugged}
    api = LookerClient(ClientConfig(base_url=target.url, client_id=target.client_id,
                                    client_secret=target.client_secret, verify_ssl=False))
    for n, d in enumerate(slugged):
        made = api.write_json("POST", "/dashboards", {"title": f"Someone else's {n}",
                                                      "folder_id": "1", "slug": slugs[d]})
        if n:
            api.write_json("PATCH", f"/dashboards/{made['id']}", {"deleted": True})
    api.close()
    for searches in (identity.SEARCHES, 0):
        monkeypatch.setattr(identity, "SEARCHES", searches)
        planned = _migrate(bare, "--folder", FOLDER, "--dry-run")
        for d in slugged:
            taken = next(r for r in planned["results"] if r["type"] == "dashboards"
                         and r["id"] == d)
            assert taken["action"] == "skipped" and f"slug {slugs[d]} is taken" in \
                taken["error"], (searches, taken)
    monkeypatch.undo()
    writes = _writes(target)

    # Killed while it writes (each create slowed down), then run again.
    target.faults = Faults(latency_ms=150, only_paths=r"^/api/4\.0/(folders|looks|dashboards|"
                           r"dashboard_elements|dashboard_filters)$")
    env = {**os.environ, "LOOKER_ASSETS_DB": str(bare["db"])}
    proc = subprocess.Popen([sys.executable, "-m", "looker_assets.cli", "migrate", "--target",
                             "prod", "--ini", str(bare["ini"]), "--folder", FOLDER, "--yes",
                             "--json"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while _writes(target) < writes + 8 and proc.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "finished before it could be killed"
    finally:
        proc.kill()
        proc.wait()
    target.faults = Faults()
    done = _migrate(bare, "--folder", FOLDER, "--yes")
    assert done["summary"]["failed"] == 0
    assert all(r["verified"] for r in done["results"] if r["action"] in ("create", "update"))
    titles = Counter((d.get("folder_id"), d.get("title"))
                     for d in target.objects("dashboards").values())
    assert max(titles.values()) == 1, titles  # no duplicate
    names = Counter((f.get("parent_id"), f.get("name")) for f in target.objects(
        "folders").values())
    assert max(names.values()) == 1, names


def test_a_pulled_snapshot_restores_and_migrates(bare: dict[str, Any]) -> None:
    """The backup survives its machine: pulled from a snapshot into a new file, it plans the
    same migration and a restore against the source."""
    runner, work = CliRunner(), bare["work"]
    bucket, pulled = work / "bucket", work / "pulled.sqlite"
    bucket.mkdir()
    pushed = runner.invoke(app, ["snapshot", "push", str(bucket), "--db", str(bare["db"])])
    assert pushed.exit_code == 0, pushed.output
    got = runner.invoke(app, ["snapshot", "pull", str(bucket), "latest", "--db", str(pulled)])
    assert got.exit_code == 0, got.output
    original = _migrate(bare, "--folder", FOLDER, "--dry-run")
    from_snapshot = _migrate({**bare, "db": pulled}, "--folder", FOLDER, "--dry-run")
    assert from_snapshot["summary"] == original["summary"] and original["summary"]["create"]
    source = bare["source"]
    dashboard = next(i for i, d in source.objects("dashboards").items()
                     if str(d.get("folder_id")) == FOLDER)
    restored = runner.invoke(app, ["restore", "dashboards", dashboard, "--dry-run", "--json",
                                   "--db", str(pulled)],
                             env={**source.looker_env(), "LOOKERSDK_VERIFY_SSL": "false"})
    assert restored.exit_code == 0, restored.output
    assert [r["action"] for r in json.loads(restored.stdout)["results"]
            if r["type"] == "dashboards"] == ["unchanged"]


def test_a_board_by_id_brings_what_it_shows_and_a_second_run_writes_nothing(
        bare: dict[str, Any]) -> None:
    source, target = bare["source"], bare["target"]
    # Of the seed-11 source: board 5 shows a look and two dashboards of shared folders; board
    # 3 also a dashboard of a personal folder whose owner the bare target lacks.
    board_id, refused_id = "5", "3"
    shown = [(i.get("dashboard_id"), i.get("look_id")) for s in source.api_get(
        f"/boards/{board_id}")["board_sections"] for i in s["board_items"]]
    done = _migrate(bare, "boards", board_id, refused_id, "--yes")
    results = {(r["type"], r["id"]): r for r in done["results"]}
    row = results[("boards", board_id)]
    assert (row["action"], row["verified"]) == ("create", True), row
    board = target.api_get(f"/boards/{row['target_id']}")
    assert board["title"] == source.objects("boards")[board_id]["title"]
    # Each item shows the target's copy of what the source's showed (made in the folder of
    # the same path).
    landed = [(i.get("dashboard_id"), i.get("look_id")) for s in board["board_sections"]
              for i in s["board_items"]]
    assert len(landed) == len(shown) == 3
    for (src_dash, src_look), (dst_dash, dst_look) in zip(shown, landed, strict=True):
        type_, src, dst = ("dashboards", src_dash, dst_dash) if src_dash else (
            "looks", src_look, dst_look)
        assert dst == results[(type_, str(src))]["target_id"]
        assert target.objects(type_)[dst]["title"] == source.objects(type_)[str(src)]["title"]
    # No half-built board: the one that needs what cannot be written is not written, and says
    # what it needs.
    refused = results[("boards", refused_id)]
    assert refused["action"] == "skipped" and refused["target_id"] is None
    assert "needs" in refused["error"], refused
    assert len(target.objects("boards")) == 1
    writes = _writes(target)
    again = _migrate(bare, "boards", board_id, refused_id, "--yes")
    assert again["summary"]["create"] == again["summary"]["update"] == 0, again["summary"]
    assert _writes(target) == writes


def test_into_a_path_with_schedules_enabled_and_an_owner_fallback(
        bare: dict[str, Any]) -> None:
    source, target = bare["source"], bare["target"]
    api = LookerClient(ClientConfig(base_url=target.url, client_id=target.client_id,
                                    client_secret=target.client_secret, verify_ssl=False))
    promoted = api.write_json("POST", "/folders", {"name": "Promoted", "parent_id": "1"})
    api.close()
    fallback = next(u for u in target.objects("users").values() if u.get("email"))
    done = _migrate(bare, "--folder", FOLDER, "--into", "Shared/Promoted", "--enable-schedules",
                    "--owner-fallback", fallback["email"], "--yes")
    results = {(r["type"], r["id"]): r for r in done["results"]}
    # The folder lands under the target's Shared/Promoted, with its name.
    root = target.objects("folders")[results[("folders", FOLDER)]["target_id"]]
    assert (root["parent_id"], root["name"]) == (
        str(promoted["id"]), source.objects("folders")[FOLDER]["name"])
    # Owners the target lacks: the fallback user, each one reported.
    assert done["owner_fallbacks"] and all(fallback["email"] in note
                                           for note in done["owner_fallbacks"])
    source_users = {str(u["id"]): u.get("email") for u in source.objects("users").values()}
    target_emails = {u.get("email") for u in target.objects("users").values()}
    fell_back = 0
    for (type_, id_), r in results.items():
        if type_ == "dashboards" and r["action"] == "create":
            owner = source_users.get(str(source.objects("dashboards")[id_].get("user_id")))
            if owner not in target_emails:
                assert target.objects("dashboards")[r["target_id"]]["user_id"] == str(
                    fallback["id"])
                fell_back += 1
    assert fell_back
    # --enable-schedules: what was enabled at the source is enabled in the target.
    plans = [(source.objects("scheduled_plans")[i], target.objects("scheduled_plans")[
        r["target_id"]]) for (t, i), r in results.items()
        if t == "scheduled_plans" and r["action"] == "create"]
    assert any(src.get("enabled") for src, _ in plans), plans
    assert all(bool(dst.get("enabled")) == bool(src.get("enabled")) for src, dst in plans)


def test_connections_are_made_with_their_secret_and_the_targets_are_never_changed(
        bare: dict[str, Any]) -> None:
    source, target = bare["source"], bare["target"]
    missing, present = sorted(source.objects("connections"))[:2]
    api = LookerClient(ClientConfig(base_url=target.url, client_id=target.client_id,
                                    client_secret=target.client_secret, verify_ssl=False))
    api.write_json("DELETE", f"/connections/{missing}")
    # The target's connection of that name is its own database: never overwritten.
    api.write_json("PATCH", f"/connections/{present}", {"host": "prod-db.example.com"})
    api.close()
    # Without its password, the missing one is refused, by name, and nothing is written.
    writes = _writes(target)
    refused = _migrate(bare, "connections", missing, present, "--yes")
    rows = {r["id"]: r for r in refused["results"]}
    assert rows[missing]["action"] == "skipped" and "--connection-secret" in rows[missing]["error"]
    assert rows[present]["action"] == "unchanged" and "left as it is" in rows[present]["note"], \
        rows[present]
    assert _writes(target) == writes and missing not in target.objects("connections")
    # With it: made, its password from the environment and nowhere in the output or store.
    secret = "m1grate-Pa55word-for-tests"
    os.environ["WAREHOUSE_PASSWORD"] = secret
    try:
        done = _migrate(bare, "connections", missing, present, "--yes",
                        "--connection-secret", f"{missing}=WAREHOUSE_PASSWORD")
    finally:
        del os.environ["WAREHOUSE_PASSWORD"]
    rows = {r["id"]: r for r in done["results"]}
    assert (rows[missing]["action"], rows[missing]["verified"]) == ("create", True), rows
    assert target.objects("connections")[missing]["has_password"] is True
    assert target.objects("connections")[present]["host"] == "prod-db.example.com"
    assert secret not in json.dumps(done)
    for part in bare["db"].parent.glob(bare["db"].name + "*"):
        assert secret.encode() not in part.read_bytes(), part
