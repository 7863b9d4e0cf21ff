"""One sync of one content type: a stream of raw objects into the store, in batches.

Independent of Dagster, so the IO manager, the CLI and the benchmarks share one path.

A sync of (type, partition) opens a checkpoint. Every batch commits its rows, the ids it
handled and the advanced checkpoint together, so a sync killed at any moment resumes from its
last commit: ids already handled are skipped, a list-form listing restarts at the page it was
reading. Only a complete listing closes the checkpoint and may soft-delete.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psutil

from looker_assets.content_types import ContentType
from looker_assets.looker.client import REQUEST_KINDS
from looker_assets.looker.extract import UNCHANGED, ContentStream, ResumePoint, StoredObjects
from looker_assets.malloc_tuning import tune_allocator
from looker_assets.storage import codec
from looker_assets.storage.rows import make_row
from looker_assets.storage.store import BatchCounts, ContentStore, Row

# Unchanged ids cost no encoding and little SQL: record them in larger groups.
SEEN_BATCH_FACTOR = 10
# A batch also ends at this many encoded bytes, so huge objects make smaller batches.
BATCH_MAX_BYTES = 32 * 2**20
# ... and after this many seconds: a kill loses at most this much fetching (at 8 requests in
# flight and 20 ms, ~200 requests), which is what bounds what a resume re-reads.
BATCH_MAX_SECONDS = 0.5


@dataclass
class Progress:
    content_type: str
    done: int
    total: int | None
    seconds: float

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0

    @property
    def eta_seconds(self) -> float | None:
        if self.total is None or self.rate <= 0:
            return None
        return max(0.0, (self.total - self.done) / self.rate)


@dataclass
class SyncResult:
    content_type: str
    partition_key: str
    objects: int = 0
    counts: BatchCounts = field(default_factory=BatchCounts)
    deleted: int = 0
    revived: int = 0
    kept: int = 0
    gone: int = 0
    listed: int = 0
    fetched: int = 0
    resumed: bool = False
    resumed_after: int = 0
    # Not synced: this partition's sync of the type had completed in an interrupted run.
    skipped: str | None = None
    listing_complete: bool = False
    seconds: float = 0.0
    client: dict[str, int] = field(default_factory=dict)
    peak_rss_bytes: int = 0
    smallest_batch_rows: int = 0
    checkpoint: dict[str, Any] = field(default_factory=dict)

    @property
    def objects_per_second(self) -> float:
        return self.objects / self.seconds if self.seconds > 0 else 0.0

    @property
    def versions_opened(self) -> int:
        """New, changed and seen-again objects: one new version each."""
        return self.counts.opened + self.revived

    @property
    def versions_closed(self) -> int:
        """Changed objects (their previous version) and objects gone from Looker."""
        return self.counts.closed + self.deleted

    def metadata(self) -> dict[str, Any]:
        return {
            "objects": self.objects,
            "listed": self.listed,
            "fetched": self.fetched,
            "new": self.counts.new,
            "updated": self.counts.updated,
            "unchanged": self.counts.unchanged,
            "deleted": self.deleted,
            "restored": self.counts.revived + self.revived,
            "versions_opened": self.versions_opened,
            "versions_closed": self.versions_closed,
            "missed_by_listing": self.kept,
            "gone_during_sync": self.gone,
            "bytes": self.counts.bytes,
            # What the new and changed objects take in the store, compressed.
            "stored_bytes": self.counts.stored,
            "requests": self.client.get("requests", 0),
            **{f"requests_{kind}": self.client.get(f"requests_{kind}", 0)
               for kind in REQUEST_KINDS},
            "retries": self.client.get("retries", 0),
            "rate_limited_429": self.client.get("rate_limited", 0),
            "relogins": self.client.get("relogins", 0),
            "concurrency_lowest": self.client.get("concurrency_lowest", 0),
            "concurrency_final": self.client.get("concurrency_final", 0),
            "seconds": round(self.seconds, 3),
            "objects_per_second": round(self.objects_per_second, 1),
            "listing_complete": self.listing_complete,
            "resumed": self.resumed,
            "resumed_after_objects": self.resumed_after,
            "skipped": self.skipped or "no",
            "peak_rss_mb": round(self.peak_rss_bytes / 2**20, 1),
            "smallest_batch_rows": self.smallest_batch_rows,
        }


ProgressCallback = Callable[[Progress], None]


def _version_check(stored: dict[str, str]) -> Callable[[str, str], bool]:
    def is_unchanged(id_: str, version: str) -> bool:
        return stored.get(id_) == version

    return is_unchanged


def _stored_objects(store: ContentStore) -> StoredObjects:
    def stored(ct: ContentType) -> Iterator[tuple[str, str, Any]]:
        """(id, version, object) of the type's stored objects that have a version."""
        versions = store.versions(ct.code)
        for item in store.iter_items(ct.code):
            version = versions.get(item.id)
            if version is not None:
                yield item.id, version, codec.decode(item.content_data)

    return stored


