"""The SQLite store on real files: schema, upserts, soft deletes, refusal of bad files."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from looker_assets import content_types
from looker_assets.storage import codec
from looker_assets.storage.rows import make_row
from looker_assets.storage.schema import SCHEMA_VERSION
from looker_assets.storage.store import ContentStore, StoreError

DASHBOARDS = content_types.get("dashboards")


def _row(id_: str, title: str, **extra: object):
    obj = {"id": id_, "title": title, "user_id": "7", "created_at": "2025-03-04T05:06:07.000+00:00",
           "updated_at": "2025-03-05T01:02:03Z", "zz_future_key": None, **extra}
    return make_row(DASHBOARDS, id_, obj)


def test_schema_explains_itself(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    ContentStore(path).close()
    conn = sqlite3.connect(path)
    names = dict(conn.execute("SELECT code, name FROM content_types"))
    assert names == {ct.code: ct.name for ct in content_types.CONTENT_TYPES}
    cols = [r[1] for r in conn.execute("PRAGMA table_info(content_items)")]
    assert cols == ["content_type", "id", "name", "owner_id", "owner_email", "created_at",
                    "updated_at", "synced_at", "deleted_at", "source_version", "content_size",
                    "checksum", "content_data", "codec", "dict_id"]
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA page_size").fetchone()[0] == 16384


def test_upsert_counts_and_soft_delete(store_location: str) -> None:
    code = DASHBOARDS.code
    with ContentStore(store_location) as store:
        assert store.start_sync(code, "p1", {"n": 0}) is None
        first = store.write_batch(code, [_row("1", "a"), _row("2", "b")], "t1", "p1",
                                  checkpoint={"n": 2})
        assert (first.new, first.updated, first.unchanged) == (2, 0, 0)
        assert store.checkpoint(code, "p1")["state"] == {"n": 2}
        assert store.complete_sync(code, "p1", {"n": 2}) == (0, 0)

        # The next sync sees 1 unchanged (listing only) and 2 changed; 3 is new.
        store.start_sync(code, "p2", {})
        second = store.write_batch(code, [_row("2", "B"), _row("3", "c")], "t2", "p2",
                                   seen_ids=["1"])
        assert (second.new, second.updated, second.unchanged) == (1, 1, 1)
        assert store.get(code, "2")["title"] == "B"
        assert store.progress_ids(code, "p2") == {"1", "2", "3"}
        assert store.complete_sync(code, "p2", {}) == (0, 0)
        assert store.progress_ids(code, "p2") == set()

        # A complete listing without 1 and 3: both soft-deleted, never removed.
        store.start_sync(code, "p3", {})
        store.write_batch(code, [], "t3", "p3", seen_ids=["2"])
        assert store.complete_sync(code, "p3", {}) == (2, 0)
        stored = len(_row("1", "a").content_data) + len(_row("2", "B").content_data) + len(
            _row("3", "c").content_data)
        assert store.counts()[code] == {"active": 1, "deleted": 2, "bytes": stored}

        # Seen again: the soft delete is undone, even when nothing changed.
        store.start_sync(code, "p4", {})
        revived = store.write_batch(code, [_row("1", "a")], "t4", "p4", seen_ids=["2", "3"])
        assert (revived.revived, revived.opened, revived.closed) == (1, 1, 0)
        assert store.complete_sync(code, "p4", {}) == (0, 1)
        assert store.counts()[code]["deleted"] == 0


def test_open_checkpoint_is_returned_for_resume(store_location: str) -> None:
    code = DASHBOARDS.code
    with ContentStore(store_location) as store:
        store.start_sync(code, "p", {"position": {"call": 0, "offset": 0}})
        store.write_batch(code, [_row("1", "a")], "t", "p",
                          checkpoint={"position": {"call": 0, "offset": 500}})
    with ContentStore(store_location) as store:
        resumed = store.start_sync(code, "p", {"position": {"call": 0, "offset": 0}})
        assert resumed is not None and resumed["status"] == "running"
        assert resumed["state"]["position"] == {"call": 0, "offset": 500}
        assert store.progress_ids(code, "p") == {"1"}


def test_metadata_columns_and_exact_object(store_location: str) -> None:
    with ContentStore(store_location) as store:
        store.write_batch(DASHBOARDS.code, [_row("9", "héllo 🎉", description=None)], "t", "p")
        row = store.db.execute(
            "SELECT name, owner_id, created_at, updated_at, content_size, checksum, content_data "
            "FROM content_items WHERE id = '9'").fetchone()
    name, owner, created, updated, size, checksum, blob = row
    assert (name, owner) == ("héllo 🎉", "7")
    assert created == "2025-03-04T05:06:07.000000Z"
    assert updated == "2025-03-05T01:02:03.000000Z"
    assert size == len(blob) and checksum == codec.checksum(blob)
    obj = codec.decode(blob)
    assert obj["zz_future_key"] is None and obj["description"] is None
    assert list(obj)[:2] == ["id", "title"]


def test_unparsable_timestamp_is_null_not_invented() -> None:
    assert codec.utc_timestamp("yesterday") is None
    assert codec.utc_timestamp(None) is None
    assert codec.utc_timestamp("2025-01-01T00:00:00+02:00") == "2024-12-31T22:00:00.000000Z"


@pytest.mark.parametrize("kind", ["directory", "parent_is_file", "corrupt", "foreign", "newer"])
def test_bad_database_files_are_refused_with_the_path(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "db.sqlite"
    if kind == "directory":
        path.mkdir()
    elif kind == "parent_is_file":
        (tmp_path / "file").write_text("x")
        path = tmp_path / "file" / "db.sqlite"
    elif kind == "corrupt":
        path.write_bytes(b"this is not sqlite" * 100)
    elif kind == "foreign":
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE other (x)")
        conn.commit()
        conn.close()
    elif kind == "newer":
        ContentStore(path).close()
        conn = sqlite3.connect(path)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        conn.close()
    before = path.read_bytes() if path.is_file() else None
    with pytest.raises(StoreError) as info:
        ContentStore(path)
    assert str(path) in str(info.value)
    if before is not None:
        assert path.read_bytes() == before, "a refused file must not be rewritten"


def test_a_newer_attempt_takes_over_and_the_older_one_stops(store_location: str) -> None:
    code = DASHBOARDS.code
    with ContentStore(store_location) as first, ContentStore(store_location) as second:
        assert first.start_sync(code, "p", {}, owner="A") is None
        first.write_batch(code, [_row("1", "a")], "t", "p", checkpoint={}, owner="A")
        # B resumes A's open checkpoint (say, a manual re-run while A still runs).
        assert second.start_sync(code, "p", {}, owner="B") is not None
        with pytest.raises(StoreError, match="took over"):
            first.write_batch(code, [_row("2", "b")], "t", "p", checkpoint={}, owner="A")
        with pytest.raises(StoreError, match="took over"):
            first.complete_sync(code, "p", {}, owner="A")
        second.write_batch(code, [_row("2", "b")], "t", "p", checkpoint={}, owner="B")
        assert second.complete_sync(code, "p", {}, owner="B") == (0, 0)
        assert second.progress_ids(code, "p") == set()
        assert first.get(code, "2") is not None


def test_an_object_msgpack_cannot_hold_is_named() -> None:
    from looker_assets.storage.rows import UnstorableObject

    with pytest.raises(UnstorableObject, match="dashboards 7"):
        make_row(DASHBOARDS, "7", {"id": "7", "huge": 2**70})


def test_a_sync_that_may_not_delete_still_closes_its_checkpoint(store_location: str) -> None:
    code = DASHBOARDS.code
    with ContentStore(store_location) as store:
        store.start_sync(code, "p1", {}, owner="A")
        store.write_batch(code, [_row("1", "a"), _row("2", "b")], "t", "p1", owner="A")
        store.complete_sync(code, "p1", {}, owner="A")
        # A user who lacks a permission lists only "1": nothing is deleted, and the next run
        # starts afresh instead of resuming this one forever.
        store.start_sync(code, "p2", {}, owner="B")
        store.write_batch(code, [], "t", "p2", seen_ids=["1"], owner="B")
        assert store.complete_sync(code, "p2", {}, owner="B", delete=False) == (0, 0)
        assert store.checkpoint(code, "p2")["status"] == "complete"
        assert store.active_ids(code) == {"1", "2"}


def test_postgres_schema_explains_itself(postgres) -> None:
    url = postgres.create_database("schema_check")
    ContentStore(url).close()
    with psycopg.connect(url) as conn:
        names = dict(conn.execute("SELECT code, name FROM content_types").fetchall())
        meta = dict(conn.execute("SELECT key, value FROM store_meta").fetchall())
        tables = {r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert names == {ct.code: ct.name for ct in content_types.CONTENT_TYPES}
    assert meta == {"application": "looker_assets", "schema_version": str(SCHEMA_VERSION)}
    assert {"content_items", "content_versions", "content_blobs", "sync_history",
            "sync_checkpoints", "sync_progress"} <= tables


@pytest.mark.parametrize("kind", ["foreign tables", "newer", "wrong password", "no server"])
def test_bad_postgres_stores_are_refused_without_the_password(postgres, kind: str) -> None:
    url = postgres.create_database("bad_store")
    if kind == "foreign tables":
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE content_items (x int)")
    elif kind == "newer":
        ContentStore(url).close()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("UPDATE store_meta SET value = %s WHERE key = 'schema_version'",
                         (str(SCHEMA_VERSION + 1),))
    elif kind == "wrong password":
        url = url.replace(postgres.password, "not-the-password-x")
    else:
        url = url.replace(f":{postgres.port}/", ":1/")
    secret = url.split(":")[2].split("@")[0]
    with pytest.raises(StoreError) as info:
        ContentStore(url)
    message = str(info.value)
    assert secret not in message and "***@127.0.0.1" in message, message
    expected = {"foreign tables": "did not create", "newer": "newer than this",
                "wrong password": "password authentication failed",
                "no server": "cannot connect"}[kind]
    assert expected in message


def test_a_new_sqlite_store_is_private(tmp_path: Path) -> None:
    path = tmp_path / "new" / "folder" / "s.sqlite"
    with ContentStore(path) as store:
        store.write_batch(DASHBOARDS.code, [_row("1", "a")], "t", "p")
        assert not store.warnings
        for f in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            assert stat.S_IMODE(f.stat().st_mode) == 0o600, f
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    path.chmod(0o644)
    with ContentStore(path) as store:
        assert store.warnings == [
            f"{path} is readable by other users (mode 0644); it holds user emails and "
            f"connection hosts: chmod 600 {path}"]


OPEN_AT = """
import sys, time
from looker_assets import content_types
from looker_assets.storage.rows import make_row
from looker_assets.storage.store import ContentStore
url, code, start_at = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
time.sleep(max(0.0, start_at - time.time()))
with ContentStore(url) as store:
    store.write_batch(code, [make_row(content_types.BY_CODE[code], "1", {"id": "1"})], "t", "p")
"""


def test_stores_opened_at_once_on_a_new_database_all_work(postgres) -> None:
    """Step processes starting together on an empty PostgreSQL database: one creates the
    schema, the others wait for it and use it (none mistakes it for a foreign one)."""
    url = postgres.create_database("opened_at_once")
    start_at = time.time() + 3  # after every process has imported looker_assets
    procs = [subprocess.Popen([sys.executable, "-c", OPEN_AT, url, str(code), str(start_at)],
                              stderr=subprocess.PIPE, text=True) for code in range(1, 7)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), [e[-600:] for e in errors if e]
    with ContentStore(url) as store:
        assert sum(c["active"] for c in store.counts().values()) == 6
