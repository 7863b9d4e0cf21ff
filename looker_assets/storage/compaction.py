"""`compact`: re-encode bodies stored before compression (or before their type had a
dictionary) the way new ones are written, in resumable batches.

Per content type: train a dictionary where the type has none or one trained on far fewer
objects than it has now; re-encode current bodies not compressed with the newest dictionary;
re-encode past versions stored raw or without a dictionary, as deltas against the object's
last past version stored whole where that is small. Each batch is one transaction, so a killed
compact loses at most a batch, and a second run takes up where the first stopped. Reads are
the same bytes before, during and after.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from looker_assets.content_types import CONTENT_TYPES, ContentType
from looker_assets.storage.bodies import RAW, TRAIN_MAX_SAMPLES, ZSTD, ZSTD_DICT, Body
from looker_assets.storage.store import ContentStore

BATCH = 500


@dataclass
class CompactReport:
    dictionaries_trained: list[str] = field(default_factory=list)
    current_recoded: int = 0
    past_recoded: int = 0
    stored_bytes_before: int = 0
    stored_bytes_after: int = 0
    file_bytes_before: int = 0
    file_bytes_after: int = 0
    vacuumed: bool = False
    seconds: float = 0.0

    @property
    def saved(self) -> int:
        return self.stored_bytes_before - self.stored_bytes_after

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "saved_bytes": self.saved}


def compact(store: ContentStore, *, vacuum: bool = False, batch: int = BATCH,
            progress: Callable[[str, int], None] | None = None) -> CompactReport:
    """Re-encode what is not stored as well as new writes are; `progress(type, rows)` after
    each batch."""
    started = time.monotonic()
    report = CompactReport(stored_bytes_before=_stored_total(store),
                           file_bytes_before=store.db.storage_bytes())
    for ct in CONTENT_TYPES:
        if _retrain(store, ct):
            report.dictionaries_trained.append(ct.name)
        report.current_recoded += _recode_current(store, ct, batch, progress)
        report.past_recoded += _recode_past(store, ct, batch, progress)
    if vacuum:
        store.db.vacuum()
        report.vacuumed = True
    report.stored_bytes_after = _stored_total(store)
    report.file_bytes_after = store.db.storage_bytes()
    report.seconds = round(time.monotonic() - started, 2)
    return report


def _stored_total(store: ContentStore) -> int:
    return sum(stored for stored, _ in store.body_bytes().values())


def _retrain(store: ContentStore, ct: ContentType) -> bool:
    """A dictionary for the type when it has none, or one trained on under half of the
    samples it could be trained on now."""
    active = len(store.active_ids(ct.code))
    newest = store.bodies.newest(ct.code)
    if newest is not None and newest[1] * 2 >= min(active, TRAIN_MAX_SAMPLES):
        return False
    return store.train_dictionary(ct.code) is not None


def _recode_current(store: ContentStore, ct: ContentType, batch: int,
                    progress: Callable[[str, int], None] | None) -> int:
    """content_items bodies not compressed with the type's newest dictionary (or, without
    one, raw), in id order: each id is visited once, so an incompressible body ends it."""
    dict_id = store.bodies.dictionary_of(ct.code)
    stale = ("codec = 0" if dict_id is None else
             f"(codec IN ({RAW}, {ZSTD}) OR (codec = {ZSTD_DICT} AND dict_id <> {int(dict_id)}))")
    done, after = 0, ""
    while ids := store.recode_current(ct.code, stale, after, batch):
        done += len(ids)
        after = ids[-1]
        if progress:
            progress(ct.name, done)
    return done


def _recode_past(store: ContentStore, ct: ContentType, batch: int,
                 progress: Callable[[str, int], None] | None) -> int:
    """content_blobs bodies of the type's versions stored raw or without a dictionary, oldest
    version of each object first, each as a delta against the last version before it stored
    whole where small (as new writes are: storage/bodies.py). Blobs current in content_items
    (or shared and done already) are skipped."""
    db, bodies = store.db, store.bodies
    # Plain zstd is as good as it gets without a dictionary: re-encoded only once there is one.
    stale = (RAW, ZSTD) if bodies.dictionary_of(ct.code) is not None else (RAW,)
    versions = db.execute(
        "SELECT v.id, v.checksum, b.codec, b.base_checksum FROM content_versions v LEFT JOIN "
        "content_blobs b ON b.checksum = v.checksum WHERE v.content_type = ? "
        "ORDER BY v.id, v.valid_from", (ct.code,)).fetchall()
    keyframes: dict[str, str] = {}  # id -> its last version stored whole so far
    done = pending = 0
    transaction = None
    try:
        for id_, checksum, blob_codec, base_checksum in versions:
            if blob_codec not in stale:
                if blob_codec is not None and base_checksum is None:
                    keyframes[id_] = checksum
                continue
            if transaction is None:
                transaction = db.write(ct.code)
                transaction.__enter__()
            row = db.execute("SELECT codec, dict_id, base_checksum, content_data FROM "
                             "content_blobs WHERE checksum = ?", (checksum,)).fetchone()
            if row is None or row[0] not in stale:
                continue  # a shared body done already, or another compact's
            # A body other deltas are based on stays whole.
            base = None if db.execute("SELECT 1 FROM content_blobs WHERE base_checksum = ?",
                                      (checksum,)).fetchone() else keyframes.get(id_)
            body = bodies.pack_past(ct.code, f"{ct.name} {id_}", checksum,
                                    Body(row[0], row[1], row[3], row[2]), base)
            db.execute("UPDATE content_blobs SET codec = ?, dict_id = ?, base_checksum = ?, "
                       "content_data = ? WHERE checksum = ?",
                       (body.codec, body.dict_id, body.base, body.data, checksum))
            if body.base is None:
                keyframes[id_] = checksum
            done += 1
            pending += 1
            if pending >= batch:
                transaction.__exit__(None, None, None)
                transaction, pending = None, 0
                if progress:
                    progress(ct.name, done)
    except BaseException as exc:
        if transaction is not None:
            transaction.__exit__(type(exc), exc, exc.__traceback__)
        raise
    if transaction is not None:
        transaction.__exit__(None, None, None)
        if progress:
            progress(ct.name, done)
    return done
