"""The content store: small explicit SQL, shared by its two backends (SQLite, PostgreSQL)."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from looker_assets.content_types import BY_CODE, CONTENT_TYPES
from looker_assets.storage import codec
from looker_assets.storage.backend import (
    SCHEMA_LOCK,
    Backend,
    BackendError,
    SqliteBackend,
    is_url,
    open_backend,
    redact,
    scrub,
)
from looker_assets.storage.bodies import (
    TRAIN_MAX_SAMPLES,
    TRAIN_MIN_SAMPLES,
    ZSTD,
    Bodies,
    Body,
    BodyError,
    Dictionary,
)
from looker_assets.storage.schema import (
    APPLICATION,
    APPLICATION_ID,
    CONNECTION_PRAGMAS,
    FRESH_FROM,
    SCHEMA_VERSION,
    ddl,
    migration,
    statements,
)


class StoreError(RuntimeError):
    """The store cannot be used; the message names it (never with a password) and what to
    do."""


class _RolledBack(Exception):
    pass


@dataclass(frozen=True, slots=True)
class Row:
    """One object ready to store: metadata columns plus the encoded object."""

    id: str
    name: str | None
    owner_id: str | None
    owner_email: str | None
    created_at: str | None
    updated_at: str | None
    source_version: str | None
    content_data: bytes
    checksum: str


@dataclass
class BatchCounts:
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    # Rows written for objects stored as deleted: seen again, so live again.
    revived: int = 0
    bytes: int = 0
    # Bytes of the bodies written, compressed (`bytes` counts them uncompressed).
    stored: int = 0
    # History: versions this batch opened (new, changed, seen again) and closed (changed).
    opened: int = 0
    closed: int = 0

    def add(self, other: BatchCounts) -> None:
        for name in ("new", "updated", "unchanged", "revived", "bytes", "stored", "opened",
                     "closed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True, slots=True)
class StoredItem:
    content_type: int
    id: str
    deleted_at: str | None
    content_size: int
    checksum: str
    content_data: bytes


def connect(location: str | Path) -> tuple[Backend, int | None]:
    """Open (creating if needed) the store at `location` (a SQLite file or a postgresql://
    URL), check that it is ours, and upgrade an older schema in place. Returns the backend
    and the version upgraded from, if any. Errors name the location, never a password."""
    text = str(location)
    shown = redact(text)
    if not is_url(text) and Path(text).expanduser().is_dir():
        raise StoreError(f"database path {shown} is a directory; set LOOKER_ASSETS_DB to a file")
    try:
        db = open_backend(text)
    except BackendError as exc:
        raise StoreError(str(exc)) from None
    except OSError as exc:
        raise StoreError(f"cannot open database {shown}: {exc}") from exc
    except Exception as exc:  # the driver's own errors (sqlite3.Error, psycopg.Error)
        raise StoreError(f"cannot open database {shown}: {scrub(str(exc), text)}") from None
    try:
        prepare = _prepare_sqlite if isinstance(db, SqliteBackend) else _prepare_postgres
        upgraded_from = prepare(db)
        _register_new_types(db)
    except StoreError:
        db.close()
        raise
    except db.errors as exc:
        db.close()
        raise StoreError(f"cannot use database {shown}: {scrub(str(exc), text)}") from None
    return db, upgraded_from


def _prepare_sqlite(db: SqliteBackend) -> int | None:
    conn = db.conn
    for pragma in CONNECTION_PRAGMAS:
        conn.execute(pragma)
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    tables = conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]
    if tables and app_id != APPLICATION_ID:
        raise StoreError(
            f"{db.location} is not a looker_assets database (application_id {app_id}); "
            "point LOOKER_ASSETS_DB at a new or existing looker_assets file"
        )
    _refuse_newer(db, version)
    if not tables:
        conn.execute("PRAGMA page_size = 16384")
    _switch_to_wal(conn)
    if version == SCHEMA_VERSION and tables:
        return None
    try:
        with db.write():
            # Another process may have created or upgraded the file while this one waited.
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]
            if version == SCHEMA_VERSION and tables:
                return None
            upgraded_from = version if tables else None
            _create_schema(db)
            _upgrade(db, version if tables else FRESH_FROM)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except db.errors as exc:
        if tables and version < SCHEMA_VERSION:
            raise StoreError(
                f"{db.location} has schema version {version} and could not be upgraded to "
                f"{SCHEMA_VERSION} (nothing was changed): {exc}") from None
        raise
    return upgraded_from


def _switch_to_wal(conn: Any, patience: float = 30.0) -> None:
    """WAL mode, waiting for other openers: a journal-mode change answers "database is
    locked" at once, without SQLite's busy handler, while another connection reads (four step
    processes opening a new file together hit it)."""
    deadline = time.monotonic() + patience
    delay = 0.01
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


def _prepare_postgres(db: Backend) -> int | None:
    """PostgreSQL: store_meta marks the tables as ours and holds the schema version. Other
    applications' tables may share the database; tables of ours without the mark may not."""

    def marks() -> dict[str, str]:
        if "store_meta" not in db.tables():
            return {}
        return dict(db.execute("SELECT key, value FROM store_meta WHERE key IN "
                               "('application', 'schema_version')").fetchall())

    def check(found: dict[str, str]) -> bool:
        """True when the schema is current; raises for what must not be touched."""
        ours = {"content_items", "content_versions", "sync_checkpoints"} & db.tables()
        if not found and ours:
            raise StoreError(f"{db.location} holds tables named like looker_assets' "
                             f"({', '.join(sorted(ours))}) that it did not create; use a "
                             f"database or schema of its own")
        if found and found.get("application") != APPLICATION:
            raise StoreError(f"{db.location} is not a looker_assets database")
        version = int(found.get("schema_version", 0))
        _refuse_newer(db, version)
        return version == SCHEMA_VERSION

    found = marks()
    if found.get("application") == APPLICATION and found.get("schema_version") == str(
            SCHEMA_VERSION):
        return None
    with db.write(SCHEMA_LOCK):
        # Decided under the lock: another process may be creating the schema right now (its
        # tables can appear between two reads outside it, before its marks do).
        found = marks()
        if check(found):
            return None
        _create_schema(db)
        _upgrade(db, int(found.get("schema_version", FRESH_FROM)))
        db.executemany("INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) "
                       "DO UPDATE SET value = excluded.value",
                       [("application", APPLICATION), ("schema_version", str(SCHEMA_VERSION))])
    return int(found["schema_version"]) if found else None