def completed_in_interrupted_run(store: ContentStore, code: int, partition_key: str,
                                 run_id: str) -> str | None:
    """Why a sync of (type, partition) by `run_id` would re-read what is already stored, or
    None. It would when another run completed it and that run's partition is not finished:
    some type's sync of the partition, by a run other than this one, is still open (the run was
    killed or failed). A partition synced again once every type completed is a new sync."""
    checkpoints = store.partition_checkpoints(partition_key)
    own = checkpoints.get(code)
    if own is None or own["status"] != "complete" or own["state"].get("run_id") in (None, run_id):
        return None
    interrupted = any(c["status"] == "running" and c["state"].get("run_id") != run_id
                      for c in checkpoints.values())
    if not interrupted:
        return None
    return (f"already complete in this partition (run {str(own['state']['run_id'])[:8]}), "
            f"whose other types this run resumes; full_refresh syncs it again")


def run_sync(
    stream: ContentStream,
    store: ContentStore,
    partition_key: str,
    *,
    full_refresh: bool | None = None,
    batch_size: int | None = None,
    progress: ProgressCallback | None = None,
    progress_every: float = 5.0,
    allow_deletes: bool = True,
    run_id: str | None = None,
) -> SyncResult:
    """Write every object of `stream` to `store`; soft-delete what a complete listing lacked.

    With `run_id` (a Dagster run): a type that an interrupted earlier run already synced
    completely in this partition is not synced again (unless full_refresh)."""
    ct = stream.content_type
    result = SyncResult(content_type=ct.name, partition_key=partition_key)
    full_refresh = stream.full_refresh if full_refresh is None else full_refresh
    if run_id is not None and not full_refresh:
        result.skipped = completed_in_interrupted_run(store, ct.code, partition_key, run_id)
        if result.skipped is not None:
            result.listing_complete = True
            return result
    store.note_instance(getattr(stream.client, "base_url", ""))
    tune_allocator()  # before the stream starts its fetch threads
    started = time.monotonic()
    synced_at = codec.now_utc()
    batch_size = batch_size or stream.batch_size
    state: dict[str, Any] = {
        "started_at": synced_at,
        "position": ResumePoint().as_dict(),
        "handled": 0,
        "run_id": run_id,
        "config": {"page_size": stream.page_size, "max_concurrency": stream.max_concurrency,
                   "batch_size": batch_size, "full_refresh": full_refresh},
    }
    owner = uuid.uuid4().hex
    open_checkpoint = store.start_sync(ct.code, partition_key, state, owner)
    if open_checkpoint is not None:
        # An earlier attempt of this partition stopped part way: carry on from its last commit.
        state = open_checkpoint["state"]
        state["run_id"] = run_id
        stream.done_ids = store.progress_ids(ct.code, partition_key)
        stream.resume = ResumePoint(**state.get("position", {}))
        result.resumed = True
        result.resumed_after = len(stream.done_ids)
        state["resumes"] = int(state.get("resumes", 0)) + 1
    stream.version_of = codec.version_digest
    # Every object is read when nothing stored can be current: what the type's re-read
    # cadence and `stats` count as a full read.
    stored_versions = {} if full_refresh else store.versions(ct.code)
    state.setdefault("full_read", not stored_versions)
    if not full_refresh:
        stream.is_unchanged = _version_check(stored_versions)
        stream.stored_objects = _stored_objects(store)

    rows: list[Row] = []
    seen: list[str] = []
    batch_bytes = 0
    last_report = last_flush = started
    process = psutil.Process()
    result.peak_rss_bytes = process.memory_info().rss

    def flush() -> None:
        nonlocal batch_bytes, last_flush
        last_flush = time.monotonic()
        if not rows and not seen:
            return
        # The batch is at its largest now: the moment to sample memory.
        result.peak_rss_bytes = max(result.peak_rss_bytes, process.memory_info().rss)
        if rows and (not result.smallest_batch_rows or len(rows) < result.smallest_batch_rows):
            result.smallest_batch_rows = len(rows)
        batch_bytes = 0
        state["position"] = stream.position.as_dict()
        state["handled"] = result.resumed_after + result.objects
        result.counts.add(store.write_batch(ct.code, rows, synced_at, partition_key, seen,
                                            checkpoint=state, owner=owner))
        rows.clear()
        seen.clear()

    try:
        for id_, obj, version in stream:
            result.objects += 1
            if obj is UNCHANGED:
                seen.append(id_)
            else:
                row = make_row(ct, id_, obj, version)
                rows.append(row)
                batch_bytes += len(row.content_data)
            now = time.monotonic()
            if (len(rows) >= batch_size or batch_bytes >= BATCH_MAX_BYTES
                    or len(seen) >= batch_size * SEEN_BATCH_FACTOR
                    or (rows and now - last_flush >= BATCH_MAX_SECONDS)):
                flush()
            if progress is not None and now - last_report >= progress_every:
                last_report = now
                progress(Progress(ct.name, result.objects, stream.total, now - started))
        flush()
        result.listing_complete = stream.stats.listing_complete
        if result.listing_complete:
            # Only a complete listing may delete, and only what Looker confirms is gone: offset
            # paging over a live instance can skip a row when another one is removed meanwhile.
            # An API user who may not see everything proves nothing gone: no delete pass then.
            candidates = store.unhandled_active_ids(ct.code, partition_key) if allow_deletes \
                else []
            for id_ in candidates:
                obj = stream.lookup(id_)
                if obj is not None:
                    result.kept += 1
                    result.objects += 1
                    if obj is UNCHANGED:
                        seen.append(id_)
                    else:
                        rows.append(make_row(ct, id_, obj, stream.kept_version(id_)))
                    if len(rows) >= batch_size or len(seen) >= batch_size * SEEN_BATCH_FACTOR:
                        flush()
            flush()
            state["completed_objects"] = result.resumed_after + result.objects
            result.deleted, result.revived = store.complete_sync(
                ct.code, partition_key, state, owner, delete=allow_deletes)
    except Exception:
        # Keep what was fetched before the failure: the retry then starts after it.
        with contextlib.suppress(Exception):
            flush()
        raise
    finally:
        result.seconds = time.monotonic() - started
        result.gone = stream.stats.gone
        result.listed = stream.stats.listed
        result.fetched = stream.stats.fetched
        gate = stream.client.gate
        result.client = {**stream.client.stats.as_dict(),
                         "concurrency_lowest": gate.min_limit_reached,
                         "concurrency_final": gate.limit}
        result.checkpoint = {"partition": partition_key, **state}
    if progress is not None:
        # The listing is done and exhausted: what was handled is the whole.
        progress(Progress(ct.name, result.objects, result.objects, result.seconds))
    return result
