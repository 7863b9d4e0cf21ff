"""The SQLite write path alone: encode, checksum, insert, commit, for ~10 KB objects.

    uv run python bench/sqlite_write.py [--rows 50000] [--size 10240] [--batch 500]

Runs the same make_row + ContentStore.write_batch the sync uses, into a temporary file, and
prints rows/s and MB/s for the first write (inserts) and a rewrite of changed objects (updates),
against a baseline of plain sqlite3 INSERTs of pre-encoded blobs measured in the same run.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import string
import tempfile
import time
from pathlib import Path

from looker_assets import content_types
from looker_assets.storage import codec
from looker_assets.storage.rows import make_row
from looker_assets.storage.store import ContentStore

DASHBOARDS = content_types.get("dashboards")


class Objects:
    """`count` objects of about `size` bytes, made a batch at a time (so the benchmark holds
    one batch, as a sync does, not the whole data set)."""

    def __init__(self, count: int, size: int, seed: int, tag: str) -> None:
        rng = random.Random(seed)
        self.filler = "".join(rng.choices(string.ascii_letters + " ", k=size))[: size - 200]
        self.count, self.tag = count, tag

    def make(self, i: int) -> dict[str, object]:
        return {"id": str(i), "title": f"Dashboard {i} {self.tag}", "user_id": str(i % 97),
                "created_at": "2025-03-04T05:06:07.000+00:00",
                "updated_at": f"2025-03-{1 + i % 28:02d}T05:06:07.000+00:00",
                "description": self.filler, "deleted": False, "tag": self.tag}


def run_sync_path(path: Path, objects: Objects, batch: int) -> float:
    """Seconds for make_row + write_batch of every object (object creation not counted)."""
    # Start each phase with no dirty pages of an earlier one still being written back.
    os.sync()
    elapsed = 0.0
    with ContentStore(path) as store:
        store.start_sync(DASHBOARDS.code, "bench", {})
        for start in range(0, objects.count, batch):
            batch_objects = [objects.make(i)
                             for i in range(start, min(start + batch, objects.count))]
            started = time.perf_counter()
            rows = [make_row(DASHBOARDS, str(o["id"]), o) for o in batch_objects]
            store.write_batch(DASHBOARDS.code, rows, codec.now_utc(), "bench",
                              checkpoint={"handled": start + len(rows)})
            elapsed += time.perf_counter() - started
    return elapsed


def run_baseline(path: Path, objects: Objects, batch: int) -> float:
    """Plain INSERTs of pre-encoded blobs into a bare table (encoding not counted)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, data BLOB)")
    os.sync()
    elapsed = 0.0
    for start in range(0, objects.count, batch):
        blobs = [(str(i), codec.encode(objects.make(i)))
                 for i in range(start, min(start + batch, objects.count))]
        started = time.perf_counter()
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO t VALUES (?, ?)", blobs)
        conn.execute("COMMIT")
        elapsed += time.perf_counter() - started
    conn.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--size", type=int, default=10_240)
    parser.add_argument("--batch", type=int, default=500)
    args = parser.parse_args()
    first = Objects(args.rows, args.size, 1, "a")
    second = Objects(args.rows, args.size, 1, "b")
    mb = len(codec.encode(first.make(0))) * args.rows / 2**20
    with tempfile.TemporaryDirectory() as tmp:
        insert = run_sync_path(Path(tmp) / "store.sqlite", first, args.batch)
        base = run_baseline(Path(tmp) / "base.sqlite", first, args.batch)
        update = run_sync_path(Path(tmp) / "store.sqlite", second, args.batch)
        unchanged = run_sync_path(Path(tmp) / "store.sqlite", second, args.batch)
    print(f"{args.rows:,} objects of ~{args.size:,} bytes ({mb:.0f} MB encoded), "
          f"batch {args.batch}")
    for label, seconds in (("plain sqlite3 INSERT of pre-encoded blobs (baseline)", base),
                           ("write path, new rows (encode+checksum+insert+commit)", insert),
                           ("write path, every row changed (update)", update),
                           ("write path, nothing changed (checksum compare)", unchanged)):
        print(f"  {label:<56} {args.rows / seconds:>9,.0f} rows/s  {mb / seconds:>7.1f} MB/s"
              f"  {seconds:6.2f} s  ({base / seconds:.2f}x baseline speed)")


if __name__ == "__main__":
    main()
