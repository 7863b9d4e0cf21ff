"""Retention: drop history older than a cutoff. The default is to keep everything.

Removes versions closed before the cutoff, and objects deleted from Looker before it (their
stored row and every version). Never the current version of a live object, never an object a
running sync has handled. What was removed, and the space it held, is reported.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from looker_assets.storage import codec
from looker_assets.storage.history import HISTORY_STARTS_AT, HISTORY_STARTS_WHY
from looker_assets.storage.store import ContentStore

# Deleted before the cutoff, and not handled by a sync that is running now.
_GONE_ITEMS = ("deleted_at IS NOT NULL AND deleted_at < :cutoff AND NOT EXISTS (SELECT 1 FROM "
               "sync_progress p WHERE p.content_type = i.content_type AND p.id = i.id)")
# Blobs no version needs: every version still kept has its bytes in content_items, or in one
# of the blobs this leaves.
_UNNEEDED_BLOBS = (
    "checksum NOT IN (SELECT v.checksum FROM content_versions v LEFT JOIN content_items i "
    "ON i.content_type = v.content_type AND i.id = v.id AND i.checksum = v.checksum "
    "WHERE i.id IS NULL)")


@dataclass
class PruneReport:
    cutoff: str
    dry_run: bool
    objects_removed: int = 0
    versions_removed: int = 0
    blobs_removed: int = 0
    bytes_removed: int = 0
    file_bytes_before: int = 0
    file_bytes_after: int = 0
    free_bytes: int = 0
    vacuumed: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def cutoff_for(older_than_days: float, now: datetime | None = None) -> str:
    if older_than_days < 0:
        raise ValueError("--older-than must be 0 or more days")
    return codec.format_utc((now or datetime.now(UTC)) - timedelta(days=older_than_days))


def prune(store: ContentStore, cutoff: str, *, dry_run: bool = False,
          vacuum: bool = False) -> PruneReport:
    """Remove what closed before `cutoff`, in one transaction (rolled back on a dry run)."""
    conn = store.conn
    report = PruneReport(cutoff=cutoff, dry_run=dry_run,
                         file_bytes_before=_file_bytes(store))
    args = {"cutoff": cutoff}
    conn.execute("BEGIN IMMEDIATE")
    try:
        report.bytes_removed = conn.execute(
            f"SELECT coalesce(sum(content_size), 0) FROM content_items i WHERE {_GONE_ITEMS}",
            args).fetchone()[0]
        report.versions_removed = conn.execute(
            f"DELETE FROM content_versions AS v WHERE EXISTS (SELECT 1 FROM content_items i "
            f"WHERE i.content_type = v.content_type AND i.id = v.id AND {_GONE_ITEMS})",
            args).rowcount
        report.objects_removed = conn.execute(
            f"DELETE FROM content_items AS i WHERE {_GONE_ITEMS}", args).rowcount
        report.versions_removed += conn.execute(
            "DELETE FROM content_versions WHERE valid_to IS NOT NULL AND valid_to < :cutoff",
            args).rowcount
        blobs, size = conn.execute(
            f"SELECT count(*), coalesce(sum(content_size), 0) FROM content_blobs "
            f"WHERE {_UNNEEDED_BLOBS}").fetchone()
        conn.execute(f"DELETE FROM content_blobs WHERE {_UNNEEDED_BLOBS}")
        report.blobs_removed, report.bytes_removed = blobs, report.bytes_removed + size
        start = conn.execute("SELECT value FROM store_meta WHERE key = ?",
                             (HISTORY_STARTS_AT,)).fetchone()
        if start is None or start[0] < cutoff:
            conn.executemany(
                "INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) "
                "DO UPDATE SET value = excluded.value",
                [(HISTORY_STARTS_AT, cutoff), (HISTORY_STARTS_WHY, "pruned")])
        conn.execute("ROLLBACK" if dry_run else "COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    if vacuum and not dry_run:
        # Gives the freed pages back to the file system; rewrites the whole file.
        conn.execute("VACUUM")
        report.vacuumed = True
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    report.free_bytes = conn.execute("PRAGMA freelist_count").fetchone()[0] * page_size
    report.file_bytes_after = _file_bytes(store)
    return report


def _file_bytes(store: ContentStore) -> int:
    # The WAL holds pages not yet copied back: count the database as it stands on disk.
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return store.path.stat().st_size
