"""The code location: assets, resources and jobs."""

from __future__ import annotations

import dagster as dg

from looker_assets.assets import CONTENT_ASSETS, IO_MANAGER_KEY
from looker_assets.io_manager import LookerContentIOManager
from looker_assets.looker.resource import LookerResource

looker_sync_job = dg.define_asset_job(
    "looker_sync_job",
    selection=dg.AssetSelection.groups("looker"),
    tags={"looker/api": "true"},
    description="Sync every Looker content type for one day's partition.",
)

defs = dg.Definitions(
    assets=CONTENT_ASSETS,
    jobs=[looker_sync_job],
    resources={
        "looker": LookerResource(),
        IO_MANAGER_KEY: LookerContentIOManager(),
    },
)
