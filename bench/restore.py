"""What a restore costs: 1,000 independent objects, and one dashboard of 50 tiles over 3 tabs.

    uv run python -u bench/restore.py [--scale 4000] [--latency-ms 20] [--objects 1000]
        [--concurrency 8,4,16] [--tiles 50] [--tabs 3] [--filters 3]

Against an emulator in its own process (its own GIL), as the other benches run it:
1. Two dashboards of `--tiles` query tiles over `--tabs` tabs (one active layout, the others
   made by create_dashboard_layout), `--filters` filters, every tile listening to the first
   filter, positions set on a 3-tiles-a-row grid; all created through the API.
2. A sync of looks, dashboards, alerts and folders (what the restores below read from the
   backup; a folder's backed-up version says how many looks it holds);
   its completion is the moment restored to (`at`).
3. Damage through the API: `--objects` live looks retitled, the first dashboard hard
   deleted, one tile of the second retitled. A second sync captures the damage.
4. The looks restored as of the first sync, once per `--concurrency` (the looks are damaged
   again before each run, at zero latency), at `--latency-ms`: wall time, objects/s,
   requests by method and route, requests/s against the bound max_concurrency / latency,
   objects/s against max_concurrency / (latency x requests per object), the time and
   requests of plan (the dependency pull, then the live reads), write and verify, and the
   peak RSS of this process during the restore. Then the same restore once more with nothing
   to do.
5. The deleted dashboard re-created, then the retitled tile put back in place: requests by
   route against the minimum the API allows (derived from the backed-up dashboard; printed
   with its reasoning), and the ratio.

The engine is used as it is; phases are timed by wrapping its methods in a subclass. The
emulator's request counters are read at phase boundaries (its admin routes are not counted
and get no latency). Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import platform
import resource
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psutil

from looker_assets import content_types
from looker_assets.emulator.subprocess_runner import EmulatorProcess
from looker_assets.looker.client import ClientConfig, LookerClient
from looker_assets.looker.extract import ContentStream
from looker_assets.restore.engine import Request, Restore, Target
from looker_assets.storage import codec
from looker_assets.storage.history import sync_cutoff, version_at
from looker_assets.storage.store import ContentStore
from looker_assets.sync import run_sync

SYNCED = ("looks", "dashboards", "alerts", "folders")
LOOKS = content_types.get("looks")
DASHBOARDS = content_types.get("dashboards")
# Where create_dashboard_element puts a new tile (the emulator's rule, after Looker's): column
# 0 under the lowest tile of its layout, 8 wide and 6 high.
NEW_TILE = {"column": 0, "width": 8, "height": 6}
QUERY_OWN = ("id", "slug", "client_id", "share_url", "expanded_share_url", "url", "can",
             "has_table_calculations")


# -- the emulator ----------------------------------------------------------------------------


class Emulator:
    """An emulator process, its admin routes and an API client for the bench's own calls."""

    def __init__(self, proc: EmulatorProcess) -> None:
        self.proc = proc
        self.client = LookerClient(self.config(16))

    def config(self, concurrency: int) -> ClientConfig:
        return ClientConfig(base_url=self.proc.url, client_id=self.proc.client_id,
                            client_secret=self.proc.client_secret, verify_ssl=False,
                            max_concurrency=concurrency)

    def latency(self, ms: float) -> None:
        self.proc.admin("PATCH", "faults", {"latency_ms": ms})

    def reset(self) -> None:
        self.proc.admin("POST", "stats/reset")

    def stats(self) -> Counter[tuple[str, str]]:
        """(method, route template) -> requests since the last reset."""
        out: Counter[tuple[str, str]] = Counter()
        for route, n in self.proc.admin("GET", "stats")["by_route"].items():
            method, _, template = route.partition(" ")
            out[(method, template.removeprefix("/api/4.0"))] = n
        return out

    def get(self, path: str, **params: str) -> Any:
        return self.client.get_json(path, params or None)

    def __call__(self, method: str, path: str, body: Any = None) -> Any:
        return self.client.write_json(method, path, body)


def by_method(stats: Counter[tuple[str, str]]) -> Counter[str]:
    out: Counter[str] = Counter()
    for (method, _), n in stats.items():
        out[method] += n
    return out


