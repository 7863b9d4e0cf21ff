"""Compressed bodies: every version of a history with renames, reverts, trash, deletes and a
long edit chain reads back byte for byte on both backends; a store of the previous schema keeps
working and `compact` shrinks it without changing one `export --at`; damage is named, never
returned as other bytes."""

from __future__ import annotations

import json
import random
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from looker_assets import content_types
from looker_assets.cli import app
from looker_assets.storage import codec, compaction
from looker_assets.storage.bodies import DELTA, ZSTD_DICT, Body, BodyError
from looker_assets.storage.history import sync_cutoff, versions_at
from looker_assets.storage.integrity import check_history, check_rows
from looker_assets.storage.retention import prune
from looker_assets.storage.rows import make_row
from looker_assets.storage.schema import APPLICATION_ID, DDL_V1, DDL_V2, DIALECT_WORDS
from looker_assets.storage.store import ContentStore

DASHBOARDS = content_types.get("dashboards")
FOLDERS = 6
OBJECTS = 120
EDITS = 12  # versions of one object, each a small edit: deltas against one keyframe


def _dashboard(i: int, folder_names: list[str], title: str | None = None,
               deleted: bool = False) -> dict[str, Any]:
    """A dashboard-like object of ~2 KB that embeds its folder, as Looker's do."""
    rng = random.Random(i)
    folder = i % FOLDERS
    return {
        "id": str(i), "title": title or f"Dashboard {i} {rng.choice(['sales', 'ops', 'hr'])}",
        "deleted": deleted, "user_id": str(rng.randint(1, 40)),
        "folder": {"id": str(folder), "name": folder_names[folder], "parent_id": "1"},
        "dashboard_elements": [
            {"id": str(i * 10 + e), "title": f"Tile {e} of {i}", "type": "vis",
             "query": {"model": "thelook", "view": rng.choice(["orders", "users", "events"]),
                       "fields": [f"f{rng.randint(0, 99)}" for _ in range(6)],
                       "filters": {"created_date": f"{rng.randint(1, 90)} days"},
                       "limit": str(rng.choice([500, 5000]))}}
            for e in range(4)],
        "can": {"download": True, "see_lookml": bool(i % 2), "update": True},
    }


def _sync(store: ContentStore, partition: str, objects: dict[str, dict[str, Any]]) -> str:
    """One complete sync that saw exactly `objects` (the rest is deleted); its completion."""
    code = DASHBOARDS.code
    store.start_sync(code, partition, {}, owner="o")
    rows = [make_row(DASHBOARDS, id_, obj) for id_, obj in objects.items()]
    for start in range(0, len(rows), 50):
        store.write_batch(code, rows[start:start + 50], codec.now_utc(), partition,
                          owner="o")
    store.complete_sync(code, partition, {}, owner="o")
    return sync_cutoff(store, code, codec.now_utc())


def _history(store: ContentStore) -> list[tuple[str, dict[str, bytes]]]:
    """Writes the history; returns (moment, id -> raw MessagePack expected at it) per sync."""
    names = [f"Folder {f}" for f in range(FOLDERS)]
    state = {str(i): _dashboard(i, names) for i in range(OBJECTS)}
    moments = []

    def sync(partition: str) -> None:
        at = _sync(store, partition, state)
        moments.append((at, {i: codec.encode(o) for i, o in state.items()}))

    sync("p01")
    names[0] = "Folder 0, renamed"  # a new version of every dashboard in it
    state = {str(i): _dashboard(i, names, deleted=(i == 5)) for i in range(OBJECTS - 10)}
    sync("p02")
    names[0] = "Folder 0"  # renamed back: the same bytes as the first sync, again
    gone = OBJECTS - 10
    state = {str(i): _dashboard(i, names) for i in range(gone + 1)}  # one deleted comes back
    sync("p03")
    for edit in range(EDITS):
        state["2"] = _dashboard(2, names, title=f"Edited {edit}")
        sync(f"p{edit + 4:02}")
    return moments


def _check_reads(store: ContentStore, moments: list[tuple[str, dict[str, bytes]]]) -> None:
    for at, expected in moments:
        got = {v.id: v.content_data for v in versions_at(store, DASHBOARDS.code, at)}
        assert got == expected, at


