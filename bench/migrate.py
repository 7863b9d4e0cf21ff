"""What a migration costs: ~500 dashboards and looks promoted into a bare Looker instance,
then the same migration again with nothing changed.

    uv run python -u bench/migrate.py [--scale 4000] [--latency-ms 20] [--objects 500]
        [--concurrency 8] [--seed 0]

1. Two emulators in this process on 127.0.0.1, both at `--latency-ms`: the source (instance
   0, `--scale`) and a bare target (instance 1, scale 0, the source's LookML: roots, a few
   users, groups and roles).
2. A sync of the source into a SQLite store (every content type, `dg.materialize` of the
   content assets, as the tests do).
3. Top folders under Shared, the largest that fit first, until their subtrees hold
   about `--objects` looks and dashboards; migrate takes each with `--folder`.
4. The API's minimum for what the migration created and updated (the scope and the
   dependencies it pulled in), counted from the source's objects: per folder 1
   create_folder, per access change 1 write, per look create_query + create_look, per
   dashboard create_dashboard + the update of its active layout where it differs from the
   one Looker makes + one create per other tab, filter and tile, a create_query per query
   tile, create_merge_query + its queries per merge tile, a move per tile not where Looker
   puts a new one (the fewer of two creation orders; + the one read that learns the
   components' ids), per alert and schedule one create. Queries are counted once per
   distinct source query (queries are immutable and shareable). Failed objects are not in
   the minimum; their attempts are in the requests.
5. `looker-assets migrate --target prod --ini INI --folder ... --yes --json
   --max-concurrency N` in a subprocess (its own GIL; the emulators stay in this process):
   wall time, requests the target served by method and route, objects created, failures,
   the ratio to the minimum (writes alone, and every request), the subprocess's peak RSS.
6. The same command again, nothing changed: its writes (should be 0) and requests per
   object.

Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import configparser
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import psutil
from restore import tile_moves

from looker_assets.assets import CONTENT_ASSETS, IO_MANAGER_KEY
from looker_assets.emulator import Faults, LookerEmulator
from looker_assets.io_manager import LookerContentIOManager
from looker_assets.looker.resource import LookerResource
from looker_assets.migrate.scope import select
from looker_assets.storage.store import ContentStore

WRITES = ("POST", "PATCH", "PUT", "DELETE")
# Where create_dashboard_element puts a new tile (the emulator's rule, after Looker's): column
# 0 under the lowest tile of its layout, 8 wide and 6 high.
ROOT_FLAGS = ("is_personal", "is_personal_descendant", "is_shared_root", "is_users_root",
              "is_embed_shared_root", "is_embed_users_root")


# -- the source and the scope ----------------------------------------------------------------


def sync(emu: LookerEmulator, db: Path, concurrency: int) -> None:
    looker = LookerResource(base_url=emu.url, client_id=emu.client_id,
                            client_secret=emu.client_secret, verify_ssl=False,
                            max_concurrency=concurrency)
    result = dg.materialize(
        CONTENT_ASSETS, partition_key=datetime.now(UTC).strftime("%Y-%m-%d"),
        resources={"looker": looker, IO_MANAGER_KEY: LookerContentIOManager(path=str(db))})
    print(f"   sync {'succeeded' if result.success else 'FAILED'}", flush=True)


def pick_folders(store: ContentStore, emu: LookerEmulator, want: int
                 ) -> tuple[list[str], list[tuple[str, str]]]:
    """Shared's child folders, the largest subtrees that fit first, until about `want`
    looks and dashboards."""
    folders = emu.objects("folders")
    shared = next(k for k, f in folders.items() if f.get("is_shared_root"))
    tops = [k for k, f in folders.items() if str(f.get("parent_id")) == shared
            and not any(f.get(x) for x in ROOT_FLAGS)]
    sizes = {}
    for top in tops:
        items = select(store, [top], None, [], None)
        sizes[top] = sum(1 for t, _ in items if t in ("looks", "dashboards"))
    chosen: list[str] = []
    total = 0
    for top in sorted(tops, key=lambda k: (-sizes[k], int(k) if k.isdigit() else 0)):
        if sizes[top] and total + sizes[top] <= want * 1.1:
            chosen.append(top)
            total += sizes[top]
        if total >= want * 0.9:
            break
    return chosen, select(store, chosen, None, [], None)


# -- the API's minimum -----------------------------------------------------------------------


def fewest_tile_moves(dash: dict[str, Any]) -> int:
    """Tile moves the API needs: the fewer of bench/restore.py's two creation orders."""
    return min(tile_moves(dash))


