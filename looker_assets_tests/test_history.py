"""Point-in-time history through the real entry points: three syncs with changes at the
emulator between them, then the instance as it was at each moment, and what changed."""

from __future__ import annotations

import gzip
import itertools
import json
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import dagster as dg
import pytest
from typer.testing import CliRunner

from looker_assets import content_types
from looker_assets.assets import CONTENT_ASSETS, IO_MANAGER_KEY, RETRY_POLICY, build_content_asset
from looker_assets.cli import app
from looker_assets.emulator import LookerEmulator
from looker_assets.io_manager import LookerContentIOManager
from looker_assets.storage import codec
from looker_assets.storage.history import id_order
from looker_assets.storage.integrity import check_history, check_rows
from looker_assets.storage.store import ContentStore
from looker_assets_tests.conftest import PARTITION, looker_resource, served

NAMES = [ct.name for ct in content_types.CONTENT_TYPES]
DATA = Path(__file__).resolve().parent / "data"


def _canonical(obj: Any) -> str:
    # Sorted keys, and JSON types kept apart (1, 1.0, true and "1" all differ).
    return json.dumps(obj, sort_keys=True, ensure_ascii=False)


def _snapshot(emu: LookerEmulator, before: dict[str, dict[str, str]] | None = None,
              ) -> dict[str, dict[str, str]]:
    """The instance now; immutable types also keep what `before` held (Looker never deletes
    a query or merge query that nothing reaches any more)."""
    now = {name: {i: _canonical(o) for i, o in served(emu, name).items()} for name in NAMES}
    for ct in content_types.CONTENT_TYPES:
        if ct.immutable and before is not None:
            now[ct.name] = {**before[ct.name], **now[ct.name]}
    return now


def _sync(emu: LookerEmulator, db: Path) -> dict[str, dict[str, Any]]:
    # Every object read (full_refresh), as the nightly sync and the weekly re-read together
    # see it: what is tested here is the history, not what a nightly sync's signals see
    # (test_change_signals.py).
    result = dg.materialize(
        CONTENT_ASSETS, partition_key=PARTITION,
        resources={"looker": looker_resource(emu, max_concurrency=4, full_refresh=True),
                   IO_MANAGER_KEY: LookerContentIOManager(path=str(db))})
    assert result.success
    return {e.asset_key.path[-1]: {k: v.value for k, v in e.materialization.metadata.items()}
            for e in result.get_asset_materialization_events()}


def _cli(*args: str) -> Any:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout) if "--json" in args else result.stdout


def _exported(db: Path, at: str, out: Path) -> dict[str, dict[str, str]]:
    _cli("export", str(out), "--db", str(db), "--at", at, "--json")
    return {name: {unquote(f.stem): _canonical(json.loads(f.read_text(encoding="utf-8")))
                   for f in (out / name).glob("*.json")} for name in NAMES}


def _live(emu: LookerEmulator, kind: str) -> list[str]:
    """User-defined, not trashed: objects every mutation applies to."""
    return sorted(k for k, o in emu.objects(kind).items()
                  if "::" not in k and not o.get("deleted") and o.get("deleted_at") is None)


def _damage(emu: LookerEmulator, round_: int) -> None:
    """Updates, trash, hard deletes and new objects across six content types."""
    for kind in ("dashboards", "looks", "users", "folders", "boards", "groups"):
        ids = _live(emu, kind)
        emu.update(kind, ids[0])
        emu.delete(kind, ids[-1])
        emu.create(kind)
        if kind in ("dashboards", "looks", "boards"):
            emu.trash(kind, ids[1])
    if round_ == 1:
        trashed = next(k for k, o in emu.objects("dashboards").items() if o.get("deleted"))
        emu.restore("dashboards", trashed)


@pytest.fixture(scope="module")
def three_syncs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    emu = LookerEmulator(scale=300, seed=23).start("127.0.0.1", 0)
    db = tmp_path_factory.mktemp("history") / "history.sqlite"
    moments, snapshots, metadata = [], [], []
    try:
        for round_ in range(3):
            if round_:
                _damage(emu, round_)
            metadata.append(_sync(emu, db))
            moments.append(codec.now_utc())
            snapshots.append(_snapshot(emu, snapshots[-1] if snapshots else None))
    finally:
        emu.stop()
    return {"db": db, "moments": moments, "snapshots": snapshots, "metadata": metadata}


