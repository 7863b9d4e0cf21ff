"""One sync of one content type: a stream of raw objects into the store, in batches.

Independent of Dagster, so the IO manager, the CLI and the benchmarks share one path.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from looker_assets.looker.extract import ContentStream
from looker_assets.storage import codec
from looker_assets.storage.rows import make_row
from looker_assets.storage.store import BatchCounts, ContentStore, Row


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
    gone: int = 0
    listing_complete: bool = False
    seconds: float = 0.0
    client: dict[str, int] = field(default_factory=dict)
    pages: int = 0

    @property
    def objects_per_second(self) -> float:
        return self.objects / self.seconds if self.seconds > 0 else 0.0

    def metadata(self) -> dict[str, Any]:
        return {
            "objects": self.objects,
            "new": self.counts.new,
            "updated": self.counts.updated,
            "unchanged": self.counts.unchanged,
            "deleted": self.deleted,
            "gone_during_sync": self.gone,
            "bytes": self.counts.bytes,
            "requests": self.client.get("requests", 0),
            "retries": self.client.get("retries", 0),
            "rate_limited_429": self.client.get("rate_limited", 0),
            "relogins": self.client.get("relogins", 0),
            "seconds": round(self.seconds, 3),
            "objects_per_second": round(self.objects_per_second, 1),
            "listing_complete": self.listing_complete,
        }


ProgressCallback = Callable[[Progress], None]


def run_sync(
    stream: ContentStream,
    store: ContentStore,
    partition_key: str,
    *,
    batch_size: int | None = None,
    progress: ProgressCallback | None = None,
    progress_every: float = 5.0,
) -> SyncResult:
    """Write every object of `stream` to `store`; soft-delete what a complete listing lacked."""
    ct = stream.content_type
    result = SyncResult(content_type=ct.name, partition_key=partition_key)
    started = time.monotonic()
    synced_at = codec.now_utc()
    batch: list[Row] = []
    batch_size = batch_size or stream.batch_size
    last_report = started

    def flush() -> None:
        if batch:
            result.counts.add(store.write_batch(ct.code, batch, synced_at))
            batch.clear()

    try:
        for id_, obj in stream:
            batch.append(make_row(ct, id_, obj))
            result.objects += 1
            if len(batch) >= batch_size:
                flush()
            now = time.monotonic()
            if progress is not None and now - last_report >= progress_every:
                last_report = now
                progress(Progress(ct.name, result.objects, stream.total, now - started))
        flush()
        result.listing_complete = stream.stats.listing_complete
        if result.listing_complete:
            # Only a complete listing may delete: a failed or partial one never does.
            result.deleted = store.mark_deleted(ct.code, stream.seen_ids, codec.now_utc())
    finally:
        result.seconds = time.monotonic() - started
        result.gone = stream.stats.gone
        result.pages = stream.stats.pages
        result.client = stream.client.stats.as_dict()
    if progress is not None:
        progress(Progress(ct.name, result.objects, stream.total or result.objects,
                          result.seconds))
    return result
