"""The code location: assets, checks, resources, job, schedule and sensor."""

from __future__ import annotations

import dagster as dg

from looker_assets.assets import CONTENT_ASSETS, IO_MANAGER_KEY
from looker_assets.checks import CONTENT_CHECKS
from looker_assets.io_manager import LookerContentIOManager
from looker_assets.looker.resource import LookerResource
from looker_assets.schedules import build_daily_schedule
from looker_assets.sensors import build_rerun_sensor
from looker_assets.settings import GROUP

looker_sync_job = dg.define_asset_job(
    "looker_sync_job",
    selection=dg.AssetSelection.groups(GROUP),
    tags={"looker/api": "true"},
    description="Sync every Looker content type for one day's partition.",
)

defs = dg.Definitions(
    assets=CONTENT_ASSETS,
    asset_checks=CONTENT_CHECKS,
    jobs=[looker_sync_job],
    schedules=[build_daily_schedule(looker_sync_job)],
    sensors=[build_rerun_sensor(looker_sync_job)],
    resources={
        "looker": LookerResource(),
        IO_MANAGER_KEY: LookerContentIOManager(),
    },
)
