"""The restore's safety rules, each through a real entry point (the CLI, the engine, Dagster's
job) against the emulator over HTTP:
- a create whose answer is lost is found, never sent twice;
- a killed restore, re-run, finishes without duplicates and takes up the same run;
- a refused object (a 422) is recorded with Looker's error and the rest goes on, exit 1;
- built-ins, LookML dashboards and git-defined types are never written, and say why;
- a connection is created only with its password from a named environment variable, which
  never reaches the output or the store;
- scheduled plans come back disabled unless the operator asks;
- looker_restore_job is a dry run by default and keeps the results in the run's metadata;
- the restore's records work the same on PostgreSQL.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from looker_assets.assets import CONTENT_ASSETS, IO_MANAGER_KEY
from looker_assets.emulator import Faults, LookerEmulator
from looker_assets.io_manager import LookerContentIOManager
from looker_assets.looker.client import ClientConfig, LookerClient
from looker_assets.restore import engine
from looker_assets.restore.engine import Request, Restore
from looker_assets.storage import codec
from looker_assets.storage.store import ContentStore
from looker_assets_tests.conftest import (
    PARTITION,
    REPO,
    looker_resource,
    restore_env,
    run_restore,
    write_requests,
)

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
TYPES = frozenset({"dashboards", "looks", "folders", "users", "roles", "permission_sets",
                   "model_sets", "connections", "scheduled_plans", "explores", "lookml_models",
                   "themes", "color_collections"})


def _sync(emu: LookerEmulator, location: str, types: frozenset[str] = TYPES) -> str:
    result = dg.materialize(
        [a for a in CONTENT_ASSETS if a.key.path[-1] in types], partition_key=PARTITION,
        resources={"looker": looker_resource(emu, max_concurrency=4),
                   IO_MANAGER_KEY: LookerContentIOManager(path=location)}, run_config=QUIET)
    assert result.success
    return codec.now_utc()


def _client(emu: LookerEmulator) -> LookerClient:
    return LookerClient(ClientConfig(base_url=emu.url, client_id=emu.client_id,
                                     client_secret=emu.client_secret, verify_ssl=False))


def _by_key(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["type"], r["id"]): r for r in doc["results"]}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[LookerEmulator, str, LookerClient]]:
    emu = LookerEmulator(scale=300, seed=11, faults=Faults()).start("127.0.0.1", 0)
    try:
        yield emu, str(tmp_path / "backup.sqlite"), _client(emu)
    finally:
        emu.stop()


def _user_looks(emu: LookerEmulator) -> list[str]:
    return [k for k, lk in emu.objects("looks").items() if not lk.get("deleted")
            and lk.get("user_id")]


def _by_folder(emu: LookerEmulator, kind: str, ids: list[str]) -> dict[str, list[str]]:
    """Folder id -> the given objects of `kind` in it."""
    objects, out = emu.objects(kind), {}
    for k in ids:
        out.setdefault(str(objects[k]["folder_id"]), []).append(k)
    return out


def test_a_create_whose_answer_is_lost_is_found_not_sent_again(world: Any) -> None:
    emu, db, api = world
    at = _sync(emu, db)
    # Three looks of one folder: the plan reads the folder's looks in one listing, taken
    # before the creates, which must not answer the search for a create that landed.
    by_folder = _by_folder(emu, "looks", _user_looks(emu))
    look_ids = max(by_folder.values(), key=len)[:3]
    looks = {k: api.get_json(f"/looks/{k}") for k in look_ids}
    for k in look_ids:
        api.write_json("DELETE", f"/looks/{k}")
    emu.faults = Faults(lost_response_every=1, only_paths=r"/looks$")
    emu.reset_stats()
    doc = run_restore(emu, db, "looks", *look_ids, "--at", at, "--yes")
    emu.faults = Faults()
    # One POST each: it landed, its answer was lost, and the restore found it instead of
    # resending.
    assert emu.stats.route("POST", "/looks") == len(look_ids)
    for k, look in looks.items():
        result = _by_key(doc)[("looks", k)]
        assert result["action"] == "create" and result["verified"], result
        same = [i for i, lk in emu.objects("looks").items() if lk["title"] == look["title"]
                and lk.get("folder_id") == look.get("folder_id")]
        assert same == [result["new_id"]]


def test_a_killed_restore_resumes_without_duplicates(world: Any) -> None:
    emu, db, api = world
    at = _sync(emu, db)
    looks = _user_looks(emu)[:12]
    # A look is its title in its folder (two looks may share a title in different folders).
    titles = {k: (lk["title"], lk.get("folder_id"))
              for k in looks for lk in [api.get_json(f"/looks/{k}")]}
    for k in looks:
        api.write_json("DELETE", f"/looks/{k}")
    emu.faults = Faults(latency_ms=150)
    cmd = [sys.executable, "-c", "from looker_assets.cli import main; main()", "restore",
           "looks", *looks, "--at", at, "--yes", "--max-concurrency", "1", "--json"]
    proc = subprocess.Popen(cmd, cwd=REPO, env={**os.environ, **restore_env(emu, db)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while emu.stats.route("POST", "/looks") < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert proc.poll() is None, "the restore finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    # A request in flight when the process died is still carried out by the server (after
    # its latency): the operator's re-run comes later than that.
    time.sleep(0.5)
    emu.faults = Faults()
    made_before = emu.stats.route("POST", "/looks")
    assert 3 <= made_before < len(looks)
    with ContentStore(db) as store:
        runs = store.db.execute("SELECT run_id, status FROM restore_runs").fetchall()
        mapped_before = store.db.execute("SELECT count(*) FROM restore_id_map WHERE "
                                         "content_type = 'looks'").fetchone()[0]
    assert [status for _, status in runs] == ["running"]
    assert mapped_before >= made_before - 1  # each create's id is kept the moment it answers
    doc = run_restore(emu, db, "looks", *looks, "--at", at, "--yes")
    assert all(r["action"] != "failed" and r["verified"] for r in doc["results"]), \
        [r for r in doc["results"] if r["action"] == "failed" or not r["verified"]]
    for k, title in titles.items():
        assert sum(1 for lk in emu.objects("looks").values()
                   if (lk["title"], lk.get("folder_id")) == title) == 1, k
    with ContentStore(db) as store:
        after = store.db.execute("SELECT run_id, status FROM restore_runs").fetchall()
    assert after == [(runs[0][0], "complete")]  # the killed run was taken up, not a new one


def test_a_refused_object_is_recorded_and_the_rest_goes_on(world: Any) -> None:
    emu, db, api = world
    at = _sync(emu, db)
    dashboards = [k for k, d in emu.objects("dashboards").items() if "::" not in k
                  and not d.get("deleted")]
    taken, other = dashboards[0], dashboards[1]
    dash = api.get_json(f"/dashboards/{taken}")
    api.write_json("DELETE", f"/dashboards/{taken}")
    api.write_json("PATCH", f"/dashboards/{other}", {"title": "renamed"})
    # Someone made another dashboard with the same title in the same folder meanwhile.
    api.write_json("POST", "/dashboards", {"title": dash["title"],
                                           "folder_id": dash["folder_id"]})
    doc = run_restore(emu, db, "dashboards", taken, other, "--at", at, "--yes", code=1)
    results = _by_key(doc)
    assert results[("dashboards", taken)]["action"] == "failed"
    assert "already_exists" in results[("dashboards", taken)]["error"]
    assert "422" in results[("dashboards", taken)]["error"]
    assert results[("dashboards", other)]["action"] == "update"
    assert results[("dashboards", other)]["verified"]
    assert api.get_json(f"/dashboards/{other}")["title"] != "renamed"
    with ContentStore(db) as store:
        rows = dict(store.db.execute(
            "SELECT id, status FROM restore_items WHERE content_type = 'dashboards'"))
    assert rows == {taken: "failed", other: "done"}


def test_what_is_never_written_says_why(world: Any) -> None:
    emu, db, _api = world
    at = _sync(emu, db)
    lookml = next(k for k in emu.objects("dashboards") if "::" in k)
    admin = next(k for k, r in emu.objects("roles").items() if r["name"] == "Admin")
    builtin = next(k for k, s in emu.objects("permission_sets").items() if s.get("built_in"))
    explore = next(iter(emu.objects("explores")))
    emu.reset_stats()
    doc = run_restore(emu, db, "dashboards", lookml, "--at", at, "--yes")
    doc["results"] += run_restore(emu, db, "roles", admin, "--yes")["results"]
    doc["results"] += run_restore(emu, db, "permission_sets", builtin, "--yes")["results"]
    doc["results"] += run_restore(emu, db, "explores", explore, "--yes")["results"]
    assert write_requests(emu) == 0
    why = {r["type"]: (r["action"], r["error"] or "") for r in doc["results"]}
    assert why["roles"][0] == "skipped" and "built-in" in why["roles"][1]
    assert why["permission_sets"][0] == "skipped" and "built-in" in why["permission_sets"][1]
    assert why["explores"][0] == "skipped" and "LookML" in why["explores"][1]
    assert why["dashboards"][0] == "skipped" and "git" in why["dashboards"][1]


def test_a_connection_needs_its_password_from_the_environment(world: Any) -> None:
    emu, db, api = world
    at = _sync(emu, db)
    name = next(iter(emu.objects("connections")))
    api.write_json("DELETE", f"/connections/{name}")
    doc = run_restore(emu, db, "connections", name, "--at", at, "--yes")
    result = _by_key(doc)[("connections", name)]
    assert result["action"] == "skipped"
    assert "--connection-secret" in result["error"]
    assert name not in emu.objects("connections")
    secret = "s3cr3t-Pa55word-for-tests"
    doc = run_restore(emu, db, "connections", name, "--at", at, "--yes", "--connection-secret",
               f"{name}=WAREHOUSE_PASSWORD", extra_env={"WAREHOUSE_PASSWORD": secret})
    result = _by_key(doc)[("connections", name)]
    assert result["action"] == "create" and result["verified"], result
    assert emu.objects("connections")[name]["has_password"] is True
    assert secret not in json.dumps(doc)
    for part in Path(db).parent.glob(Path(db).name + "*"):  # the file, its -wal and -shm
        assert secret.encode() not in part.read_bytes(), part


def test_scheduled_plans_come_back_disabled_unless_asked(world: Any) -> None:
    emu, db, api = world
    at = _sync(emu, db)
    plan_id = next(k for k, p in emu.objects("scheduled_plans").items() if p.get("enabled"))
    plan = api.get_json(f"/scheduled_plans/{plan_id}")
    api.write_json("DELETE", f"/scheduled_plans/{plan_id}")
    doc = run_restore(emu, db, "scheduled_plans", plan_id, "--at", at, "--yes")
    first = _by_key(doc)[("scheduled_plans", plan_id)]
    assert first["action"] == "create" and first["verified"], first
    made = api.get_json(f"/scheduled_plans/{first['new_id']}")
    assert made["enabled"] is False and made["name"] == plan["name"]
    doc = run_restore(emu, db, "scheduled_plans", plan_id, "--at", at, "--yes",
                      "--enable-schedules")
    again = _by_key(doc)[("scheduled_plans", plan_id)]
    assert again["new_id"] == first["new_id"] and again["action"] == "update"
    assert api.get_json(f"/scheduled_plans/{first['new_id']}")["enabled"] is True


def test_restore_job_is_a_dry_run_by_default_and_keeps_an_audit_trail(world: Any) -> None:
    from looker_assets.restore_job import looker_restore_job

    emu, db, api = world
    _sync(emu, db)
    dash = next(k for k, d in emu.objects("dashboards").items() if "::" not in k
                and not d.get("deleted"))
    api.write_json("PATCH", f"/dashboards/{dash}", {"deleted": True})
    resources = {"looker": looker_resource(emu),
                 IO_MANAGER_KEY: LookerContentIOManager(path=db)}
    config = {"ops": {"restore_objects": {"config": {"type": "dashboards", "ids": [dash]}}}}
    emu.reset_stats()
    result = looker_restore_job.execute_in_process(run_config=config, resources=resources)
    assert result.success and write_requests(emu) == 0
    assert api.get_json(f"/dashboards/{dash}")["deleted"] is True

    config["ops"]["restore_objects"]["config"]["dry_run"] = False
    result = looker_restore_job.execute_in_process(run_config=config, resources=resources)
    assert result.success
    assert api.get_json(f"/dashboards/{dash}")["deleted"] is False
    [event] = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    metadata = event.event_specific_data.metadata
    assert metadata["undelete"].value == 1
    [row] = metadata["results"].value
    assert (row["type"], row["id"], row["action"], row["verified"]) == \
        ("dashboards", dash, "undelete", True)


def test_the_restore_records_work_on_postgresql(postgres: Any) -> None:
    location = postgres.create_database("restore_records")
    emu = LookerEmulator(scale=200, seed=5).start("127.0.0.1", 0)
    try:
        at = _sync(emu, location)
        api = _client(emu)
        look_id = _user_looks(emu)[0]
        api.write_json("DELETE", f"/looks/{look_id}")
        with ContentStore(location) as store:
            targets = Restore(store, api, Request([("looks", look_id)], at=at)).run()
            again = Restore(store, api, Request([("looks", look_id)], at=at)).run()
            mapped = store.db.execute("SELECT new_id FROM restore_id_map").fetchall()
        [made] = targets
        assert made.status == "done" and not made.differs
        assert [t.action for t in again] == ["unchanged"]
        assert mapped == [(made.live_id,)]
    finally:
        emu.stop()


# What a restore writes of each plain kind, as the test sees it (ids and Looker's own fields
# left out).
PLAIN = {"themes": ("name", "settings", "begin_at", "end_at"),
         "color_collections": ("label", "categoricalPalettes", "sequentialPalettes",
                               "divergingPalettes"),
         "lookml_models": ("name", "project_name", "allowed_db_connection_names",
                           "unlimited_db_connections"),
         "permission_sets": ("name", "permissions"), "model_sets": ("name", "models")}


def test_themes_colours_models_and_sets_come_back(world: Any) -> None:
    emu, db, api = world
    # Small instances have only built-in permission sets: an admin's own one.
    api.write_json("POST", "/permission_sets", {"name": "Auditors",
                                                "permissions": ["see_looks", "see_users"]})
    at = _sync(emu, db)
    chosen = {kind: next(k for k, o in emu.objects(kind).items() if not o.get("built_in"))
              for kind in PLAIN}
    before = {kind: emu.objects(kind)[key] for kind, key in chosen.items()}
    for kind, key in chosen.items():
        api.write_json("DELETE", f"/{kind}/{key}")
    emu.reset_stats()
    for kind, key in chosen.items():
        [result] = run_restore(emu, db, kind, key, "--at", at, "--yes")["results"]
        assert result["action"] == "create" and result["verified"], result
        now = emu.objects(kind)[result["new_id"]]
        for field in PLAIN[kind]:
            assert now.get(field) == before[kind].get(field), (kind, field)
    # Models and connections keep their names (the name is their id).
    assert run_restore(emu, db, "lookml_models", chosen["lookml_models"], "--at", at,
                "--yes")["results"][0]["new_id"] == chosen["lookml_models"]


def test_rate_limited_writes_are_retried_without_duplicates(world: Any) -> None:
    emu, db, api = world
    at = _sync(emu, db)
    looks = _user_looks(emu)[:8]
    keys = {k: (lk["title"], lk.get("folder_id")) for k in looks
            for lk in [api.get_json(f"/looks/{k}")]}
    for k in looks:
        api.write_json("DELETE", f"/looks/{k}")
    emu.faults = Faults(rate_limit_every=3, retry_after_s=0)
    emu.reset_stats()
    try:
        doc = run_restore(emu, db, "looks", *looks, "--at", at, "--yes")
    finally:
        emu.faults = Faults()
    assert emu.stats.by_status.get(429, 0) > 0
    assert all(r["action"] == "create" and r["verified"] for r in doc["results"]), doc
    for k, key in keys.items():
        assert sum(1 for lk in emu.objects("looks").values()
                   if (lk["title"], lk.get("folder_id")) == key) == 1, k


def test_a_reference_neither_live_nor_backed_up_is_named(world: Any) -> None:
    emu, db, api = world
    at = _sync(emu, db, frozenset({"looks", "users"}))  # a backup without folders
    folders = emu.objects("folders")
    look_id = next(k for k in _user_looks(emu)
                   if not any(folders[emu.objects("looks")[k]["folder_id"]].get(flag)
                              for flag in ("is_shared_root", "is_users_root", "is_personal",
                                           "is_embed_shared_root", "is_embed_users_root")))
    folder = emu.objects("looks")[look_id]["folder_id"]
    api.write_json("DELETE", f"/folders/{folder}")  # takes the look with it
    assert look_id not in emu.objects("looks")
    doc = run_restore(emu, db, "looks", look_id, "--at", at, "--yes")
    [result] = doc["results"]
    # Nothing written: the look cannot go back into a folder that is nowhere.
    assert result["action"] == "skipped"
    assert f"folder_id refers to folders {folder}" in result["error"]
    assert "neither live in Looker nor restored" in result["error"]
    assert look_id not in emu.objects("looks")


def _on_a_terminal(emu: LookerEmulator, db: str, answer: str, *args: str) -> str:
    """The restore command with a terminal as its input, answering its question."""
    import pty

    leader, follower = pty.openpty()
    cmd = [sys.executable, "-c", "from looker_assets.cli import main; main()", "restore", *args]
    proc = subprocess.Popen(cmd, cwd=REPO, env={**os.environ, **restore_env(emu, db)},
                            stdin=follower, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    os.close(follower)
    try:
        os.write(leader, answer.encode() + b"\n")
        out, _ = proc.communicate(timeout=120)
    finally:
        os.close(leader)
    assert proc.returncode == 0, out
    return out.decode()


def test_on_a_terminal_nothing_is_written_without_a_yes(world: Any) -> None:
    emu, db, api = world
    at = _sync(emu, db, frozenset({"dashboards", "folders", "users"}))
    dash = next(k for k, d in emu.objects("dashboards").items() if "::" not in k
                and not d.get("deleted"))
    api.write_json("PATCH", f"/dashboards/{dash}", {"deleted": True})
    emu.reset_stats()
    out = _on_a_terminal(emu, db, "n", "dashboards", dash, "--at", at)
    assert "Write 1 object(s)" in out and write_requests(emu) == 0
    assert api.get_json(f"/dashboards/{dash}")["deleted"] is True
    out = _on_a_terminal(emu, db, "y", "dashboards", dash, "--at", at)
    assert "verified" in out
    assert api.get_json(f"/dashboards/{dash}")["deleted"] is False


def test_a_folders_looks_are_read_in_one_listing_and_the_odd_ones_by_id(
        world: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A restore of many looks of one folder reads them through the folder's listing, plans
    and reads back with it; a look moved away since the backup, and one in the trash (which
    the listing leaves out), are read by id and restored all the same. A few looks of a
    folder that holds many more are read by id."""
    emu, db, api = world
    by_folder = _by_folder(emu, "looks", _user_looks(emu))
    folder, looks = max(by_folder.items(), key=lambda kv: len(kv[1]))
    assert len(looks) >= 4, by_folder
    elsewhere = next(f for f in by_folder if f != folder)
    at = _sync(emu, db)
    titles = {k: api.get_json(f"/looks/{k}")["title"] for k in looks}
    moved, trashed = looks[0], looks[1]
    for k in looks:
        api.write_json("PATCH", f"/looks/{k}", {"title": titles[k] + " (damaged)"})
    api.write_json("PATCH", f"/looks/{moved}", {"folder_id": elsewhere})
    api.write_json("PATCH", f"/looks/{trashed}", {"deleted": True})
    emu.reset_stats()
    doc = run_restore(emu, db, "looks", *looks, "--at", at, "--yes")
    assert all(r["action"] in ("update", "undelete") and r["verified"]
               for r in doc["results"]), doc
    routes = emu.stats.by_route
    by_id = routes.get(("GET", "/api/4.0/looks/{look_id}"), 0)
    listings = routes.get(("GET", "/api/4.0/folders/{folder_id}/looks"), 0)
    # Plan and read-back: a listing each; only the moved and trashed looks by id.
    assert (listings, by_id) == (2, 2), routes
    for k in looks:
        live = api.get_json(f"/looks/{k}")
        assert (live["title"], str(live["folder_id"]), live["deleted"]) == (
            titles[k], folder, False), k

    # Two of the folder's looks, when a listing may bring at most once what the plan needs.
    monkeypatch.setattr(engine, "LISTING_SMALL", 0)
    monkeypatch.setattr(engine, "LISTING_SPREAD", 1)
    for k in looks[2:4]:
        api.write_json("PATCH", f"/looks/{k}", {"title": titles[k] + " (damaged)"})
    emu.reset_stats()
    doc = run_restore(emu, db, "looks", *looks[2:4], "--at", at, "--yes")
    assert all(r["action"] == "update" and r["verified"] for r in doc["results"]), doc
    routes = emu.stats.by_route
    assert (routes.get(("GET", "/api/4.0/folders/{folder_id}/looks"), 0),
            routes.get(("GET", "/api/4.0/looks/{look_id}"), 0)) == (0, 4), routes


