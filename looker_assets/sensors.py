"""Re-run what failed: only the content types and partitions whose runs failed.

Dagster OSS does not store ASSET_FAILED_TO_MATERIALIZE events, so a failed content type is
one that the run planned but did not materialize. The sensor polls failed runs (any run of
looker assets: scheduled, launched from the UI, or from the CLI), waits a back-off, and asks
for a run of just those assets and that partition, which resumes from their checkpoints. Tags
count the attempts of a chain of re-runs; past the bound it gives up and says so. Runs that a
person cancelled are CANCELED, not FAILURE, and are never re-run.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

import dagster as dg

from looker_assets.partitions import PartitionNotCapturable, check_capturable
from looker_assets.run_cost import BUDGET_TAG
from looker_assets.settings import ASSET_PREFIX

MAX_ATTEMPTS_ENV = "LOOKER_ASSETS_RERUN_MAX_ATTEMPTS"
BACKOFF_ENV = "LOOKER_ASSETS_RERUN_BACKOFF_SECONDS"
ATTEMPT_TAG = "looker/rerun_attempt"
RERUN_OF_TAG = "looker/rerun_of"
PARTITION_TAG = "dagster/partition"


def unmaterialized_looker_assets(instance: dg.DagsterInstance, run_id: str) -> list[dg.AssetKey]:
    planned: set[dg.AssetKey] = set()
    done: set[dg.AssetKey] = set()
    for record in instance.all_logs(run_id, of_type={
            dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
            dg.DagsterEventType.ASSET_MATERIALIZATION}):
        event = record.dagster_event
        if event is None or event.asset_key is None or event.asset_key.path[0] != ASSET_PREFIX:
            continue
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED:
            planned.add(event.asset_key)
        else:
            done.add(event.asset_key)
    return sorted(planned - done, key=lambda k: k.to_user_string())


def backoff_seconds(attempt: int, base: float) -> float:
    """Exponential: base, 2*base, 4*base ... before attempt 1, 2, 3 ..."""
    return base * 2 ** (attempt - 1)


def build_rerun_sensor(job: dg.UnresolvedAssetJobDefinition) -> dg.SensorDefinition:
    @dg.sensor(
        name="rerun_failed_looker_syncs",
        job=job,
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Re-runs only the Looker content types and partitions whose runs failed, "
        "with back-off and a bound on attempts.",
    )
    def rerun_failed_looker_syncs(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        max_attempts = int(os.environ.get(MAX_ATTEMPTS_ENV, "3"))
        backoff = float(os.environ.get(BACKOFF_ENV, "60"))
        cursor = float(context.cursor) if context.cursor else 0.0
        records = context.instance.get_run_records(
            filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE],
                                  updated_after=_datetime(cursor)),
            order_by="update_timestamp", ascending=True, limit=100,
        )
        requests: list[dg.RunRequest] = []
        skipped: list[str] = []
        for record in records:
            run = record.dagster_run
            updated = record.update_timestamp.timestamp()
            failed = unmaterialized_looker_assets(context.instance, run.run_id)
            attempt = int(run.tags.get(ATTEMPT_TAG, "0")) + 1
            if failed and PARTITION_TAG not in run.tags:
                # A partition-range run: re-running it needs a backfill, not a single run.
                skipped.append(f"run {run.run_id} has no single partition; re-run its failed "
                               f"days with a backfill")
            elif failed and run.tags.get(BUDGET_TAG):
                # Stopped on purpose: a re-run now would spend another budget at once.
                skipped.append(f"run {run.run_id} stopped at its request budget: not re-run; "
                               f"the next scheduled run resumes it from its checkpoints")
            elif failed and (late := _not_capturable(run.tags[PARTITION_TAG])):
                skipped.append(f"run {run.run_id}: not re-run, {late}")
            elif failed and attempt <= max_attempts:
                if time.time() < updated + backoff_seconds(attempt, backoff):
                    break  # not yet: this run and those after it are looked at next tick
                requests.append(dg.RunRequest(
                    run_key=f"rerun-{run.run_id}",
                    asset_selection=failed,
                    partition_key=run.tags.get(PARTITION_TAG),
                    tags={RERUN_OF_TAG: run.run_id, ATTEMPT_TAG: str(attempt)},
                ))
            elif failed:
                names = ", ".join(k.to_user_string() for k in failed)
                skipped.append(f"run {run.run_id}: gave up on {names} after "
                               f"{max_attempts} re-runs")
            cursor = max(cursor, updated)
        for message in skipped:
            context.log.warning(message)
        return dg.SensorResult(run_requests=requests, cursor=str(cursor),
                               skip_reason=None if requests else "no failed Looker syncs due")

    return rerun_failed_looker_syncs


def _not_capturable(partition_key: str) -> str | None:
    try:
        check_capturable(partition_key)
    except PartitionNotCapturable as exc:
        return str(exc)
    return None


def _datetime(timestamp: float) -> datetime | None:
    return datetime.fromtimestamp(timestamp, tz=UTC) if timestamp else None
