"""A whole sync killed twice and resumed, against a clean sync, in one run.

    uv run python bench/resume.py [--scale 10000] [--latency-ms 20] [--concurrency 8]
        [--kill-at 35%,70%] [--partition YYYY-MM-DD] [--keep DIR]

Both go through `looker-assets extract` in a child process, as a user runs it, each with a
fresh SQLite store and DAGSTER_HOME, against one emulator whose content is never changed
(only its request counters are reset). The killed sync's process group gets SIGKILL at each
--kill-at point and the same command is started again, until a start completes. Prints the
requests and seconds of every start and the ratio of their sum to the clean sync, then
compares the stores: the active rows (type, id, checksum) must be equal, and each store must
hold exactly one open version, with the row's checksum, per active row. Exits 1 only if that
comparison fails; the figures are not asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from looker_assets.emulator.subprocess_runner import EmulatorProcess
from looker_assets.looker.resource import LookerResource

REPO = Path(__file__).resolve().parent.parent
# The extract command has no option for it: every sync it runs uses the resource's default.
EXTRACT_CONCURRENCY = LookerResource.model_fields["max_concurrency"].default


@dataclass
class Start:
    requests: int
    details: int  # of the requests, those for one object (a route ending in its id)
    seconds: float
    outcome: str  # killed, completed, failed rc=N, timed out
    took_over: int  # lines of the log saying another attempt took over a checkpoint
    log: Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=EXTRACT_CONCURRENCY,
                        help=f"max_concurrency; only {EXTRACT_CONCURRENCY}, the extract "
                             f"command's own, can be measured")
    parser.add_argument("--kill-at", default="35%,70%",
                        help="comma-separated kill points, in seconds or as percentages of the "
                             "clean sync's wall time, on the clock of the time the killed "
                             "sync has run over all its starts")
    parser.add_argument("--partition", default=datetime.now(UTC).strftime("%Y-%m-%d"))
    parser.add_argument("--timeout", type=float, default=900.0,
                        help="seconds a start may run before it is ended and counted failed")
    parser.add_argument("--extra-starts", type=int, default=3,
                        help="starts after the kills that may fail before giving up")
    parser.add_argument("--keep", type=Path, default=None,
                        help="a new folder to keep the stores, logs and each start's "
                             "requests per route in (default: a temporary one)")
    args = parser.parse_args()
    if args.concurrency != EXTRACT_CONCURRENCY:
        parser.error(f"the extract command always runs at max_concurrency "
                     f"{EXTRACT_CONCURRENCY} (LookerResource's default)")
    print(f"machine: {platform.node()} {platform.machine()}, Python {platform.python_version()}, "
          f"{os.cpu_count()} cores; emulator scale {args.scale}, latency {args.latency_ms:g} ms, "
          f"max_concurrency {args.concurrency}; partition {args.partition}", flush=True)
    with EmulatorProcess(scale=args.scale, latency_ms=args.latency_ms) as emu, \
            contextlib.ExitStack() as stack:
        if args.keep is not None:
            args.keep.mkdir(parents=True)  # refuses an existing folder: never mix two runs
            tmp = args.keep.resolve()
        else:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        clean_dir, resumed_dir = tmp / "clean", tmp / "resumed"
        clean_env = prepare(emu, clean_dir)
        emu.admin("POST", "stats/reset")
        clean = run_start(emu, clean_env, args.partition, clean_dir, "clean", None, args.timeout)
        print(f"clean sync: {clean.requests} requests, {clean.seconds:.1f} s, {clean.outcome}",
              flush=True)
        if clean.outcome != "completed":
            print(clean.log.read_text()[-3000:])
            return 2
        kills = kill_schedule(args.kill_at, clean.seconds)
        print(f"kill points: {describe_kills(kills, clean.seconds)}", flush=True)
        # Same emulator content for both syncs: only the counters start again from zero.
        resumed_env = prepare(emu, resumed_dir)
        emu.admin("POST", "stats/reset")
        starts = resume_until_done(emu, resumed_env, args, resumed_dir, kills)
        print_starts(clean, starts)
        if starts[-1].outcome != "completed":
            print("the resumed sync never completed: its store is compared as it was left")
        ok = compare_stores(Path(clean_env["LOOKER_ASSETS_DB"]),
                            Path(resumed_env["LOOKER_ASSETS_DB"]))
    return 0 if ok else 1


def prepare(emu: EmulatorProcess, folder: Path) -> dict[str, str]:
    """A fresh store and DAGSTER_HOME (the project's dagster.yaml: telemetry off, the pools
    a user's `extract` gets) in `folder`; the environment an extract of them runs with."""
    home = folder / "dagster_home"
    home.mkdir(parents=True)
    shutil.copyfile(REPO / "dagster.yaml", home / "dagster.yaml")
    return {**os.environ, **emu.looker_env(), "DAGSTER_HOME": str(home),
            "LOOKER_ASSETS_DB": str(folder / "store.sqlite")}


def kill_schedule(spec: str, clean_seconds: float) -> list[float]:
    """Seconds each killed start runs: the gaps between the kill points, so that with a free
    resume the kills land at those points of the work."""
    points = []
    for part in spec.split(","):
        part = part.strip()
        points.append(clean_seconds * float(part[:-1]) / 100 if part.endswith("%")
                      else float(part))
    if any(b <= a for a, b in zip([0.0, *points], points, strict=False)):
        raise SystemExit(f"--kill-at {spec}: the points must be positive and increasing")
    return [b - a for a, b in zip([0.0, *points], points, strict=False)]


def describe_kills(kills: list[float], clean_seconds: float) -> str:
    points = [sum(kills[:n]) for n in range(1, len(kills) + 1)]
    at = ", ".join(f"{p:.1f} s ({100 * p / clean_seconds:.0f}%)" for p in points)
    own = ", ".join(f"start {n} after {s:.1f} s" for n, s in enumerate(kills, 1))
    return (f"at {at} of the run time summed over starts, against the clean sync's "
            f"{clean_seconds:.1f} s: {own} of its own; start {len(kills) + 1} runs to "
            f"completion")


def resume_until_done(emu: EmulatorProcess, env: dict[str, str], args: argparse.Namespace,
                      folder: Path, kills: list[float]) -> list[Start]:
    starts: list[Start] = []
    for n, kill_after in enumerate(kills, 1):
        start = run_start(emu, env, args.partition, folder, f"start{n}", kill_after,
                          args.timeout)
        starts.append(start)
        report(n, start)
        if start.outcome == "completed":
            return starts  # finished before its kill: nothing left to resume
    # A user whose sync died re-runs it; a failed re-run (say, a checkpoint still owned by
    # the killed attempt) is started again, a few times, to see how long that lasts.
    for n in range(len(kills) + 1, len(kills) + 2 + args.extra_starts):
        start = run_start(emu, env, args.partition, folder, f"start{n}", None, args.timeout)
        starts.append(start)
        report(n, start)
        if start.outcome == "completed":
            break
    return starts


def report(n: int, start: Start) -> None:
    print(f"  start {n}: {start.outcome} after {start.seconds:.1f} s, {start.requests} "
          f"requests", flush=True)
    if start.outcome not in ("completed", "killed"):  # why it ended on its own
        print("    " + start.log.read_text()[-1500:].replace("\n", "\n    "), flush=True)


def run_start(emu: EmulatorProcess, env: dict[str, str], partition: str, folder: Path,
              label: str, kill_after: float | None, timeout: float) -> Start:
    """One `looker-assets extract` in its own session, SIGKILLed with its whole process group
    after `kill_after` seconds (None: left to finish, up to `timeout`)."""
    before = emu.admin("GET", "stats")["by_route"]
    log = folder / f"{label}.log"
    started = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "looker_assets.cli", "extract", "--partition", partition,
             "--json"],
            env=env, cwd=folder, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        # start_new_session: the child leads a new group whose id is its pid, so killpg
        # reaches it and anything it started, and nothing else.
        pgid = proc.pid
        try:
            proc.wait(timeout=kill_after if kill_after is not None else timeout)
            outcome = "completed" if proc.returncode == 0 else f"failed rc={proc.returncode}"
        except subprocess.TimeoutExpired:
            os.killpg(pgid, signal.SIGKILL)
            proc.wait()
            outcome = "killed" if kill_after is not None else "timed out"
        except BaseException:
            os.killpg(pgid, signal.SIGKILL)  # never leave a sync running behind the bench
            proc.wait()
            raise
    seconds = time.perf_counter() - started
    # Per start, the counters' difference: the emulator is not reset between starts.
    after = emu.admin("GET", "stats")["by_route"]
    routes = {route: n - before.get(route, 0) for route, n in after.items()
              if n != before.get(route, 0)}
    (folder / f"{label}.routes.json").write_text(json.dumps(routes, indent=1))
    details = sum(n for route, n in routes.items() if route.endswith("}") and "{" in route)
    took_over = sum("took over" in line for line in log.read_text().splitlines())
    return Start(sum(routes.values()), details, seconds, outcome, took_over, log)


