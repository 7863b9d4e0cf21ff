"""Day-to-day operation: the re-run sensor, the schedule, asset checks and the verify CLI."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest
from typer.testing import CliRunner

from looker_assets import content_types
from looker_assets.assets import IO_MANAGER_KEY, build_content_asset
from looker_assets.checks import build_content_checks
from looker_assets.cli import app
from looker_assets.definitions import defs
from looker_assets.emulator import LookerEmulator
from looker_assets.io_manager import LookerContentIOManager
from looker_assets.sensors import ATTEMPT_TAG, BACKOFF_ENV, MAX_ATTEMPTS_ENV
from looker_assets.storage import codec
from looker_assets_tests.conftest import PARTITION, looker_resource

USERS = content_types.get("users")


def _run(instance: dg.DagsterInstance, emu: LookerEmulator, db: Path, names: list[str],
         tags: dict[str, str] | None = None) -> dg.ExecuteInProcessResult:
    assets = [build_content_asset(content_types.get(n), None) for n in names]
    return dg.materialize(
        assets, partition_key=PARTITION, instance=instance, raise_on_error=False, tags=tags,
        resources={"looker": looker_resource(emu, max_attempts=2, max_retry_seconds=3),
                   IO_MANAGER_KEY: LookerContentIOManager(path=str(db))},
    )


def _tick(instance: dg.DagsterInstance, cursor: str | None) -> dg.SensorResult:
    sensor = defs.resolve_sensor_def("rerun_failed_looker_syncs")
    context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
    return sensor(context)


def test_sensor_reruns_exactly_the_failed_type_and_partition_up_to_the_bound(
        fresh_emulator: LookerEmulator, tmp_path: Path, dagster_home: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BACKOFF_ENV, "0")
    monkeypatch.setenv(MAX_ATTEMPTS_ENV, "2")
    db = tmp_path / "db.sqlite"
    emu = fresh_emulator
    emu.faults.update({"outage_after": 0, "only_paths": r"^/api/4\.0/looks"})
    with dg.DagsterInstance.get() as instance:
        first = _run(instance, emu, db, ["users", "looks"])
        assert not first.success
        tick = _tick(instance, None)
        assert len(tick.run_requests) == 1
        request = tick.run_requests[0]
        assert request.asset_selection == [dg.AssetKey(["looker", "looks"])]
        assert request.partition_key == PARTITION
        assert request.tags[ATTEMPT_TAG] == "1"
        # Nothing new failed: the next tick asks for nothing.
        assert not _tick(instance, tick.cursor).run_requests

        # The re-run fails again: attempt 2 is requested, then the bound stops it.
        second = _run(instance, emu, db, ["looks"], tags=dict(request.tags))
        assert not second.success
        tick2 = _tick(instance, tick.cursor)
        assert [r.tags[ATTEMPT_TAG] for r in tick2.run_requests] == ["2"]
        third = _run(instance, emu, db, ["looks"], tags=dict(tick2.run_requests[0].tags))
        assert not third.success
        assert not _tick(instance, tick2.cursor).run_requests, "the bound must stop re-runs"

        # Once Looker is back, the re-run completes and resumes from the checkpoint.
        emu.faults.update({"outage_after": None, "only_paths": None})
        final = _run(instance, emu, db, ["looks"], tags=dict(tick2.run_requests[0].tags))
        assert final.success
        assert len(emu.objects("looks")) == next(
            e.materialization.metadata["objects"].value
            for e in final.get_asset_materialization_events())


def test_schedule_targets_every_type_for_the_day() -> None:
    schedule = defs.resolve_schedule_def("looker_daily_sync")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    # No instance: instance_for_test() leaves Dagster's definitions-load state pointing at a
    # closed instance, which breaks later materialize() calls in the same process.
    today = datetime.now(UTC).date()
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(today.year, today.month, today.day, 2, 0, tzinfo=UTC))
    requests = list(schedule.evaluate_tick(context).run_requests or [])
    assert len(requests) == 1
    # The 02:00 tick syncs the day it runs in: the partition is the instance as of that day.
    assert requests[0].partition_key == today.isoformat()
    job = defs.resolve_job_def("looker_sync_job")
    assert {k.path[-1] for k in job.asset_layer.executable_asset_keys} == {
        ct.name for ct in content_types.CONTENT_TYPES}


def _flip_one_byte(db: Path, code: int) -> str:
    conn = sqlite3.connect(db)
    id_, blob = conn.execute("SELECT id, content_data FROM content_items WHERE content_type = ? "
                             "ORDER BY id LIMIT 1 OFFSET 3", (code,)).fetchone()
    data = bytearray(blob)
    data[len(data) // 2] ^= 0x01
    conn.execute("UPDATE content_items SET content_data = ? WHERE content_type = ? AND id = ?",
                 (bytes(data), code, id_))
    conn.commit()
    conn.close()
    return id_


def test_flipped_byte_fails_the_check_and_verify(fresh_emulator: LookerEmulator,
                                                 tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"

    def materialize_with_checks() -> dict[str, bool]:
        result = dg.materialize(
            [build_content_asset(USERS, None), build_content_checks([USERS])],
            partition_key=PARTITION, raise_on_error=False,
            resources={"looker": looker_resource(fresh_emulator),
                       IO_MANAGER_KEY: LookerContentIOManager(path=str(db))})
        return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}

    runner = CliRunner()
    assert materialize_with_checks() == {"integrity": True, "history": True,
                                        "reconciliation": True}
    intact = runner.invoke(app, ["verify", "--db", str(db), "--json"])
    assert intact.exit_code == 0, intact.output
    assert json.loads(intact.output)["ok"] is True

    bad_id = _flip_one_byte(db, USERS.code)
    # The next sync sees an unchanged checksum column, so it does not repair the row by luck.
    assert materialize_with_checks()["integrity"] is False
    broken = runner.invoke(app, ["verify", "--db", str(db), "--json"])
    assert broken.exit_code == 1
    report = json.loads(broken.output)
    # zstd's frame checksum catches it before our SHA-256 of the decoded bytes would.
    assert [(r["content_type"], r["id"]) for r in report["bad_rows"]] == [("users", bad_id)]
    assert "doesn't match checksum" in report["bad_rows"][0]["problem"]
    plain = runner.invoke(app, ["verify", "--db", str(db)])
    assert plain.exit_code == 1 and bad_id in plain.output and "users" in plain.output


def test_stats_show_export(fresh_emulator: LookerEmulator, tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    names = ["dashboards", "users"]
    result = dg.materialize(
        [build_content_asset(content_types.get(n), None) for n in names],
        partition_key=PARTITION,
        resources={"looker": looker_resource(fresh_emulator),
                   IO_MANAGER_KEY: LookerContentIOManager(path=str(db))})
    assert result.success
    runner = CliRunner()
    stats = json.loads(runner.invoke(app, ["stats", "--db", str(db), "--json"]).output)
    by_type = {r["type"]: r for r in stats["content_types"]}
    assert by_type["users"]["active"] == len(fresh_emulator.objects("users"))
    assert by_type["users"]["last_sync"] is not None
    assert by_type["looks"]["active"] == 0

    lookml_id = next(i for i in fresh_emulator.objects("dashboards") if "::" in i)
    shown = runner.invoke(app, ["show", "dashboards", lookml_id, "--db", str(db)])
    assert shown.exit_code == 0
    assert json.loads(shown.output) == fresh_emulator.objects("dashboards")[lookml_id]
    missing = runner.invoke(app, ["show", "dashboards", "no-such-id", "--db", str(db)])
    assert missing.exit_code == 1
    unknown = runner.invoke(app, ["show", "dashboard", "1", "--db", str(db)])
    assert unknown.exit_code == 2 and "dashboards" in unknown.output

    out = tmp_path / "export"
    exported = runner.invoke(app, ["export", str(out), "--db", str(db), "--json"])
    assert exported.exit_code == 0, exported.output
    files = sorted((out / "dashboards").iterdir())
    assert len(files) == len(fresh_emulator.objects("dashboards"))
    text = (out / "users" / f"{sorted(fresh_emulator.objects('users'))[0]}.json").read_text()
    obj = json.loads(text)
    assert text == json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert codec.checksum(codec.encode(obj)) != ""
