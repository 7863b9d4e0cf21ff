"""One Dagster asset per registry entry."""

from __future__ import annotations

import os

import dagster as dg

from looker_assets.content_types import CONTENT_TYPES, ContentType
from looker_assets.looker.extract import ContentStream
from looker_assets.looker.resource import LookerResource
from looker_assets.settings import ASSET_PREFIX, DEFAULT_START_DATE, GROUP, POOL, START_DATE_ENV

# One partitions definition for every type, so one job and one schedule cover them all.
# end_offset=1 makes today a valid partition: a sync captures the instance as it is now.
DAILY = dg.DailyPartitionsDefinition(
    start_date=os.environ.get(START_DATE_ENV, DEFAULT_START_DATE), timezone="UTC", end_offset=1
)

# Step-level retry: the last layer, after the transport and application retries gave up.
RETRY_POLICY = dg.RetryPolicy(
    max_retries=2, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)

IO_MANAGER_KEY = "looker_io_manager"


def asset_key(content_type: ContentType) -> dg.AssetKey:
    return dg.AssetKey([ASSET_PREFIX, content_type.name])


def build_content_asset(content_type: ContentType,
                        retry_policy: dg.RetryPolicy | None = RETRY_POLICY) -> dg.AssetsDefinition:
    @dg.asset(
        key=asset_key(content_type),
        group_name=GROUP,
        partitions_def=DAILY,
        retry_policy=retry_policy,
        pool=POOL,
        io_manager_key=IO_MANAGER_KEY,
        kinds={"looker", "sqlite"},
        description=content_type.description,
        metadata={"content_type_code": content_type.code},
        tags={"looker/content_type": content_type.name},
    )
    def _asset(looker: LookerResource) -> ContentStream:
        # Lazy: the IO manager pulls the objects and writes them in batches.
        return looker.stream(content_type)

    return _asset


CONTENT_ASSETS: list[dg.AssetsDefinition] = [build_content_asset(ct) for ct in CONTENT_TYPES]
