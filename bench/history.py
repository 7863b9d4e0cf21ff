"""What point-in-time history costs: 30 daily syncs with 1% of objects changed per day.

    uv run python bench/history.py [--scale 10000] [--latency-ms 20] [--days 30]
        [--changed 0.01] [--baseline-ref 570ddcb] [--lookup-objects 100000]
        [--lookup-versions 30]

Prints, each measured in this run:
1. a full sync of every type by this code and by the release before compressed bodies (a git
   worktree of --baseline-ref), each in a fresh process against the same emulator,
   alternating, best of two each: objects/s and their ratio, and each store's size per
   uncompressed byte of what it holds;
2. `--days` syncs with `--changed` of the objects changed at the emulator before each: the
   versions opened, the bytes of those versions, and how much the file grew;
3. one more sync with nothing changed: the version rows it added;
4. export of the whole instance now and as of the middle day, from this store and from a copy
   of it with every body decompressed (what the baseline reads): objects/s and their ratios;
5. `show --at` in a store of --lookup-objects objects x --lookup-versions versions: the time
   of one lookup (open the store, find the sync, read and decode the version), and one
   `looker-assets show --at` process end to end.
Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from incremental import mutate, sync_all

from looker_assets import content_types
from looker_assets.cli.inspect_commands import export, object_at
from looker_assets.emulator.subprocess_runner import EmulatorProcess
from looker_assets.looker.client import ClientConfig
from looker_assets.looker.resource import LookerResource
from looker_assets.storage import codec
from looker_assets.storage.bodies import Body
from looker_assets.storage.history import parse_moment
from looker_assets.storage.rows import make_row
from looker_assets.storage.store import ContentStore

REPO = Path(__file__).resolve().parent.parent
GROUPS = content_types.get("groups")

# A full sync of every type, run in a fresh process with whichever looker_assets is first on
# PYTHONPATH (this checkout, or the baseline's worktree). Credentials come from LOOKERSDK_*.
FULL_SYNC = """
import json, sys, time
from looker_assets import content_types
from looker_assets.looker.client import ClientConfig, LookerClient
from looker_assets.looker.extract import ContentStream
from looker_assets.storage.store import ContentStore
from looker_assets.sync import run_sync
db, concurrency = sys.argv[1], int(sys.argv[2])
config = ClientConfig(verify_ssl=False, max_concurrency=concurrency)
started, objects = time.perf_counter(), 0
with ContentStore(db) as store:
    for ct in content_types.CONTENT_TYPES:
        client = LookerClient(config)
        result = run_sync(ContentStream(client, ct, max_concurrency=concurrency), store, "full")
        client.close()
        objects += result.objects
print(json.dumps({"objects": objects, "seconds": time.perf_counter() - started}))
"""


def full_sync(emu: EmulatorProcess, code: Path, db: Path, concurrency: int) -> dict[str, Any]:
    env = {**os.environ, **emu.looker_env(), "PYTHONPATH": str(code)}
    # cwd too: `python -c` puts the working directory first on sys.path, before PYTHONPATH.
    proc = subprocess.run([sys.executable, "-c", FULL_SYNC, str(db), str(concurrency)],
                          env=env, capture_output=True, text=True, check=True, cwd=code)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["rate"] = result["objects"] / result["seconds"]
    return result


def baseline_tree(ref: str, where: Path) -> Path:
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", "-q", str(where),
                    ref], check=True)
    return where


def days_of_changes(emu: EmulatorProcess, store: ContentStore, config: ClientConfig,
                    days: int, changed: float) -> list[dict[str, Any]]:
    rows = []
    for day in range(1, days + 1):
        before = store.conn.execute("SELECT count(*), coalesce(sum(content_size), 0) "
                                    "FROM content_versions").fetchone()
        size_before = store.db.storage_bytes()
        mutations = len(mutate(emu, store, config, changed, seed=day))
        totals = sync_all(emu, store, resource_for(emu, config), f"day-{day:02d}")
        after = store.conn.execute("SELECT count(*), coalesce(sum(content_size), 0) "
                                   "FROM content_versions").fetchone()
        rows.append({"day": day, "mutations": mutations, "moment": codec.now_utc(),
                     "seconds": totals["seconds"], "versions": after[0] - before[0],
                     "version_bytes": after[1] - before[1],
                     "growth": store.db.storage_bytes() - size_before})
        print(f"  day {day:2d}: {mutations:4d} mutations, {rows[-1]['versions']:5d} versions "
              f"({rows[-1]['version_bytes'] / 2**20:6.2f} MB), file "
              f"{rows[-1]['growth'] / 2**20:+6.2f} MB, {totals['seconds']:.1f} s", flush=True)
    return rows


def resource_for(emu: EmulatorProcess, config: ClientConfig) -> LookerResource:
    return LookerResource(base_url=emu.url, client_id=emu.client_id,
                          client_secret=emu.client_secret, verify_ssl=False,
                          max_concurrency=config.max_concurrency)


def export_rate(db: Path, out: Path, at: str | None) -> tuple[int, float]:
    """The `export` command's own function, in this process (its summary line discarded)."""
    started = time.perf_counter()
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        export(out, db=str(db), at=at, include_deleted=False, json_output=True)
    seconds = time.perf_counter() - started
    files = sum(1 for _ in out.rglob("*.json"))
    return files, seconds


