"""Full sync, then 1% of objects changed at the emulator, then an incremental sync.

    uv run python bench/incremental.py [--scale 10000] [--latency-ms 20] [--changed 0.01]

Prints requests, seconds and objects/s of each sync and the ratio of their requests, plus a
third sync with nothing changed (the floor: listings only). Figures only; nothing asserted.
"""

from __future__ import annotations

import argparse
import platform
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from looker_assets import content_types
from looker_assets.emulator.subprocess_runner import EmulatorProcess
from looker_assets.looker.client import ClientConfig, LookerClient
from looker_assets.looker.extract import ContentStream
from looker_assets.storage.store import ContentStore
from looker_assets.sync import run_sync


def sync_all(emu: EmulatorProcess, store: ContentStore, config: ClientConfig,
             partition: str) -> dict[str, Any]:
    emu.admin("POST", "stats/reset")
    started = time.perf_counter()
    totals = {"objects": 0, "new": 0, "updated": 0, "unchanged": 0, "deleted": 0, "fetched": 0}
    for ct in content_types.CONTENT_TYPES:
        client = LookerClient(config)
        result = run_sync(ContentStream(client, ct, max_concurrency=config.max_concurrency),
                          store, partition)
        client.close()
        meta = result.metadata()
        for key in totals:
            totals[key] += int(meta[key])
    totals["seconds"] = time.perf_counter() - started
    stats = emu.admin("GET", "stats")
    totals["requests"] = stats["requests"]
    totals["detail_requests"] = sum(n for route, n in stats["by_route"].items()
                                    if route.endswith("}") and "{" in route)
    return totals


def mutate(emu: EmulatorProcess, store: ContentStore, fraction: float, seed: int) -> int:
    """Change `fraction` of the objects: mostly updates, a few creates, deletes and trashes."""
    rng = random.Random(seed)
    changed = 0
    for ct in content_types.CONTENT_TYPES:
        ids = sorted(store.active_ids(ct.code))
        count = max(1, round(len(ids) * fraction)) if ids else 0
        for id_ in rng.sample(ids, min(count, len(ids))):
            roll = rng.random()
            op = ("delete" if roll < 0.1 else
                  "trash" if roll < 0.2 and ct.name in ("dashboards", "looks") else "update")
            try:
                emu.admin("POST", "mutate", {"op": op, "kind": ct.name, "id": id_})
                changed += 1
            except Exception as exc:  # an emulator refusing one op should not end the bench
                print(f"  (mutation {op} {ct.name} {id_} refused: {exc})")
        if count and ct.name in ("dashboards", "looks", "users", "folders"):
            try:
                emu.admin("POST", "mutate", {"op": "create", "kind": ct.name})
                changed += 1
            except Exception as exc:
                print(f"  (create {ct.name} refused: {exc})")
    return changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--changed", type=float, default=0.01)
    args = parser.parse_args()
    print(f"machine: {platform.node()} {platform.machine()}, Python {platform.python_version()}; "
          f"emulator scale {args.scale}, latency {args.latency_ms:g} ms, "
          f"max_concurrency {args.concurrency}", flush=True)
    with EmulatorProcess(scale=args.scale, latency_ms=args.latency_ms) as emu, \
            tempfile.TemporaryDirectory() as tmp:
        config = ClientConfig(base_url=emu.url, client_id=emu.client_id,
                              client_secret=emu.client_secret, verify_ssl=False,
                              max_concurrency=args.concurrency)
        store = ContentStore(Path(tmp) / "incremental.sqlite")
        full = sync_all(emu, store, config, "day-1")
        changed = mutate(emu, store, args.changed, seed=1)
        incremental = sync_all(emu, store, config, "day-2")
        idle = sync_all(emu, store, config, "day-3")
        store.close()
    print(f"mutations at the emulator: {changed}")
    header = (f"{'sync':<14}{'objects':>8}{'requests':>9}{'details':>8}{'seconds':>9}"
              f"{'obj/s':>8}{'new':>6}{'upd':>6}{'del':>5}")
    print(header)
    for label, row in (("full", full), ("incremental", incremental), ("unchanged", idle)):
        print(f"{label:<14}{row['objects']:>8}{row['requests']:>9}{row['detail_requests']:>8}"
              f"{row['seconds']:>9.2f}{row['objects'] / row['seconds']:>8.0f}{row['new']:>6}"
              f"{row['updated']:>6}{row['deleted']:>5}")
    print(f"incremental / full requests: {100 * incremental['requests'] / full['requests']:.1f}% "
          f"(target <= 5%); unchanged / full: {100 * idle['requests'] / full['requests']:.1f}%; "
          f"incremental is {full['seconds'] / incremental['seconds']:.1f}x faster")


if __name__ == "__main__":
    main()
