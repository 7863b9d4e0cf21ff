"""What a restore keeps in the store: its runs, a status per object, and the id map.

The id map (source instance, type, old id) -> new id is what makes a restore of a re-created
object repeatable: the next restore finds the new object through it instead of creating a
third one, and references among restored objects are rewritten through it. Rows are written
the moment Looker answers a create, so a killed restore never forgets an object it made.

The tables are created on a store's first restore (a sync never needs them), in both
dialects; connections are shared by the restore's threads under one lock.
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

from looker_assets.storage import codec
from looker_assets.storage.store import ContentStore

DDL = """
CREATE TABLE IF NOT EXISTS restore_runs (
    run_id      {text} PRIMARY KEY,
    fingerprint {text} NOT NULL,
    source      TEXT NOT NULL,
    request     TEXT NOT NULL,
    status      TEXT NOT NULL,
    started_at  {text} NOT NULL,
    finished_at {text}
);
CREATE TABLE IF NOT EXISTS restore_items (
    run_id       {text} NOT NULL,
    content_type TEXT NOT NULL,
    id           {text} NOT NULL,
    action       TEXT NOT NULL,
    status       TEXT NOT NULL,
    new_id       TEXT,
    error        TEXT,
    detail       TEXT,
    updated_at   {text} NOT NULL,
    PRIMARY KEY (run_id, content_type, id)
);
CREATE TABLE IF NOT EXISTS restore_id_map (
    source       {text} NOT NULL,
    content_type {text} NOT NULL,
    old_id       {text} NOT NULL,
    new_id       TEXT NOT NULL,
    run_id       TEXT NOT NULL,
    created_at   {text} NOT NULL,
    PRIMARY KEY (source, content_type, old_id)
);
-- Migrations: the natural key each mapped object had when last written or seen, so that an
-- entry is trusted only while the target object still has it (or the one it should have).
CREATE TABLE IF NOT EXISTS restore_id_keys (
    source       {text} NOT NULL,
    content_type {text} NOT NULL,
    old_id       {text} NOT NULL,
    natural_key  TEXT NOT NULL,
    PRIMARY KEY (source, content_type, old_id)
);
"""
_WORDS = {"sqlite": {"text": "TEXT"}, "postgresql": {"text": 'TEXT COLLATE "C"'}}


class Records:
    """The restore tables of one store, safe to use from several threads."""

    def __init__(self, store: ContentStore, source: str) -> None:
        self.store = store
        self.db = store.db
        self.source = source  # the Looker base URL the ids belong to
        self.lock = threading.Lock()
        with self.lock, self.db.write():
            for statement in DDL.format(**_WORDS[self.db.dialect]).split(";"):
                if statement.strip():
                    self.db.execute(statement)
        self._map: dict[tuple[str, str], str] = {
            (t, o): n for t, o, n in self.db.execute(
                "SELECT content_type, old_id, new_id FROM restore_id_map WHERE source = ?",
                (source,))}
        self._keys: dict[tuple[str, str], str] = {
            (t, o): k for t, o, k in self.db.execute(
                "SELECT content_type, old_id, natural_key FROM restore_id_keys WHERE "
                "source = ?", (source,))}

    # -- id map ------------------------------------------------------------------------------

    def mapped(self, type_: str, old_id: str) -> str | None:
        return self._map.get((type_, old_id))

    def map_id(self, type_: str, old_id: str, new_id: str, run_id: str) -> None:
        # Kept even when the ids are equal: on another instance (migrate) equal ids are
        # a coincidence, and only the map may say they are the same object.
        if self._map.get((type_, old_id)) != new_id:
            self._upsert(self._map, "restore_id_map", type_, old_id,
                         {"new_id": new_id, "run_id": run_id, "created_at": codec.now_utc()})

    def key_of(self, type_: str, old_id: str) -> str | None:
        return self._keys.get((type_, old_id))

    def remember_key(self, type_: str, old_id: str, key: str) -> None:
        if self._keys.get((type_, old_id)) != key:
            self._upsert(self._keys, "restore_id_keys", type_, old_id, {"natural_key": key})

    def _upsert(self, cache: dict[tuple[str, str], str], table: str, type_: str, old_id: str,
                values: dict[str, str]) -> None:
        """One row per (source, type, old id) in `table`, and its first value in `cache`."""
        with self.lock:
            cache[(type_, old_id)] = next(iter(values.values()))
            names = ["source", "content_type", "old_id", *values]
            with self.db.write():
                self.db.execute(f"DELETE FROM {table} WHERE source = ? AND content_type = ? "
                                f"AND old_id = ?", (self.source, type_, old_id))
                self.db.execute(f"INSERT INTO {table} ({', '.join(names)}) VALUES "
                                f"({', '.join('?' * len(names))})",
                                (self.source, type_, old_id, *values.values()))

    def id_map(self) -> dict[tuple[str, str], str]:
        return dict(self._map)

    # -- runs -----------------------------------------------------------------------------------

    def open_run(self, fingerprint: str, request: dict[str, Any]) -> tuple[str, dict[
            tuple[str, str], str]]:
        """The unfinished run of the same request (a killed restore, re-run) or a new one; and
        (type, id) -> the status it left each object in ("creating": a create was sent and
        may have landed unrecorded)."""
        with self.lock:
            row = self.db.execute(
                "SELECT run_id FROM restore_runs WHERE fingerprint = ? AND source = ? AND "
                "status = 'running' ORDER BY started_at DESC LIMIT 1",
                (fingerprint, self.source)).fetchone()
            if row is not None:
                run_id = row[0]
                left = {(t, i): s for t, i, s in self.db.execute(
                    "SELECT content_type, id, status FROM restore_items WHERE run_id = ?",
                    (run_id,))}
                return run_id, left
            run_id = uuid.uuid4().hex[:12]
            with self.db.write():
                self.db.execute(
                    "INSERT INTO restore_runs (run_id, fingerprint, source, request, status, "
                    "started_at) VALUES (?, ?, ?, ?, 'running', ?)",
                    (run_id, fingerprint, self.source, json.dumps(request, sort_keys=True),
                     codec.now_utc()))
            return run_id, {}

    def record(self, run_id: str, type_: str, id_: str, action: str, status: str,
               new_id: str | None, error: str | None, detail: Any = None) -> None:
        with self.lock, self.db.write():
            self.db.execute("DELETE FROM restore_items WHERE run_id = ? AND content_type = ? "
                            "AND id = ?", (run_id, type_, id_))
            self.db.execute(
                "INSERT INTO restore_items (run_id, content_type, id, action, status, new_id, "
                "error, detail, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, type_, id_, action, status, new_id, error,
                 None if detail is None else json.dumps(detail, default=str), codec.now_utc()))

    def close_run(self, run_id: str, status: str) -> None:
        with self.lock, self.db.write():
            self.db.execute("UPDATE restore_runs SET status = ?, finished_at = ? WHERE "
                            "run_id = ?", (status, codec.now_utc(), run_id))
