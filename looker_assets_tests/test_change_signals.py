"""A night costs what changed: each type's signal sees its change, and only that, and every
type still equals Looker key for key after an incremental sync (the weekly re-read types after
their re-read)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import msgspec
import pytest
from typer.testing import CliRunner

from looker_assets import content_types
from looker_assets.assets import CONTENT_ASSETS, IO_MANAGER_KEY
from looker_assets.cli import app
from looker_assets.emulator import LookerEmulator
from looker_assets.io_manager import LookerContentIOManager
from looker_assets.run_cost import BUDGET_TAG, REQUESTS_TAG, run_requests
from looker_assets.storage import codec
from looker_assets.storage.store import ContentStore
from looker_assets_tests.conftest import PARTITION, looker_resource, served

WEEKLY = {ct.name for ct in content_types.CONTENT_TYPES if ct.reread == "weekly"}


def _sync(emu: LookerEmulator, db: Path, instance: dg.DagsterInstance,
          names: set[str] | None = None, **resource: object) -> dg.ExecuteInJobResult:
    assets = [a for a in CONTENT_ASSETS if names is None or a.key.path[-1] in names]
    return dg.materialize(
        assets, partition_key=PARTITION, instance=instance, raise_on_error=False,
        resources={"looker": looker_resource(emu, max_concurrency=4, **resource),
                   IO_MANAGER_KEY: LookerContentIOManager(path=str(db))})


def _meta(result: dg.ExecuteInJobResult) -> dict[str, dict[str, Any]]:
    return {e.asset_key.path[-1]: {k: v.value for k, v in e.materialization.metadata.items()}
            for e in result.get_asset_materialization_events()}


def _assert_equals_looker(emu: LookerEmulator, db: Path, names: set[str]) -> None:
    with ContentStore(db) as store:
        for name in sorted(names):
            ct = content_types.get(name)
            expected = served(emu, name)
            stored = {item.id: item for item in store.iter_items(ct.code, include_deleted=False)}
            if not ct.immutable:  # an immutable type also keeps what nothing reaches now
                assert sorted(stored) == sorted(expected), name
            for id_, obj in expected.items():
                assert msgspec.json.encode(store.get(ct.code, id_)) == \
                    msgspec.json.encode(obj), f"{name} {id_}"


def _explores_of(emu: LookerEmulator, project: str) -> set[str]:
    models = {m for m, obj in emu.objects("lookml_models").items()
              if obj.get("project_name") == project}
    return {e for e in emu.objects("explores") if e.split("::", 1)[0] in models}


def _a_folder_that_inherits(emu: LookerEmulator, skip: set[str]) -> tuple[str, str]:
    """(folder id, content_metadata_id) of a folder with a parent that inherits its access."""
    for fid, folder in emu.objects("folders").items():
        cm = folder.get("content_metadata_id")
        if fid in skip or not cm or folder.get("parent_id") is None:
            continue
        if emu.api_get(f"/content_metadata/{cm}")["inherits"]:
            return fid, cm
    raise AssertionError("the emulator has no inheriting folder: the test would prove nothing")


def test_nightly_sync_sees_each_change_and_reads_nothing_else(
        fresh_emulator: LookerEmulator, tmp_path: Path, dagster_home: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    emu, db = fresh_emulator, tmp_path / "store.sqlite"
    with dg.DagsterInstance.get() as instance:
        first = _sync(emu, db, instance)
        assert first.success
        # Nothing changed: no detail request for what a signal covers, explores included.
        quiet = _meta(_sync(emu, db, instance))
        assert quiet["explores"]["requests_detail"] == 0
        assert quiet["dashboards"]["requests_detail"] == 0  # LookML ones too: no deploy
        # The deploy signal is read once per run for explores and LookML dashboards: two
        # requests per project, the connections' dialects, the models' projects.
        assert sum(m["requests_signal"] for m in quiet.values()) == \
            2 * len(emu.objects("projects")) + 2
        assert quiet["content_metadata"]["requests_detail"] == 0
        assert quiet["content_access"]["requests_detail"] == 0
        for name, meta in quiet.items():
            assert meta["requests"] == sum(meta[f"requests_{k}"] for k in (
                "list", "detail", "signal", "check", "write", "login")), name
        total, by_kind = run_requests(instance, instance.get_runs(limit=1)[0].run_id)
        assert total == sum(m["requests"] for m in quiet.values()) and by_kind["list"] > 0
        before = codec.now_utc()

        # At Looker: LookML deployed in one project, a folder renamed, a folder's access
        # changed (inherits off, an entry of its own), a dashboard edited.
        explore = sorted(emu.objects("explores"))[0]
        project = emu.objects("lookml_models")[explore.split("::")[0]]["project_name"]
        deployed = _explores_of(emu, project)
        emu.update("explores", explore)
        renamed, renamed_cm = _a_folder_that_inherits(emu, set())
        emu.update("folders", renamed)
        _, closed_cm = _a_folder_that_inherits(emu, {renamed})
        group = sorted(emu.objects("groups"))[0]
        assert emu.api("PATCH", f"/content_metadata/{closed_cm}", {"inherits": False})[0] == 200
        status, entry = emu.api("POST", "/content_metadata_access", {
            "content_metadata_id": closed_cm, "group_id": group, "permission_type": "view"})
        assert status == 200, entry
        dashboard = sorted(k for k, d in emu.objects("dashboards").items() if "::" not in k)[0]
        emu.update("dashboards", dashboard)

        nightly = _meta(_sync(emu, db, instance))
        # Explores: every explore of the deployed project is read again, no other.
        assert nightly["explores"]["requests_detail"] == len(deployed) < len(
            emu.objects("explores"))
        assert nightly["explores"]["updated"] == 1
        assert nightly["dashboards"]["updated"] >= 1
        # The rename reaches the folder and the content metadata that repeats its name.
        assert nightly["content_metadata"]["requests_detail"] == 1
        _assert_equals_looker(emu, db, {ct.name for ct in content_types.CONTENT_TYPES} - WEEKLY)
        with ContentStore(db) as store:
            assert store.get(21, renamed_cm)["name"] == emu.objects("folders")[renamed]["name"]
            # What no row shows waits for the weekly re-read.
            assert store.get(21, closed_cm)["inherits"] is True
            assert store.get(22, closed_cm) == []

        # The weekly re-read, as its schedule launches it.
        monkeypatch.setenv("LOOKER_ASSETS_DB", str(db))
        monkeypatch.setenv("LOOKERSDK_VERIFY_SSL", "false")
        for key, value in emu.looker_env().items():
            monkeypatch.setenv(key, value)
        from looker_assets.definitions import defs
        schedule = defs.resolve_schedule_def("looker_weekly_reread")
        tick = schedule.evaluate_tick(dg.build_schedule_context(
            instance=instance, scheduled_execution_time=datetime.now(UTC),
            repository_def=defs.get_repository_def()))
        assert [r.partition_key for r in tick.run_requests or []] == [PARTITION]
        weekly = defs.resolve_job_def("looker_reread_weekly_job").execute_in_process(
            partition_key=PARTITION, instance=instance)
        assert weekly.success
        reread = _meta(weekly)
        assert set(reread) == WEEKLY
        assert reread["content_access"]["requests_detail"] == len(served(emu, "content_access"))
        _assert_equals_looker(emu, db, WEEKLY)
        with ContentStore(db) as store:
            assert store.get(21, closed_cm)["inherits"] is False
            assert [e["group_id"] for e in store.get(22, closed_cm)] == [group]

    # `diff` names the rename and the access change, as of the re-read.
    out = CliRunner().invoke(app, ["diff", "--from", before, "--to", codec.now_utc(), "--db",
                                   str(db), "--json"])
    assert out.exit_code == 0, out.output
    changed = {r["type"]: set(r["changed"]) for r in json.loads(out.output)["content_types"]}
    assert renamed in changed["folders"]
    assert {renamed_cm, closed_cm} <= changed["content_metadata"]
    assert closed_cm in changed["content_access"]
    # `stats` says which types are weekly and when each was last read whole.
    out = CliRunner().invoke(app, ["stats", "--db", str(db), "--json"])
    assert out.exit_code == 0, out.output
    rows = {r["type"]: r for r in json.loads(out.output)["content_types"]}
    assert rows["content_access"]["reread"] == "weekly"
    assert rows["explores"]["change"] == "parent" and rows["explores"]["reread"] == "-"
    # The re-read was the last sync of content_access, and read it whole.
    assert rows["content_access"]["last_full_read"] == rows["content_access"]["last_sync"]


def test_a_deploy_that_changed_nothing_reads_its_explores_and_stores_no_version(
        fresh_emulator: LookerEmulator, tmp_path: Path, dagster_home: Path) -> None:
    emu, db = fresh_emulator, tmp_path / "store.sqlite"
    names = {"explores", "dashboards"}
    with dg.DagsterInstance.get() as instance:
        assert _sync(emu, db, instance, names).success
        project = sorted(emu.objects("projects"))[-1]
        emu.deploy(project)
        meta = _meta(_sync(emu, db, instance, names))
    assert meta["explores"]["requests_detail"] == len(_explores_of(emu, project)) > 0
    # Its LookML dashboards are LookML too; user-defined dashboards are not read.
    models = {m for m, o in emu.objects("lookml_models").items()
              if o.get("project_name") == project}
    lookml = {d for d in emu.objects("dashboards") if d.split("::")[0] in models and "::" in d}
    assert meta["dashboards"]["requests_detail"] == len(lookml)
    for name in names:
        assert meta[name]["updated"] == 0 and meta[name]["new"] == 0
    _assert_equals_looker(emu, db, names)


def test_a_changed_lookml_dashboard_is_read_again(
        fresh_emulator: LookerEmulator, tmp_path: Path, dagster_home: Path) -> None:
    emu, db = fresh_emulator, tmp_path / "store.sqlite"
    with dg.DagsterInstance.get() as instance:
        assert _sync(emu, db, instance, {"dashboards"}).success
        lookml = sorted(d for d in emu.objects("dashboards") if "::" in d)
        assert lookml, "no LookML dashboards: the test would prove nothing"
        emu.update("dashboards", lookml[0])  # in Looker: a deploy of its project
        meta = _meta(_sync(emu, db, instance, {"dashboards"}))["dashboards"]
    assert meta["updated"] == 1 and meta["requests_detail"] >= 1
    _assert_equals_looker(emu, db, {"dashboards"})


def test_request_budget_stops_cleanly_and_the_next_run_finishes(
        fresh_emulator: LookerEmulator, tmp_path: Path, dagster_home: Path) -> None:
    emu, db = fresh_emulator, tmp_path / "store.sqlite"
    # In-process steps run in name order: folders and groups fit in the budget, looks do not.
    names = {"folders", "groups", "looks", "users"}
    with dg.DagsterInstance.get() as instance:
        stopped = _sync(emu, db, instance, names, request_budget=40)
        assert not stopped.success
        run = instance.get_run_by_id(stopped.run_id)
        assert run.tags[BUDGET_TAG] == "true"
        assert 40 <= int(run.tags[REQUESTS_TAG]) <= 40 + 4  # at most max_concurrency past it
        failures = [e.step_failure_data.error.message for e in stopped.all_events
                    if e.is_step_failure and e.step_failure_data]
        assert failures and all("request budget of 40 requests" in m for m in failures)
        done_first = set(_meta(stopped))
        assert done_first == {"folders", "groups"}
        with ContentStore(db) as store:
            open_ = {ct.name for ct in content_types.CONTENT_TYPES
                     if (store.checkpoint(ct.code, PARTITION) or {}).get("status") == "running"}
        assert open_ == names - done_first

        resumed = _sync(emu, db, instance, names)
        assert resumed.success
        meta = _meta(resumed)
        for name in done_first:  # completed by the stopped run: not read again
            assert meta[name]["skipped"] != "no" and meta[name]["requests"] == 0, name
        for name in names - done_first:
            assert meta[name]["skipped"] == "no" and meta[name]["listing_complete"], name
        # Once the partition is whole, a later run syncs every type again.
        again = _meta(_sync(emu, db, instance, names))
        assert all(m["skipped"] == "no" for m in again.values())

    _assert_equals_looker(emu, db, names)
    with ContentStore(db) as store:
        duplicates = store.db.execute(
            "SELECT content_type, id FROM content_versions WHERE valid_to IS NULL "
            "GROUP BY content_type, id HAVING count(*) > 1").fetchall()
        assert duplicates == []
        unversioned = store.db.execute(
            "SELECT count(*) FROM content_items i WHERE deleted_at IS NULL AND NOT EXISTS ("
            "SELECT 1 FROM content_versions v WHERE v.content_type = i.content_type "
            "AND v.id = i.id AND v.valid_to IS NULL)").fetchone()[0]
        assert unversioned == 0


def test_readme_lists_every_types_signal_and_cadence() -> None:
    """The README's table is the registry's: a type whose signal changes says so there."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## What a night costs", 1)[1].split("\n## ", 1)[0]
    words = {"version in the listing": "version", "the listing embeds it": "listing",
             "a parent's signal": "parent", "none": "none", "an immutable id": "immutable"}
    listed: dict[int, tuple[str, str | None]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or not cells[0][:1].isdigit():
            continue
        first, _, last = cells[0].partition("-")
        change = next(kind for text, kind in words.items() if cells[2].startswith(text))
        for code in range(int(first), int(last or first) + 1):
            listed[code] = (change, None if cells[4] == "nightly" else cells[4])
    assert listed == {ct.code: (ct.change, ct.reread) for ct in content_types.CONTENT_TYPES}