def lookup_store(db: Path, objects: int, versions: int) -> list[str]:
    """`objects` groups, each changed `versions - 1` times, one sync per round."""
    moments = []
    with ContentStore(db) as store:
        for round_ in range(versions):
            partition = f"round-{round_:02d}"
            store.start_sync(GROUPS.code, partition, {})
            for start in range(0, objects, 5000):
                batch = [make_row(GROUPS, str(i), {
                    "id": str(i), "name": f"Group {i} v{round_}", "user_count": round_,
                    "external_group_id": None, "externally_managed": False,
                    "can": {"show": True, "edit": True, "delete": True},
                    "include_by_default": False, "contains_current_user": False})
                    for i in range(start, min(start + 5000, objects))]
                store.write_batch(GROUPS.code, batch, codec.now_utc(), partition)
            store.complete_sync(GROUPS.code, partition, {})
            moments.append(codec.now_utc())
            print(f"  round {round_ + 1}/{versions}", end="\r", flush=True)
    print()
    return moments


def decompressed_copy(db: Path, target: Path) -> Path:
    """A copy of the store with every body stored raw (codec 0): what a store of the release
    before compression reads."""
    with contextlib.closing(sqlite3.connect(db)) as src, \
            contextlib.closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
    target.chmod(0o600)  # as private as the store it copies
    with ContentStore(target) as store:
        bodies, conn = store.bodies, store.conn
        conn.execute("BEGIN")
        items = conn.execute("SELECT content_type, id, codec, dict_id, content_data "
                             "FROM content_items").fetchall()
        conn.executemany(
            "UPDATE content_items SET codec = 0, dict_id = NULL, content_data = ? "
            "WHERE content_type = ? AND id = ?",
            [(bodies.unpack(Body(c, d, data), id_), code, id_)
             for code, id_, c, d, data in items])
        raw = [(bodies.past(checksum, checksum)[0], checksum) for (checksum,) in conn.execute(
            "SELECT checksum FROM content_blobs").fetchall()]
        conn.execute("UPDATE content_blobs SET base_checksum = NULL")
        conn.executemany("UPDATE content_blobs SET codec = 0, dict_id = NULL, "
                         "content_data = ? WHERE checksum = ?", raw)
        conn.execute("COMMIT")
        conn.execute("VACUUM")
    return target


def one_lookup(db: Path, id_: str, when: str) -> float:
    """The work of `show --at` after its imports: open, find the sync, read, decode, print."""
    started = time.perf_counter()
    with ContentStore(db) as store:
        json.dumps(object_at(store, GROUPS, id_, parse_moment(when), when), indent=2)
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--changed", type=float, default=0.01)
    parser.add_argument("--baseline-ref", default="570ddcb",
                        help="the release before compressed bodies (schema 2)")
    parser.add_argument("--lookup-objects", type=int, default=100_000)
    parser.add_argument("--lookup-versions", type=int, default=30)
    parser.add_argument("--only-lookup", action="store_true", help="just part 5")
    parser.add_argument("--only-full-sync", action="store_true", help="just part 1")
    args = parser.parse_args()
    print(f"machine: {platform.node()} {platform.machine()}, Python {platform.python_version()}; "
          f"emulator scale {args.scale}, latency {args.latency_ms:g} ms, max_concurrency "
          f"{args.concurrency}", flush=True)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        if args.only_lookup:
            lookup(args, tmp)
            return
        baseline = baseline_tree(args.baseline_ref, tmp / "baseline")
        try:
            run(args, tmp, baseline)
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force",
                            str(baseline)], check=False)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak:.0f} MB")


