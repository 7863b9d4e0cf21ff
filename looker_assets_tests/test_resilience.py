"""Faults, outages, kills and mutations at the emulator: the store still ends exact."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import dagster as dg
import msgspec
import psycopg
import pytest

from looker_assets import content_types
from looker_assets.assets import CONTENT_ASSETS, IO_MANAGER_KEY, build_content_asset
from looker_assets.emulator import Faults, LookerEmulator
from looker_assets.io_manager import LookerContentIOManager
from looker_assets.storage.integrity import check_history
from looker_assets.storage.store import ContentStore
from looker_assets_tests.conftest import PARTITION, REPO, looker_resource, served

DASHBOARDS = content_types.get("dashboards")
LOOKS = content_types.get("looks")
USERS = content_types.get("users")
DASHBOARD_DETAIL = ("GET", "/api/4.0/dashboards/{dashboard_id}")
LOOK_DETAIL = ("GET", "/api/4.0/looks/{look_id}")


def _materialize(emu: LookerEmulator, db: Path, names: list[str], *, retry: bool = False,
                 instance: dg.DagsterInstance | None = None,
                 **resource: object) -> dg.ExecuteInProcessResult:
    cts = [content_types.get(n) for n in names]
    assets = [build_content_asset(ct, None) for ct in cts] if not retry else [
        a for a in CONTENT_ASSETS if a.key.path[-1] in names]
    return dg.materialize(
        assets, partition_key=PARTITION, raise_on_error=False, instance=instance,
        resources={"looker": looker_resource(emu, **resource),
                   IO_MANAGER_KEY: LookerContentIOManager(path=str(db))},
    )


def _meta(result: dg.ExecuteInProcessResult, name: str) -> dict[str, object]:
    for event in result.get_asset_materialization_events():
        if event.asset_key.path[-1] == name:
            return {k: v.value for k, v in event.materialization.metadata.items()}
    raise AssertionError(f"no materialization of {name}")


def assert_store_matches(db: Path, emu: LookerEmulator, names: list[str]) -> None:
    with ContentStore(db) as store:
        for name in names:
            ct = content_types.get(name)
            expected = served(emu, name)
            active = {item.id: item for item in store.iter_items(ct.code, include_deleted=False)}
            assert sorted(active) == sorted(expected), name
            for id_, obj in expected.items():
                got = store.get(ct.code, id_)
                assert msgspec.json.encode(got) == msgspec.json.encode(obj), f"{name} {id_}"


def _error_text(result: dg.ExecuteInProcessResult) -> str:
    return "\n".join(e.step_failure_data.error.to_string() for e in result.all_events
                     if e.is_step_failure and e.step_failure_data and e.step_failure_data.error)


def test_fault_matrix_still_stores_exactly(tmp_path: Path) -> None:
    faults = Faults(error_rate=0.10, rate_limit_every=40, retry_after_s=1,
                    latency_ms=2, latency_jitter_ms=8, seed=3)
    emu = LookerEmulator(scale=300, seed=5, faults=faults).start("127.0.0.1", 0)
    # Looker revokes tokens mid-run (the SDK only renews by its own clock): 401, re-login.
    stop = threading.Event()

    def revoke() -> None:
        while not stop.wait(0.7):
            emu.expire_tokens()

    revoker = threading.Thread(target=revoke, daemon=True)
    revoker.start()
    try:
        names = [ct.name for ct in content_types.CONTENT_TYPES]
        result = _materialize(emu, tmp_path / "db.sqlite", names, max_concurrency=4,
                              max_attempts=10, max_retry_seconds=60)
        stop.set()
        assert result.success, _error_text(result)
        emu.faults.update({"error_rate": 0.0, "rate_limit_every": None})
        assert_store_matches(tmp_path / "db.sqlite", emu, names)
        retries = sum(int(_meta(result, n)["retries"]) for n in names)
        limited = sum(int(_meta(result, n)["rate_limited_429"]) for n in names)
        assert retries > 0 and limited > 0, "the faults did not happen: the test proves nothing"
        relogins = sum(int(_meta(result, n)["relogins"]) for n in names)
        assert emu.stats.by_status.get(401, 0) > 0 and relogins > 0, "no token was revoked"
    finally:
        stop.set()
        emu.stop()


def test_outage_mid_sync_then_resume_from_checkpoint(fresh_emulator: LookerEmulator,
                                                      tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    emu = fresh_emulator
    total = len(emu.objects("dashboards"))
    emu.faults.outage_after = total // 2
    started = time.monotonic()
    instance = dg.DagsterInstance.ephemeral()
    failed = _materialize(emu, db, ["dashboards"], max_concurrency=2, max_attempts=3,
                          max_retry_seconds=5, batch_size=10, instance=instance)
    assert not failed.success
    assert time.monotonic() - started < 60, "retries must be bounded"
    text = _error_text(failed)
    assert "503" in text and "/dashboards" in text
    with ContentStore(db) as store:
        stored_before = store.progress_ids(DASHBOARDS.code, PARTITION)
        checkpoint = store.checkpoint(DASHBOARDS.code, PARTITION)
    assert 0 < len(stored_before) < total
    assert checkpoint is not None and checkpoint["status"] == "running"
    observations = instance.all_logs(failed.run_id,
                                     of_type=dg.DagsterEventType.ASSET_OBSERVATION)
    assert len(observations) == 1, "a failed step records its checkpoint as an observation"
    observed = observations[0].asset_observation
    assert observed is not None
    assert observed.metadata["checkpoint"].value["state"]["position"] is not None

    emu.faults.outage_after = None
    emu.reset_stats()
    healed = _materialize(emu, db, ["dashboards"], max_concurrency=2, batch_size=10)
    assert healed.success, _error_text(healed)
    meta = _meta(healed, "dashboards")
    assert meta["resumed"] is True and meta["resumed_after_objects"] == len(stored_before)
    # Exactly the dashboards not yet stored were fetched again, none of the stored ones.
    assert emu.stats.route(*DASHBOARD_DETAIL) == total - len(stored_before)
    assert_store_matches(db, emu, ["dashboards"])


def test_listing_failing_part_way_keeps_details_fetched_meanwhile(
        fresh_emulator: LookerEmulator, tmp_path: Path) -> None:
    """Details are fetched while the listing goes on: when its last call (all_dashboards, for
    LookML dashboards) keeps failing, the step fails naming it, what was fetched meanwhile
    is stored, and the re-run fetches only the rest."""
    db = tmp_path / "db.sqlite"
    emu = fresh_emulator
    total = len(emu.objects("dashboards"))
    emu.faults.update({"error_rate": 1.0, "only_paths": r"^/api/4\.0/dashboards$"})
    failed = _materialize(emu, db, ["dashboards"], max_attempts=2, max_retry_seconds=5)
    assert not failed.success
    assert "GET /dashboards:" in _error_text(failed)
    with ContentStore(db) as store:
        stored_before = store.progress_ids(DASHBOARDS.code, PARTITION)
    assert 0 < len(stored_before) < total, "no detail was fetched while the listing ran"

    emu.faults.update({"error_rate": 0.0, "only_paths": None})
    emu.reset_stats()
    healed = _materialize(emu, db, ["dashboards"])
    assert healed.success, _error_text(healed)
    assert emu.stats.route(*DASHBOARD_DETAIL) == total - len(stored_before)
    assert_store_matches(db, emu, ["dashboards"])


def test_mutations_are_stored_exactly_with_details_only_for_them(
        fresh_emulator: LookerEmulator, tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    emu = fresh_emulator
    names = ["dashboards", "looks", "users"]
    assert _materialize(emu, db, names).success
    dashboards = sorted(emu.objects("dashboards"))
    user_defined = [d for d in dashboards if "::" not in d
                    and not emu.objects("dashboards")[d].get("deleted")]
    looks = [k for k, v in emu.objects("looks").items() if not v.get("deleted")]
    emu.update("dashboards", user_defined[0])
    emu.trash("dashboards", user_defined[1])
    emu.delete("dashboards", user_defined[2])
    created = emu.create("dashboards")
    emu.update("looks", looks[0])
    # A user who appears in no dashboard or look, so the counts below stay simple (deleting
    # one who does changes the user_name that those dashboards embed: a new version of each).
    referenced = {str(o.get(k)) for kind in ("dashboards", "looks")
                  for o in emu.objects(kind).values()
                  for k in ("user_id", "last_updater_id", "deleter_id")}
    emu.delete("users", next(u for u in sorted(emu.objects("users")) if u not in referenced))

    # Dashboards embed their elements' looks: changing a look changes those dashboards too.
    embedding = {d for d, o in emu.objects("dashboards").items() if "::" not in d and any(
        (e.get("look") or {}).get("id") == looks[0] for e in o.get("dashboard_elements") or [])}
    changed = embedding | {user_defined[0], user_defined[1]}

    emu.reset_stats()
    result = _materialize(emu, db, names)
    assert result.success, _error_text(result)
    d, lk, u = (_meta(result, n) for n in names)
    assert (d["new"], d["updated"], d["deleted"]) == (1, len(changed), 1)
    assert (lk["new"], lk["updated"], lk["deleted"]) == (0, 1, 0)
    assert (u["new"], u["updated"], u["deleted"]) == (0, 0, 1)
    # Details only for what changed (LookML dashboards too: no project deployed), and one
    # lookup confirming that the deleted dashboard is gone before it is soft-deleted.
    assert emu.stats.route(*DASHBOARD_DETAIL) == len(changed) + 1 + 1
    assert emu.stats.route(*LOOK_DETAIL) == 1
    assert_store_matches(db, emu, names)
    with ContentStore(db) as store:
        assert store.get(DASHBOARDS.code, user_defined[1])["deleted"] is True
        row = store.conn.execute(
            "SELECT deleted_at FROM content_items WHERE content_type = ? AND id = ?",
            (DASHBOARDS.code, user_defined[2])).fetchone()
        assert row[0] is not None, "a dashboard gone from Looker is soft-deleted"
        assert store.get(DASHBOARDS.code, created) is not None


def test_full_refresh_fetches_everything(fresh_emulator: LookerEmulator, tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    assert _materialize(fresh_emulator, db, ["looks"]).success
    fresh_emulator.reset_stats()
    assert _materialize(fresh_emulator, db, ["looks"], full_refresh=True).success
    assert fresh_emulator.stats.route(*LOOK_DETAIL) == len(fresh_emulator.objects("looks"))


@pytest.mark.parametrize("variant", ["malformed JSON", "HTML page"])
def test_bad_body_is_a_clear_error_and_touches_nothing(fresh_emulator: LookerEmulator,
                                                        tmp_path: Path, variant: str) -> None:
    db = tmp_path / "db.sqlite"
    assert _materialize(fresh_emulator, db, ["users"]).success
    with ContentStore(db) as store:
        before = list(store.iter_items(USERS.code))
    fresh_emulator.faults.update({"malformed_every": 1, "only_paths": r"^/api/4\.0/users",
                                  "seed": 0 if variant == "malformed JSON" else 1})
    result = _materialize(fresh_emulator, db, ["users"], max_attempts=2, max_retry_seconds=5)
    fresh_emulator.faults.update({"malformed_every": None, "only_paths": None})
    assert not result.success
    text = _error_text(result)
    assert "/users" in text
    assert "not JSON" in text or "HTTP 5" in text
    with ContentStore(db) as store:
        assert list(store.iter_items(USERS.code)) == before


KILLS = [(1, "sqlite"), (2, "sqlite"), (3, "sqlite"), (4, "postgresql")]


def _committed(db: Path | str) -> bool:
    """Whether the running sync has committed a batch of dashboard details (read beside it)."""
    sql = "SELECT 1 FROM sync_progress WHERE content_type = {} LIMIT 1"
    try:
        if str(db).startswith("postgresql://"):
            with psycopg.connect(str(db), connect_timeout=5) as conn:
                return conn.execute(sql.format("%s"), (DASHBOARDS.code,)).fetchone() is not None
        if not Path(db).exists():
            return False
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn:
            return conn.execute(sql.format("?"), (DASHBOARDS.code,)).fetchone() is not None
    except Exception:  # the store is not created yet
        return False


@pytest.mark.parametrize(("seed", "backend"), KILLS)
def test_sigkill_then_rerun_loses_and_duplicates_nothing(
        tmp_path: Path, seed: int, backend: str, dagster_home: Path,
        request: pytest.FixtureRequest) -> None:
    emu = LookerEmulator(scale=800, seed=seed, faults=Faults(latency_ms=15)).start("127.0.0.1", 0)
    db = tmp_path / "kill.sqlite" if backend == "sqlite" else \
        request.getfixturevalue("postgres").create_database(f"kill_{seed}")
    env = {**os.environ, **emu.looker_env(), "LOOKER_ASSETS_DB": str(db),
           "PYTHONPATH": str(REPO)}
    # Small batches, so that a kill lands after several commits and before the last one.
    command = [str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-m",
               "looker_assets", "--select", "looker/dashboards", "--partition", PARTITION,
               "--config-json", json.dumps({"resources": {"looker": {"config": {
                   "batch_size": 10, "max_concurrency": 4}}}})]
    try:
        proc = subprocess.Popen(command, env=env, cwd=tmp_path, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Kill once some details are stored, at a seeded moment of the detail phase (and
        # after a first batch is committed, which a busy machine may delay).
        deadline = time.monotonic() + 120
        target = random.Random(seed).randint(20, 150)
        while time.monotonic() < deadline and (emu.stats.route(*DASHBOARD_DETAIL) < target
                                               or not _committed(db)):
            time.sleep(0.01)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        with ContentStore(db) as store:
            stored = store.progress_ids(DASHBOARDS.code, PARTITION)
        total = len(emu.objects("dashboards"))
        assert 0 < len(stored) < total, "the kill must land mid-sync for the test to mean it"
        emu.reset_stats()
        rerun = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True,
                               timeout=300)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        refetched = emu.stats.route(*DASHBOARD_DETAIL) - (total - len(stored))
        assert refetched == 0, f"{refetched} already stored dashboards were fetched again"
        assert_store_matches(db, emu, ["dashboards"])
        with ContentStore(db) as store:
            count = store.db.execute("SELECT count(*) FROM content_items WHERE "
                                     "content_type = ?", (DASHBOARDS.code,)).fetchone()[0]
            assert count == total, "no duplicates, no leftovers"
            # The kill left no half-written version: one per dashboard, all intact.
            assert check_history(store, DASHBOARDS).ok
            assert store.version_counts()[DASHBOARDS.code] == total
    finally:
        emu.stop()
