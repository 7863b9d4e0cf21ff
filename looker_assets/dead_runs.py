"""Runs that the `looker-assets` CLI started in its own process, and that died with it.

A run the CLI executes in process (extract, demo) takes a `looker_api` pool slot per step; a
SIGKILL leaves the run STARTED and its slot taken for ever (Dagster frees such slots only from
its daemon's run monitoring, which a CLI run does not have). Four kills fill the pool and the
next sync then waits silently. So each CLI run is tagged with its host and pid, and before a
new one starts, a tagged run whose process is gone is marked failed and its slots freed."""

from __future__ import annotations

import os
import socket

import dagster as dg
import psutil

HOST_TAG = "looker/cli_host"
PID_TAG = "looker/cli_pid"
_ALIVE_STATUSES = [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING,
                   dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.CANCELING]


def cli_run_tags() -> dict[str, str]:
    """Tags that let a later CLI run tell whether this one's process still lives."""
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())}


def _alive(pid: int, run_started: float | None) -> bool:
    try:
        process = psutil.Process(pid)
        # A pid reused by a process that began after the run did is not the run's.
        return run_started is None or process.create_time() <= run_started + 1
    except psutil.Error:
        return False


def release_dead_cli_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark this host's CLI runs whose process is gone as failed and free their pool slots;
    the ids of those released."""
    released = []
    records = instance.get_run_records(filters=dg.RunsFilter(
        statuses=_ALIVE_STATUSES, tags={HOST_TAG: socket.gethostname()}))
    for record in records:
        run = record.dagster_run
        pid = run.tags.get(PID_TAG, "")
        if not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid), record.start_time):
            continue
        instance.report_run_failed(run, f"its process ({pid}) is gone: killed while it ran; "
                                   f"its pool slots are freed and the next run resumes it")
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        released.append(run.run_id)
    return released
