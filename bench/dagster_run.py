"""Whole sync through `dagster asset materialize`, per executor and store.

    uv run python bench/dagster_run.py [--scale 10000] [--latency-ms 20]
        [--setups in_process,multiprocess,postgres]

The same command CI and operators run, against the emulator in its own process, once per
setup: the executor (LOOKER_ASSETS_EXECUTOR and its run config) and where the store and
Dagster's instance live (SQLite files, or both on a throwaway PostgreSQL cluster with
deploy/dagster.yaml). Prints wall seconds, requests, objects/s, the peak RSS of the dagster
process tree (summed over its step processes, sampled every 50 ms) and of the largest single
process. Figures only; nothing asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from looker_assets.emulator.subprocess_runner import EmulatorProcess
from looker_assets.storage.store import ContentStore
from looker_assets_tests.postgres_cluster import PostgresCluster

REPO = Path(__file__).resolve().parent.parent
# label -> (setup name, LOOKER_ASSETS_EXECUTOR, executor run config, store)
SETUPS = {
    "in_process_threads, SQLite (default)": ("threads", "in_process_threads", {}, "sqlite"),
    "in_process (one step at a time), SQLite": ("in_process", "in_process", {}, "sqlite"),
    "multiprocess x2, SQLite": ("multiprocess", "multiprocess", {"max_concurrent": 2}, "sqlite"),
    "multiprocess x4, SQLite": ("multiprocess", "multiprocess", {"max_concurrent": 4}, "sqlite"),
    "multiprocess x4, PostgreSQL": ("postgres", "multiprocess", {"max_concurrent": 4},
                                    "postgresql"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--partition", default=datetime.now(UTC).strftime("%Y-%m-%d"))
    parser.add_argument("--setups", default="threads,in_process,multiprocess,postgres",
                        help="comma-separated: threads, in_process, multiprocess, postgres")
    args = parser.parse_args()
    wanted = set(args.setups.split(","))
    print(f"emulator scale {args.scale}, latency {args.latency_ms:g} ms; "
          f"{os.cpu_count()} cores", flush=True)
    with EmulatorProcess(scale=args.scale, latency_ms=args.latency_ms) as emu, \
            contextlib.ExitStack() as stack:
        cluster = stack.enter_context(PostgresCluster()) if "postgres" in wanted else None
        for label, (setup, executor, executor_config, store) in SETUPS.items():
            if setup not in wanted:
                continue
            with tempfile.TemporaryDirectory() as tmp:
                run_one(args, emu, cluster, label, executor, executor_config, store, Path(tmp))


def run_one(args: argparse.Namespace, emu: EmulatorProcess, cluster: PostgresCluster | None,
            label: str, executor: str, executor_config: dict[str, Any], store: str,
            tmp: Path) -> None:
    home = tmp / "home"
    home.mkdir()
    env = {**os.environ, **emu.looker_env(), "DAGSTER_HOME": str(home),
           "LOOKER_ASSETS_EXECUTOR": executor}
    if store == "sqlite":
        shutil.copyfile(REPO / "dagster.yaml", home / "dagster.yaml")
        env["LOOKER_ASSETS_DB"] = str(tmp / "run.sqlite")
    else:
        assert cluster is not None
        shutil.copyfile(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
        name = label.split(",")[0].replace(" ", "_")
        env["LOOKER_ASSETS_DB"] = cluster.create_database(f"looker_{name}")
        env["DAGSTER_PG_URL"] = cluster.create_database(f"dagster_{name}").replace(
            "postgresql://", "postgresql+psycopg2://")
    emu.admin("POST", "stats/reset")
    started = time.perf_counter()
    log = tmp / "stderr.txt"
    dagster = Path(sys.executable).parent / "dagster"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [str(dagster), "asset", "materialize", "-m", "looker_assets", "--select", "*",
             "--partition", args.partition, "--config-json",
             json.dumps({"execution": {"config": executor_config}})],
            env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=err)
        peak, largest = _peak_tree_rss(proc)
    seconds = time.perf_counter() - started
    requests = emu.admin("GET", "stats")["requests"]
    objects = 0
    if proc.returncode == 0:
        with ContentStore(env["LOOKER_ASSETS_DB"]) as db:
            objects = db.db.execute("SELECT count(*) FROM content_items").fetchone()[0]
    status = "ok" if proc.returncode == 0 else f"FAILED rc={proc.returncode}"
    print(f"{label:<30} {seconds:7.1f} s  {requests:>6} requests  {objects:>6} objects  "
          f"{objects / seconds:6.0f} objects/s  peak RSS {peak / 2**20:5.0f} MB (largest "
          f"process {largest / 2**20:4.0f} MB)  {status}", flush=True)
    if proc.returncode:
        print(log.read_text()[-2000:])


def _peak_tree_rss(proc: subprocess.Popen[bytes]) -> tuple[int, int]:
    """Wait for `proc`; the highest RSS its process tree reached, summed and of its largest
    single process (a step process, under multiprocess), sampled every 50 ms."""
    root = psutil.Process(proc.pid)
    peak = largest = 0
    while proc.poll() is None:
        try:
            sizes = [p.memory_info().rss for p in (root, *root.children(recursive=True))]
            peak, largest = max(peak, sum(sizes)), max(largest, *sizes)
        except psutil.Error:
            pass  # a step process ended between listing and sampling
        time.sleep(0.05)
    return peak, largest


if __name__ == "__main__":
    main()
