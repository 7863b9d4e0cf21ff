"""The SQLite schema. The database file explains itself to anyone with `sqlite3`."""

from __future__ import annotations

# PRAGMA application_id marks a file as ours ("LKAS"), so a foreign SQLite file is refused.
APPLICATION_ID = 0x4C4B4153
SCHEMA_VERSION = 1

# Page size only takes effect before the first table exists, so it is set before the DDL.
CONNECTION_PRAGMAS = (
    "PRAGMA busy_timeout = 30000",
    "PRAGMA synchronous = NORMAL",
    # 2 MB, SQLite's own default size. A sync writes once and reads by streaming, so a large
    # cache buys nothing, and SQLite's memory is ~3.7x this setting with 16 KB pages: 16 MB of
    # cache held 62 MB, and a 30,000-dashboard sync peaked 65 MB higher (bench/RESULTS.md).
    # The write path is as fast at 2 MB (bench/sqlite_write.py: 20,847-21,263 new rows/s).
    "PRAGMA cache_size = -2048",
    "PRAGMA foreign_keys = ON",
)

DDL = """
CREATE TABLE IF NOT EXISTS content_types (
    code INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT ''
);

CREATE TABLE IF NOT EXISTS content_items (
    content_type INTEGER NOT NULL REFERENCES content_types(code),
    id           TEXT NOT NULL,
    name         TEXT,
    owner_id     TEXT,
    owner_email  TEXT,
    created_at   TEXT,
    updated_at   TEXT,
    synced_at    TEXT NOT NULL,
    deleted_at   TEXT,
    source_version TEXT,
    content_size INTEGER NOT NULL,
    checksum     TEXT NOT NULL,
    content_data BLOB NOT NULL,
    PRIMARY KEY (content_type, id)
);

CREATE INDEX IF NOT EXISTS content_items_active
    ON content_items (content_type, updated_at) WHERE deleted_at IS NULL;

CREATE TABLE IF NOT EXISTS sync_checkpoints (
    content_type  INTEGER NOT NULL REFERENCES content_types(code),
    partition_key TEXT NOT NULL,
    status        TEXT NOT NULL,
    -- The sync that owns an open checkpoint: a newer attempt of the same partition takes it
    -- over, and the older one then stops at its next batch instead of interleaving.
    owner         TEXT,
    state         TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    completed_at  TEXT,
    PRIMARY KEY (content_type, partition_key)
);

-- Ids an open sync has already handled (stored, or seen unchanged), written in the same
-- transaction as the batch they belong to: a resumed sync skips them, and the deletion pass
-- of a completed sync compares against them. Emptied when the sync completes.
CREATE TABLE IF NOT EXISTS sync_progress (
    content_type  INTEGER NOT NULL,
    partition_key TEXT NOT NULL,
    id            TEXT NOT NULL,
    PRIMARY KEY (content_type, partition_key, id)
) WITHOUT ROWID;
"""