def print_starts(clean: Start, starts: list[Start]) -> None:
    print(f"{'sync':<10}{'requests':>9}{'details':>8}{'seconds':>9}  {'took over':>9}  outcome")
    for label, start in (("clean", clean), *((f"start {n}", s) for n, s in enumerate(starts, 1))):
        print(f"{label:<10}{start.requests:>9}{start.details:>8}{start.seconds:>9.1f}  "
              f"{start.took_over:>9}  {start.outcome}")
    requests = sum(s.requests for s in starts)
    seconds = sum(s.seconds for s in starts)
    print(f"{'total':<10}{requests:>9}{sum(s.details for s in starts):>8}{seconds:>9.1f}")
    print(f"resumed / clean requests: {100 * requests / clean.requests:.1f}% (target <= 110%); "
          f"seconds: {100 * seconds / clean.seconds:.1f}%; "
          f"extra requests: {requests - clean.requests:+d}", flush=True)


def compare_stores(clean: Path, resumed: Path) -> bool:
    """Same active (type, id, checksum) per type, and one open version per active row."""
    if not resumed.exists():
        print("stores: DIFFER, the resumed sync never created its store")
        return False
    clean_rows, resumed_rows = active_rows(clean), active_rows(resumed)
    equal = True
    for name in sorted(clean_rows.keys() | resumed_rows.keys()):
        a, b = clean_rows.get(name, {}), resumed_rows.get(name, {})
        missing = sorted(a.keys() - b.keys())
        extra = sorted(b.keys() - a.keys())
        changed = sorted(i for i in a.keys() & b.keys() if a[i] != b[i])
        if missing or extra or changed:
            equal = False
            print(f"  {name}: clean {len(a)}, resumed {len(b)} active; missing {len(missing)} "
                  f"{missing[:5]}, extra {len(extra)} {extra[:5]}, other checksum "
                  f"{len(changed)} {changed[:5]}")
    total = sum(len(rows) for rows in clean_rows.values())
    if equal:
        print(f"stores: equal, {total} active rows in {len(clean_rows)} types")
    else:
        print(f"stores: DIFFER (clean {total} active rows, resumed "
              f"{sum(len(rows) for rows in resumed_rows.values())})")
    versions_ok = True
    for label, path, rows in (("clean", clean, clean_rows), ("resumed", resumed, resumed_rows)):
        problems = version_problems(path, rows)
        if problems:
            print(f"open versions ({label}): " + "; ".join(f"{k} {len(v)} {v[:5]}"
                                                           for k, v in problems.items()))
        else:
            print(f"open versions ({label}): one per active row, with its checksum")
        # The clean store is the control: only the resumed one's versions decide the result.
        versions_ok = versions_ok and (label == "clean" or not problems)
    return equal and versions_ok


