"""Full extraction against the emulator (own process) vs a sequential typed-SDK baseline.

    uv run python bench/extract.py [--scale 10000] [--latency-ms 20] [--concurrency 8]

Prints per content type and in total: objects, requests, seconds, objects/s, peak RSS, for
looker_assets (the same run_sync path the IO manager runs) and for a straightforward sequential
extraction (one request at a time through the SDK's typed methods), measured in the same run,
plus the ratio. Figures only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil

from looker_assets import content_types
from looker_assets.emulator.subprocess_runner import EmulatorProcess
from looker_assets.looker.client import ClientConfig, LookerClient
from looker_assets.looker.extract import ContentStream
from looker_assets.storage.store import ContentStore
from looker_assets.sync import run_sync


class PeakRSS:
    """Samples this process's RSS every 10 ms; `peak` is the highest since `reset()`, `overall`
    the highest since the start."""

    def __init__(self) -> None:
        self.proc = psutil.Process()
        self.peak = 0
        self.overall = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            rss = self.proc.memory_info().rss
            self.peak = max(self.peak, rss)
            self.overall = max(self.overall, rss)

    def reset(self) -> None:
        self.peak = self.proc.memory_info().rss

    def stop(self) -> None:
        self._stop.set()


def _requests(emu: EmulatorProcess) -> int:
    return int(emu.admin("GET", "stats")["requests"])


@contextmanager
def _measure(emu: EmulatorProcess, rss: PeakRSS, out: dict[str, Any]) -> Iterator[None]:
    rss.reset()
    before = _requests(emu)
    started = time.perf_counter()
    yield
    out["seconds"] = time.perf_counter() - started
    out["requests"] = _requests(emu) - before
    out["rss_mb"] = rss.peak / 2**20


def sequential_baseline(sdk: Any) -> dict[str, Callable[[], int]]:
    """The naive extractor: typed SDK methods, one request at a time, details one by one."""

    def details(list_ids: Callable[[], list[str]], fetch: Callable[[str], Any]) -> int:
        return sum(1 for i in list_ids() if fetch(i) is not None)

    def explores() -> int:
        count = 0
        for model in sdk.all_lookml_models():
            for nav in model.explores or []:
                sdk.lookml_model_explore(model.name, nav.name)
                count += 1
        return count

    return {
        "dashboards": lambda: details(
            lambda: [d.id for d in sdk.all_dashboards(fields="id")]
            + [d.id for d in sdk.search_dashboards(deleted="true", fields="id")],
            sdk.dashboard),
        "looks": lambda: details(
            lambda: [lk.id for lk in sdk.all_looks(fields="id")]
            + [lk.id for lk in sdk.search_looks(deleted=True, fields="id")],
            sdk.look),
        "lookml_models": lambda: len(sdk.all_lookml_models()),
        "explores": explores,
        "users": lambda: len(sdk.all_users()),
        "roles": lambda: len(sdk.all_roles()),
        "groups": lambda: len(sdk.all_groups()),
        "permission_sets": lambda: len(sdk.all_permission_sets()),
        "model_sets": lambda: len(sdk.all_model_sets()),
        "folders": lambda: len(sdk.all_folders()),
        "boards": lambda: len(sdk.all_boards()),
        "scheduled_plans": lambda: len(sdk.all_scheduled_plans(all_users=True)),
        "alerts": lambda: len(sdk.search_alerts(all_owners=True)),
        "user_attributes": lambda: len(sdk.all_user_attributes()),
        "connections": lambda: len(sdk.all_connections()),
        "projects": lambda: len(sdk.all_projects()),
        "themes": lambda: len(sdk.all_themes()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=10000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()

    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(f"emulator: scale {args.scale}, latency {args.latency_ms:g} ms; "
          f"max_concurrency {args.concurrency}")
    rss = PeakRSS()
    ours: dict[str, dict[str, Any]] = {}
    base: dict[str, dict[str, Any]] = {}
    with EmulatorProcess(scale=args.scale, latency_ms=args.latency_ms) as emu, \
            tempfile.TemporaryDirectory() as tmp:
        config = ClientConfig(base_url=emu.url, client_id=emu.client_id,
                              client_secret=emu.client_secret, verify_ssl=False,
                              max_concurrency=args.concurrency)
        store = ContentStore(Path(tmp) / "bench.sqlite")
        total: dict[str, Any] = {}
        with _measure(emu, rss, total):
            for ct in content_types.CONTENT_TYPES:
                row = ours[ct.name] = {}
                client = LookerClient(config)
                with _measure(emu, rss, row):
                    stream = ContentStream(client, ct, max_concurrency=args.concurrency)
                    row["objects"] = run_sync(stream, store, "bench").objects
                client.close()
        # Per-type measurements reset the peak: the whole sync's is the overall high-water.
        ours["TOTAL"] = {**total, "objects": sum(r["objects"] for r in ours.values()),
                         "rss_mb": rss.overall / 2**20}
        store.close()

        if not args.skip_baseline:
            sdk = LookerClient(config).sdk
            btotal: dict[str, Any] = {}
            with _measure(emu, rss, btotal):
                for name, extract in sequential_baseline(sdk).items():
                    row = base[name] = {}
                    with _measure(emu, rss, row):
                        row["objects"] = extract()
            base["TOTAL"] = {**btotal, "objects": sum(r["objects"] for r in base.values())}
    rss.stop()

    header = (f"{'type':<16}{'objects':>8}{'requests':>9}{'seconds':>9}{'obj/s':>9}"
              f"{'RSS MB':>8}  | {'base s':>8}{'base obj/s':>11}{'base req':>9}{'speed-up':>9}")
    print(header, flush=True)
    print("-" * len(header))
    for name, row in ours.items():
        rate = row["objects"] / row["seconds"] if row["seconds"] else 0.0
        line = (f"{name:<16}{row['objects']:>8}{row['requests']:>9}{row['seconds']:>9.2f}"
                f"{rate:>9.0f}{row['rss_mb']:>8.0f}  |")
        if name in base:
            b = base[name]
            brate = b["objects"] / b["seconds"] if b["seconds"] else 0.0
            line += (f" {b['seconds']:>8.2f}{brate:>11.0f}{b['requests']:>9}"
                     f"{b['seconds'] / row['seconds']:>8.1f}x")
        print(line)
    limit = args.concurrency / (args.latency_ms / 1000) if args.latency_ms else float("inf")
    print(f"detail-bound ceiling: max_concurrency / latency = {limit:.0f} objects/s")
    for name in ("dashboards", "looks", "explores"):
        row = ours[name]
        rate = row["objects"] / row["seconds"]
        print(f"  {name}: {rate:.0f} objects/s = {100 * rate / limit:.0f}% of the ceiling")


if __name__ == "__main__":
    main()