def test_listing_rows_without_what_a_read_by_id_carries_are_read_by_id(world: Any) -> None:
    """A server whose folder listing leaves the dashboards' tiles out: each dashboard is read
    by id, to plan and to verify, and none is taken for one without tiles."""
    emu, db, api = world
    by_folder = _by_folder(emu, "dashboards", [
        k for k, d in emu.objects("dashboards").items() if not d.get("deleted") and "::" not in k])
    dashboards = max(by_folder.values(), key=len)
    assert len(dashboards) >= 3, by_folder
    at = _sync(emu, db)
    titles = {k: api.get_json(f"/dashboards/{k}")["title"] for k in dashboards}
    for k in dashboards:
        api.write_json("PATCH", f"/dashboards/{k}", {"title": titles[k] + " (damaged)"})
    emu.faults = Faults(sparse_rows=("dashboard_elements",),
                        only_paths=r"^/api/4\.0/folders/[^/]+/dashboards$")
    emu.reset_stats()
    try:
        doc = run_restore(emu, db, "dashboards", *dashboards, "--at", at, "--yes")
    finally:
        emu.faults = Faults()
    routes = emu.stats.by_route
    rows = [r for r in doc["results"] if r["type"] == "dashboards"]
    assert len(rows) == len(dashboards) and all(
        r["action"] == "update" and r["verified"] and not r["differs"] for r in rows), doc
    # Listed (plan and read-back), found wanting, read by id both times.
    assert routes.get(("GET", "/api/4.0/folders/{folder_id}/dashboards"), 0) == 2, routes
    assert routes.get(("GET", "/api/4.0/dashboards/{dashboard_id}"), 0) >= 2 * len(dashboards)
    for k in dashboards:
        live = api.get_json(f"/dashboards/{k}")
        assert live["title"] == titles[k] and live["dashboard_elements"] is not None


