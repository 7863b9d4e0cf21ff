"""The two databases a store can live in, behind one small interface.

SQLite (a file, the embedded default) and PostgreSQL (a `postgresql://` URL, for teams whose
steps run on several machines). The store's SQL is written once, with `?` and `:name`
parameters; the PostgreSQL backend translates them to psycopg's. What differs is only what
the dialects force: column types, how a write transaction begins and is serialised, how a
large result is streamed, how the database describes its own size.
"""

from __future__ import annotations

import functools
import os
import re
import sqlite3
import stat
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

# Advisory-lock namespace in PostgreSQL ("LKAS", also SQLite's application_id).
LOCK_NAMESPACE = 0x4C4B4153
# The lock a schema change takes (content type codes are 1 and up).
SCHEMA_LOCK = 0


class BackendError(RuntimeError):
    """The database cannot be reached or used; the message never holds a password."""


def is_url(location: str) -> bool:
    """A `postgresql://` URL rather than a file path (checked before anything is created:
    read as a path, a URL would make folders named after it, password included)."""
    return location.startswith(("postgresql://", "postgres://"))


def redact(location: str) -> str:
    """The location as it may be shown: a URL's password replaced by ***."""
    if not is_url(location):
        return location
    parts = urlsplit(location)
    if parts.password is None:
        return location
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


def scrub(text: str, location: str) -> str:
    """`text` (an error message) with the location's password removed, wherever it appears."""
    if is_url(location):
        password = urlsplit(location).password
        if password:
            text = text.replace(password, "***")
    return text


