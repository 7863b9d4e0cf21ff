"""The store's write path alone: encode, checksum, insert, commit, for ~10 KB objects.

    uv run python bench/store_write.py [--rows 50000] [--size 10240] [--batch 500]
        [--postgres] [--writers 4]

Runs the same make_row + ContentStore.write_batch the sync uses, into a temporary SQLite file
(and with --postgres, into a throwaway PostgreSQL cluster on 127.0.0.1, in the same run), and
prints rows/s and MB/s for the first write (inserts), a rewrite of changed objects (updates)
and a sync with nothing changed, against a baseline of plain sqlite3 INSERTs of pre-encoded
blobs measured in the same run.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
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
from looker_assets_tests.postgres_cluster import PostgresCluster

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


def run_sync_path(path: Path | str, objects: Objects, batch: int,
                  content_type: int = DASHBOARDS.code, sync: bool = True) -> float:
    """Seconds for make_row + write_batch of every object (object creation not counted)."""
    # Start each phase with no dirty pages of an earlier one still being written back.
    if sync:
        os.sync()
    elapsed = 0.0
    with ContentStore(path) as store:
        store.start_sync(content_type, "bench", {})
        for start in range(0, objects.count, batch):
            batch_objects = [objects.make(i)
                             for i in range(start, min(start + batch, objects.count))]
            started = time.perf_counter()
            rows = [make_row(DASHBOARDS, str(o["id"]), o) for o in batch_objects]
            store.write_batch(content_type, rows, codec.now_utc(), "bench",
                              checkpoint={"handled": start + len(rows)})
            elapsed += time.perf_counter() - started
    return elapsed


def _writer(args: tuple[str, int, int, int, int, float]) -> tuple[float, float]:
    location, code, count, size, batch, start_at = args
    objects = Objects(count, size, code, f"w{code}")
    time.sleep(max(0.0, start_at - time.time()))  # every writer starts at once
    started = time.time()
    run_sync_path(location, objects, batch, code, sync=False)
    return started, time.time()


def run_concurrent(location: Path | str, writers: int, count: int, size: int,
                   batch: int) -> float:
    """Wall seconds from the first write to the last of `writers` processes, each writing
    `count / writers` objects of its own content type into one store at once (as the step
    processes of a multiprocess sync do); process start-up is not counted."""
    os.sync()
    start_at = time.time() + 5  # after the workers have imported everything
    jobs = [(str(location), code, count // writers, size, batch, start_at)
            for code in range(1, writers + 1)]
    with multiprocessing.get_context("spawn").Pool(writers) as pool:
        spans = pool.map(_writer, jobs)
    return max(end for _, end in spans) - min(start for start, _ in spans)


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
    parser.add_argument("--writers", type=int, default=4,
                        help="processes writing at once in the concurrent phase (1: skip it)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="with --postgres: rounds, alternating which backend goes first; "
                        "the best of each is shown (whichever runs second pays for the "
                        "first one's disk writes still going on)")
    parser.add_argument("--postgres", action="store_true",
                        help="also the PostgreSQL store, on a throwaway local cluster")
    args = parser.parse_args()
    first = Objects(args.rows, args.size, 1, "a")
    second = Objects(args.rows, args.size, 1, "b")
    mb = len(codec.encode(first.make(0))) * args.rows / 2**20
    names = ["SQLite", "PostgreSQL"] if args.postgres else ["SQLite"]
    results: dict[str, dict[str, float]] = {name: {} for name in names}

    def keep_best(name: str, label: str, seconds: float) -> None:
        results[name][label] = min(seconds, results[name].get(label, seconds))

    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        base = run_baseline(Path(tmp) / "base.sqlite", first, args.batch)
        cluster = stack.enter_context(PostgresCluster()) if args.postgres else None

        def fresh(name: str, label: str) -> Path | str:
            if name == "SQLite":
                return Path(tempfile.mkdtemp(dir=tmp)) / f"{label}.sqlite"
            assert cluster is not None
            return cluster.create_database(f"{label}_{len(os.listdir(tmp))}")

        for round_ in range(args.rounds if args.postgres else 1):
            for name in names if round_ % 2 == 0 else list(reversed(names)):
                location = fresh(name, "store")
                keep_best(name, "new rows (encode+checksum+insert+commit)",
                          run_sync_path(location, first, args.batch))
                keep_best(name, "every row changed (update)",
                          run_sync_path(location, second, args.batch))
                keep_best(name, "nothing changed (checksum compare)",
                          run_sync_path(location, second, args.batch))
                if args.writers > 1:
                    keep_best(name, f"new rows, {args.writers} writer processes at once",
                              run_concurrent(fresh(name, "concurrent"), args.writers,
                                             args.rows, args.size, args.batch))
    print(f"{args.rows:,} objects of ~{args.size:,} bytes ({mb:.0f} MB encoded), "
          f"batch {args.batch}")
    print(f"  {'plain sqlite3 INSERT of pre-encoded blobs (baseline)':<62} "
          f"{args.rows / base:>9,.0f} rows/s  {mb / base:>7.1f} MB/s  {base:6.2f} s")
    for name in names:
        phases = results[name]
        for label, seconds in phases.items():
            line = (f"  {name + ' write path, ' + label:<62} {args.rows / seconds:>9,.0f} rows/s"
                    f"  {mb / seconds:>7.1f} MB/s  {seconds:6.2f} s  ({base / seconds:.2f}x "
                    f"baseline speed")
            if name != "SQLite":
                line += f", {results['SQLite'][label] / seconds:.2f}x SQLite's"
            print(line + ")")


if __name__ == "__main__":
    main()