def test_a_failing_listing_leaves_its_objects_to_reads_by_id(world: Any) -> None:
    """A folder listing that fails (a 503 past its retries) only costs requests: the looks
    are read one by one, restored and verified, and the run ends complete."""
    emu, db, _ = world
    by_folder = _by_folder(emu, "looks", _user_looks(emu))
    looks = max(by_folder.values(), key=len)[:4]
    at = _sync(emu, db)
    api = LookerClient(ClientConfig(base_url=emu.url, client_id=emu.client_id,
                                    client_secret=emu.client_secret, verify_ssl=False,
                                    max_attempts=1, transport_retries=0))
    try:
        titles = {k: api.get_json(f"/looks/{k}")["title"] for k in looks}
        for k in looks:
            api.write_json("PATCH", f"/looks/{k}", {"title": titles[k] + " (damaged)"})
        emu.faults = Faults(error_rate=1.0, only_paths=r"^/api/4\.0/folders/[^/]+/looks$")
        emu.reset_stats()
        with ContentStore(db) as store:
            done = Restore(store, api, Request([("looks", k) for k in looks], at=at)).run()
            status = store.db.execute("SELECT status FROM restore_runs").fetchall()
    finally:
        emu.faults = Faults()
        api.close()
    assert emu.stats.route("GET", "/folders/{folder_id}/looks") >= 2  # tried, failed
    assert [(t.action, t.status, t.differs) for t in done] == [("update", "done", [])] * 4
    assert status == [("complete",)]
    assert {k: emu.objects("looks")[k]["title"] for k in looks} == titles