def run(args: argparse.Namespace, tmp: Path, baseline: Path) -> None:
    with EmulatorProcess(scale=args.scale, latency_ms=args.latency_ms) as emu:
        print("1. full sync, fresh process each, alternating (best of 2):", flush=True)
        best: dict[str, dict[str, Any]] = {}
        for attempt in range(2):
            for label, code in (("baseline", baseline), ("compressed", REPO)):
                db = tmp / f"full-{label}-{attempt}.sqlite"
                result = full_sync(emu, code, db, args.concurrency)
                with contextlib.closing(sqlite3.connect(db)) as conn:
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                    held = conn.execute("SELECT sum(content_size) FROM content_items"
                                        ).fetchone()[0]
                size = db.stat().st_size
                print(f"  {label:<10} {result['objects']:,} objects in {result['seconds']:.1f} s "
                      f"= {result['rate']:.0f}/s; file {size / 2**20:.1f} MB for "
                      f"{held / 2**20:.1f} MB of objects = {size / held:.3f} per byte",
                      flush=True)
                if label not in best or result["rate"] > best[label]["rate"]:
                    best[label] = result
        ratio = best["compressed"]["rate"] / best["baseline"]["rate"]
        print(f"  compressed / baseline rate: {ratio:.3f} ({100 * (ratio - 1):+.1f}%)")
        if args.only_full_sync:
            return

        print(f"2. {args.days} days, {100 * args.changed:g}% of objects changed before each "
              f"sync:", flush=True)
        db = tmp / "full-compressed-0.sqlite"  # already holds one full sync by this code
        config = ClientConfig(base_url=emu.url, client_id=emu.client_id,
                              client_secret=emu.client_secret, verify_ssl=False,
                              max_concurrency=args.concurrency)
        with ContentStore(db) as store:
            start_bytes = store.db.storage_bytes()
            days = days_of_changes(emu, store, config, args.days, args.changed)
            changed_bytes = sum(d["version_bytes"] for d in days)
            growth = store.db.storage_bytes() - start_bytes
            print(f"  file {start_bytes / 2**20:.1f} MB -> {(start_bytes + growth) / 2**20:.1f} "
                  f"MB: grew {growth / 2**20:.1f} MB for {changed_bytes / 2**20:.1f} MB of "
                  f"changed versions ({sum(d['versions'] for d in days):,}): "
                  f"{growth / changed_bytes:.2f}x")

            print("3. a sync with nothing changed:", flush=True)
            before = store.conn.execute("SELECT count(*) FROM content_versions").fetchone()[0]
            idle = sync_all(emu, store, resource_for(emu, config), "idle")
            after = store.conn.execute("SELECT count(*) FROM content_versions").fetchone()[0]
            print(f"  {idle['objects']:,} objects, {after - before} version rows added")

        print("4. export of the whole instance:", flush=True)
        middle = days[len(days) // 2]["moment"]
        raw_db = decompressed_copy(db, tmp / "decompressed.sqlite")
        rates = {}
        for label, source in (("compressed", db), ("decompressed", raw_db)):
            for when, at in (("now", None), (f"as of day {len(days) // 2 + 1}", middle)):
                files, seconds = export_rate(source, tmp / f"export-{label}-{when}", at)
                rates[label, when] = files / seconds
                print(f"  {label:<12} {when:<14} {files:,} objects in {seconds:.2f} s = "
                      f"{files / seconds:.0f}/s", flush=True)
        for when in {w for _, w in rates}:
            print(f"  {when}: compressed / decompressed rate "
                  f"{rates['compressed', when] / rates['decompressed', when]:.2f}")
    lookup(args, tmp)


def lookup(args: argparse.Namespace, tmp: Path) -> None:
    print(f"5. show --at, {args.lookup_objects:,} objects x {args.lookup_versions} versions:",
          flush=True)
    lookup_db = tmp / "lookup.sqlite"
    started = time.perf_counter()
    moments = lookup_store(lookup_db, args.lookup_objects, args.lookup_versions)
    size = lookup_db.stat().st_size
    print(f"  built in {time.perf_counter() - started:.0f} s, {size / 2**20:.0f} MB")
    rng = random.Random(5)
    times = [one_lookup(lookup_db, str(rng.randrange(args.lookup_objects)), rng.choice(moments))
             for _ in range(200)]
    times.sort()
    print(f"  one lookup (200 random objects and moments): median {statistics.median(times):.2f} "
          f"ms, p95 {times[189]:.2f} ms, max {times[-1]:.2f} ms")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "looker_assets.cli", "show", "groups",
                    str(args.lookup_objects // 2), "--at", moments[len(moments) // 2],
                    "--db", str(lookup_db)], env=env, check=True, capture_output=True)
    print(f"  `looker-assets show --at` process end to end: "
          f"{(time.perf_counter() - started) * 1000:.0f} ms (interpreter and imports included)")


if __name__ == "__main__":
    main()
