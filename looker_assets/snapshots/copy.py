"""A consistent copy of a whole store as one portable SQLite file, taken while syncs go on.

SQLite: `VACUUM INTO` (one read transaction, so commits still in the WAL are included and
later ones are not; never a copy of the live file's bytes). PostgreSQL: a fresh SQLite store
filled table by table, row by row, in one REPEATABLE READ transaction (one moment for every
table); bodies are copied byte for byte, never re-encoded."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

from looker_assets.restore.records import Records
from looker_assets.snapshots import SnapshotError
from looker_assets.storage.backend import is_url, redact, scrub
from looker_assets.storage.store import ContentStore, StoreError

# store_meta rows only PostgreSQL keeps (SQLite keeps them in PRAGMAs).
POSTGRES_ONLY_META = ("application", "schema_version")
ROWS_PER_BATCH = 2000


def store_bytes(location: str) -> int:
    """The space the store takes now (file and WAL, or PostgreSQL's tables)."""
    if is_url(location):
        with ContentStore(location) as store:
            return store.db.storage_bytes()
    path = Path(location)
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def check_free_space(folder: Path, needed: int, what: str) -> None:
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise SnapshotError(f"not enough space in {folder} for {what}: {free:,} bytes free, "
                            f"{needed:,} needed; nothing was written")


def copy_store(location: str, target: Path) -> None:
    """Write a consistent copy of the store at `location` to `target` (a new file)."""
    if is_url(location):
        _export_postgres(location, target)
        return
    source = Path(location)
    if not source.is_file():
        raise SnapshotError(f"no database at {source}")
    # Opened as a store first: refuses foreign files, upgrades an older schema.
    try:
        ContentStore(source).close()
    except StoreError as exc:
        raise SnapshotError(str(exc)) from None
    with closing(sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True,
                                 timeout=30)) as conn:
        conn.execute("PRAGMA busy_timeout = 30000")
        conn.execute("VACUUM INTO ?", (str(target),))


def _sqlite_tables(conn: sqlite3.Connection) -> dict[str, list[str]]:
    tables = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "ORDER BY name")]
    return {t: [r[1] for r in conn.execute(f'PRAGMA table_info("{t}")')] for t in tables}


def _export_postgres(url: str, target: Path) -> None:
    import psycopg

    shown = redact(url)
    try:
        # Creates the schema in the new file (every table the current release has), and
        # upgrades the PostgreSQL store's schema if it is older.
        with ContentStore(target) as copy:
            Records(copy, "")  # the restore and migrate tables (id map) are part of a store
        ContentStore(url).close()
    except StoreError as exc:
        raise SnapshotError(str(exc)) from None
    with closing(sqlite3.connect(target, isolation_level=None)) as out:
        tables = _sqlite_tables(out)
        out.execute("BEGIN")
        for table in tables:  # the schema's own rows (content_types) come from the source
            out.execute(f'DELETE FROM "{table}"')
        try:
            with psycopg.connect(url, connect_timeout=10) as conn:
                conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
                conn.read_only = True
                with conn.transaction():
                    present = {r[0] for r in conn.execute(
                        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}
                    # A store that never restored or migrated has no restore tables: nor
                    # has its copy.
                    for table in [t for t in tables if t not in present
                                  and t.startswith("restore_")]:
                        del tables[table]
                        out.execute(f'DROP TABLE "{table}"')
                    missing = sorted(set(tables) - present)
                    if missing:
                        raise SnapshotError(f"{shown} lacks tables the snapshot format has: "
                                            f"{', '.join(missing)}")
                    for table, columns in tables.items():
                        _copy_table(conn, out, table, columns)
        except psycopg.Error as exc:
            out.execute("ROLLBACK")
            raise SnapshotError(f"exporting {shown} failed: {scrub(str(exc), url)}") from None
        except BaseException:
            out.execute("ROLLBACK")
            raise
        out.execute("COMMIT")


def _copy_table(conn: object, out: sqlite3.Connection, table: str, columns: list[str]) -> None:
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" * len(columns))
    skip = table == "store_meta"
    with conn.cursor(name=f"snapshot_{table}") as cursor:  # type: ignore[attr-defined]
        cursor.itersize = ROWS_PER_BATCH
        cursor.execute(f'SELECT {names} FROM "{table}"')

        def rows() -> Iterator[tuple]:
            for row in cursor:
                if skip and row[columns.index("key")] in POSTGRES_ONLY_META:
                    continue
                yield row

        out.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', rows())
