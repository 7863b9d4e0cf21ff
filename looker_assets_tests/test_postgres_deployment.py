"""A team deployment, tried as its operator would: Dagster's instance and the content store
both on PostgreSQL, each content type in its own step process, through `dagster asset
materialize`; a full sync, then an incremental one, each checked key for key against the
emulator through `looker-assets export`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote

import dagster as dg
import pytest

from looker_assets import content_types
from looker_assets.emulator import LookerEmulator
from looker_assets_tests.conftest import PARTITION, REPO, served
from looker_assets_tests.postgres_cluster import PostgresCluster

BIN = Path(sys.executable).parent
NAMES = [ct.name for ct in content_types.CONTENT_TYPES]


def _canonical(obj: object) -> str:
    return json.dumps(obj, sort_keys=True, ensure_ascii=False)


def _exported(env: dict[str, str], out: Path) -> dict[str, dict[str, str]]:
    proc = subprocess.run([str(BIN / "looker-assets"), "export", str(out), "--json"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return {name: {unquote(f.stem): _canonical(json.loads(f.read_text(encoding="utf-8")))
                   for f in (out / name).glob("*.json")} for name in NAMES}


def _assert_equal_to_emulator(env: dict[str, str], emu: LookerEmulator, out: Path) -> None:
    exported = _exported(env, out)
    for name in NAMES:
        expected = {i: _canonical(o) for i, o in served(emu, name).items()}
        assert expected, name
        assert exported[name] == expected, name


@pytest.fixture
def deployment(postgres: PostgresCluster, tmp_path: Path):
    emu = LookerEmulator(scale=300, seed=31).start("127.0.0.1", 0)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("LOOKERSDK_", "LOOKER_ASSETS_", "DAGSTER_"))}
    env.update({**emu.looker_env(), "DAGSTER_HOME": str(home), "PYTHONPATH": str(REPO),
                "DAGSTER_PG_URL": postgres.create_database("dagster_e2e").replace(
                    "postgresql://", "postgresql+psycopg2://"),
                "LOOKER_ASSETS_DB": postgres.create_database("looker_e2e"),
                "LOOKER_ASSETS_EXECUTOR": "multiprocess"})
    try:
        yield emu, env
    finally:
        emu.stop()


def _materialize(env: dict[str, str], cwd: Path, select: str = "*") -> str:
    proc = subprocess.run(
        [str(BIN / "dagster"), "asset", "materialize", "-m", "looker_assets", "--select", select,
         "--partition", PARTITION], env=env, cwd=cwd, capture_output=True, text=True,
        timeout=500)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-5000:]
    return output


@pytest.mark.long
def test_full_then_incremental_sync_on_postgres_with_step_processes(
        deployment, postgres: PostgresCluster, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    emu, env = deployment
    output = _materialize(env, tmp_path)
    assert postgres.password not in output, "the PostgreSQL password reached the logs"
    _assert_equal_to_emulator(env, emu, tmp_path / "full")

    before = {name: _canonical(served(emu, name)) for name in NAMES}
    dashboards = sorted(d for d, o in emu.objects("dashboards").items()
                        if "::" not in d and not o.get("deleted"))
    emu.update("dashboards", dashboards[0])
    emu.trash("dashboards", dashboards[1])
    emu.delete("looks", sorted(emu.objects("looks"))[0])
    emu.update("folders", sorted(emu.objects("folders"))[2])
    emu.create("users")
    emu.reset_stats()
    # The incremental run takes the types the changes reached (each of them a step process
    # of its own again); the others' nightly behaviour is the SQLite tests' (test_change_
    # signals), and a process per type per run is most of this test's time on 2 cores.
    changed = [name for name in NAMES if _canonical(served(emu, name)) != before[name]]
    assert {"dashboards", "looks", "folders", "users"} <= set(changed), changed
    second = _materialize(env, tmp_path, ",".join(f"looker/{name}" for name in changed))
    assert postgres.password not in second
    _assert_equal_to_emulator(env, emu, tmp_path / "incremental")
    full_requests = len(emu.objects("dashboards")) + len(emu.objects("looks"))
    assert emu.stats.route("GET", "/api/4.0/dashboards/{dashboard_id}") < full_requests / 2, \
        "the second sync fetched details incrementally"

    # Read back from Dagster's own PostgreSQL storage: every type ran in a step process of its
    # own, several at once, and the metadata names the store without its password.
    for key in ("DAGSTER_HOME", "DAGSTER_PG_URL"):
        monkeypatch.setenv(key, env[key])
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
        assert len(runs) == 2
        first, ends, pids = {}, {}, {}
        for record in instance.all_logs(runs[-1].run_id):
            event = record.dagster_event
            if event is None or event.step_key is None:
                continue
            # From the executor launching the step's process to the step's success.
            first.setdefault(event.step_key, record.timestamp)
            if event.event_type == dg.DagsterEventType.STEP_START:
                pids[event.step_key] = event.pid
            elif event.event_type == dg.DagsterEventType.STEP_SUCCESS:
                ends[event.step_key] = record.timestamp
        steps = [k for k in pids if k.startswith("looker__") and "checks" not in k]
        assert len(steps) == len(NAMES)
        assert len({pids[k] for k in steps}) == len(steps), "one process per type"
        overlapping = any(first[a] < first[b] < ends[a]
                          for a in first for b in first if a != b and a in ends)
        assert overlapping, "step processes ran at once"
        materialization = instance.get_latest_materialization_event(
            dg.AssetKey(["looker", "users"]))
        database = materialization.asset_materialization.metadata["database"].value
        assert database.startswith("postgresql://looker:***@127.0.0.1")