def minimum(emu: LookerEmulator, results: list[dict[str, Any]]) -> tuple[Counter[str], int]:
    """(writes by what they do, reads) with which the API allows what the migration created
    and updated, counted from the source's objects."""
    writes: Counter[str] = Counter()
    reads = 0
    queries: set[str] = set()
    for r in results:
        type_, id_, action = r["type"], r["id"], r["action"]
        if action == "update":
            if type_ == "content_access":  # one create per entry added (+), delete per (-)
                writes["content_metadata_access entries"] += max(1, sum(
                    str(c).count("+") + str(c).count("-") for c in r["changes"] or []))
            else:
                writes[f"update of {type_}"] += 1
            continue
        if action != "create":
            continue
        if type_ == "looks":
            look = emu.api_get(f"/looks/{id_}")
            queries.add(str(look.get("query_id")))
            writes["create_look"] += 1
        elif type_ == "dashboards":
            dash = emu.api_get(f"/dashboards/{id_}")
            writes["create_dashboard"] += 1
            layouts = dash.get("dashboard_layouts") or []
            active = [lay for lay in layouts if lay.get("active")]
            if active and any(active[0].get(k) not in (None, d) for k, d in (
                    ("label", None), ("description", None), ("order", 0),
                    ("type", "newspaper"), ("column_width", None), ("width", None))):
                writes["update_dashboard_layout (the active tab)"] += 1
            writes["create_dashboard_layout (other tabs)"] += len(layouts) - len(active)
            writes["create_dashboard_filter"] += len(dash.get("dashboard_filters") or [])
            for el in dash.get("dashboard_elements") or []:
                writes["create_dashboard_element"] += 1
                if el.get("merge_result_id"):
                    merge = emu.api_get(f"/merge_queries/{el['merge_result_id']}") or {}
                    writes["create_merge_query"] += 1
                    queries.update(str(q["query_id"]) for q in merge.get("source_queries")
                                   or [] if q.get("query_id"))
                elif not el.get("look_id") and el.get("query_id"):
                    queries.add(str(el["query_id"]))
            moves = fewest_tile_moves(dash)
            writes["update_dashboard_layout_component (tile moves)"] += moves
            reads += bool(moves)  # one dashboard(id) gives every component's id
        else:
            writes[f"create of {type_}"] += 1
    writes["create_query (distinct source queries)"] = len(queries - {"None"})
    return writes, reads


# -- the migration ---------------------------------------------------------------------------


def write_ini(path: Path, section: str, emu: LookerEmulator) -> None:
    ini = configparser.ConfigParser()
    ini[section] = {"base_url": emu.url, "client_id": emu.client_id,
                    "client_secret": emu.client_secret, "verify_ssl": "False"}
    with path.open("w", encoding="utf-8") as fh:
        ini.write(fh)


def migrate(target: LookerEmulator, argv: list[str]) -> dict[str, Any]:
    target.reset_stats()
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "looker_assets.cli", *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = [0]

    def sample() -> None:
        p = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                peak[0] = max(peak[0], p.memory_info().rss)
            except psutil.Error:
                break
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    sampler.join()
    stats = target.stats
    try:
        data = json.loads(out)
    except json.JSONDecodeError:
        data = {}
        print(f"   exit {proc.returncode}; stdout {out[:500]!r}; stderr {err[-2000:]}")
    return {"wall": wall, "code": proc.returncode, "data": data, "rss": peak[0],
            "routes": Counter({(m, t.removeprefix("/api/4.0")): n
                               for (m, t), n in stats.by_route.items()}),
            "stderr": err}


def split(routes: Counter[tuple[str, str]]) -> tuple[int, int, int]:
    """(reads, writes, logins)."""
    login = sum(n for (_, t), n in routes.items() if t.endswith("/login"))
    writes = sum(n for (m, t), n in routes.items() if m in WRITES and not t.endswith("/login"))
    return sum(routes.values()) - writes - login, writes, login


def report(label: str, run: dict[str, Any], objects: int) -> None:
    data, routes = run["data"], run["routes"]
    reads, writes, login = split(routes)
    total = reads + writes + login
    results = data.get("results") or []
    print(f"{label}: exit {run['code']}, {run['wall']:.2f} s wall (process start-up included); "
          f"{total:,} requests served by the target: {reads:,} GET, {writes:,} writes, "
          f"{login} login; {total / objects:.2f} requests per object in scope; "
          f"{total / run['wall']:.0f} requests/s")
    print(f"   summary: {data.get('summary')}")
    created = Counter(r["type"] for r in results if r["action"] == "create")
    if created:
        print("   created: " + ", ".join(f"{t} {n}" for t, n in created.most_common()))
    failed = [r for r in results if r["action"] == "failed"]
    differs = [r for r in results if r.get("differs")]
    print(f"   failed {len(failed)}, differ after verify {len(differs)}, unverified writes "
          f"{sum(1 for r in results if r['action'] in ('create', 'update') and not r['verified'])}"
          f", content validator errors {len(data.get('content_validation') or [])} brought by "
          f"the migration + {len(data.get('content_validation_at_source') or [])} the source "
          f"has too, "
          f"owner fallbacks {len(data.get('owner_fallbacks') or [])}")
    for (type_, error), n in Counter((r["type"], r["error"]) for r in failed).most_common(4):
        print(f"      failed x{n}: {type_}: {error}")
    refused = Counter((r["type"], (r["error"] or "").split(":")[0].split(",")[0][:70])
                      for r in results if r["action"] == "skipped")
    for (type_, why), n in refused.most_common(4):
        print(f"      skipped x{n}: {type_}: {why}")
    for r in differs[:5]:
        print(f"      differs {r['type']} {r['id']} -> {r['target_id']}: {r['differs']}")
    errors = Counter(v.get("message") for v in (data.get("content_validation") or [])
                     + (data.get("content_validation_at_source") or []))
    for msg, n in errors.most_common(3):
        print(f"      validator x{n}: {msg}")
    print(f"   peak RSS of the migrate process {run['rss'] / 2**20:.0f} MB")
    print("   requests by route:")
    for (method, template), n in sorted(routes.items(), key=lambda kv: (-kv[1], kv[0]))[:25]:
        print(f"    {n:6,}  {method:6} {template}")
    if len(routes) > 25:
        print(f"    ... {len(routes) - 25} more routes, "
              f"{sum(sorted(routes.values(), reverse=True)[25:]):,} requests")