def test_export_at_each_moment_is_the_instance_then(three_syncs: dict[str, Any],
                                                    tmp_path: Path) -> None:
    db = three_syncs["db"]
    for i, (at, expected) in enumerate(zip(three_syncs["moments"], three_syncs["snapshots"],
                                           strict=True)):
        exported = _exported(db, at, tmp_path / f"at{i}")
        for name in NAMES:
            assert sorted(exported[name]) == sorted(expected[name]), f"moment {i}: {name} ids"
            for id_, text in expected[name].items():
                assert exported[name][id_] == text, f"moment {i}: {name} {id_}"
    # The moments really differ: the test would prove nothing otherwise.
    first, last = three_syncs["snapshots"][0], three_syncs["snapshots"][2]
    assert all(first[k] != last[k] for k in ("dashboards", "looks", "users", "folders",
                                             "boards", "groups"))


def test_diff_names_exactly_what_changed(three_syncs: dict[str, Any]) -> None:
    db, (m0, m1, m2) = three_syncs["db"], three_syncs["moments"]
    for start, end, a, b in ((m0, m1, 0, 1), (m1, m2, 1, 2), (m0, m2, 0, 2)):
        before, after = three_syncs["snapshots"][a], three_syncs["snapshots"][b]
        report = _cli("diff", "--from", start, "--to", end, "--db", str(db), "--json")
        assert report["not_synced"] == []
        got = {r["type"]: r for r in report["content_types"]}
        for name in NAMES:
            old, new = before[name], after[name]
            assert got[name]["added"] == sorted(set(new) - set(old), key=id_order), name
            assert got[name]["deleted"] == sorted(set(old) - set(new), key=id_order), name
            assert got[name]["changed"] == sorted(
                (i for i in old.keys() & new.keys() if old[i] != new[i]), key=id_order), name


def test_one_object_diff_and_history(three_syncs: dict[str, Any]) -> None:
    db, (m0, _, m2) = three_syncs["db"], three_syncs["moments"]
    before, after = three_syncs["snapshots"][0], three_syncs["snapshots"][1]
    changed = sorted(i for i in before["dashboards"].keys() & after["dashboards"].keys()
                     if before["dashboards"][i] != after["dashboards"][i])
    id_ = changed[0]
    report = _cli("diff", "--from", m0, "--to", m2, "dashboards", id_, "--db", str(db),
                  "--json")
    assert report["status"] == "changed"
    old, new = json.loads(before["dashboards"][id_]), json.loads(
        three_syncs["snapshots"][2]["dashboards"][id_])
    for change in report["changes"]:
        head = change["path"].split(".")[0].split("[")[0]
        assert old.get(head) != new.get(head), change["path"]
    top = {c["path"].split(".")[0].split("[")[0] for c in report["changes"]}
    assert top == {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}

    versions = _cli("history", "dashboards", id_, "--db", str(db), "--json")["versions"]
    assert len(versions) >= 2
    assert versions[0]["changed_keys"] == ["(first version)"]
    assert versions[-1]["to"] is None and versions[-1]["ended"] == "current"
    for earlier, later in itertools.pairwise(versions):
        assert earlier["to"] == later["from"] and earlier["ended"] == "changed"
        assert later["changed_keys"]
    shown = _cli("show", "dashboards", id_, "--db", str(db), "--at", m0)
    assert _canonical(json.loads(shown)) == before["dashboards"][id_]


def test_metadata_counts_versions_opened_and_closed(three_syncs: dict[str, Any]) -> None:
    first, second = three_syncs["metadata"][0], three_syncs["metadata"][1]
    before, after = three_syncs["snapshots"][0], three_syncs["snapshots"][1]
    for name in NAMES:
        old, new = before[name], after[name]
        added, gone = set(new) - set(old), set(old) - set(new)
        changed = {i for i in old.keys() & new.keys() if old[i] != new[i]}
        assert first[name]["versions_opened"] == len(old), name
        assert first[name]["versions_closed"] == 0, name
        assert second[name]["versions_opened"] == len(added) + len(changed), name
        assert second[name]["versions_closed"] == len(gone) + len(changed), name