def _upgrade(db: Backend, version: int) -> None:
    """Run the upgrade steps from `version` to the current one (inside the caller's
    transaction, after the current tables exist)."""
    for step in range(version, SCHEMA_VERSION):
        for statement in migration(step, db.dialect):
            db.execute(statement)


def _refuse_newer(db: Backend, version: int) -> None:
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{db.location} has schema version {version}, newer than this looker_assets "
            f"({SCHEMA_VERSION}); upgrade looker_assets instead of opening it with an old one"
        )


def _register_new_types(db: Backend) -> None:
    """A content type added to the registry after the store was created gets its
    content_types row, which every row of the type references. A store this process may only
    read is left as it is (its readers need no such row)."""
    known = {row[0] for row in db.execute("SELECT code FROM content_types")}
    missing = [(ct.code, ct.name, ct.description) for ct in CONTENT_TYPES
               if ct.code not in known]
    if missing:
        with suppress(*db.errors), db.write(SCHEMA_LOCK):
            db.executemany("INSERT INTO content_types (code, name, description) "
                           "VALUES (?, ?, ?) ON CONFLICT DO NOTHING", missing)


def _create_schema(db: Backend) -> None:
    for statement in statements(ddl(db.dialect)):
        db.execute(statement)
    db.executemany(
        "INSERT INTO content_types (code, name, description) VALUES (?, ?, ?) "
        "ON CONFLICT(code) DO UPDATE SET name = excluded.name, "
        "description = excluded.description",
        [(ct.code, ct.name, ct.description) for ct in CONTENT_TYPES],
    )