# -- main ------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=4000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--objects", type=int, default=500,
                        help="looks and dashboards to migrate, about")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"machine: {platform.node()} {platform.machine()}, {psutil.cpu_count()} cores, "
          f"Python {platform.python_version()}; source scale {args.scale}, bare target "
          f"(instance 1, scale 0), both in this process, latency {args.latency_ms:g} ms, "
          f"max_concurrency {args.concurrency}", flush=True)
    bench_start = time.perf_counter()
    source = LookerEmulator(scale=args.scale, seed=args.seed,
                            faults=Faults(latency_ms=args.latency_ms))
    target = LookerEmulator(scale=0, seed=args.seed, faults=Faults(latency_ms=args.latency_ms),
                            instance=1, base_scale=args.scale)
    with source.start(), target.start(), tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "source.sqlite"
        t0 = time.perf_counter()
        sync(source, db, args.concurrency)
        store = ContentStore(db)
        print(f"1. source synced in {time.perf_counter() - t0:.1f} s "
              f"({source.stats.requests:,} requests)", flush=True)
        folders, items = pick_folders(store, source, args.objects)
        store.close()
        kinds = Counter(t for t, _ in items)
        objects = len(items)
        print(f"2. scope: Shared folders {', '.join(folders)}: "
              + ", ".join(f"{t} {n}" for t, n in kinds.items())
              + f" ({kinds['looks'] + kinds['dashboards']} looks and dashboards, "
              f"{objects} objects selected)", flush=True)
        ini = Path(tmp) / "looker.ini"
        write_ini(ini, "prod", target)
        argv = ["migrate", "--target", "prod", "--ini", str(ini), "--db", str(db),
                *[a for f in folders for a in ("--folder", f)], "--yes", "--json",
                "--max-concurrency", str(args.concurrency)]
        shown = " ".join("INI" if a == str(ini) else "DB" if a == str(db) else a for a in argv)
        print(f"4. looker-assets {shown}", flush=True)
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import looker_assets.cli"], check=False)
        startup = time.perf_counter() - t0
        print(f"   (importing the CLI alone takes {startup:.2f} s here)")
        first = migrate(target, argv)
        report("   first run", first, objects)
        _, first_writes, _ = split(first["routes"])
        done = first["data"].get("results") or []
        writes, reads = minimum(source, done)
        floor = sum(writes.values())
        print(f"   the API's minimum for what it created and updated "
              f"({sum(1 for r in done if r['action'] in ('create', 'update'))} objects, "
              f"dependencies pulled in included): {floor:,} writes + {reads} reads (+1 login) = "
              f"{floor + reads + 1:,} requests:")
        for what, n in writes.most_common():
            print(f"    {n:6,}  {what}")
        print(f"    {reads:6,}  read of a dashboard to learn its components' ids (dashboards "
              f"with tile moves)")
        total = sum(first["routes"].values())
        print(f"   writes / minimum writes: {first_writes:,} / {floor:,} = "
              f"{first_writes / floor:.2f}x; all requests / minimum requests: {total:,} / "
              f"{floor + reads + 1:,} = {total / (floor + reads + 1):.2f}x")
        # The product reads every written object back to verify it (README, Migrate): the
        # same minimum with one read per object created or updated.
        written = sum(1 for r in done if r["action"] in ("create", "update"))
        verified_floor = floor + reads + 1 + written
        print(f"   with one read-back per written object ({written:,}): all requests / "
              f"{verified_floor:,} = {total / verified_floor:.2f}x")
        per = Counter({k: n for k, n in first["routes"].items()})
        gets = sum(n for (m, _), n in per.items() if m == "GET")
        made = (first["data"].get("summary") or {}).get("create", 0)
        print(f"   GET requests per object in scope {gets / objects:.2f}; write requests per "
              f"created object {first_writes / max(1, made):.2f}")
        second = migrate(target, argv)
        report("5. again, nothing changed", second, objects)
        _, again_writes, _ = split(second["routes"])
        print(f"   writes {again_writes} (should be 0); "
              f"{sum(second['routes'].values()) / objects:.2f} requests per object")
        source.stop()
        target.stop()
    print(f"peak RSS of this process (two emulators and the sync): "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; migrate "
          f"processes {first['rss'] / 2**20:.0f} / {second['rss'] / 2**20:.0f} MB; bench wall "
          f"{time.perf_counter() - bench_start:.0f} s")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
