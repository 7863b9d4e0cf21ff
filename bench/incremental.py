"""What a night costs: a full sync, then a nightly sync after ~1% of dashboards and looks
changed plus a renamed folder and an access change, then one with nothing changed, then the
weekly re-read of the types no signal fully covers.

    uv run python bench/incremental.py [--scale 10000] [--latency-ms 20] [--changed 0.01]

Every type is synced as the nightly job syncs it (one client for the whole sync: one login,
one request gate), through run_sync. Prints each sync's requests by kind (list, detail,
signal, check, login), seconds and objects/s, and their ratios to the full sync. Figures only;
nothing asserted.
"""

from __future__ import annotations

import argparse
import platform
import random
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from looker_assets import content_types
from looker_assets.emulator.subprocess_runner import EmulatorProcess
from looker_assets.looker.client import REQUEST_KINDS, ClientConfig, LookerClient
from looker_assets.looker.resource import LookerResource
from looker_assets.storage.store import ContentStore
from looker_assets.sync import run_sync

WEEKLY = [ct for ct in content_types.CONTENT_TYPES if ct.reread == "weekly"]


def sync_all(emu: EmulatorProcess, store: ContentStore, looker: LookerResource,
             partition: str, types: list[content_types.ContentType] | None = None,
             ) -> dict[str, Any]:
    emu.admin("POST", "stats/reset")
    started = time.perf_counter()
    totals: Counter[str] = Counter()
    by_type: dict[str, int] = {}
    for ct in types or content_types.CONTENT_TYPES:
        # One run id per sync: its types share what a run reads once (the deploy signal).
        result = run_sync(looker.stream(ct, run_id=f"bench-{partition}"), store, partition)
        meta = result.metadata()
        for key in ("objects", "new", "updated", "unchanged", "deleted", "requests",
                    *(f"requests_{kind}" for kind in REQUEST_KINDS)):
            totals[key] += int(meta[key])
        by_type[ct.name] = int(meta["requests"])
    seconds = time.perf_counter() - started
    served = emu.admin("GET", "stats")["requests"]
    return {**totals, "seconds": seconds, "served": served, "by_type": by_type}


def mutate(emu: EmulatorProcess, store: ContentStore, config: ClientConfig, fraction: float,
           seed: int) -> list[str]:
    """~`fraction` of dashboards and looks changed (mostly updates, some trashed or deleted,
    one created each), one folder renamed, one folder's access changed (inherits off and an
    entry of its own, through the API as an admin would)."""
    rng = random.Random(seed)
    done: list[str] = []
    for name in ("dashboards", "looks"):
        ct = content_types.get(name)
        ids = sorted(i for i in store.active_ids(ct.code) if "::" not in i)
        for id_ in rng.sample(ids, max(1, round(len(ids) * fraction))):
            roll = rng.random()
            op = "delete" if roll < 0.1 else "trash" if roll < 0.2 else "update"
            emu.admin("POST", "mutate", {"op": op, "kind": name, "id": id_})
            done.append(f"{op} {name} {id_}")
        emu.admin("POST", "mutate", {"op": "create", "kind": name})
        done.append(f"create {name}")
    folders = sorted((i for i in store.active_ids(content_types.get("folders").code)
                      if i.isdigit()), key=int)
    renamed = folders[len(folders) // 2]
    emu.admin("POST", "mutate", {"op": "update", "kind": "folders", "id": renamed})
    done.append(f"rename folders {renamed}")
    client = LookerClient(config)
    for id_ in sorted((i for i in store.active_ids(content_types.get("content_metadata").code)
                       if i.isdigit()), key=int):
        meta = client.get_json(f"/content_metadata/{id_}")
        if meta.get("inherits") and meta.get("folder_id"):
            client.write_json("PATCH", f"/content_metadata/{id_}", {"inherits": False})
            group = min(store.active_ids(content_types.get("groups").code))
            client.write_json("POST", "/content_metadata_access", {
                "content_metadata_id": id_, "group_id": group, "permission_type": "view"})
            done.append(f"access of content_metadata {id_}: inherits off, group {group} view")
            break
    client.close()
    return done


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

        def looker(**overrides: Any) -> LookerResource:
            return LookerResource(base_url=emu.url, client_id=emu.client_id,
                                  client_secret=emu.client_secret, verify_ssl=False,
                                  max_concurrency=args.concurrency, **overrides)

        store = ContentStore(Path(tmp) / "incremental.sqlite")
        runs = {"full": sync_all(emu, store, looker(), "day-1")}
        changes = mutate(emu, store, config, args.changed, seed=1)
        runs["incremental"] = sync_all(emu, store, looker(), "day-2")
        runs["unchanged"] = sync_all(emu, store, looker(), "day-3")
        runs["weekly re-read"] = sync_all(emu, store, looker(full_refresh=True), "day-4",
                                          WEEKLY)
        store.close()
    print(f"changes at the emulator: {len(changes)} ({sum('dashboards' in c for c in changes)} "
          f"dashboards, {sum('looks' in c for c in changes)} looks, "
          f"{'; '.join(c for c in changes if 'folders' in c or 'access' in c)})")
    kinds = ("list", "detail", "signal", "check", "login")
    print(f"{'sync':<16}{'objects':>8}{'requests':>9}"
          + "".join(f"{k:>8}" for k in kinds)
          + f"{'seconds':>9}{'obj/s':>8}{'new':>6}{'upd':>6}{'del':>5}{'of full':>9}")
    full = runs["full"]["requests"]
    for label, row in runs.items():
        print(f"{label:<16}{row['objects']:>8}{row['requests']:>9}"
              + "".join(f"{row[f'requests_{k}']:>8}" for k in kinds)
              + f"{row['seconds']:>9.2f}{row['objects'] / row['seconds']:>8.0f}{row['new']:>6}"
              f"{row['updated']:>6}{row['deleted']:>5}{100 * row['requests'] / full:>8.1f}%")
    for label, row in runs.items():
        if row["served"] != row["requests"]:
            print(f"  note: {label}: the client counted {row['requests']} requests, the "
                  f"emulator served {row['served']}")
    inc, idle, weekly = runs["incremental"], runs["unchanged"], runs["weekly re-read"]
    print(f"incremental / full requests: {100 * inc['requests'] / full:.2f}% (target <= 5%); "
          f"unchanged / full: {100 * idle['requests'] / full:.2f}%; the weekly re-read: "
          f"{100 * weekly['requests'] / full:.1f}%")
    week = 7 * inc["requests"] + weekly["requests"]
    print(f"a week of nightly syncs like this one plus the re-read: {week:,} requests, "
          f"{100 * week / (7 * full):.1f}% of seven full syncs")
    print("unchanged sync, requests by type: " + ", ".join(
        f"{name} {n}" for name, n in idle["by_type"].items() if n))


if __name__ == "__main__":
    main()