# Parameters :code (content type) and :partition: the ids the open sync of that partition
# handled, and the active rows it did not (what a complete listing lacked).
_HANDLED_IDS = ("SELECT id FROM sync_progress WHERE content_type = :code "
                "AND partition_key = :partition")
_UNHANDLED_ACTIVE = (f"content_type = :code AND deleted_at IS NULL "
                     f"AND id NOT IN ({_HANDLED_IDS})")


def _chunks(ids: list[str], size: int = 900) -> Iterator[list[str]]:
    """SQLite's default limit on bound variables is 32766, and a batch may be larger."""
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


_ITEM_COLUMNS = ("content_type", "id", "name", "owner_id", "owner_email", "created_at",
                 "updated_at", "synced_at", "source_version", "content_size", "checksum",
                 "codec", "dict_id", "content_data")
_ITEM_TYPES = ("int4", *["text"] * 8, "int4", "text", "int4", "int8", "bytea")
_BLOB_COLUMNS = ("checksum", "content_size", "codec", "dict_id", "base_checksum",
                 "content_data")
_VERSION_COLUMNS = ("content_type", "id", "valid_from", "content_size", "checksum")
_VERSION_TYPES = ("int4", "text", "text", "int4", "text")


# store_meta: the base URL of the Looker the store backs up (migrate refuses it as a target).
INSTANCE_KEY = "looker_instance"


def _type_name(code: int) -> str:
    found = BY_CODE.get(code)
    return found.name if found else f"content type {code}"


