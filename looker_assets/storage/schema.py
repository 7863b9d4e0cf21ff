"""The schema, for SQLite and PostgreSQL. The database explains itself to anyone with
`sqlite3` or `psql`: content_types names the codes every row carries.

The DDL is written once; `{blob}`, `{text}` and `{without_rowid}` are the only words the two
dialects spell differently. (In PostgreSQL, ids and timestamps compare byte by byte, as in
SQLite, whatever the database's collation.)"""

from __future__ import annotations

# PRAGMA application_id marks a SQLite file as ours ("LKAS"), so a foreign file is refused; in
# PostgreSQL, store_meta's `application` row does (with `schema_version` for user_version).
APPLICATION_ID = 0x4C4B4153
APPLICATION = "looker_assets"
# 1: current state only. 2: every version kept (content_versions, content_blobs, sync_history).
# 3: bodies compressed (a codec per stored body, content_dicts).
SCHEMA_VERSION = 3
# A new store is created as version 2's tables, then takes the same steps as an upgrade.
FRESH_FROM = 2

# Page size only takes effect before the first table exists, so it is set before the DDL.
CONNECTION_PRAGMAS = (
    "PRAGMA busy_timeout = 30000",
    "PRAGMA synchronous = NORMAL",
    # 2 MB, SQLite's own default size. A sync writes once and reads by streaming, so a large
    # cache buys nothing, and SQLite's memory is ~3.7x this setting with 16 KB pages: 16 MB of
    # cache held 62 MB, and a 30,000-dashboard sync peaked 65 MB higher (bench/RESULTS.md).
    # The write path is as fast at 2 MB (bench/store_write.py: 20,847-21,263 new rows/s).
    "PRAGMA cache_size = -2048",
    "PRAGMA foreign_keys = ON",
)

# Schema version 1, as the first release created it.
DDL_V1 = """
CREATE TABLE IF NOT EXISTS content_types (
    code INTEGER PRIMARY KEY,
    name {text} NOT NULL UNIQUE,
    description TEXT NOT NULL DEFAULT ''
);

CREATE TABLE IF NOT EXISTS content_items (
    content_type INTEGER NOT NULL REFERENCES content_types(code),
    id           {text} NOT NULL,
    name         TEXT,
    owner_id     TEXT,
    owner_email  TEXT,
    created_at   {text},
    updated_at   {text},
    synced_at    {text} NOT NULL,
    deleted_at   {text},
    source_version TEXT,
    content_size INTEGER NOT NULL,
    checksum     {text} NOT NULL,
    content_data {blob} NOT NULL,
    PRIMARY KEY (content_type, id)
);

CREATE INDEX IF NOT EXISTS content_items_active
    ON content_items (content_type, updated_at) WHERE deleted_at IS NULL;

CREATE TABLE IF NOT EXISTS sync_checkpoints (
    content_type  INTEGER NOT NULL REFERENCES content_types(code),
    partition_key {text} NOT NULL,
    status        TEXT NOT NULL,
    -- The sync that owns an open checkpoint: a newer attempt of the same partition takes it
    -- over, and the older one then stops at its next batch instead of interleaving.
    owner         TEXT,
    state         TEXT NOT NULL,
    started_at    {text} NOT NULL,
    updated_at    {text} NOT NULL,
    completed_at  {text},
    PRIMARY KEY (content_type, partition_key)
);

-- Ids an open sync has already handled (stored, or seen unchanged), written in the same
-- transaction as the batch they belong to: a resumed sync skips them, and the deletion pass
-- of a completed sync compares against them. Emptied when the sync completes.
CREATE TABLE IF NOT EXISTS sync_progress (
    content_type  INTEGER NOT NULL,
    partition_key {text} NOT NULL,
    id            {text} NOT NULL,
    PRIMARY KEY (content_type, partition_key, id)
){without_rowid};
"""

# Added by schema version 2: history.
DDL_V2 = """
-- Every distinct version of every object: [valid_from, valid_to) is when it was current, as
-- the syncs saw it (valid_to NULL: current now). Written in the same transaction as the batch
-- that saw it. An object's versions never overlap; an active content_items row has exactly one
-- open version, with its checksum; a deleted one has none (its last version closed at
-- deleted_at).
CREATE TABLE IF NOT EXISTS content_versions (
    content_type INTEGER NOT NULL REFERENCES content_types(code),
    id           {text} NOT NULL,
    valid_from   {text} NOT NULL,
    valid_to     {text},
    content_size INTEGER NOT NULL,
    checksum     {text} NOT NULL,
    PRIMARY KEY (content_type, id, valid_from)
){without_rowid};

-- The bytes of past versions, once per checksum. A version's bytes are here, or, while it is
-- the version content_items holds (its current or, once deleted, its last one), only there:
-- the current state is never stored twice.
CREATE TABLE IF NOT EXISTS content_blobs (
    checksum     {text} PRIMARY KEY,
    content_size INTEGER NOT NULL,
    content_data {blob} NOT NULL
);

-- One row per completed sync: "as of T" is what the last sync of each type completed at or
-- before T saw. (sync_checkpoints keeps one row per partition; a re-run replaces it.)
CREATE TABLE IF NOT EXISTS sync_history (
    content_type  INTEGER NOT NULL REFERENCES content_types(code),
    partition_key {text} NOT NULL,
    started_at    {text} NOT NULL,
    completed_at  {text} NOT NULL,
    objects       INTEGER NOT NULL
);

CREATE INDEX IF NOT EXISTS sync_history_completed
    ON sync_history (content_type, completed_at);

-- Facts about the file: history_starts_at and history_starts_why (moments before it cannot be
-- read: pruned, or before an upgrade from a store that kept no history).
CREATE TABLE IF NOT EXISTS store_meta (
    key   {text} PRIMARY KEY,
    value {text} NOT NULL
);
"""