def test_history_is_intact_and_stats_at(three_syncs: dict[str, Any]) -> None:
    db, m0 = three_syncs["db"], three_syncs["moments"][0]
    with ContentStore(db) as store:
        for ct in content_types.CONTENT_TYPES:
            assert check_history(store, ct).ok, check_history(store, ct).bad[:3]
            assert check_rows(store, ct).ok
    assert _cli("verify", "--db", str(db), "--json")["ok"] is True
    stats = {r["type"]: r for r in _cli("stats", "--db", str(db), "--at", m0,
                                        "--json")["content_types"]}
    for name in NAMES:
        assert stats[name]["active"] == len(three_syncs["snapshots"][0][name]), name


def test_sync_with_nothing_changed_adds_no_version(fresh_emulator: LookerEmulator,
                                                   tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    _sync(fresh_emulator, db)
    with ContentStore(db) as store:
        before = store.conn.execute("SELECT count(*) FROM content_versions").fetchone()[0]
    again = _sync(fresh_emulator, db)
    with ContentStore(db) as store:
        after = store.conn.execute("SELECT count(*) FROM content_versions").fetchone()[0]
        blobs = store.conn.execute("SELECT count(*) FROM content_blobs").fetchone()[0]
    assert after == before
    assert blobs == 0, "the current state is never stored twice"
    assert all(m["versions_opened"] == m["versions_closed"] == 0 for m in again.values())


@pytest.mark.parametrize("text", ["2020-01-01", "2026-02-30", "yesterday", "2026-11-27T25:00"])
def test_when_before_the_first_sync_or_malformed_is_refused(three_syncs: dict[str, Any],
                                                            text: str) -> None:
    db = three_syncs["db"]
    for args in (["show", "dashboards", "1"], ["stats"], ["export", "out"]):
        result = CliRunner().invoke(app, [*args, "--db", str(db), "--at", text])
        assert result.exit_code == 2, result.output
        expected = "before the first completed sync" if text == "2020-01-01" else "not a date"
        assert expected in result.output
    result = CliRunner().invoke(app, ["diff", "--from", text, "--to", "2099-01-01",
                                      "--db", str(db)])
    assert result.exit_code == 2 and "--from" in result.output


def test_a_partition_from_days_ago_fails_without_touching_the_store(
        fresh_emulator: LookerEmulator, tmp_path: Path, dagster_home: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from looker_assets.definitions import defs
    from looker_assets.sensors import BACKOFF_ENV

    monkeypatch.setenv(BACKOFF_ENV, "0")
    today = datetime.now(UTC).date()
    partitions = dg.DailyPartitionsDefinition(
        start_date=(today - timedelta(days=10)).isoformat(), timezone="UTC", end_offset=1)
    db = tmp_path / "db.sqlite"
    users = content_types.get("users")
    resources = {"looker": looker_resource(fresh_emulator),
                 IO_MANAGER_KEY: LookerContentIOManager(path=str(db))}
    asset = build_content_asset(users, RETRY_POLICY, partitions)
    with dg.DagsterInstance.get() as instance:
        assert dg.materialize([asset], partition_key=today.isoformat(), instance=instance,
                              resources=resources).success
        before = db.read_bytes()
        fresh_emulator.reset_stats()
        old = (today - timedelta(days=3)).isoformat()
        result = dg.materialize([asset], partition_key=old, resources=resources,
                                instance=instance, raise_on_error=False)
        assert not result.success
        failure = next(e for e in result.all_events if e.is_step_failure)
        message = failure.step_failure_data.error.message
        assert f"partition {old} cannot be captured now" in message
        assert not any(e.event_type_value == "STEP_UP_FOR_RETRY" for e in result.all_events), \
            "a day long past is not retried"
        assert fresh_emulator.stats.requests == 0, "no request to Looker"
        assert db.read_bytes() == before and not Path(f"{db}-wal").exists()
        # Nor does the sensor that re-runs failed syncs ask for it again.
        sensor = defs.resolve_sensor_def("rerun_failed_looker_syncs")
        tick = sensor(dg.build_sensor_context(instance=instance, definitions=defs))
        assert not tick.run_requests


def test_load_input_for_a_partition_is_that_days_instance(fresh_emulator: LookerEmulator,
                                                          tmp_path: Path) -> None:
    from looker_assets.sync import run_sync

    db = tmp_path / "db.sqlite"
    users = content_types.get("users")
    looker = looker_resource(fresh_emulator)
    with ContentStore(db) as store:
        run_sync(looker.stream(users), store, "2026-11-28")
        day_one = {u["id"]: _canonical(u) for u in store.objects(users.code)}
        first = sorted(fresh_emulator.objects("users"))
        fresh_emulator.update("users", first[0])
        fresh_emulator.delete("users", first[1])
        run_sync(looker.stream(users), store, "2026-11-29")
    manager = LookerContentIOManager(path=str(db))
    for partition, expected in (("2026-11-28", day_one),
                                ("2026-11-29", {i: _canonical(o) for i, o in
                                                fresh_emulator.objects("users").items()})):
        context = dg.build_input_context(asset_key=dg.AssetKey(["looker", "users"]),
                                         partition_key=partition)
        loaded = {u["id"]: _canonical(u) for u in manager.load_input(context)}
        assert loaded == expected, partition
    context = dg.build_input_context(asset_key=dg.AssetKey(["looker", "users"]),
                                     partition_key="2026-11-27")
    with pytest.raises(ValueError, match="no completed sync for partition 2026-11-27"):
        manager.load_input(context)


def _v1_store(tmp_path: Path) -> Path:
    db = tmp_path / "v1.sqlite"
    with gzip.open(DATA / "store_v1.sqlite.gz", "rb") as src, db.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    return db


def test_a_v1_store_upgrades_in_place_and_keeps_every_object(tmp_path: Path) -> None:
    db = _v1_store(tmp_path)
    raw = sqlite3.connect(db)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == 1
    rows = raw.execute("SELECT * FROM content_items ORDER BY content_type, id").fetchall()
    last_sync = raw.execute("SELECT max(completed_at) FROM sync_checkpoints").fetchone()[0]
    raw.close()
    assert any(r[8] is not None for r in rows), "the fixture holds a soft-deleted row"
    # What the v1 store holds as live, read with sqlite3 alone.
    live = {(content_types.BY_CODE[r[0]].name, r[1]): _canonical(codec.decode(r[-1]))
            for r in rows if r[8] is None}

    with ContentStore(db) as store:
        assert store.upgraded_from == 1
        upgraded = store.conn.execute(
            "SELECT * FROM content_items ORDER BY content_type, id").fetchall()
        # Every row as it was, its body marked raw (codec 0) until `compact`.
        assert [r[:13] for r in upgraded] == rows
        assert {r[13:] for r in upgraded} == {(0, None)}
        versions = store.conn.execute(
            "SELECT content_type, id, valid_to IS NULL FROM content_versions "
            "ORDER BY content_type, id").fetchall()
        assert [(c, i) for c, i, _ in versions] == [(r[0], r[1]) for r in rows]
        assert [bool(o) for *_, o in versions] == [r[8] is None for r in rows]
        for ct in content_types.CONTENT_TYPES:
            assert check_history(store, ct).ok, ct.name
    with ContentStore(db) as store:
        assert store.upgraded_from is None, "upgraded once"

    exported = _exported(db, last_sync, tmp_path / "at")
    assert {(name, i): text for name, objs in exported.items()
            for i, text in objs.items()} == live
    early = CliRunner().invoke(app, ["show", "users", "1", "--db", str(db), "--at",
                                     "2026-11-01"])
    assert early.exit_code == 2


def test_a_failed_upgrade_changes_nothing(tmp_path: Path) -> None:
    db = _v1_store(tmp_path)
    raw = sqlite3.connect(db)
    # A table in the way of the upgrade: the upgrade fails part way, in its transaction.
    raw.execute("CREATE TABLE content_versions (x)")
    raw.commit()
    raw.close()
    before = db.read_bytes()
    from looker_assets.storage.store import StoreError

    with pytest.raises(StoreError, match="could not be upgraded"):
        ContentStore(db)
    raw = sqlite3.connect(db)
    assert raw.execute("PRAGMA user_version").fetchone()[0] == 1
    assert not raw.execute("SELECT count(*) FROM sqlite_schema WHERE name = "
                           "'sync_history'").fetchone()[0]
    raw.close()
    assert len(db.read_bytes()) == len(before)