class ContentStore:
    """Reads and writes one store: a SQLite file, or a PostgreSQL database."""

    def __init__(self, location: str | Path) -> None:
        self.db, self.upgraded_from = connect(location)
        # What messages and metadata show: the path, or the URL without its password.
        self.location = self.db.location
        self.path = self.db.path if isinstance(self.db, SqliteBackend) else None
        # Compresses what is written and decompresses what is read (storage/bodies.py).
        self.bodies = Bodies(self.db)
        # Types zstd could not train a dictionary on, and on how many objects it tried.
        self._untrained: dict[int, int] = {}
        # Things the operator should fix (a store readable by other users), said once.
        self.warnings: list[str] = list(self.db.warnings)

    @property
    def conn(self) -> Any:
        """The driver's own connection (sqlite3 or psycopg), for tests and one-off reads."""
        return self.db.conn

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> ContentStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def check_writable(self) -> None:
        """Fail now, naming the store, if a sync could not write here."""
        try:
            with self.db.write():
                # A write that changes nothing, rolled back: proves the right to write.
                self.db.execute("DELETE FROM sync_progress WHERE content_type = -1")
                raise _RolledBack
        except _RolledBack:
            return
        except self.db.errors as exc:
            raise StoreError(f"cannot write database {self.location}: "
                             f"{self.db.scrub(str(exc))}") from None

    # -- writing ---------------------------------------------------------------------------

    def write_batch(
        self,
        content_type: int,
        rows: list[Row],
        synced_at: str,
        partition_key: str,
        seen_ids: Sequence[str] = (),
        checkpoint: dict[str, Any] | None = None,
        owner: str | None = None,
    ) -> BatchCounts:
        """Upsert `rows`, keep their versions, record them and `seen_ids` as handled, and
        advance the checkpoint, all in one transaction: the checkpoint never runs ahead of the
        data, and a killed sync leaves no half-written version.

        An unchanged object (same checksum) writes nothing; a changed one closes its version
        and opens one at this moment (its old bytes move to content_blobs); a new one, or one
        stored as deleted, opens one.
        """
        counts = BatchCounts()
        db = self.db
        # Compressed before the write lock is taken: other writers wait only for the SQL.
        bodies = self._pack(content_type, rows)
        with db.write(content_type):
            if owner is not None:
                self._check_owner(content_type, partition_key, owner)
            # Taken under the write lock: versions are ordered as their transactions commit.
            now = codec.now_utc()
            known = self._current(content_type, [r.id for r in rows])
            inserts, updates, sources, archive, closes, opens, revive = [], [], [], [], [], [], []
            for r, body in zip(rows, bodies, strict=True):
                size = len(r.content_data)
                counts.bytes += size
                previous = known.get(r.id)
                values = (r.name, r.owner_id, r.owner_email, r.created_at, r.updated_at,
                          synced_at, r.source_version, size, r.checksum, body.codec,
                          body.dict_id, body.data)
                version = (content_type, r.id, now, size, r.checksum)
                if previous is None or previous[0] != r.checksum:
                    counts.stored += len(body.data)
                if previous is None:
                    counts.new += 1
                    inserts.append((content_type, r.id, *values))
                    opens.append(version)
                elif previous[0] != r.checksum:
                    counts.updated += 1
                    archive.append(r.id)
                    updates.append((content_type, r.id, *values))
                    if previous[2]:
                        counts.revived += 1
                    else:
                        closes.append(r.id)
                    opens.append(version)
                else:
                    counts.unchanged += 1
                    if previous[2]:
                        counts.revived += 1
                        revive.append((content_type, r.id))
                        opens.append(version)
                    if previous[1] != r.source_version:
                        sources.append((r.source_version, content_type, r.id))
            counts.unchanged += len(seen_ids)
            counts.opened, counts.closed = len(opens), len(closes)
            # The bytes of a version that stops being current move to content_blobs first.
            self._archive(content_type, archive)
            db.insert_rows("content_items", _ITEM_COLUMNS, _ITEM_TYPES, inserts)
            db.update_rows("content_items", _ITEM_COLUMNS, _ITEM_TYPES, 2, updates,
                           also="deleted_at = NULL")
            db.executemany(
                "UPDATE content_items SET deleted_at = NULL WHERE content_type = ? AND id = ?",
                revive,
            )
            db.executemany(
                "UPDATE content_items SET source_version = ? WHERE content_type = ? AND id = ?",
                sources,
            )
            for chunk in _chunks(closes):
                among, params = db.one_of("id", chunk)
                db.execute(f"UPDATE content_versions SET valid_to = ? WHERE content_type = ? "
                           f"AND {among} AND valid_to IS NULL", (now, content_type, *params))
            db.insert_rows("content_versions", _VERSION_COLUMNS, _VERSION_TYPES, opens)
            db.insert_ids("sync_progress", ("content_type", "partition_key"),
                          (content_type, partition_key), [r.id for r in rows] + list(seen_ids))
            if checkpoint is not None:
                self._save_checkpoint(content_type, partition_key, "running", checkpoint, owner)
        return counts

    def _pack(self, content_type: int, rows: list[Row]) -> list[Body]:
        """The rows' bodies, compressed with the type's dictionary, trained first (once per
        type and store) when there is none and enough objects to train one on."""
        bodies = self.bodies
        if rows and bodies.dictionary_of(content_type) is None and self.train_dictionary(
                content_type, [r.content_data for r in rows]):
            # The few written before there was one (under TRAIN_MIN_SAMPLES, plus a batch).
            self.recode_current(content_type, f"codec = {ZSTD}")
        return [bodies.pack(content_type, r.content_data) for r in rows]

    def train_dictionary(self, content_type: int, samples: Sequence[bytes] = (),
                         ) -> Dictionary | None:
        """Train and store a new dictionary for the type from `samples` plus its stored
        objects (their raw bytes), newest first; None when too few to train on."""
        samples = list(samples)
        stored = self.db.execute("SELECT count(*) FROM content_items WHERE content_type = ? "
                                 "AND deleted_at IS NULL", (content_type,)).fetchone()[0]
        # Too few, or zstd found no dictionary in fewer than half as many: not yet.
        if len(samples) + stored < max(TRAIN_MIN_SAMPLES,
                                       2 * self._untrained.get(content_type, 0)):
            return None
        wanted = TRAIN_MAX_SAMPLES - len(samples)
        for id_, codec_, dict_id, data in self.db.execute(
                f"SELECT id, codec, dict_id, content_data FROM content_items WHERE "
                f"content_type = ? AND deleted_at IS NULL ORDER BY synced_at DESC "
                f"LIMIT {max(wanted, 0)}", (content_type,)).fetchall():
            with suppress(BodyError):  # a damaged row is `verify`'s to report, not a sample
                samples.append(self.bodies.unpack(Body(codec_, dict_id, data), id_))
        dictionary = self.bodies.train(content_type, samples)
        if dictionary is None:
            self._untrained[content_type] = len(samples) + stored
            return None
        with self.db.write(content_type):
            self.db.execute(
                "INSERT INTO content_dicts (dict_id, content_type, created_at, samples, "
                "dict_data) VALUES (?, ?, ?, ?, ?) ON CONFLICT (dict_id) DO NOTHING",
                (dictionary.dict_id, content_type, codec.now_utc(), dictionary.samples,
                 dictionary.data))
            owner = self.db.execute("SELECT content_type FROM content_dicts WHERE dict_id = ?",
                                    (dictionary.dict_id,)).fetchone()[0]
        if owner != content_type:  # zstd's random id taken by another type's: try next time
            return None
        self.bodies.adopt(dictionary)
        return dictionary

    def recode_current(self, content_type: int, stale: str, after: str = "",
                       limit: int | None = None) -> list[str]:
        """Re-encode the type's current bodies matching the SQL condition `stale`, with its
        newest dictionary, in id order after `after`, at most `limit` of them, in one
        transaction. Returns the ids visited."""
        db, bodies = self.db, self.bodies
        dict_id = bodies.dictionary_of(content_type)
        with db.write(content_type):
            rows = db.execute(
                f"SELECT id, codec, dict_id, content_data FROM content_items WHERE "
                f"content_type = ? AND id > ? AND {stale} ORDER BY id"
                + (f" LIMIT {int(limit)}" if limit is not None else ""),
                (content_type, after)).fetchall()
            updates = []
            for id_, codec_, old_dict, data in rows:
                raw = bodies.unpack(Body(codec_, old_dict, data),
                                    f"{_type_name(content_type)} {id_}")
                body = bodies.pack_with(dict_id, raw)
                updates.append((body.codec, body.dict_id, body.data, content_type, id_))
            db.executemany("UPDATE content_items SET codec = ?, dict_id = ?, content_data = ? "
                           "WHERE content_type = ? AND id = ?", updates)
        return [row[0] for row in rows]

    def _archive(self, content_type: int, ids: list[str]) -> None:
        """Copy the current bodies of `ids` to content_blobs (not yet there), each as a delta
        against the object's last past version stored whole where that is small. Inside the
        caller's write transaction, before the rows change."""
        db = self.db
        for chunk in _chunks(ids):
            among, params = db.one_of("i.id", chunk)
            # The base: the object's last past version stored whole (its keyframe).
            found = db.execute(
                f"SELECT i.id, i.checksum, i.content_size, i.codec, i.dict_id, i.content_data, "
                f"(SELECT v.checksum FROM content_versions v JOIN content_blobs kb ON "
                f"kb.checksum = v.checksum AND kb.base_checksum IS NULL WHERE v.content_type = "
                f"i.content_type AND v.id = i.id AND v.valid_to IS NOT NULL "
                f"ORDER BY v.valid_from DESC LIMIT 1) FROM content_items i "
                f"WHERE i.content_type = ? AND {among} AND NOT EXISTS (SELECT 1 FROM "
                f"content_blobs b WHERE b.checksum = i.checksum)",
                (content_type, *params)).fetchall()
            blobs = []
            for id_, checksum, size, codec_, dict_id, data, base in found:
                what = f"{_type_name(content_type)} {id_}"
                body = self.bodies.pack_past(content_type, what, checksum,
                                             Body(codec_, dict_id, data), base)
                blobs.append(
                    (checksum, size, body.codec, body.dict_id, body.base, body.data))
            db.executemany(
                f"INSERT INTO content_blobs ({', '.join(_BLOB_COLUMNS)}) VALUES (?, ?, ?, ?, ?, "
                f"?) ON CONFLICT (checksum) DO NOTHING", blobs)

    def _current(self, content_type: int, ids: list[str],
                 ) -> dict[str, tuple[str, str | None, bool]]:
        """id -> (checksum, source_version, deleted) of the stored rows among `ids`."""
        found: dict[str, tuple[str, str | None, bool]] = {}
        for chunk in _chunks(ids):
            among, params = self.db.one_of("id", chunk)
            for id_, checksum, version, deleted in self.db.execute(
                    f"SELECT id, checksum, source_version, deleted_at IS NOT NULL "
                    f"FROM content_items WHERE content_type = ? AND {among}",
                    (content_type, *params)):
                found[id_] = (checksum, version, bool(deleted))
        return found

    def versions(self, content_type: int) -> dict[str, str]:
        """id -> the listing version its stored copy was fetched at, where there is one."""
        return dict(self.db.execute(
            "SELECT id, source_version FROM content_items "
            "WHERE content_type = ? AND source_version IS NOT NULL",
            (content_type,),
        ))

    def progress_ids(self, content_type: int, partition_key: str) -> set[str]:
        return {row[0] for row in self.db.execute(
            "SELECT id FROM sync_progress WHERE content_type = ? AND partition_key = ?",
            (content_type, partition_key),
        )}

    def unhandled_active_ids(self, content_type: int, partition_key: str) -> list[str]:
        """Active rows the open sync has not handled: candidates for a soft delete."""
        return [row[0] for row in self.db.execute(
            f"SELECT id FROM content_items WHERE {_UNHANDLED_ACTIVE} ORDER BY id",
            {"code": content_type, "partition": partition_key})]

    def _check_owner(self, content_type: int, partition_key: str, owner: str) -> None:
        row = self.db.execute(
            "SELECT owner, status FROM sync_checkpoints WHERE content_type = ? "
            "AND partition_key = ?", (content_type, partition_key)).fetchone()
        if row is None or row[0] != owner or row[1] != "running":
            raise StoreError(
                f"another sync of content type {content_type}, partition {partition_key} "
                f"took over this one's checkpoint in {self.location}; this attempt stops here")

    def start_sync(self, content_type: int, partition_key: str, state: dict[str, Any],
                   owner: str | None = None) -> dict[str, Any] | None:
        """Open a checkpoint for (type, partition) owned by `owner`, or take over the open one
        and return it to resume from."""
        with self.db.write(content_type):
            existing = self.checkpoint(content_type, partition_key)
            if existing is not None and existing["status"] == "running":
                self.db.execute(
                    "UPDATE sync_checkpoints SET owner = ? WHERE content_type = ? "
                    "AND partition_key = ?", (owner, content_type, partition_key))
                return existing
            self.db.execute(
                "DELETE FROM sync_progress WHERE content_type = ? AND partition_key = ?",
                (content_type, partition_key))
            self.db.execute(
                "DELETE FROM sync_checkpoints WHERE content_type = ? AND partition_key = ?",
                (content_type, partition_key))
            self._save_checkpoint(content_type, partition_key, "running", state, owner)
        return None

    def complete_sync(self, content_type: int, partition_key: str, state: dict[str, Any],
                      owner: str | None = None, delete: bool = True) -> tuple[int, int]:
        """After a complete listing: soft-delete active rows it lacked (unless `delete` is
        False) and close their versions, revive rows it had (a new version each), record the
        completed sync in sync_history and close the checkpoint. One transaction, one moment:
        as of that moment, the store holds exactly what this sync saw.
        Returns (deleted, revived)."""
        db = self.db
        args = {"code": content_type, "partition": partition_key}
        with db.write(content_type):
            if owner is not None:
                self._check_owner(content_type, partition_key, owner)
            now = codec.now_utc()
            args["now"] = now
            deleted = 0
            if delete:
                db.execute(
                    f"UPDATE content_versions SET valid_to = :now WHERE content_type = :code "
                    f"AND valid_to IS NULL AND id IN "
                    f"(SELECT id FROM content_items WHERE {_UNHANDLED_ACTIVE})", args)
                deleted = db.execute(
                    f"UPDATE content_items SET deleted_at = :now WHERE {_UNHANDLED_ACTIVE}",
                    args).rowcount
            # Stored as deleted, handled by this sync: seen again.
            seen_again = (f"content_type = :code AND deleted_at IS NOT NULL "
                          f"AND id IN ({_HANDLED_IDS})")
            db.execute(
                f"INSERT INTO content_versions (content_type, id, valid_from, content_size, "
                f"checksum) SELECT content_type, id, :now, content_size, checksum "
                f"FROM content_items WHERE {seen_again}", args)
            revived = db.execute(
                f"UPDATE content_items SET deleted_at = NULL WHERE {seen_again}", args).rowcount
            db.execute(
                "DELETE FROM sync_progress WHERE content_type = ? AND partition_key = ?",
                (content_type, partition_key))
            started = db.execute(
                "SELECT started_at FROM sync_checkpoints WHERE content_type = ? "
                "AND partition_key = ?", (content_type, partition_key)).fetchone()
            args["started"] = started[0] if started else now
            db.execute(
                "INSERT INTO sync_history (content_type, partition_key, started_at, "
                "completed_at, objects) VALUES (:code, :partition, :started, :now, "
                "(SELECT count(*) FROM content_items WHERE content_type = :code "
                "AND deleted_at IS NULL))", args)
            self._save_checkpoint(content_type, partition_key, "complete", state, owner, now)
        return deleted, revived

    # -- checkpoints -----------------------------------------------------------------------

    def _save_checkpoint(self, content_type: int, partition_key: str, status: str,
                         state: dict[str, Any], owner: str | None = None,
                         now: str | None = None) -> None:
        now = now or codec.now_utc()
        self.db.execute(
            "INSERT INTO sync_checkpoints (content_type, partition_key, status, owner, state, "
            "started_at, updated_at, completed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(content_type, partition_key) DO UPDATE SET status = excluded.status, "
            "owner = excluded.owner, state = excluded.state, updated_at = excluded.updated_at, "
            "completed_at = excluded.completed_at",
            (content_type, partition_key, status, owner, json.dumps(state, sort_keys=True), now,
             now, now if status == "complete" else None),
        )

    def checkpoint(self, content_type: int, partition_key: str) -> dict[str, Any] | None:
        row = self.db.execute(
            "SELECT status, state, started_at, updated_at, completed_at FROM sync_checkpoints "
            "WHERE content_type = ? AND partition_key = ?",
            (content_type, partition_key),
        ).fetchone()
        if row is None:
            return None
        status, state, started_at, updated_at, completed_at = row
        return {"status": status, "state": json.loads(state), "started_at": started_at,
                "updated_at": updated_at, "completed_at": completed_at}

    def partition_checkpoints(self, partition_key: str) -> dict[int, dict[str, Any]]:
        """Every content type's checkpoint of one partition, by type code."""
        return {code: {"status": status, "state": json.loads(state)}
                for code, status, state in self.db.execute(
                    "SELECT content_type, status, state FROM sync_checkpoints "
                    "WHERE partition_key = ?", (partition_key,))}

    def last_full_reads(self, at: str | None = None) -> dict[int, str]:
        """Per content type: when its last complete sync that read every object ended (at or
        before `at`). A partition synced again keeps only its last checkpoint, so an earlier
        full read of a day synced twice is not seen."""
        found: dict[int, str] = {}
        for code, state, completed in self.db.execute(
                "SELECT content_type, state, completed_at FROM sync_checkpoints "
                "WHERE status = 'complete'"):
            if at is not None and completed > at:
                continue
            if json.loads(state).get("full_read") and completed > found.get(code, ""):
                found[code] = completed
        return found

    # -- reading ---------------------------------------------------------------------------

    def iter_items(self, content_type: int | None = None,
                   include_deleted: bool = True) -> Iterator[StoredItem]:
        """Stored rows with their raw bytes, one at a time (the cursor streams; memory stays
        flat). Raises BodyError for a body that does not read back exactly."""
        sql = ("SELECT content_type, id, deleted_at, content_size, checksum, codec, dict_id, "
               "content_data FROM content_items")
        clauses, params = [], []
        if content_type is not None:
            clauses.append("content_type = ?")
            params.append(content_type)
        if not include_deleted:
            clauses.append("deleted_at IS NULL")
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY content_type, id"
        unpack = self.bodies.unpack
        for code, id_, deleted_at, size, checksum, codec_, dict_id, data in self.db.stream(
                sql, params):
            raw = unpack(Body(codec_, dict_id, data), f"{_type_name(code)} {id_}")
            yield StoredItem(code, id_, deleted_at, size, checksum, raw)

    def objects(self, content_type: int, include_deleted: bool = False) -> Iterator[Any]:
        for item in self.iter_items(content_type, include_deleted=include_deleted):
            yield codec.decode(item.content_data)

    def get(self, content_type: int, id_: str) -> Any | None:
        row = self.db.execute(
            "SELECT codec, dict_id, content_data FROM content_items WHERE content_type = ? "
            "AND id = ?", (content_type, id_)).fetchone()
        if row is None:
            return None
        return codec.decode(self.bodies.unpack(Body(*row), f"{_type_name(content_type)} {id_}"))

    def names(self, content_type: int) -> dict[str, str | None]:
        """id -> the name column (the latest name) of every stored object of the type."""
        return dict(self.db.execute(
            "SELECT id, name FROM content_items WHERE content_type = ?", (content_type,)))

    def active_ids(self, content_type: int) -> set[str]:
        return {row[0] for row in self.db.execute(
            "SELECT id FROM content_items WHERE content_type = ? AND deleted_at IS NULL",
            (content_type,))}

    def instance(self) -> str | None:
        """The Looker this store backs up (its base URL), as its syncs recorded it."""
        row = self.db.execute("SELECT value FROM store_meta WHERE key = ?",
                              (INSTANCE_KEY,)).fetchone()
        return None if row is None else row[0]

    def note_instance(self, base_url: str) -> None:
        """Record the Looker a sync reads (first sync; a store backs up one instance)."""
        if not base_url or self.instance() == base_url:
            return
        with self.db.write():
            self.db.execute("INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT "
                            "(key) DO UPDATE SET value = excluded.value",
                            (INSTANCE_KEY, base_url))

    def last_synced(self) -> dict[int, str | None]:
        """Per content type: when its last complete sync finished."""
        return dict(self.db.execute(
            "SELECT content_type, max(completed_at) FROM sync_checkpoints "
            "WHERE status = 'complete' GROUP BY content_type"))

    def body_bytes(self) -> dict[int, tuple[int, int]]:
        """Per content type: the bytes of every kept body (current and past) as stored, and
        uncompressed. A past body two types share counts for each."""
        found: dict[int, list[int]] = {}
        for code, stored, size in [*self.db.execute(
                "SELECT content_type, sum(length(content_data)), sum(content_size) "
                "FROM content_items GROUP BY content_type"), *self.db.execute(
                "SELECT v.content_type, sum(length(b.content_data)), sum(b.content_size) "
                "FROM content_blobs b JOIN (SELECT DISTINCT content_type, checksum FROM "
                "content_versions) v ON v.checksum = b.checksum GROUP BY v.content_type")]:
            totals = found.setdefault(code, [0, 0])
            totals[0] += int(stored or 0)
            totals[1] += int(size or 0)
        return {code: (stored, size) for code, (stored, size) in found.items()}

    def version_counts(self) -> dict[int, int]:
        """Per content type: versions kept."""
        return dict(self.db.execute(
            "SELECT content_type, count(*) FROM content_versions GROUP BY content_type"))

    def counts(self) -> dict[int, dict[str, int]]:
        """Per content type: active and deleted rows and stored bytes."""
        result: dict[int, dict[str, int]] = {}
        for code, active, deleted, size in self.db.execute(
            "SELECT content_type, count(*) FILTER (WHERE deleted_at IS NULL), "
            "count(*) FILTER (WHERE deleted_at IS NOT NULL), sum(content_size) "
            "FROM content_items GROUP BY content_type"
        ):
            result[code] = {"active": active, "deleted": deleted, "bytes": size}
        return result
