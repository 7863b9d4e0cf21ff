"""Retention: drop history older than a cutoff. The default is to keep everything.

Removes versions closed before the cutoff, and objects deleted from Looker before it (their
stored row and every version). Never the current version of a live object, never an object a
running sync has handled. What was removed, and the space it held, is reported.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from looker_assets.content_types import CONTENT_TYPES
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
    db = store.db
    report = PruneReport(cutoff=cutoff, dry_run=dry_run,
                         file_bytes_before=db.storage_bytes())
    args = {"cutoff": cutoff}
    try:
        # Every content type's writers wait meanwhile (in SQLite, every writer does).
        with db.write(*(ct.code for ct in CONTENT_TYPES)):
            report.bytes_removed = db.execute(
                f"SELECT coalesce(sum(content_size), 0) FROM content_items i "
                f"WHERE {_GONE_ITEMS}", args).fetchone()[0]
            report.versions_removed = db.execute(
                f"DELETE FROM content_versions AS v WHERE EXISTS (SELECT 1 FROM content_items "
                f"i WHERE i.content_type = v.content_type AND i.id = v.id AND {_GONE_ITEMS})",
                args).rowcount
            report.objects_removed = db.execute(
                f"DELETE FROM content_items AS i WHERE {_GONE_ITEMS}", args).rowcount
            report.versions_removed += db.execute(
                "DELETE FROM content_versions WHERE valid_to IS NOT NULL "
                "AND valid_to < :cutoff", args).rowcount
            blobs, size = db.execute(
                f"SELECT count(*), coalesce(sum(content_size), 0) FROM content_blobs "
                f"WHERE {_UNNEEDED_BLOBS}").fetchone()
            _stand_alone(store, f"base_checksum IN (SELECT checksum FROM content_blobs WHERE "
                                f"{_UNNEEDED_BLOBS}) AND NOT ({_UNNEEDED_BLOBS})")
            db.execute(f"DELETE FROM content_blobs WHERE {_UNNEEDED_BLOBS}")
            report.blobs_removed, report.bytes_removed = blobs, report.bytes_removed + size
            start = db.execute("SELECT value FROM store_meta WHERE key = ?",
                               (HISTORY_STARTS_AT,)).fetchone()
            if start is None or start[0] < cutoff:
                db.executemany(
                    "INSERT INTO store_meta (key, value) VALUES (?, ?) ON CONFLICT (key) "
                    "DO UPDATE SET value = excluded.value",
                    [(HISTORY_STARTS_AT, cutoff), (HISTORY_STARTS_WHY, "pruned")])
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    if vacuum and not dry_run:
        # Gives the freed space back to the file system; rewrites the whole store.
        db.vacuum()
        report.vacuumed = True
    report.free_bytes = db.free_bytes()
    report.file_bytes_after = db.storage_bytes()
    return report


def _stand_alone(store: ContentStore, where: str) -> None:
    """Re-encode the kept deltas whose base is about to go as whole bodies (before it goes:
    decoding them needs it), with the dictionary their chain started from."""
    db, bodies = store.db, store.bodies
    for (checksum,) in db.execute(f"SELECT checksum FROM content_blobs WHERE {where}",
                                  ).fetchall():
        raw, _ = bodies.past(checksum, f"version {checksum[:12]}")
        root, dict_id = checksum, None
        while root is not None:
            dict_id, root = db.execute("SELECT dict_id, base_checksum FROM content_blobs "
                                       "WHERE checksum = ?", (root,)).fetchone()
        body = bodies.pack_with(dict_id, raw)
        db.execute("UPDATE content_blobs SET codec = ?, dict_id = ?, base_checksum = NULL, "
                   "content_data = ? WHERE checksum = ?",
                   (body.codec, body.dict_id, body.data, checksum))


class _DryRun(Exception):
    """Rolls the prune's transaction back."""
