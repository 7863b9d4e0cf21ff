"""The nightly schedule: every content type, for the day's partition."""

from __future__ import annotations

import os
from datetime import UTC

import dagster as dg

HOUR_ENV = "LOOKER_ASSETS_SCHEDULE_HOUR"
MINUTE_ENV = "LOOKER_ASSETS_SCHEDULE_MINUTE"
ENABLED_ENV = "LOOKER_ASSETS_SCHEDULE_ENABLED"


def _default_status() -> dg.DefaultScheduleStatus:
    """Running unless LOOKER_ASSETS_SCHEDULE_ENABLED says no: one switch for every schedule."""
    enabled = os.environ.get(ENABLED_ENV, "true").lower() not in ("0", "false", "no", "off")
    return dg.DefaultScheduleStatus.RUNNING if enabled else dg.DefaultScheduleStatus.STOPPED


def build_daily_schedule(job: dg.UnresolvedAssetJobDefinition) -> dg.ScheduleDefinition:
    """Runs at LOOKER_ASSETS_SCHEDULE_HOUR:MINUTE (UTC, default 02:00), on unless disabled."""
    return dg.build_schedule_from_partitioned_job(
        job,
        name="looker_daily_sync",
        description="Sync every Looker content type once a day (partition = that day, UTC).",
        hour_of_day=int(os.environ.get(HOUR_ENV, "2")),
        minute_of_hour=int(os.environ.get(MINUTE_ENV, "0")),
        default_status=_default_status(),
    )  # type: ignore[return-value]


# Cron of each re-read cadence (content_types.REREAD_CADENCES), by default an hour after the
# nightly sync on Sundays; LOOKER_ASSETS_REREAD_<CADENCE>_CRON moves it.
REREAD_CRONS = {"weekly": "0 3 * * 0"}


def reread_cron(cadence: str) -> str:
    return os.environ.get(f"LOOKER_ASSETS_REREAD_{cadence.upper()}_CRON", REREAD_CRONS[cadence])


def build_reread_jobs_and_schedules(
) -> tuple[list[dg.UnresolvedAssetJobDefinition], list[dg.ScheduleDefinition]]:
    """Per re-read cadence: a job re-reading every object of the types on that cadence
    (full_refresh: nothing stored is trusted), and its schedule, for today's partition. The
    nightly sync reads what their signals show; this reads what no signal shows."""
    from looker_assets.assets import asset_key  # (imported here: assets import settings only)
    from looker_assets.content_types import CONTENT_TYPES, REREAD_CADENCES

    jobs, schedules = [], []
    for cadence, words in REREAD_CADENCES.items():
        types = [ct for ct in CONTENT_TYPES if ct.reread == cadence]
        if not types:
            continue
        job = dg.define_asset_job(
            f"looker_reread_{cadence}_job",
            selection=dg.AssetSelection.assets(*(asset_key(ct) for ct in types)),
            config={"resources": {"looker": {"config": {"full_refresh": True}}}},
            tags={"looker/api": "true", "looker/reread": cadence},
            description=f"Re-read every object of {', '.join(ct.name for ct in types)} "
            f"({words}): what no change signal shows.",
        )

        def _request(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
            day = context.scheduled_execution_time.astimezone(UTC).date().isoformat()
            return dg.RunRequest(partition_key=day)

        schedules.append(dg.ScheduleDefinition(
            name=f"looker_{cadence}_reread",
            cron_schedule=reread_cron(cadence),
            execution_timezone="UTC",
            job=job,
            execution_fn=_request,
            description=f"Re-reads {', '.join(ct.name for ct in types)} {words} (UTC); "
            f"the nightly sync reads only what their signals show changed.",
            default_status=_default_status(),
        ))
        jobs.append(job)
    return jobs, schedules
