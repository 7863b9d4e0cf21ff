"""The code location: assets, checks, resources, job, schedule and sensor."""

from __future__ import annotations

import os
from typing import Any

import dagster as dg

from looker_assets.assets import CONTENT_ASSETS, IO_MANAGER_KEY
from looker_assets.checks import CONTENT_CHECKS
from looker_assets.executor import in_process_threads
from looker_assets.io_manager import LookerContentIOManager
from looker_assets.looker.resource import LookerResource
from looker_assets.migrate_job import looker_migrate_job
from looker_assets.restore_job import looker_restore_job
from looker_assets.retention_job import build_prune_schedule, looker_prune_job
from looker_assets.schedules import build_daily_schedule, build_reread_jobs_and_schedules
from looker_assets.sensors import build_rerun_sensor
from looker_assets.settings import GROUP
from looker_assets.snapshot_job import (
    SNAPSHOT_RESOURCE_KEY,
    SnapshotResource,
    build_snapshot_sensors,
    looker_snapshot,
    looker_snapshot_job,
)

EXECUTOR_ENV = "LOOKER_ASSETS_EXECUTOR"


@dg.configured(dg.multiprocess_executor,
               config_schema={"max_concurrent": dg.Field(int, is_required=False)})
def _forkserver_multiprocess(config: dict[str, Any]) -> dict[str, Any]:
    """Step processes forked from a server that has imported Dagster and looker_assets once:
    a whole sync with a process per type took 52-54 s instead of ~100 s here (22 types)."""
    return {"start_method": {"forkserver": {"preload_modules": ["looker_assets.definitions"]}},
            **config}


def _executor() -> dg.ExecutorDefinition:
    """Steps in threads of one process by default (executor.py): a step process costs 1.5-3 s
    to start here, more than most content types take to sync (bench/dagster_run.py: 28.5 s in
    process vs 57.6 s with 2 step processes, scale 10,000), and in threads several types share
    the process's request slots, so none idle between types. LOOKER_ASSETS_EXECUTOR=in_process
    runs the steps one after another; multiprocess gives one process per type (see
    dagster.yaml pools); k8s, one Kubernetes job per type (dagster-k8s, the `k8s` extra)."""
    choice = os.environ.get(EXECUTOR_ENV, "in_process_threads")
    if choice == "in_process_threads":
        return in_process_threads
    if choice == "multiprocess":
        return _forkserver_multiprocess
    if choice == "k8s":
        try:
            from dagster_k8s import k8s_job_executor
        except ImportError:
            raise RuntimeError(f"{EXECUTOR_ENV}=k8s needs dagster-k8s: install looker-assets "
                               f"with its k8s extra (the Dockerfile does)") from None
        return k8s_job_executor
    if choice != "in_process":
        raise RuntimeError(f"{EXECUTOR_ENV}={choice!r}: expected in_process_threads, "
                           f"in_process, multiprocess or k8s")
    return dg.in_process_executor


looker_sync_job = dg.define_asset_job(
    "looker_sync_job",
    # The content assets only: the snapshot (same group) runs after a successful sync, by a
    # sensor of its own.
    selection=dg.AssetSelection.groups(GROUP) - dg.AssetSelection.assets("looker_snapshot"),
    tags={"looker/api": "true"},
    description="Sync every Looker content type for one day's partition.",
)

REREAD_JOBS, REREAD_SCHEDULES = build_reread_jobs_and_schedules()

defs = dg.Definitions(
    assets=[*CONTENT_ASSETS, looker_snapshot],
    asset_checks=CONTENT_CHECKS,
    jobs=[looker_sync_job, *REREAD_JOBS, looker_prune_job, looker_restore_job, looker_migrate_job,
          looker_snapshot_job],
    executor=_executor(),
    schedules=[build_daily_schedule(looker_sync_job), *REREAD_SCHEDULES,
               *build_prune_schedule()],
    sensors=[build_rerun_sensor(looker_sync_job), *build_snapshot_sensors(looker_sync_job)],
    resources={
        "looker": LookerResource(),
        IO_MANAGER_KEY: LookerContentIOManager(),
        SNAPSHOT_RESOURCE_KEY: SnapshotResource(),
    },
)
