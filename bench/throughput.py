"""How busy a sync keeps the API: dashboards alone beside a bare HTTP client, and the whole
sync through `dagster asset materialize`, against the limit max_concurrency / latency.

    uv run python bench/throughput.py [--scale 10000] [--latency-ms 20] [--concurrency 8]
        [--rounds N] [--skip-whole] [--whole-first] [--timeline]

In one run against one emulator (its own process):
1. two bare clients: the dashboards' ids from their search, then every `dashboard(id)` in
   `concurrency` threads, with `requests` and with `urllib3` (no SDK, no decoding, nothing
   stored; the second is the ceiling, as the sync's transport is urllib3);
2. ours: the dashboards sync alone (run_sync, a fresh SQLite store), with where its time went:
   this process's CPU seconds per request, the emulator's CPU, the store's share;
3. the whole sync: `dagster asset materialize --select '*'` (default executor) against a fresh
   store, against its requests / limit plus Dagster's start-up, read two ways: Dagster's own
   start and end in that command (from the run's event log: to the first step's start, and
   after the run's success event), and the wall time of the same command for one one-request
   type (themes), which also holds that type's step and checks.
`--whole-first` runs 3 before 1 and 2, against an emulator that has rendered nothing yet.
Prints requests, seconds, requests/s and the share of the limit. Figures only.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psutil
import requests
import urllib3

from looker_assets import content_types
from looker_assets.emulator.subprocess_runner import EmulatorProcess
from looker_assets.looker.resource import LookerResource
from looker_assets.storage.store import ContentStore
from looker_assets.sync import run_sync

REPO = Path(__file__).resolve().parent.parent


def _cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system


def bare_client(emu: EmulatorProcess, concurrency: int, library: str) -> tuple[int, float]:
    """(requests, seconds) of listing the dashboards' ids and GETting each detail, with
    `requests` (a Session) or `urllib3` (a connection pool) in `concurrency` threads."""
    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_maxsize=concurrency + 2)
    session.mount("http://", adapter)
    started = time.perf_counter()
    token = session.post(f"{emu.url}/api/4.0/login", data={
        "client_id": emu.client_id, "client_secret": emu.client_secret}).json()["access_token"]
    session.headers["Authorization"] = f"Bearer {token}"
    ids: list[str] = []
    calls = 1
    for deleted in ("false", "true"):
        offset = 0
        while True:
            page = session.get(f"{emu.url}/api/4.0/dashboards/search", params={
                "fields": "id", "sorts": "id", "deleted": deleted, "limit": 500,
                "offset": offset}).json()
            calls += 1
            ids += [row["id"] for row in page]
            if len(page) < 500:
                break
            offset += 500
    pool = urllib3.PoolManager(maxsize=concurrency + 2)
    headers = {"Authorization": f"Bearer {token}"}

    def get(id_: str) -> int:
        url = f"{emu.url}/api/4.0/dashboards/{id_}"
        if library == "urllib3":
            return len(pool.request("GET", url, headers=headers).data)
        return len(session.get(url).content)

    with ThreadPoolExecutor(concurrency) as pool_:
        for _ in pool_.map(get, ids):
            calls += 1
    return calls, time.perf_counter() - started


def ours(emu: EmulatorProcess, concurrency: int, tmp: Path, round_: int) -> dict[str, float]:
    looker = LookerResource(base_url=emu.url, client_id=emu.client_id,
                            client_secret=emu.client_secret, verify_ssl=False,
                            max_concurrency=concurrency)
    me, server = psutil.Process(), psutil.Process(emu.proc.pid)
    cpu_me, cpu_server = _cpu(me), _cpu(server)
    with ContentStore(tmp / f"dashboards-{round_}.sqlite") as store:
        started = time.perf_counter()
        result = run_sync(looker.stream(content_types.get("dashboards")), store, "d")
        seconds = time.perf_counter() - started
    return {"requests": result.client["requests"], "seconds": seconds,
            "objects": result.objects, "cpu_me": _cpu(me) - cpu_me,
            "cpu_server": _cpu(server) - cpu_server}


class Timeline:
    """Samples, every `every` seconds while a command runs: requests the emulator answered,
    the CPU of the emulator and of the command's process tree (as % of one core)."""

    def __init__(self, emu: EmulatorProcess, pid: int, every: float = 0.5) -> None:
        self.emu, self.every = emu, every
        self.server, self.client = psutil.Process(emu.proc.pid), psutil.Process(pid)
        self.rows: list[tuple[float, float, float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree_cpu(self) -> float:
        total = 0.0
        for proc in [self.client, *self.client.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                total += _cpu(proc)
        return total

    def _run(self) -> None:
        started = time.perf_counter()
        last = (0.0, 0, _cpu(self.server), self._tree_cpu())
        while not self._stop.wait(self.every):
            with contextlib.suppress(psutil.Error, OSError, ValueError):
                now = (time.perf_counter() - started, self.emu.admin("GET", "stats")["requests"],
                       _cpu(self.server), self._tree_cpu())
                span = now[0] - last[0]
                self.rows.append((now[0], (now[1] - last[1]) / span,
                                  100 * (now[2] - last[2]) / span, 100 * (now[3] - last[3]) / span))
                last = now

    def stop(self) -> list[tuple[float, float, float, float]]:
        self._stop.set()
        self._thread.join()
        return self.rows


@dataclass
class RunFigures:
    requests: int
    wall: float  # the command, from its start to its exit
    before_steps: float  # Dagster's own start: the command's start to its first step's start
    after_run: float  # Dagster's own end: the run's success event to the command's exit
    steps: list[tuple[str, float, float]]  # (step, start, end), seconds from the first step


def run_events(home: Path) -> tuple[float, float, list[tuple[str, float, float]]]:
    """(first step's start, run's end) as epoch seconds, and each step's (key, start, end)
    relative to the first step's start, from the last run's event log in a DAGSTER_HOME."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(home)  # the instance's storage config reads it
    with dg.DagsterInstance.from_config(str(home)) as instance:
        run = instance.get_runs(limit=1)[0]
        starts: dict[str, float] = {}
        ends: dict[str, float] = {}
        run_end = float("nan")
        for entry in instance.all_logs(run.run_id):
            event = entry.dagster_event
            kind = event.event_type_value if event is not None else None
            if kind in ("PIPELINE_SUCCESS", "PIPELINE_FAILURE"):
                run_end = entry.timestamp
            elif kind == "STEP_START" and event is not None and event.step_key:
                starts[event.step_key] = entry.timestamp
            elif kind in ("STEP_SUCCESS", "STEP_FAILURE") and event is not None \
                    and event.step_key:
                ends[event.step_key] = entry.timestamp
    first = min(starts.values())
    steps = sorted((k, v - first, ends.get(k, float("nan")) - first) for k, v in starts.items())
    return first, run_end, steps


def materialize(emu: EmulatorProcess, tmp: Path, select: str, label: str,
                timeline: bool = False) -> RunFigures:
    home = tmp / f"home-{label}"
    home.mkdir()
    shutil.copyfile(REPO / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, **emu.looker_env(), "LOOKERSDK_VERIFY_SSL": "false",
           "DAGSTER_HOME": str(home), "LOOKER_ASSETS_DB": str(tmp / f"{label}.sqlite")}
    emu.admin("POST", "stats/reset")
    started, started_epoch = time.perf_counter(), time.time()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagster", "asset", "materialize", "-m", "looker_assets",
         "--select", select, "--partition", datetime.now(UTC).strftime("%Y-%m-%d")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=REPO)
    sampler = Timeline(emu, proc.pid) if timeline else None
    _, stderr = proc.communicate()
    seconds, ended_epoch = time.perf_counter() - started, time.time()
    if proc.returncode:
        print(stderr[-2000:])
        raise SystemExit(f"dagster asset materialize {select} failed")
    requests_ = emu.admin("GET", "stats")["requests"]
    first_step, run_end, steps = run_events(home)
    if sampler is not None:
        print("  timeline (s from the command's start: requests/s, emulator CPU %, "
              "dagster CPU %):")
        for at, rate, server, client in sampler.stop():
            print(f"    {at:5.1f}  {rate:4.0f}/s  emulator {server:3.0f}%  dagster {client:3.0f}%")
        print(f"  steps (s from the first step's start, {first_step - started_epoch:.2f} s "
              f"into the command: start - end):")
        for key, start, end in steps:
            print(f"    {key:42s} {start:6.2f} - {end:6.2f}")
    return RunFigures(requests_, seconds, first_step - started_epoch, ended_epoch - run_end,
                      steps)


def dashboards_figures(emu: EmulatorProcess, args: argparse.Namespace, limit: float,
                       tmp: Path) -> None:
    bare = 0.0
    for library in ("requests", "urllib3"):
        calls, seconds = bare_client(emu, args.concurrency, library)
        bare = calls / seconds
        print(f"bare client ({library}), dashboards: {calls:,} requests in {seconds:.2f} s "
              f"= {bare:.0f}/s, {100 * bare / limit:.1f}% of the limit", flush=True)
    for round_ in range(1, args.rounds + 1):
        got = ours(emu, args.concurrency, tmp, round_)
        rate = got["requests"] / got["seconds"]
        print(f"looker_assets, dashboards (round {round_}): {got['requests']:,.0f} requests, "
              f"{got['objects']:,.0f} objects in {got['seconds']:.2f} s = {rate:.0f}/s, "
              f"{100 * rate / limit:.1f}% of the limit ({100 * rate / bare:.0f}% "
              f"of the urllib3 bare client's rate)")
        print(f"  where the time went: this process {got['cpu_me']:.2f} CPU s "
              f"({1000 * got['cpu_me'] / got['requests']:.2f} ms per request, "
              f"{100 * got['cpu_me'] / got['seconds']:.0f}% of one core), the emulator "
              f"{got['cpu_server']:.2f} CPU s ({100 * got['cpu_server'] / got['seconds']:.0f}% "
              f"of one core); the machine has {os.cpu_count()} cores", flush=True)


def whole_figures(emu: EmulatorProcess, args: argparse.Namespace, limit: float,
                  tmp: Path) -> None:
    themes = materialize(emu, tmp, "looker/themes", "startup")
    print(f"dagster asset materialize looker/themes (start-up): {themes.wall:.2f} s, "
          f"{themes.requests} requests; Dagster's own start {themes.before_steps:.2f} s "
          f"and end {themes.after_run:.2f} s", flush=True)
    for round_ in range(1, args.rounds + 1):
        whole = materialize(emu, tmp, "*", f"whole{round_}", args.timeline)
        ideal = whole.requests / limit
        own = whole.before_steps + whole.after_run
        print(f"dagster asset materialize '*' (round {round_}): {whole.requests:,} requests "
              f"in {whole.wall:.2f} s; requests / limit = {ideal:.2f} s")
        print(f"  (wall - the themes run's wall) / that = "
              f"{(whole.wall - themes.wall) / ideal:.2f} (target <= 1.15)")
        print(f"  Dagster's own start {whole.before_steps:.2f} s (to the first step) and end "
              f"{whole.after_run:.2f} s (after the run's success); (wall - those) / that = "
              f"{(whole.wall - own) / ideal:.2f} (target <= 1.15)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--skip-whole", action="store_true")
    parser.add_argument("--whole-first", action="store_true",
                        help="the whole syncs first, against an emulator nothing has read yet "
                             "(every page rendered for the first time), then the dashboards")
    parser.add_argument("--rounds", type=int, default=1,
                        help="dashboards syncs and whole syncs to run, each into a fresh store")
    parser.add_argument("--timeline", action="store_true",
                        help="print the whole sync's requests/s and CPU every 0.5 s, and its "
                             "steps' times")
    args = parser.parse_args()
    limit = args.concurrency / (args.latency_ms / 1000)
    print(f"machine: {platform.node()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; emulator scale {args.scale}, latency "
          f"{args.latency_ms:g} ms, max_concurrency {args.concurrency}: limit {limit:.0f} "
          f"requests/s", flush=True)
    with EmulatorProcess(scale=args.scale, latency_ms=args.latency_ms) as emu, \
            tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        parts = [dashboards_figures] + ([] if args.skip_whole else [whole_figures])
        for part in reversed(parts) if args.whole_first else parts:
            part(emu, args, limit, tmp)


if __name__ == "__main__":
    main()