# Added by schema version 3: compressed bodies (storage/bodies.py says how they are encoded).
DDL_V3 = """
-- Trained zstd dictionaries, per content type, from the store's own objects. A body names
-- the one it was compressed with (dict_id, also in its zstd frame); a dictionary a body uses
-- cannot be deleted (foreign keys), and a retrained one gets a new id.
CREATE TABLE IF NOT EXISTS content_dicts (
    dict_id      {bigint} PRIMARY KEY,
    content_type INTEGER NOT NULL REFERENCES content_types(code),
    created_at   {text} NOT NULL,
    samples      INTEGER NOT NULL,
    dict_data    {blob} NOT NULL
);
"""

DIALECT_WORDS: dict[str, dict[str, str]] = {
    "sqlite": {"blob": "BLOB", "text": "TEXT", "without_rowid": " WITHOUT ROWID",
               "bigint": "INTEGER"},
    # zstd's dictionary ids are unsigned 32-bit.
    "postgresql": {"blob": "BYTEA", "text": 'TEXT COLLATE "C"', "without_rowid": "",
                   "bigint": "BIGINT"},
}


# PostgreSQL only: the stored objects are MessagePack already; compressing them again
# (PostgreSQL's default for values over 2 KB) halved the write path (15,400 vs 28,200 rows/s
# of 10 KB objects), and SQLite does not compress either.
DDL_POSTGRES_ONLY = """
ALTER TABLE content_items ALTER COLUMN content_data SET STORAGE EXTERNAL;
ALTER TABLE content_blobs ALTER COLUMN content_data SET STORAGE EXTERNAL;
"""

def ddl(dialect: str) -> str:
    """The whole schema of the current version, in the dialect's words."""
    text = (DDL_V1 + DDL_V2 + DDL_V3).format(**DIALECT_WORDS[dialect])
    return text + DDL_POSTGRES_ONLY if dialect == "postgresql" else text


# Upgrade steps, from the version a store has to the next one; each runs in the one transaction
# that also creates the new tables and sets the version. `{...}` are DIALECT_WORDS. (PostgreSQL
# stores begin at version 2.)
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        # The current rows become the first versions: from when they were stored, closed at
        # their soft delete. Their bytes stay in content_items (no copy).
        "INSERT INTO content_versions (content_type, id, valid_from, valid_to, content_size, "
        "checksum) SELECT content_type, id, synced_at, deleted_at, content_size, checksum "
        "FROM content_items",
        # Each partition's completed sync, as far as version 1 remembers it.
        "INSERT INTO sync_history (content_type, partition_key, started_at, completed_at, "
        "objects) SELECT content_type, partition_key, started_at, completed_at, "
        "coalesce(json_extract(state, '$.completed_objects'), 0) FROM sync_checkpoints "
        "WHERE status = 'complete' AND completed_at IS NOT NULL",
        # Version 1 kept only the current state: moments before its last sync are unknown.
        "INSERT INTO store_meta (key, value) SELECT 'history_starts_at', max(completed_at) "
        "FROM sync_checkpoints WHERE status = 'complete' HAVING max(completed_at) IS NOT NULL",
        "INSERT INTO store_meta (key, value) SELECT 'history_starts_why', 'the store was "
        "upgraded from schema 1, which kept only the current state' FROM store_meta "
        "WHERE key = 'history_starts_at'",
    ),
    2: (
        # Bodies already stored stay raw MessagePack (codec 0) until `looker-assets compact`.
        "ALTER TABLE content_items ADD COLUMN codec INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE content_items ADD COLUMN dict_id {bigint} REFERENCES content_dicts(dict_id)",
        "ALTER TABLE content_blobs ADD COLUMN codec INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE content_blobs ADD COLUMN dict_id {bigint} REFERENCES content_dicts(dict_id)",
        # A delta's base: another past version, which cannot be deleted while a delta needs it.
        "ALTER TABLE content_blobs ADD COLUMN base_checksum {text} "
        "REFERENCES content_blobs(checksum)",
        "CREATE INDEX IF NOT EXISTS content_blobs_base ON content_blobs (base_checksum)",
    ),
}


def migration(step: int, dialect: str) -> list[str]:
    """The statements of one upgrade step, in the dialect's words."""
    return [s.format(**DIALECT_WORDS[dialect]) for s in MIGRATIONS[step]]


def statements(ddl: str) -> list[str]:
    """The DDL's statements, one by one (comments, which may hold semicolons, dropped)."""
    code = "\n".join(line for line in ddl.splitlines() if not line.lstrip().startswith("--"))
    return [s for s in code.split(";") if s.strip()]