class Backend:
    """One connection to a store's database."""

    dialect: str
    errors: tuple[type[Exception], ...]
    begin_sql: str
    location: str  # what to show: a path, or a URL without its password

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Any:
        return self.conn.execute(self.sql(sql), params)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._executemany(self.sql(sql), rows)

    def sql(self, text: str) -> str:
        return text

    def one_of(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """A condition `column` is one of `values`, and its parameters."""
        return f"{column} IN ({', '.join('?' * len(values))})", list(values)

    def insert_rows(self, table: str, columns: Sequence[str], types: Sequence[str],
                    rows: Sequence[Sequence[Any]]) -> None:
        """Append new rows (no conflict possible: the caller checked under the lock)."""
        if rows:
            marks = ", ".join("?" * len(columns))
            self._executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                              rows)

    def insert_ids(self, table: str, columns: Sequence[str], values: Sequence[Any],
                   ids: Sequence[str]) -> None:
        """Rows (`values`..., id) for each of `ids`, skipping those already there."""
        if ids:
            names = ", ".join([*columns, "id"])
            marks = ", ".join("?" * (len(columns) + 1))
            self._executemany(f"INSERT INTO {table} ({names}) VALUES ({marks}) "
                              f"ON CONFLICT DO NOTHING", [(*values, i) for i in ids])

    def update_rows(self, table: str, columns: Sequence[str], types: Sequence[str], keys: int,
                    rows: Sequence[Sequence[Any]], also: str = "") -> None:
        """Set `columns[keys:]` (and `also`) of the rows whose first `keys` columns match."""
        if rows:
            sets = [f"{c} = ?" for c in columns[keys:]] + ([also] if also else [])
            where = " AND ".join(f"{c} = ?" for c in columns[:keys])
            self._executemany(f"UPDATE {table} SET {', '.join(sets)} WHERE {where}",
                              [(*row[keys:], *row[:keys]) for row in rows])

    def stream(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Iterator[Any]:
        """Rows of a large result, a few at a time (memory stays flat)."""
        yield from self.conn.execute(self.sql(sql), params)

    @contextmanager
    def write(self, *locks: int) -> Iterator[None]:
        """One write transaction, serialised against every other writer of the same `locks`
        (content type codes): the checkpoint, the batch and its versions commit together."""
        self.conn.execute(self.begin_sql)
        try:
            for key in sorted(set(locks)):
                self._lock(key)
            yield
            self.conn.execute("COMMIT")
        except BaseException:
            with suppress(*self.errors):
                self.conn.execute("ROLLBACK")
            raise

    def _lock(self, key: int) -> None:
        pass

    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.conn.close()

    def scrub(self, text: str) -> str:
        """`text` (a driver's error) without this store's password."""
        return text

    # What differs in kind, not just in SQL.
    def tables(self) -> set[str]:
        raise NotImplementedError

    def storage_bytes(self) -> int:
        """The space the store takes (a file, or its tables)."""
        raise NotImplementedError

    def free_bytes(self) -> int:
        """Space inside the store that later writes reuse (0 where the database cannot say)."""
        return 0

    def vacuum(self) -> None:
        raise NotImplementedError


class SqliteBackend(Backend):
    dialect = "sqlite"
    errors = (sqlite3.Error,)
    # Takes the write lock at once: SQLite serialises every writer of the file.
    begin_sql = "BEGIN IMMEDIATE"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = str(path)
        self.warnings: list[str] = []
        _create_private(path, self.warnings)
        # timeout in connect() too: switching to WAL needs the lock before busy_timeout is set.
        self.conn = sqlite3.connect(path, timeout=30, isolation_level=None,
                                    check_same_thread=False)

    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.conn.executemany(sql, rows)

    def tables(self) -> set[str]:
        return {r[0] for r in self.conn.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'table'")}

    def storage_bytes(self) -> int:
        # The WAL holds pages not yet copied back: count the file as it stands on disk.
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return self.path.stat().st_size

    def free_bytes(self) -> int:
        page_size = self.conn.execute("PRAGMA page_size").fetchone()[0]
        return int(self.conn.execute("PRAGMA freelist_count").fetchone()[0]) * page_size

    def vacuum(self) -> None:
        self.conn.execute("VACUUM")


def _create_private(path: Path, warnings: list[str]) -> None:
    """The store holds user emails, hosts and recipients: a new file (and its -wal and -shm,
    which SQLite creates with the file's mode) is 0600, a folder made for it 0700. An existing
    file readable by others is used as it is, with a warning naming the fix."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            warnings.append(f"{path} is readable by other users (mode {mode:04o}); it holds "
                            f"user emails and connection hosts: chmod 600 {path}")
        return
    os.close(fd)


# `:name` outside quotes (not `::`, PostgreSQL's cast), and `?`.
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@functools.lru_cache(maxsize=512)
def _psycopg_sql(text: str) -> str:
    return _NAMED.sub(r"%(\1)s", text.replace("%", "%%")).replace("?", "%s")


class PostgresBackend(Backend):
    dialect = "postgresql"
    begin_sql = "BEGIN"

    def __init__(self, url: str) -> None:
        import psycopg  # only where a PostgreSQL store is used

        self._psycopg = psycopg
        self.errors = (psycopg.Error,)
        self.url = url
        self.location = redact(url)
        self.warnings = []
        try:
            # autocommit: a statement outside `write()` is its own transaction; `write()`
            # issues BEGIN and COMMIT itself, as the SQLite backend does.
            self.conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.Error as exc:
            raise BackendError(f"cannot connect to {self.location}: "
                               f"{scrub(str(exc), url)}") from None

    def sql(self, text: str) -> str:
        return _psycopg_sql(text)

    def scrub(self, text: str) -> str:
        return scrub(text, self.url)

    def _executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        # psycopg pipelines the statements: one round trip per batch, not per row.
        with self.conn.cursor() as cursor:
            cursor.executemany(sql, rows)

    def one_of(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        # One array parameter: 500 separate ones took 55 ms a batch here (a poor plan).
        return f"{column} = ANY(?)", [list(values)]

    def insert_rows(self, table: str, columns: Sequence[str], types: Sequence[str],
                    rows: Sequence[Sequence[Any]]) -> None:
        # COPY in binary: 37,600 rows/s of 10 KB against 28,200 for pipelined INSERTs here.
        if not rows:
            return
        with self.conn.cursor() as cursor, cursor.copy(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(list(types))
            for row in rows:
                copy.write_row(row)

    def insert_ids(self, table: str, columns: Sequence[str], values: Sequence[Any],
                   ids: Sequence[str]) -> None:
        # One statement over an array, not a statement per id.
        if ids:
            names = ", ".join([*columns, "id"])
            marks = ", ".join(["%s"] * len(columns))
            self.conn.execute(f"INSERT INTO {table} ({names}) SELECT {marks}, unnest(%s::text[]) "
                              f"ON CONFLICT DO NOTHING", (*values, list(ids)))

    def update_rows(self, table: str, columns: Sequence[str], types: Sequence[str], keys: int,
                    rows: Sequence[Sequence[Any]], also: str = "") -> None:
        # COPY into a temporary table, then one UPDATE ... FROM it: set-based, where a
        # statement per row made PostgreSQL's update path 0.41x SQLite's.
        if not rows:
            return
        staging = f"incoming_{table}"
        self.conn.execute(f"CREATE TEMPORARY TABLE IF NOT EXISTS {staging} (LIKE {table} "
                          f"INCLUDING DEFAULTS INCLUDING STORAGE) ON COMMIT DELETE ROWS")
        self.insert_rows(staging, columns, types, rows)
        sets = [f"{c} = n.{c}" for c in columns[keys:]] + ([also] if also else [])
        where = " AND ".join(f"t.{c} = n.{c}" for c in columns[:keys])
        self.conn.execute(f"UPDATE {table} AS t SET {', '.join(sets)} FROM {staging} AS n "
                          f"WHERE {where}")

    def _lock(self, key: int) -> None:
        # Writers of one content type take turns, as every writer of a SQLite file does;
        # different types write at once.
        self.conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_NAMESPACE, key))

    def stream(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Iterator[Any]:
        # A server-side cursor, on a connection of its own, so that the caller may write on
        # this one meanwhile.
        with self._psycopg.connect(self.url, connect_timeout=10) as conn, \
                conn.cursor(name="looker_assets_stream") as cursor:
            cursor.itersize = 200
            cursor.execute(self.sql(sql), params)
            yield from cursor

    def tables(self) -> set[str]:
        return {r[0] for r in self.conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")}

    def storage_bytes(self) -> int:
        return int(self.conn.execute(
            "SELECT coalesce(sum(pg_total_relation_size(quote_ident(tablename))), 0) "
            "FROM pg_tables WHERE schemaname = current_schema()").fetchone()[0])

    def vacuum(self) -> None:
        # Plain VACUUM keeps the space for later writes; FULL gives it back (locking the
        # tables while it rewrites them), as SQLite's VACUUM does.
        self.conn.execute("VACUUM FULL")


def open_backend(location: str) -> Backend:
    if is_url(location):
        return PostgresBackend(location)
    return SqliteBackend(Path(location).expanduser())