def test_every_version_reads_back_byte_for_byte(store_location: str) -> None:
    with ContentStore(store_location) as store:
        moments = _history(store)
        _check_reads(store, moments)
        db = store.db
        # Current bodies: the type's trained dictionary.
        codecs = dict(db.execute("SELECT codec, count(*) FROM content_items GROUP BY codec"))
        assert codecs == {ZSTD_DICT: OBJECTS}, codecs
        # Past versions: the rename and each edit stored as a delta of tens of bytes.
        deltas = db.execute("SELECT count(*), avg(length(content_data)) FROM content_blobs "
                            "WHERE codec = ?", (DELTA,)).fetchone()
        assert deltas[0] >= EDITS - 2 and deltas[1] <= 200, deltas
        # Every delta is one link from a whole body (a keyframe): any version reads in two.
        bases = dict(db.execute("SELECT checksum, base_checksum FROM content_blobs"))
        for checksum in bases:
            links = 0
            while bases.get(checksum):
                checksum, links = bases[checksum], links + 1
            assert links <= 1
        stored, size = store.body_bytes()[DASHBOARDS.code]
        assert stored * 5 < size, (stored, size)
        assert check_rows(store, DASHBOARDS).ok and check_history(store, DASHBOARDS).ok
        if db.dialect == "postgresql":
            # Compressed by us: the server does not compress them a second time.
            assert db.execute("SELECT count(*) FROM content_items WHERE "
                              "pg_column_compression(content_data) IS NOT NULL"
                              ).fetchone()[0] == 0
        # Retention drops the oldest versions, deltas built on them included: what is kept
        # still reads back.
        report = prune(store, moments[-3][0])
        assert report.versions_removed > 0
        _check_reads(store, moments[-2:])
        assert check_history(store, DASHBOARDS).ok