def _read(path: Path) -> sqlite3.Connection:
    # Read only: the comparison must not be what repairs or upgrades a store.
    return sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)


def active_rows(path: Path) -> dict[str, dict[str, str]]:
    """Content type name -> id -> checksum of the active rows of content_items."""
    rows: dict[str, dict[str, str]] = defaultdict(dict)
    with _read(path) as db:
        for name, id_, checksum in db.execute(
                "SELECT t.name, i.id, i.checksum FROM content_items i "
                "JOIN content_types t ON t.code = i.content_type WHERE i.deleted_at IS NULL"):
            rows[name][id_] = checksum
    return dict(rows)


def version_problems(path: Path, active: dict[str, dict[str, str]]) -> dict[str, list[str]]:
    """Active rows without exactly one open version (or whose open version has another
    checksum), and open versions of rows that are not active: 'type/id' per kind."""
    open_versions: dict[tuple[str, str], list[str]] = defaultdict(list)
    with _read(path) as db:
        for name, id_, checksum in db.execute(
                "SELECT t.name, v.id, v.checksum FROM content_versions v "
                "JOIN content_types t ON t.code = v.content_type WHERE v.valid_to IS NULL"):
            open_versions[(name, id_)].append(checksum)
    problems: dict[str, list[str]] = defaultdict(list)
    for name, rows in active.items():
        for id_, checksum in rows.items():
            found = open_versions.pop((name, id_), [])
            if len(found) != 1:
                problems[f"{len(found)} open versions:"].append(f"{name}/{id_}")
            elif found[0] != checksum:
                problems["open version with another checksum:"].append(f"{name}/{id_}")
    for name, id_ in sorted(open_versions):  # what is left belongs to no active row
        problems["open version of a row not active:"].append(f"{name}/{id_}")
    return dict(problems)


if __name__ == "__main__":
    sys.exit(main())
