"""What a snapshot costs: push and pull of a >= 100 MB store, to a local S3 server (moto, in a
process of its own) and to a local folder.

    uv run python bench/snapshot.py [--objects 4000] [--rounds 4] [--keep DIR]

Builds a SQLite store of Looker-like dashboards (~20 KB of MessagePack each, `--rounds`
versions of each), then runs each of push and pull in a fresh process (so each peak RSS is
its own) and prints: MB/s of store (store bytes / wall time), snapshot bytes vs store bytes,
peak RSS. Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WORDS = ["revenue", "orders", "users", "region", "weekly", "churn", "pipeline", "margin",
         "cohort", "funnel", "retention", "inventory", "shipping", "returns", "forecast",
         "target", "quota", "campaign", "session", "conversion"]


def dashboard(rng: random.Random, i: int, round_: int) -> dict:
    """A dashboard shaped like the API's: embedded folder, elements with queries (and the
    duplicated result_maker query), filters, layouts; random ids and titles."""
    def words(n: int) -> str:
        return " ".join(rng.choice(WORDS) for _ in range(n))

    folder = {"id": str(rng.randint(1, 500)), "name": words(2), "parent_id": "1",
              "content_metadata_id": str(rng.randint(1, 9999)), "creator_id": "7",
              "can": {"show": True, "edit": True, "delete": False}}
    elements = []
    for e in range(rng.randint(5, 8)):
        query = {"id": str(rng.randint(1, 10**6)), "model": rng.choice(WORDS),
                 "view": rng.choice(WORDS), "fields": [f"{rng.choice(WORDS)}.{rng.choice(WORDS)}"
                                                       for _ in range(6)],
                 "filters": {f"{rng.choice(WORDS)}.date": "30 days"}, "sorts": [],
                 "limit": "500", "client_id": rng.randbytes(11).hex(),
                 "vis_config": {"type": "looker_line", "show_legend": True,
                                "series_colors": {}, "y_axes": [{"label": words(2)}]}}
        elements.append({"id": str(i * 100 + e), "title": f"{words(3)} v{round_}",
                         "query": query, "result_maker": {"query": dict(query)},
                         "note_text": words(12), "type": "vis",
                         "can": {"show": True, "edit": True}})
    return {"id": str(i), "title": f"{words(4)} {i} v{round_}", "description": words(20),
            "folder": folder, "space": folder, "dashboard_elements": elements,
            "dashboard_filters": [{"name": words(1), "title": words(2), "type": "field_filter",
                                   "default_value": words(1)} for _ in range(3)],
            "dashboard_layouts": [{"id": str(i), "active": True, "components": [
                {"dashboard_element_id": el["id"], "row": n, "column": 0, "width": 24,
                 "height": 6} for n, el in enumerate(elements)]}],
            "updated_at": f"2026-11-{round_ + 1:02d}T00:00:00.000+00:00", "user_id": "7"}


def build(db: Path, objects: int, rounds: int) -> None:
    from looker_assets import content_types
    from looker_assets.storage import codec
    from looker_assets.storage.rows import make_row
    from looker_assets.storage.store import ContentStore

    dashboards = content_types.get("dashboards")
    rng = random.Random(7)
    with ContentStore(db) as store:
        for round_ in range(rounds):
            partition = f"round-{round_}"
            store.start_sync(dashboards.code, partition, {})
            for start in range(0, objects, 500):
                rows = [make_row(dashboards, str(i), dashboard(rng, i, round_))
                        for i in range(start, min(start + 500, objects))]
                store.write_batch(dashboards.code, rows, codec.now_utc(), partition)
            store.complete_sync(dashboards.code, partition, {})
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def child(action: str, url: str, db: str, name: str | None) -> None:
    """One push or pull in this process: prints seconds, bytes and peak RSS as JSON."""
    from looker_assets.snapshots import operations
    from looker_assets.snapshots.destination import open_destination

    destination = open_destination(url)
    started = time.perf_counter()
    if action == "push":
        pushed = operations.push(destination, db, [])
        result = {"name": pushed.name, "bytes": pushed.bytes}
    else:
        manifest = operations.pull(destination, name or "latest", Path(db), None)
        result = {"name": manifest.name, "bytes": manifest.bytes}
    result["seconds"] = time.perf_counter() - started
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def run_child(env: dict[str, str], *args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *args], env=env, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--keep", type=Path, help="reuse/keep the store in this folder")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        action, url, db, *name = args.child
        child(action, url, db, name[0] if name else None)
        return
    work = Path(tempfile.mkdtemp(prefix="bench-snapshot-"))
    store_dir = args.keep or work
    store_dir.mkdir(parents=True, exist_ok=True)
    db = store_dir / "store.sqlite"
    if not db.exists():
        started = time.perf_counter()
        build(db, args.objects, args.rounds)
        print(f"built {db} in {time.perf_counter() - started:.1f} s")
    store_mb = db.stat().st_size / 1e6
    print(f"store: {store_mb:.1f} MB ({args.objects} dashboards x {args.rounds} versions)")

    port = free_port()
    moto = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H",
                             "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
               "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": endpoint,
               "AWS_ALLOW_HTTP": "true", "PYTHONPATH": str(REPO)}
        import boto3

        for _ in range(100):
            try:
                boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                             aws_access_key_id="bench", aws_secret_access_key="bench"
                             ).create_bucket(Bucket="bench-snapshots")
                break
            except Exception:
                time.sleep(0.1)
        folder = work / "offsite"
        folder.mkdir()
        for label, url in (("moto S3", "s3://bench-snapshots/nightly"),
                           ("local folder", str(folder))):
            push = run_child(env, "push", url, str(db))
            target = work / f"pulled-{label.split()[0]}.sqlite"
            pull = run_child(env, "pull", url, str(target), push["name"])
            print(f"{label:12}  push {store_mb / push['seconds']:6.1f} MB/s of store "
                  f"({push['seconds']:.2f} s, peak RSS {push['peak_rss_mb']:.0f} MB)  "
                  f"pull {store_mb / pull['seconds']:6.1f} MB/s ({pull['seconds']:.2f} s, "
                  f"peak RSS {pull['peak_rss_mb']:.0f} MB)  snapshot {push['bytes'] / 1e6:.1f}"
                  f" MB = {push['bytes'] / db.stat().st_size:.3f} of the store")
            target.unlink()
    finally:
        moto.terminate()
        moto.wait()
        shutil.rmtree(work, ignore_errors=True)  # the store too, unless it is under --keep


if __name__ == "__main__":
    main()