def test_damage_is_named_never_read_as_other_bytes(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with ContentStore(path) as store:
        _history(store)
    conn = sqlite3.connect(path, isolation_level=None)
    # A dictionary in use cannot be deleted.
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("DELETE FROM content_dicts")
    # A flipped byte in a current body.
    data = bytearray(conn.execute("SELECT content_data FROM content_items WHERE id = '7'"
                                  ).fetchone()[0])
    data[len(data) // 2] ^= 0x40
    conn.execute("UPDATE content_items SET content_data = ? WHERE id = '7'", (bytes(data),))
    # A delta given another base.
    delta, other = (r[0] for r in conn.execute(
        "SELECT checksum FROM content_blobs WHERE codec = ? LIMIT 2", (DELTA,)))
    conn.execute("UPDATE content_blobs SET base_checksum = ? WHERE checksum = ?",
                 (other, delta))
    conn.close()
    with ContentStore(path) as store:
        with pytest.raises(BodyError, match="dashboards 7"):
            store.get(DASHBOARDS.code, "7")
        bad = check_rows(store, DASHBOARDS).bad + check_history(store, DASHBOARDS).bad
        assert {b.id for b in bad} >= {"7"} and len(bad) == 2, bad
    result = CliRunner().invoke(app, ["verify", "--db", str(path), "--json"])
    assert result.exit_code == 1
    assert {r["id"] for r in json.loads(result.stdout)["bad_rows"]} >= {"7"}


def _previous_schema_copy(store: ContentStore, target: Path) -> None:
    """The same store as the previous release (schema 2) wrote it: uncompressed bodies, no
    codec columns, no dictionaries."""
    conn = sqlite3.connect(target, isolation_level=None)
    conn.execute("PRAGMA page_size = 16384")
    conn.executescript((DDL_V1 + DDL_V2).format(**DIALECT_WORDS["sqlite"]))
    src = store.db
    for table in ("content_types", "content_versions", "sync_history", "sync_checkpoints",
                  "store_meta"):
        rows = src.execute(f"SELECT * FROM {table}").fetchall()
        if rows:
            conn.executemany(f"INSERT INTO {table} VALUES ({', '.join('?' * len(rows[0]))})",
                             rows)
    for item in store.iter_items():
        meta = src.execute("SELECT name, owner_id, owner_email, created_at, updated_at, "
                           "synced_at, source_version FROM content_items WHERE "
                           "content_type = ? AND id = ?", (item.content_type, item.id)).fetchone()
        conn.execute("INSERT INTO content_items (content_type, id, name, owner_id, owner_email, "
                     "created_at, updated_at, synced_at, deleted_at, source_version, "
                     "content_size, checksum, content_data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
                     "?, ?, ?, ?)", (item.content_type, item.id, *meta[:6], item.deleted_at,
                                     meta[6], item.content_size, item.checksum,
                                     item.content_data))
    for (checksum,) in src.execute("SELECT checksum FROM content_blobs").fetchall():
        raw, _ = store.bodies.past(checksum, checksum)
        conn.execute("INSERT INTO content_blobs VALUES (?, ?, ?)", (checksum, len(raw), raw))
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 2")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.close()


def _exports(db: Path, moments: list[str], out: Path) -> dict[str, dict[str, str]]:
    """`export --at` of every moment: moment -> relative path -> file text."""
    found = {}
    for n, at in enumerate(moments):
        target = out / f"m{n}"
        result = CliRunner().invoke(app, ["export", str(target), "--at", at, "--db", str(db)])
        assert result.exit_code == 0, result.output
        found[at] = {str(p.relative_to(target)): p.read_text()
                     for p in target.rglob("*.json")}
    return found


def test_previous_schema_keeps_working_and_compacts(tmp_path: Path) -> None:
    current = tmp_path / "current.sqlite"
    old = tmp_path / "old.sqlite"
    with ContentStore(current) as store:
        moments = [at for at, _ in _history(store)]
        _previous_schema_copy(store, old)
    expected = _exports(current, moments, tmp_path / "current")
    runner = CliRunner()
    stats = runner.invoke(app, ["stats", "--json", "--db", str(old)])
    assert stats.exit_code == 0 and "stays uncompressed until" in stats.stderr
    before = next(t for t in json.loads(stats.stdout)["content_types"]
                  if t["type"] == "dashboards")
    assert before["stored_bytes"] == before["uncompressed_bytes"] > 0
    assert _exports(old, moments, tmp_path / "old") == expected

    # Stopped after its first batch, then run again: it takes up where it stopped.
    def stop(name: str, rows: int) -> None:
        raise KeyboardInterrupt

    with ContentStore(old) as store, pytest.raises(KeyboardInterrupt):
        compaction.compact(store, batch=20, progress=stop)
    assert _exports(old, moments, tmp_path / "half") == expected
    result = runner.invoke(app, ["compact", "--vacuum", "--json", "--db", str(old)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["past_recoded"] > 0 and report["saved_bytes"] > 0
    assert report["file_bytes_after"] < report["file_bytes_before"], report
    assert _exports(old, moments, tmp_path / "compacted") == expected
    again = json.loads(runner.invoke(app, ["compact", "--json", "--db", str(old)]).stdout)
    assert (again["current_recoded"], again["past_recoded"]) == (0, 0)
    after = next(t for t in json.loads(runner.invoke(
        app, ["stats", "--json", "--db", str(old)]).stdout)["content_types"]
        if t["type"] == "dashboards")
    assert after["stored_bytes"] * 5 < after["uncompressed_bytes"] == before[
        "uncompressed_bytes"]
    assert runner.invoke(app, ["verify", "--db", str(old)]).exit_code == 0


def test_a_postgresql_store_of_the_previous_schema_upgrades(postgres: Any) -> None:
    url = postgres.create_database(f"t_{uuid.uuid4().hex[:16]}")
    with ContentStore(url) as store:
        moments = _history(store)
        expected = {v.id: v.content_data for v in versions_at(store, DASHBOARDS.code,
                                                               moments[-1][0])}
        # As the previous release left it: raw bodies, no codec columns, no dictionaries.
        db, bodies = store.db, store.bodies
        with db.write():
            for code, id_, c, d, data in db.execute(
                    "SELECT content_type, id, codec, dict_id, content_data FROM content_items"
                    ).fetchall():
                db.execute("UPDATE content_items SET content_data = ? WHERE content_type = ? "
                           "AND id = ?", (bodies.unpack(Body(c, d, data), id_), code, id_))
            past = [(bodies.past(checksum, checksum)[0], checksum) for (checksum,) in
                    db.execute("SELECT checksum FROM content_blobs").fetchall()]
            db.execute("UPDATE content_blobs SET base_checksum = NULL")
            db.executemany("UPDATE content_blobs SET content_data = ? WHERE checksum = ?", past)
            db.execute("ALTER TABLE content_items DROP COLUMN codec, DROP COLUMN dict_id")
            db.execute("ALTER TABLE content_blobs DROP COLUMN codec, DROP COLUMN dict_id, "
                       "DROP COLUMN base_checksum")
            db.execute("DROP TABLE content_dicts")
            db.execute("UPDATE store_meta SET value = '2' WHERE key = 'schema_version'")
    with ContentStore(url) as store:
        assert store.upgraded_from == 2
        assert {v.id: v.content_data for v in versions_at(
            store, DASHBOARDS.code, moments[-1][0])} == expected
        report = compaction.compact(store)
        assert report.current_recoded == OBJECTS and report.saved > 0
        _check_reads(store, moments)
    with ContentStore(url) as store:
        assert store.upgraded_from is None
