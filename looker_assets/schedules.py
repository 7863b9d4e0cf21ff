"""The nightly schedule: every content type, for the day's partition."""

from __future__ import annotations

import os

import dagster as dg

HOUR_ENV = "LOOKER_ASSETS_SCHEDULE_HOUR"
MINUTE_ENV = "LOOKER_ASSETS_SCHEDULE_MINUTE"
ENABLED_ENV = "LOOKER_ASSETS_SCHEDULE_ENABLED"


def build_daily_schedule(job: dg.UnresolvedAssetJobDefinition) -> dg.ScheduleDefinition:
    """Runs at LOOKER_ASSETS_SCHEDULE_HOUR:MINUTE (UTC, default 02:00), on unless disabled."""
    enabled = os.environ.get(ENABLED_ENV, "true").lower() not in ("0", "false", "no", "off")
    return dg.build_schedule_from_partitioned_job(
        job,
        name="looker_daily_sync",
        description="Sync every Looker content type once a day (partition = that day, UTC).",
        hour_of_day=int(os.environ.get(HOUR_ENV, "2")),
        minute_of_hour=int(os.environ.get(MINUTE_ENV, "0")),
        default_status=dg.DefaultScheduleStatus.RUNNING if enabled
        else dg.DefaultScheduleStatus.STOPPED,
    )  # type: ignore[return-value]
