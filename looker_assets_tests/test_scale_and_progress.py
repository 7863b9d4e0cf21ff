"""Memory stays bounded over many batches; progress reads well as JSON and as plain lines."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tracemalloc
from pathlib import Path

from looker_assets import content_types
from looker_assets.emulator import LookerEmulator
from looker_assets.emulator.subprocess_runner import EmulatorProcess
from looker_assets.looker.client import ClientConfig, LookerClient
from looker_assets.looker.extract import ContentStream
from looker_assets.storage.store import ContentStore
from looker_assets.sync import run_sync
from looker_assets_tests.conftest import PARTITION, REPO

DASHBOARDS = content_types.get("dashboards")


def _traced_sync(emu: EmulatorProcess, db: Path) -> tuple[int, int, int]:
    """(peak traced bytes, stored bytes, objects) of a dashboards sync in small batches."""
    config = ClientConfig(base_url=emu.url, client_id=emu.client_id,
                          client_secret=emu.client_secret, verify_ssl=False, max_concurrency=4)
    client = LookerClient(config)
    with ContentStore(db) as store:
        stream = ContentStream(client, DASHBOARDS, page_size=50, max_concurrency=4,
                               batch_size=20)
        tracemalloc.start()
        try:
            result = run_sync(stream, store, PARTITION)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        stored = store.counts()[DASHBOARDS.code]["bytes"]
    client.close()
    return peak, stored, result.objects


def test_stream_memory_is_bounded_by_batches_not_by_objects(tmp_path: Path) -> None:
    # The emulator runs in its own process so that only the sync's memory is traced.
    peaks = {}
    for scale in (1000, 4000):
        with EmulatorProcess(scale=scale) as emu:
            peak, stored, objects = _traced_sync(emu, tmp_path / f"{scale}.sqlite")
        assert objects > 100 * (scale // 1000) / 2, "enough objects for many batches"
        peaks[scale] = (peak, stored)
    # Decoded JSON takes several times its MessagePack size: holding every object would cost
    # far more than the stored bytes. The stream holds a window of details, a batch of rows
    # and a set of ids, so 4x the objects must not come near 4x the memory.
    (small, _), (large, stored_large) = peaks[1000], peaks[4000]
    assert large < 0.75 * stored_large, peaks
    assert large < 1.5 * small, peaks


def _extract(emulator: LookerEmulator, tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **emulator.looker_env(),
           "LOOKER_ASSETS_DB": str(tmp_path / "cli.sqlite"), "PYTHONPATH": str(REPO),
           "DAGSTER_HOME": str(tmp_path / "home")}
    return subprocess.run([sys.executable, "-m", "looker_assets.cli", "extract", *args,
                           "--partition", PARTITION], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)


def test_json_progress_events_end_at_100(emulator: LookerEmulator, tmp_path: Path) -> None:
    proc = _extract(emulator, tmp_path, "users", "dashboards", "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    progress = [e for e in events if e["event"] == "extraction_progress"]
    assert {e["content_type"] for e in progress} == {"users", "dashboards"}
    for name in ("users", "dashboards"):
        mine = [e for e in progress if e["content_type"] == name]
        assert set(mine[0]) >= {"event", "content_type", "completed", "total", "percentage"}
        assert mine[-1]["percentage"] == 100.0
        assert mine[-1]["completed"] == mine[-1]["total"] == len(emulator.objects(name))
        done = [e["completed"] for e in mine]
        assert done == sorted(done), "progress never goes backwards"
    assert events[-1]["event"] == "extraction_finished" and events[-1]["success"] is True


def test_progress_degrades_to_plain_lines_without_a_terminal(emulator: LookerEmulator,
                                                              tmp_path: Path) -> None:
    proc = _extract(emulator, tmp_path, "groups")
    assert proc.returncode == 0, proc.stderr[-3000:]
    count = len(emulator.objects("groups"))
    assert f"groups: {count}/{count} (100%)" in proc.stdout
    assert "\x1b[" not in proc.stdout, "no terminal escape codes when not a TTY"


def test_extract_rejects_unknown_type(tmp_path: Path, emulator: LookerEmulator) -> None:
    proc = _extract(emulator, tmp_path, "dashbords")
    assert proc.returncode == 2
    assert "unknown content type 'dashbords'" in proc.stderr and "dashboards" in proc.stderr


def _tuned(env_value: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "LOOKER_ASSETS_MALLOC_ARENAS"}
    if env_value is not None:
        env["LOOKER_ASSETS_MALLOC_ARENAS"] = env_value
    code = "from looker_assets.malloc_tuning import tune_allocator; print(tune_allocator())"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=60, check=True)
    return done.stdout.strip() + done.stderr


def test_allocator_tuning_applies_on_glibc_and_can_be_switched_off() -> None:
    glibc = platform.libc_ver()[0] == "glibc"
    # On glibc mallopt accepts both settings; elsewhere nothing is tuned.
    assert _tuned(None) == str(glibc)
    assert _tuned("0") == "False"
    bad = _tuned("many")
    assert bad.startswith("False") and "LOOKER_ASSETS_MALLOC_ARENAS must be an integer" in bad