def fmt_methods(stats: Counter[tuple[str, str]]) -> str:
    return ", ".join(f"{m} {n:,}" for m, n in sorted(by_method(stats).items()))


def diff(after: Counter[tuple[str, str]], before: Counter[tuple[str, str]]
         ) -> Counter[tuple[str, str]]:
    return Counter({k: after[k] - before.get(k, 0) for k in after if after[k] - before.get(k, 0)})


# -- the content -----------------------------------------------------------------------------


def build_dashboard(api: Emulator, title: str, folder: str, queries: list[str],
                    args: argparse.Namespace, template: dict[str, Any]) -> str:
    """A dashboard as a user builds it: tabs, filters, query tiles listening, positioned."""
    dash = api("POST", "/dashboards", {"title": title, "folder_id": folder,
                                       "description": "restore benchmark"})
    did = str(dash["id"])
    active = dash["dashboard_layouts"][0]
    labels = ["Overview", "Details", "Appendix"] + [f"Tab {i}" for i in range(4, args.tabs + 1)]
    layouts = [str(active["id"])]
    if args.tabs > 1:
        api("PATCH", f"/dashboard_layouts/{active['id']}", {"label": labels[0]})
        for t in range(1, args.tabs):
            made = api("POST", "/dashboard_layouts", {
                "dashboard_id": did, "type": "newspaper", "active": False, "order": t,
                "label": labels[t], "description": f"Tab {t + 1} of the benchmark"})
            layouts.append(str(made["id"]))
    model, view = template["model"], template["view"]
    names = []
    for j in range(args.filters):
        name = f"Filter {j + 1}"
        api("POST", "/dashboard_filters", {
            "dashboard_id": did, "name": name, "title": f"Filter {j + 1}",
            "type": "field_filter", "model": model, "explore": view,
            "dimension": f"{view}.dim_{j}", "row": j, "default_value": "",
            "allow_multiple_values": True, "required": False,
            "listens_to_filters": [names[0]] if j else []})
        names.append(name)
    tiles: list[list[str]] = [[] for _ in layouts]
    for i in range(args.tiles):
        tab = i * len(layouts) // args.tiles
        listen = [{"dashboard_filter_name": names[0], "field": f"{view}.dim_0"}] if names else []
        made = api("POST", "/dashboard_elements", {
            "dashboard_id": did, "dashboard_layout_id": layouts[tab], "type": "vis",
            "title": f"Tile {i + 1}", "subtitle_text": "last 30 days",
            "query_id": queries[i % len(queries)],
            "result_maker": {"filterables": [{"model": model, "view": view, "name": view,
                                              "listen": listen}],
                             "vis_config": {"type": "looker_column", "stacking": "normal"}}})
        tiles[tab].append(str(made["id"]))
    live = api.get(f"/dashboards/{did}")
    comps = {str(c["dashboard_element_id"]): c for lay in live["dashboard_layouts"]
             for c in lay["dashboard_layout_components"]}
    for tab_tiles in tiles:  # three tiles a row, 8 x 6 each
        for k, eid in enumerate(tab_tiles):
            want = {"row": 6 * (k // 3), "column": 8 * (k % 3), "width": 8, "height": 6}
            have = comps[eid]
            if any(have.get(f) != v for f, v in want.items()):
                api("PATCH", f"/dashboard_layout_components/{have['id']}", want)
    return did


def make_queries(api: Emulator, template: dict[str, Any], n: int) -> list[str]:
    base = {k: v for k, v in template.items() if k not in QUERY_OWN}
    return [str(api("POST", "/queries", {**base, "limit": str(1000 + i)})["id"])
            for i in range(n)]


# -- syncs -----------------------------------------------------------------------------------


def sync(api: Emulator, store: ContentStore, partition: str) -> tuple[float, int]:
    started, objects = time.perf_counter(), 0
    for name in SYNCED:
        client = LookerClient(api.config(8))
        result = run_sync(ContentStream(client, content_types.get(name), max_concurrency=8),
                          store, partition)
        client.close()
        objects += result.objects
    return time.perf_counter() - started, objects


def retitle(api: Emulator, ids: list[str], tag: str) -> None:
    def one(id_: str) -> None:
        look = api.get(f"/looks/{id_}")
        title = str(look["title"]).split(" [damaged")[0]
        api("PATCH", f"/looks/{id_}", {"title": f"{title} [damaged {tag}]"})

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(one, ids))


# -- the measured restore ----------------------------------------------------------------------


class Timed(Restore):
    """The engine, unchanged, with its phases timed and the emulator's counters read at their
    edges."""

    def __init__(self, *args: Any, api: Emulator, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.api = api
        self.lock = threading.Lock()
        self.spans: dict[str, list[float]] = {}
        self.marks: dict[str, Counter[tuple[str, str]]] = {}
        self.planning = False

    def _span(self, name: str, start: float, end: float) -> None:
        with self.lock:
            span = self.spans.setdefault(name, [start, end])
            span[0], span[1] = min(span[0], start), max(span[1], end)

    def _mark(self, name: str) -> None:
        with self.lock:
            if name not in self.marks:
                self.marks[name] = self.api.stats()

    def plan(self) -> list[Target]:
        start = time.perf_counter()
        self.planning = True
        out = super().plan()
        self.planning = False
        self._span("plan", start, time.perf_counter())
        self._mark("plan")
        return out

    def _decide(self, target: Target) -> None:
        if not self.planning:  # a level decided again after lower levels wrote
            return super()._decide(target)
        self._mark("pull")  # the first live read of a target: the dependency pull is over
        start = time.perf_counter()
        super()._decide(target)
        self._span("decide", start, time.perf_counter())
        return None

    def _apply(self, target: Target) -> None:
        start = time.perf_counter()
        super()._apply(target)
        self._span("write", start, time.perf_counter())

    def _link(self, target: Target) -> None:
        start = time.perf_counter()
        super()._link(target)
        self._span("link", start, time.perf_counter())

    def _verify(self, target: Target) -> None:
        self._mark("write")
        start = time.perf_counter()
        super()._verify(target)
        self._span("verify", start, time.perf_counter())


class RssPeak:
    """The highest RSS of this process while the block runs (sampled every 10 ms)."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.peak = self.start = 0
        self._stop = threading.Event()

    def __enter__(self) -> RssPeak:
        self.peak = self.start = self.proc.memory_info().rss
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)


def restore(api: Emulator, store: ContentStore, items: list[tuple[str, str]], at: str,
            concurrency: int) -> dict[str, Any]:
    client = LookerClient(api.config(concurrency))
    client.get_json("/user")  # log in before the clock starts
    api.reset()
    engine = Timed(store, client, Request(items, at=at, max_concurrency=concurrency), api=api)
    with RssPeak() as rss:
        started = time.perf_counter()
        targets = engine.run()
        wall = time.perf_counter() - started
    stats = api.stats()
    client.close()
    spans = {k: (a - started, b - started) for k, (a, b) in engine.spans.items()}
    return {"targets": targets, "wall": wall, "stats": stats, "spans": spans,
            "marks": engine.marks, "rss": rss, "concurrency": concurrency}


def outcome(targets: list[Target]) -> str:
    counts = Counter((t.action, t.status) for t in targets)
    differs = sum(1 for t in targets if t.differs)
    text = ", ".join(f"{a}/{s} {n}" for (a, s), n in sorted(counts.items()))
    failed = [t for t in targets if t.status == "failed"][:3]
    return (text + f"; {differs} differ after verify"
            + "".join(f"\n      failed {t.label}: {t.error}" for t in failed)
            + "".join(f"\n      differs {t.label}: {t.differs}"
                      for t in [t for t in targets if t.differs][:3]))


def report_objects(run: dict[str, Any], objects: int, latency_ms: float) -> dict[str, float]:
    c, wall, stats = run["concurrency"], run["wall"], run["stats"]
    total = sum(stats.values())
    per_object = total / objects
    bound_rps = c / (latency_ms / 1000)
    bound_ops = bound_rps / per_object
    rps, ops = total / wall, objects / wall
    print(f"  max_concurrency {c}: {objects:,} objects in {wall:.2f} s = {ops:.1f} objects/s; "
          f"{total:,} requests ({fmt_methods(stats)}) = {rps:.0f} requests/s")
    print(f"    requests/s vs bound {c}/{latency_ms:g} ms = {bound_rps:.0f}/s: "
          f"{100 * rps / bound_rps:.1f}%  (target >= 80%)")
    print(f"    {per_object:.2f} requests/object; objects/s vs bound {c} / ({latency_ms:g} ms x "
          f"{per_object:.2f}) = {bound_ops:.1f}/s: {100 * ops / bound_ops:.1f}%")
    marks, spans = run["marks"], run["spans"]
    empty: Counter[tuple[str, str]] = Counter()
    pull = marks.get("pull", marks.get("plan", empty))
    plan = marks.get("plan", empty)
    write = marks.get("write", stats)
    phases = [("plan: backup + dependency pull", diff(pull, empty),
               (spans["plan"][0], spans.get("decide", spans["plan"])[0])),
              ("plan: live reads, diff (parallel)", diff(plan, pull),
               (spans.get("decide", spans["plan"])[0], spans["plan"][1])),
              ("write", diff(write, plan), spans.get("write", (0.0, 0.0))),
              ("verify", diff(stats, write), spans.get("verify", (0.0, 0.0)))]
    for name, counts, (a, b) in phases:
        n = sum(counts.values())
        secs = max(0.0, b - a)
        rate = f"{n / secs:6.0f} req/s" if secs > 0 else ""
        print(f"    {name:<36} {secs:6.2f} s  {n:6,} requests ({fmt_methods(counts) or '-'}) "
              f"{rate}")
    pulled = diff(pull, empty)
    if pulled:
        print("      the pull's requests: " + ", ".join(
            f"{m} {t} {n:,}" for (m, t), n in sorted(pulled.items(), key=lambda kv: -kv[1])))
    pull_s = spans.get("decide", spans["plan"])[0] - spans["plan"][0]
    if pull_s > 0 and wall > pull_s:
        rest = total - sum(pulled.values())
        print(f"    without the dependency pull: {rest:,} requests in {wall - pull_s:.2f} s = "
              f"{rest / (wall - pull_s):.0f} requests/s "
              f"({100 * rest / (wall - pull_s) / bound_rps:.1f}% of the bound), "
              f"{objects / (wall - pull_s):.1f} objects/s")
    rss = run["rss"]
    print(f"    peak RSS during the restore {rss.peak / 2**20:.0f} MB "
          f"(+{(rss.peak - rss.start) / 2**20:.0f} MB over its start)")
    print(f"    outcome: {outcome(run['targets'])}")
    return {"rps": rps, "ops": ops, "per_object": per_object}


# -- the dashboard's minimum -------------------------------------------------------------------


def tile_moves(dash: dict[str, Any]) -> tuple[int, int]:
    """Tile moves the API needs after creating every tile: created in the backup's order, and
    with each tab's column-0 8x6 tiles first, top to bottom (which lands those that stack
    from row 0 where they belong). A move: a tile whose position differs from where Looker
    puts a new one (column 0, under the lowest tile, 8x6)."""
    bottoms: dict[str, int] = {}
    placed: dict[str, dict[str, int]] = {}
    for el in dash.get("dashboard_elements") or []:
        lay = str(el.get("dashboard_layout_id"))
        row = bottoms.get(lay, 0)
        placed[str(el["id"])] = {"row": row, **NEW_TILE}
        bottoms[lay] = row + NEW_TILE["height"]
    moves = best = 0
    for lay in dash.get("dashboard_layouts") or []:
        comps = lay.get("dashboard_layout_components") or []
        for comp in comps:
            want = {k: comp.get(k) for k in ("row", "column", "width", "height")}
            if want != placed.get(str(comp.get("dashboard_element_id"))):
                moves += 1
        stack = sorted((c.get("row") or 0) for c in comps if c.get("column") == 0
                       and c.get("width") == 8 and c.get("height") == 6)
        fit = 0
        for row in stack:
            if row == 6 * fit:
                fit += 1
        best += len(comps) - fit
    return moves, best


def minimum_create(dash: dict[str, Any]) -> tuple[int, int, list[str]]:
    """(writes, reads, reasoning) of re-creating `dash` with the fewest requests the API
    allows, tiles created in the backup's order."""
    layouts = dash.get("dashboard_layouts") or []
    active = [lay for lay in layouts if lay.get("active")]
    others = [lay for lay in layouts if not lay.get("active")]
    # create_dashboard makes an active layout: type newspaper, order 0, no label/description.
    patch_active = int(bool(active) and any(
        active[0].get(k) not in (None, d) for k, d in
        (("label", None), ("description", None), ("order", 0), ("type", "newspaper"),
         ("column_width", None), ("width", None))))
    filters = len(dash.get("dashboard_filters") or [])
    elements = dash.get("dashboard_elements") or []
    moves, best_moves = tile_moves(dash)
    writes = 1 + patch_active + len(others) + filters + len(elements) + moves
    reads = 1 if moves else 0
    why = ["1 create_dashboard (it makes the active layout)",
           f"{patch_active} update_dashboard_layout of that active layout (its label/description "
           f"differ from the one Looker makes)",
           f"{len(others)} create_dashboard_layout (the other tabs)",
           f"{filters} create_dashboard_filter",
           f"{len(elements)} create_dashboard_element (query by its backed-up id: queries are "
           f"never deleted, so none is made; listeners and vis_config go in the same body)",
           f"{moves} update_dashboard_layout_component: tiles whose position differs from "
           f"where Looker puts a new one (column 0 under the lowest tile, 8x6), tiles created "
           f"in the backup's order",
           f"{reads} read to learn the server-assigned component ids (one "
           f"dashboard(id) gives every layout's components; the element's answer has none)",
           f"(creating each tab's column-0 tiles first, top to bottom, would need "
           f"{best_moves} component updates instead of {moves})"]
    return writes, reads, why


def report_dashboard(label: str, run: dict[str, Any], minimum: int, floor_note: str) -> None:
    stats = run["stats"]
    total = sum(stats.values())
    print(f"  {label}: {total} requests in {run['wall']:.2f} s; minimum {minimum} "
          f"({floor_note}): {total / minimum:.2f}x the minimum")
    for (method, template), n in sorted(stats.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"    {n:4d}  {method:6} {template}")
    print(f"    outcome: {outcome(run['targets'])}")


# -- main --------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=4000,
                        help="emulator scale (30%% of it are looks; 3%% of those trashed)")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--concurrency", default="8,4,16",
                        help="comma-separated; the first one also runs the dashboards")
    parser.add_argument("--tiles", type=int, default=50)
    parser.add_argument("--tabs", type=int, default=3)
    parser.add_argument("--filters", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    print(f"machine: {platform.node()} {platform.machine()}, {psutil.cpu_count()} cores, "
          f"Python {platform.python_version()}; emulator scale {args.scale} (own process), "
          f"latency {args.latency_ms:g} ms, max_concurrency {levels}", flush=True)
    started = time.perf_counter()
    with EmulatorProcess(scale=args.scale, seed=args.seed) as proc, \
            tempfile.TemporaryDirectory() as tmp:
        api = Emulator(proc)
        store = ContentStore(Path(tmp) / "restore.sqlite")
        run(api, store, args, levels)
        store.close()
        api.client.close()
    print(f"peak RSS of this process (syncs included): "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB; "
          f"bench wall {time.perf_counter() - started:.0f} s")


def run(api: Emulator, store: ContentStore, args: argparse.Namespace, levels: list[int]) -> None:
    # 1. The dashboards, built at zero latency.
    folders = proc_objects(api, "folders")
    folder = next(k for k, f in sorted(folders.items(), key=lambda kv: (len(kv[0]), kv[0]))
                  if not any(f.get(x) for x in ("is_personal", "is_personal_descendant",
                                                "is_shared_root", "is_users_root",
                                                "is_embed_shared_root", "is_embed_users_root")))
    looks = api.get("/looks/search", fields="id,query_id", sorts="id", limit="1")
    template = api.get(f"/queries/{looks[0]['query_id']}")
    queries = make_queries(api, template, args.tiles)
    built = time.perf_counter()
    gone = build_dashboard(api, "Restore bench: re-created", folder, queries, args, template)
    edited = build_dashboard(api, "Restore bench: edited in place", folder, queries, args,
                             template)
    print(f"1. two dashboards of {args.tiles} tiles, {args.tabs} tabs, {args.filters} filters "
          f"built through the API ({gone}, {edited}) in {time.perf_counter() - built:.1f} s",
          flush=True)

    # 2. The backup.
    seconds, objects = sync(api, store, "bench-1")
    at = codec.now_utc()
    live_looks = sorted((i for i in store.active_ids(LOOKS.code)
                         if not (store.get(LOOKS.code, i) or {}).get("deleted")), key=int)
    ids = live_looks[:args.objects]
    print(f"2. sync of {', '.join(SYNCED)}: {objects:,} objects in {seconds:.1f} s; "
          f"{len(live_looks):,} live looks, restoring {len(ids):,}; at = {at}", flush=True)

    # 3. Damage, then a sync that captures it.
    t0 = time.perf_counter()
    retitle(api, ids, "1")
    api("DELETE", f"/dashboards/{gone}")
    dash = api.get(f"/dashboards/{edited}")
    tile = dash["dashboard_elements"][len(dash["dashboard_elements"]) // 2]
    api("PATCH", f"/dashboard_elements/{tile['id']}", {"title": "Retitled by mistake"})
    print(f"3. damage: {len(ids):,} looks retitled, dashboard {gone} deleted, tile {tile['id']} "
          f"of {edited} retitled ({time.perf_counter() - t0:.1f} s)", flush=True)
    seconds, objects = sync(api, store, "bench-2")
    print(f"   second sync: {objects:,} objects in {seconds:.1f} s", flush=True)

    # 4. The looks.
    print(f"4. {len(ids):,} looks restored in place as of the first sync, "
          f"{args.latency_ms:g} ms latency:", flush=True)
    items = [("looks", i) for i in ids]
    rates = {}
    for n, c in enumerate(levels):
        if n:
            api.latency(0)
            retitle(api, ids, str(n + 1))
        api.latency(args.latency_ms)
        result = restore(api, store, items, at, c)
        rates[c] = report_objects(result, len(ids), args.latency_ms)
    if len(levels) > 1:
        base = levels[0]
        print("    scaling: " + ", ".join(
            f"{c}: {rates[c]['ops'] / rates[base]['ops']:.2f}x the objects/s of {base}"
            for c in levels[1:]))
    again = restore(api, store, items, at, levels[0])
    total = sum(again["stats"].values())
    print(f"  the same restore again, nothing to do: {again['wall']:.2f} s, {total:,} requests "
          f"({fmt_methods(again['stats'])}); {outcome(again['targets'])}", flush=True)

    # 5. The dashboards.
    c = levels[0]
    print(f"5. one dashboard of {args.tiles} tiles over {args.tabs} tabs, max_concurrency {c}:")
    cutoff = sync_cutoff(store, DASHBOARDS.code, at)
    assert cutoff is not None
    version = version_at(store, DASHBOARDS.code, gone, cutoff)
    assert version is not None
    backup = version.decoded()
    writes, reads, why = minimum_create(backup)
    print(f"  minimum for re-creating it: {writes} writes + {reads} read = {writes + reads}:")
    for line in why:
        print(f"    - {line}")
    recreated = restore(api, store, [("dashboards", gone)], at, c)
    spent = sum(recreated["stats"].values())
    report_dashboard("hard-deleted, re-created", recreated, writes + reads,
                     f"{writes} writes + {reads} read; {writes + reads + 2} with the plan's "
                     f"lookup (a 404) and the read-back: {spent / (writes + reads + 2):.2f}x that")
    inplace = restore(api, store, [("dashboards", edited)], at, c)
    report_dashboard("one tile retitled, in place", inplace, 2,
                     "1 read to compare + 1 update_dashboard_element; 3 with the read-back: "
                     f"{sum(inplace['stats'].values()) / 3:.2f}x that")


def proc_objects(api: Emulator, kind: str) -> dict[str, dict[str, Any]]:
    return api.proc.admin("GET", f"objects/{kind}")


if __name__ == "__main__":
    main()
