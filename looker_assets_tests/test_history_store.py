"""History in the store itself: version rules, retention, integrity, and which days a
partition may capture."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest
from typer.testing import CliRunner

from looker_assets import content_types
from looker_assets.cli import app
from looker_assets.io_manager import LookerContentIOManager
from looker_assets.partitions import PartitionNotCapturable, check_capturable, start_date
from looker_assets.retention_job import looker_prune_job
from looker_assets.storage import codec
from looker_assets.storage.history import HistoryError, check_moment, sync_cutoff, version_at
from looker_assets.storage.integrity import check_history
from looker_assets.storage.retention import prune
from looker_assets.storage.rows import make_row
from looker_assets.storage.store import ContentStore

GROUPS = content_types.get("groups")


def _row(id_: str, name: str):
    return make_row(GROUPS, id_, {"id": id_, "name": name, "user_count": 1})


def _sync(store: ContentStore, partition: str, rows: list, seen: tuple[str, ...] = ()) -> str:
    """One complete sync of groups that saw `rows` (written) and `seen` (unchanged)."""
    store.start_sync(GROUPS.code, partition, {}, owner="o")
    store.write_batch(GROUPS.code, rows, codec.now_utc(), partition, seen, owner="o")
    store.complete_sync(GROUPS.code, partition, {}, owner="o")
    return codec.now_utc()


def _versions(store: ContentStore, id_: str) -> list[tuple[str | None, str]]:
    return [(to, checksum[:8]) for to, checksum in store.db.execute(
        "SELECT valid_to, checksum FROM content_versions WHERE content_type = ? AND id = ? "
        "ORDER BY valid_from", (GROUPS.code, id_))]


def test_version_rules(store_location: str) -> None:
    with ContentStore(store_location) as store:
        t1 = _sync(store, "p1", [_row("1", "a"), _row("2", "b")])
        # Unchanged: nothing written. Changed: previous closed, new one opened.
        t2 = _sync(store, "p2", [_row("2", "B")], seen=("1",))
        assert len(_versions(store, "1")) == 1
        assert [to is None for to, _ in _versions(store, "2")] == [False, True]
        # Gone: closed at the sync's completion. Back with the same bytes: a new version.
        t3 = _sync(store, "p3", [], seen=("2",))
        assert _versions(store, "1")[-1][0] is not None
        t4 = _sync(store, "p4", [], seen=("1", "2"))
        one = _versions(store, "1")
        assert len(one) == 2 and one[0][1] == one[1][1] and one[1][0] is None
        for at, expected in ((t1, {"1": "a", "2": "b"}), (t2, {"1": "a", "2": "B"}),
                             (t3, {"2": "B"}), (t4, {"1": "a", "2": "B"})):
            cutoff = sync_cutoff(store, GROUPS.code, at)
            got = {i: version_at(store, GROUPS.code, i, cutoff) for i in ("1", "2")}
            assert {i: v.decoded()["name"] for i, v in got.items() if v} == expected, at
        # Old bytes moved to content_blobs once; the current ones only in content_items.
        blobs = store.db.execute("SELECT checksum FROM content_blobs").fetchall()
        assert [b[0] for b in blobs] == [_row("2", "b").checksum]
        assert check_history(store, GROUPS).ok


def test_a_failed_batch_leaves_no_half_written_version(store_location: str) -> None:
    with ContentStore(store_location) as store:
        _sync(store, "p1", [_row("1", "a")])
        store.start_sync(GROUPS.code, "p2", {}, owner="A")
        store.start_sync(GROUPS.code, "p2", {}, owner="B")  # takes over: A's batch must fail
        with pytest.raises(Exception, match="took over"):
            store.write_batch(GROUPS.code, [_row("1", "changed"), _row("9", "new")],
                              codec.now_utc(), "p2", owner="A")
        assert _versions(store, "1") == [(None, _row("1", "a").checksum[:8])]
        assert _versions(store, "9") == []
        assert store.db.execute("SELECT count(*) FROM content_blobs").fetchone()[0] == 0


def test_prune_keeps_current_versions_and_reports(store_location: str) -> None:
    with ContentStore(store_location) as store:
        first = _sync(store, "p1", [_row("1", "a"), _row("2", "b"), _row("3", "c")])
        _sync(store, "p2", [_row("1", "a2")], seen=("2",))  # 3 gone, 1 changed
        cutoff = codec.now_utc()
        _sync(store, "p3", [_row("1", "a3")], seen=("2",))  # after the cutoff
        dry = prune(store, cutoff, dry_run=True)
        assert store.db.execute("SELECT count(*) FROM content_versions").fetchone()[0] == 5
        report = prune(store, cutoff)
        assert (dry.versions_removed, dry.objects_removed) == (report.versions_removed,
                                                                report.objects_removed)
        # 1's first version (closed before the cutoff), 3 (deleted before it, with its version)
        assert (report.versions_removed, report.objects_removed) == (2, 1)
        assert report.blobs_removed == 1 and report.bytes_removed > 0
        assert [to is None for to, _ in _versions(store, "1")] == [False, True]
        assert _versions(store, "2")[0][0] is None
        assert store.get(GROUPS.code, "3") is None
        assert check_history(store, GROUPS).ok
        with pytest.raises(HistoryError, match="pruned"):
            check_moment(store, first)
        check_moment(store, codec.now_utc())


def test_prune_command_and_job(store_location: str, dagster_home: Path) -> None:
    db = store_location
    with ContentStore(db) as store:
        _sync(store, "p1", [_row("1", "a"), _row("2", "b")])
        _sync(store, "p2", [_row("1", "a2")])
    result = CliRunner().invoke(app, ["prune", "--older-than", "0", "--db", db,
                                      "--json", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["versions_removed"] == 2
    with dg.instance_for_test() as instance:
        run = looker_prune_job.execute_in_process(
            instance=instance, resources={"looker_io_manager": LookerContentIOManager(
                path=db)}, run_config={"ops": {"prune_history": {"config": {
                    "older_than_days": 0}}}})
        assert run.success
        [event] = [e for e in run.all_events if e.event_type_value == "STEP_OUTPUT"]
        metadata = event.event_specific_data.metadata
        assert metadata["versions_removed"].value == 2
        assert metadata["objects_removed"].value == 1
        unconfigured = looker_prune_job.execute_in_process(
            instance=instance, raise_on_error=False,
            resources={"looker_io_manager": LookerContentIOManager(path=db)})
        assert not unconfigured.success
    with ContentStore(db) as store:
        assert _versions(store, "1")[0][0] is None and store.get(GROUPS.code, "2") is None


@pytest.mark.parametrize("damage", ["blob byte", "overlap", "open version of a deleted row",
                                    "missing bytes"])
def test_history_damage_is_found(store_location: str, damage: str) -> None:
    db = store_location
    with ContentStore(db) as store:
        _sync(store, "p1", [_row("1", "a"), _row("2", "b")])
        _sync(store, "p2", [_row("1", "a2")])
        # Damage done behind the store's back, with its own connection.
        sql = store.db.execute
        if damage == "blob byte":
            blob = bytearray(sql("SELECT content_data FROM content_blobs").fetchone()[0])
            blob[3] ^= 1
            sql("UPDATE content_blobs SET content_data = ?", (bytes(blob),))
        elif damage == "overlap":
            sql("UPDATE content_versions SET valid_to = '9999' WHERE id = '1' "
                "AND valid_to IS NOT NULL")
        elif damage == "open version of a deleted row":
            sql("UPDATE content_versions SET valid_to = NULL WHERE id = '2'")
        else:
            sql("DELETE FROM content_blobs")
    result = CliRunner().invoke(app, ["verify", "--db", db, "--json"])
    assert result.exit_code == 1
    bad = json.loads(result.stdout)["bad_rows"]
    assert [b["content_type"] for b in bad] == ["groups"] and bad[0]["id"] in ("1", "2")
    expected = {"blob byte": "checksum mismatch", "overlap": "overlaps",
                "open version of a deleted row": "deleted, but a version is open",
                "missing bytes": "bytes missing"}[damage]
    assert expected in bad[0]["problem"]


def test_capture_window() -> None:
    now = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
    check_capturable("2026-11-30", now, grace=6)
    check_capturable("2026-11-29", now, grace=6)  # ended 4 h ago: a retry across midnight
    with pytest.raises(PartitionNotCapturable, match="ended more than 3 h ago"):
        check_capturable("2026-11-29", now, grace=3)
    with pytest.raises(PartitionNotCapturable, match="cannot be captured now"):
        check_capturable("2026-11-27", now, grace=6)
    with pytest.raises(PartitionNotCapturable, match="has not begun"):
        check_capturable("2026-12-01", now, grace=6)


def test_partitions_start_where_a_sync_ran(store_location: str,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    db = store_location
    monkeypatch.setenv("LOOKER_ASSETS_DB", db)
    today = datetime(2026, 11, 30, tzinfo=UTC).date()
    assert start_date(today) == "2026-11-30", "no store yet: nothing before today"
    with ContentStore(db) as store:
        _sync(store, "2026-11-12", [_row("1", "a")])
        _sync(store, "2026-11-20", [_row("1", "b")])
    assert start_date(today) == "2026-11-12"
    monkeypatch.setenv("LOOKER_ASSETS_START_DATE", "2026-10-01")
    assert start_date(today) == "2026-10-01"


def test_references_follow_lists_and_wait_for_their_targets(tmp_path: Path) -> None:
    from looker_assets.storage.integrity import dangling_references, unjudged_targets

    roles = content_types.get("roles")
    with ContentStore(tmp_path / "s.sqlite") as store:
        _sync(store, "p", [make_row(GROUPS, "1", {"id": "1", "parent_group_ids": [],
                                                  "role_ids": ["5"]}),
                           make_row(GROUPS, "2", {"id": "2", "parent_group_ids": ["1", "9"],
                                                  "role_ids": []})])
        # Roles never synced: their references cannot be judged yet, and are not.
        assert unjudged_targets(store, GROUPS) == ["roles"]
        assert [(d.id, d.field, d.value) for d in dangling_references(store, GROUPS)] == [
            ("2", "parent_group_ids", "9")]
        store.start_sync(roles.code, "p", {})
        store.write_batch(roles.code, [make_row(roles, "6", {"id": "6"})], "t", "p")
        store.complete_sync(roles.code, "p", {})
        assert unjudged_targets(store, GROUPS) == []
        assert [(d.id, d.field, d.value) for d in dangling_references(store, GROUPS)] == [
            ("1", "role_ids", "5"), ("2", "parent_group_ids", "9")]
