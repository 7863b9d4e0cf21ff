"""`looker-assets extract` killed mid-sync: the next one frees what the dead run held (its
pool slot), skips what it completed, resumes the rest, and the store is exactly Looker's."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import dagster as dg

from looker_assets import content_types
from looker_assets.dead_runs import HOST_TAG
from looker_assets.emulator import Faults, LookerEmulator
from looker_assets.storage.store import ContentStore
from looker_assets_tests.conftest import PARTITION, REPO, served

DASHBOARD_DETAIL = ("GET", "/api/4.0/dashboards/{dashboard_id}")  # (method, route)
# In process, steps run in name order: alerts and boards complete before dashboards.
TYPES = ["alerts", "boards", "dashboards", "users"]
EXTRACT = [sys.executable, "-m", "looker_assets.cli", "extract", *TYPES, "--partition",
           PARTITION, "--json"]


def _read(db: Path, sql: str, *args: object) -> object:
    """One value from the store the running sync writes (read-only, beside the writer)."""
    if not db.exists():
        return None
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn:
            row = conn.execute(sql, args).fetchone()
            return None if row is None else row[0]
    except sqlite3.OperationalError:  # not created yet
        return None


def _stored_dashboards(db: Path) -> int:
    """Dashboards the running sync has committed."""
    return int(_read(db, "SELECT count(*) FROM sync_progress WHERE content_type = ?",
                     content_types.get("dashboards").code) or 0)


def _alerts_done(db: Path) -> bool:
    """Whether the running sync has completed the alerts (a small type beside dashboards)."""
    return _read(db, "SELECT status FROM sync_checkpoints WHERE content_type = ?",
                 content_types.get("alerts").code) == "complete"


def test_killed_extract_frees_its_slot_and_the_next_one_finishes(tmp_path: Path) -> None:
    emu = LookerEmulator(scale=600, seed=5, faults=Faults(latency_ms=40)).start("127.0.0.1", 0)
    db = tmp_path / "store.sqlite"
    env = {**os.environ, **emu.looker_env(), "LOOKERSDK_VERIFY_SSL": "false",
           "LOOKER_ASSETS_DB": str(db), "PYTHONPATH": str(REPO)}
    env.pop("DAGSTER_HOME", None)  # extract makes var/dagster_home under its folder
    try:
        proc = subprocess.Popen(EXTRACT, env=env, cwd=tmp_path,
                                start_new_session=True, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        # Kill once some dashboards are committed (batches commit every 0.5 s) and the
        # alerts, which sync beside them, are complete (on a busy machine they may lag).
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (_stored_dashboards(db) < 20
                                               or not _alerts_done(db)):
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        home = tmp_path / "var" / "dagster_home"
        os.environ["DAGSTER_HOME"] = str(home)
        try:
            with dg.DagsterInstance.get() as instance:
                killed = instance.get_runs(limit=1)[0]
                assert killed.status == dg.DagsterRunStatus.STARTED and HOST_TAG in killed.tags
                held = instance.event_log_storage.get_concurrency_info("looker_api")
                assert any(slot.run_id == killed.run_id for slot in held.claimed_slots)
            with ContentStore(db) as store:
                stored = store.progress_ids(content_types.get("dashboards").code, PARTITION)
                alerts = store.checkpoint(content_types.get("alerts").code, PARTITION)
            assert alerts["status"] == "complete" and 0 < len(stored) < len(
                emu.objects("dashboards")), "the kill must land mid-dashboards"

            emu.reset_stats()
            rerun = subprocess.run(EXTRACT, env=env, cwd=tmp_path,
                                   capture_output=True, text=True, timeout=300)
            assert rerun.returncode == 0, rerun.stderr[-3000:]
            assert f"run {killed.run_id[:8]} was killed" in rerun.stderr
            # Alerts and boards were complete: not listed again. Stored dashboards: not
            # fetched again.
            assert emu.stats.route("GET", "/api/4.0/alerts/search") == 0
            assert emu.stats.route("GET", "/api/4.0/boards/search") == 0
            assert emu.stats.route(*DASHBOARD_DETAIL) == len(emu.objects("dashboards")) - len(
                stored)
            with dg.DagsterInstance.get() as instance:
                assert instance.get_run_by_id(killed.run_id).status == \
                    dg.DagsterRunStatus.FAILURE
                held = instance.event_log_storage.get_concurrency_info("looker_api")
                assert not held.claimed_slots
        finally:
            os.environ.pop("DAGSTER_HOME", None)
        with ContentStore(db) as store:
            for name in TYPES:
                ct = content_types.get(name)
                expected = served(emu, name)
                assert sorted(store.active_ids(ct.code)) == sorted(expected), name
                versions = store.version_counts()[ct.code]
                assert versions == len(expected), f"{name}: one version each, no duplicates"
    finally:
        emu.stop()


def test_extract_stops_at_its_budget_and_the_next_one_finishes(tmp_path: Path) -> None:
    """Through the default executor (types in threads): steps that fail on the budget fail
    cleanly beside steps that finish, and the next run completes what is left."""
    emu = LookerEmulator(scale=300, seed=9, faults=Faults(latency_ms=5)).start("127.0.0.1", 0)
    db = tmp_path / "store.sqlite"
    env = {**os.environ, **emu.looker_env(), "LOOKERSDK_VERIFY_SSL": "false",
           "LOOKER_ASSETS_DB": str(db), "PYTHONPATH": str(REPO)}
    env.pop("DAGSTER_HOME", None)
    try:
        stopped = subprocess.run([*EXTRACT, "--request-budget", "30"], env=env, cwd=tmp_path,
                                 capture_output=True, text=True, timeout=300)
        assert stopped.returncode == 1
        assert "request budget of 30 requests" in stopped.stderr, stopped.stderr[-2000:]
        finished = subprocess.run(EXTRACT, env=env, cwd=tmp_path, capture_output=True,
                                  text=True, timeout=300)
        assert finished.returncode == 0, finished.stderr[-3000:]
        with ContentStore(db) as store:
            for name in TYPES:
                ct = content_types.get(name)
                assert sorted(store.active_ids(ct.code)) == sorted(served(emu, name)), name
                assert store.checkpoint(ct.code, PARTITION)["status"] == "complete"
                assert store.version_counts()[ct.code] == len(served(emu, name)), name
    finally:
        emu.stop()
