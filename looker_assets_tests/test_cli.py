"""The entry points a user runs: Dagster's CLI and the demo, as subprocesses."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from looker_assets import content_types
from looker_assets.emulator import LookerEmulator
from looker_assets_tests.conftest import PARTITION, REPO, served

BIN = Path(sys.executable).parent


def _env(dagster_home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOOKERSDK_")}
    env.update({"DAGSTER_HOME": str(dagster_home), "PYTHONPATH": str(REPO), **extra})
    return env


def test_definitions_validate(dagster_home: Path) -> None:
    proc = subprocess.run([str(BIN / "dagster"), "definitions", "validate", "-m", "looker_assets"],
                          env=_env(dagster_home), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "passed validation" in proc.stdout + proc.stderr


def test_dagster_asset_materialize_every_type(emulator: LookerEmulator, dagster_home: Path,
                                              tmp_path: Path) -> None:
    db = tmp_path / "cli.sqlite"
    env = _env(dagster_home, **emulator.looker_env(), LOOKER_ASSETS_DB=str(db))
    proc = subprocess.run(
        [str(BIN / "dagster"), "asset", "materialize", "-m", "looker_assets", "--select", "*",
         "--partition", PARTITION],
        env=env, capture_output=True, text=True, timeout=400, cwd=tmp_path,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-5000:]
    assert emulator.client_secret not in output
    conn = sqlite3.connect(db)
    counts = dict(conn.execute(
        "SELECT t.name, count(*) FROM content_items i JOIN content_types t "
        "ON t.code = i.content_type WHERE i.deleted_at IS NULL GROUP BY t.name"))
    assert counts == {ct.name: len(served(emulator, ct.name))
                      for ct in content_types.CONTENT_TYPES}
    assert conn.execute("SELECT count(*) FROM content_items WHERE content_data LIKE ?",
                        (f"%{emulator.client_secret}%",)).fetchone()[0] == 0


def test_demo_command_prints_summary(tmp_path: Path) -> None:
    env = _env(tmp_path / "home_unused")
    env.pop("DAGSTER_HOME")
    proc = subprocess.run(
        [sys.executable, "-m", "looker_assets.cli", "demo", "--scale", "300",
         "--latency-ms", "0", "--db", str(tmp_path / "demo.sqlite")],
        env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-5000:]
    for ct in content_types.CONTENT_TYPES:
        assert ct.name in proc.stdout
    assert "total" in proc.stdout
    assert "demo.sqlite" in proc.stdout.replace("\n", "")
    assert (tmp_path / "var" / "dagster_home" / "dagster.yaml").exists()
