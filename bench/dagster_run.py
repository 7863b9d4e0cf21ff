"""Whole sync through `dagster asset materialize`, per executor setting.

    uv run python bench/dagster_run.py [--scale 10000] [--latency-ms 20] [--executors in_process]

The same command CI and operators run, against the emulator in its own process, once per
executor (LOOKER_ASSETS_EXECUTOR and its run config): wall seconds, requests, objects/s, and
peak RSS of the dagster process tree (summed over its step processes, sampled every 50 ms).
Figures only; nothing asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from looker_assets.emulator.subprocess_runner import EmulatorProcess

REPO = Path(__file__).resolve().parent.parent
# label -> (LOOKER_ASSETS_EXECUTOR, executor run config)
EXECUTORS = {
    "in_process (default)": ("in_process", {}),
    "multiprocess x2": ("multiprocess", {"max_concurrent": 2}),
    "multiprocess x4": ("multiprocess", {"max_concurrent": 4}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--partition", default="2026-11-27")
    parser.add_argument("--executors", default=",".join(e for e, _ in EXECUTORS.values()),
                        help="comma-separated LOOKER_ASSETS_EXECUTOR values to run")
    args = parser.parse_args()
    wanted = set(args.executors.split(","))
    print(f"emulator scale {args.scale}, latency {args.latency_ms:g} ms; "
          f"{os.cpu_count()} cores", flush=True)
    dagster = Path(sys.executable).parent / "dagster"
    with EmulatorProcess(scale=args.scale, latency_ms=args.latency_ms) as emu:
        for label, (executor, executor_config) in EXECUTORS.items():
            if executor not in wanted:
                continue
            with tempfile.TemporaryDirectory() as tmp:
                home = Path(tmp) / "home"
                home.mkdir()
                shutil.copyfile(REPO / "dagster.yaml", home / "dagster.yaml")
                db = Path(tmp) / "run.sqlite"
                env = {**os.environ, **emu.looker_env(), "DAGSTER_HOME": str(home),
                       "LOOKER_ASSETS_DB": str(db), "LOOKER_ASSETS_EXECUTOR": executor}
                emu.admin("POST", "stats/reset")
                started = time.perf_counter()
                log = Path(tmp) / "stderr.txt"
                with log.open("w") as err:
                    proc = subprocess.Popen(
                        [str(dagster), "asset", "materialize", "-m", "looker_assets",
                         "--select", "*", "--partition", args.partition, "--config-json",
                         json.dumps({"execution": {"config": executor_config}})],
                        env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=err)
                    peak = _peak_tree_rss(proc)
                seconds = time.perf_counter() - started
                requests = emu.admin("GET", "stats")["requests"]
                objects = 0
                if db.exists():
                    objects = sqlite3.connect(db).execute(
                        "SELECT count(*) FROM content_items").fetchone()[0]
                status = "ok" if proc.returncode == 0 else f"FAILED rc={proc.returncode}"
                print(f"{label:<28} {seconds:7.1f} s  {requests:>6} requests  {objects:>6} "
                      f"objects  {objects / seconds:6.0f} objects/s  peak RSS "
                      f"{peak / 2**20:5.0f} MB  {status}", flush=True)
                if proc.returncode:
                    print(log.read_text()[-2000:])


def _peak_tree_rss(proc: subprocess.Popen[bytes]) -> int:
    """Wait for `proc`; the highest RSS its process tree reached (sampled every 50 ms)."""
    root = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree))
        except psutil.Error:
            pass  # a step process ended between listing and sampling
        time.sleep(0.05)
    return peak


if __name__ == "__main__":
    main()
