"""How busy a sync keeps the API: dashboards alone beside a bare HTTP client, and the whole
sync through `dagster asset materialize`, against the limit max_concurrency / latency.

    uv run python bench/throughput.py [--scale 10000] [--latency-ms 20] [--concurrency 8]
        [--skip-whole]

In one run against one emulator (its own process):
1. a bare client: the dashboards' ids from their search, then every `dashboard(id)` with
   `requests` in `concurrency` threads (no SDK, no decoding, nothing stored);
2. ours: the dashboards sync alone (run_sync, a fresh SQLite store), with where its time went:
   this process's CPU seconds per request, the emulator's CPU, the store's share;
3. the whole sync: `dagster asset materialize --select '*'` (default executor) against a fresh
   store, beside the start-up of the same command for one one-request type (themes).
Prints requests, seconds, requests/s and the share of the limit. Figures only.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import psutil
import requests

from looker_assets import content_types
from looker_assets.emulator.subprocess_runner import EmulatorProcess
from looker_assets.looker.resource import LookerResource
from looker_assets.storage.store import ContentStore
from looker_assets.sync import run_sync

REPO = Path(__file__).resolve().parent.parent


def _cpu(proc: psutil.Process) -> float:
    times = proc.cpu_times()
    return times.user + times.system


def bare_client(emu: EmulatorProcess, concurrency: int) -> tuple[int, float]:
    """(requests, seconds) of listing the dashboards' ids and GETting each detail."""
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

    def get(id_: str) -> int:
        return len(session.get(f"{emu.url}/api/4.0/dashboards/{id_}").content)

    with ThreadPoolExecutor(concurrency) as pool:
        for _ in pool.map(get, ids):
            calls += 1
    return calls, time.perf_counter() - started


def ours(emu: EmulatorProcess, concurrency: int, tmp: Path) -> dict[str, float]:
    looker = LookerResource(base_url=emu.url, client_id=emu.client_id,
                            client_secret=emu.client_secret, verify_ssl=False,
                            max_concurrency=concurrency)
    me, server = psutil.Process(), psutil.Process(emu.proc.pid)
    cpu_me, cpu_server = _cpu(me), _cpu(server)
    with ContentStore(tmp / "dashboards.sqlite") as store:
        started = time.perf_counter()
        result = run_sync(looker.stream(content_types.get("dashboards")), store, "d")
        seconds = time.perf_counter() - started
    return {"requests": result.client["requests"], "seconds": seconds,
            "objects": result.objects, "cpu_me": _cpu(me) - cpu_me,
            "cpu_server": _cpu(server) - cpu_server}


def materialize(emu: EmulatorProcess, tmp: Path, select: str, label: str) -> tuple[int, float]:
    home = tmp / f"home-{label}"
    home.mkdir()
    shutil.copyfile(REPO / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, **emu.looker_env(), "LOOKERSDK_VERIFY_SSL": "false",
           "DAGSTER_HOME": str(home), "LOOKER_ASSETS_DB": str(tmp / f"{label}.sqlite")}
    emu.admin("POST", "stats/reset")
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "dagster", "asset", "materialize", "-m", "looker_assets",
         "--select", select, "--partition", datetime.now(UTC).strftime("%Y-%m-%d")],
        env=env, capture_output=True, text=True, cwd=REPO)
    seconds = time.perf_counter() - started
    if proc.returncode:
        print(proc.stderr[-2000:])
        raise SystemExit(f"dagster asset materialize {select} failed")
    return emu.admin("GET", "stats")["requests"], seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--skip-whole", action="store_true")
    args = parser.parse_args()
    limit = args.concurrency / (args.latency_ms / 1000)
    print(f"machine: {platform.node()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; emulator scale {args.scale}, latency "
          f"{args.latency_ms:g} ms, max_concurrency {args.concurrency}: limit {limit:.0f} "
          f"requests/s", flush=True)
    with EmulatorProcess(scale=args.scale, latency_ms=args.latency_ms) as emu, \
            tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        calls, seconds = bare_client(emu, args.concurrency)
        print(f"bare client, dashboards: {calls:,} requests in {seconds:.2f} s = "
              f"{calls / seconds:.0f}/s, {100 * calls / seconds / limit:.1f}% of the limit",
              flush=True)
        got = ours(emu, args.concurrency, tmp)
        rate = got["requests"] / got["seconds"]
        print(f"looker_assets, dashboards: {got['requests']:,.0f} requests, "
              f"{got['objects']:,.0f} objects in {got['seconds']:.2f} s = {rate:.0f}/s, "
              f"{100 * rate / limit:.1f}% of the limit ({100 * rate / (calls / seconds):.0f}% "
              f"of the bare client's rate)")
        print(f"  where the time went: this process {got['cpu_me']:.2f} CPU s "
              f"({1000 * got['cpu_me'] / got['requests']:.2f} ms per request, "
              f"{100 * got['cpu_me'] / got['seconds']:.0f}% of one core), the emulator "
              f"{got['cpu_server']:.2f} CPU s ({100 * got['cpu_server'] / got['seconds']:.0f}% "
              f"of one core); the machine has {os.cpu_count()} cores", flush=True)
        if args.skip_whole:
            return
        start_requests, startup = materialize(emu, tmp, "looker/themes", "startup")
        requests_, whole = materialize(emu, tmp, "*", "whole")
        ideal = requests_ / limit
        print(f"dagster asset materialize looker/themes (start-up): {startup:.2f} s, "
              f"{start_requests} requests")
        print(f"dagster asset materialize '*': {requests_:,} requests in {whole:.2f} s; "
              f"requests / limit = {ideal:.2f} s; (wall - start-up) / that = "
              f"{(whole - startup) / ideal:.2f} (target <= 1.15)")


if __name__ == "__main__":
    main()
