"""One Dagster asset per registry entry."""

from __future__ import annotations

import dagster as dg

from looker_assets.content_types import BY_NAME, CONTENT_TYPES, ContentType
from looker_assets.looker.extract import ContentStream
from looker_assets.looker.resource import LookerResource
from looker_assets.partitions import daily_partitions
from looker_assets.run_cost import run_requests
from looker_assets.settings import ASSET_PREFIX, GROUP, POOL

# One partitions definition for every type, so one job and one schedule cover them all.
DAILY = daily_partitions()

# Step-level retry: the last layer, after the transport and application retries gave up.
RETRY_POLICY = dg.RetryPolicy(
    max_retries=2, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)

IO_MANAGER_KEY = "looker_io_manager"
FAN_OUT_TAG = "looker/fan_out"


def asset_key(content_type: ContentType) -> dg.AssetKey:
    return dg.AssetKey([ASSET_PREFIX, content_type.name])


def build_content_asset(content_type: ContentType,
                        retry_policy: dg.RetryPolicy | None = RETRY_POLICY,
                        partitions_def: dg.PartitionsDefinition = DAILY,
                        ) -> dg.AssetsDefinition:
    # A listing that reads another type's objects runs after that type's sync (its stored
    # objects cost no request; run at the same time, they would be fetched twice).
    sources = sorted({call.objects_of for call in content_type.listing if call.objects_of})

    @dg.asset(
        key=asset_key(content_type),
        deps=[asset_key(BY_NAME[name]) for name in sources],
        group_name=GROUP,
        partitions_def=partitions_def,
        retry_policy=retry_policy,
        pool=POOL,
        io_manager_key=IO_MANAGER_KEY,
        kinds={"looker", "sqlite"},
        description=content_type.description,
        metadata={"content_type_code": content_type.code},
        tags={"looker/content_type": content_type.name},
        # What the threaded executor starts first: types that fetch a detail per object
        # take longest, so the quick listings fill the slots beside them, not after them.
        op_tags={FAN_OUT_TAG: "true"} if content_type.detail else None,
    )
    def _asset(context, looker: LookerResource) -> ContentStream:
        # (context unannotated: Dagster reads the annotation, which this module keeps a string.)
        # Lazy: the IO manager pulls the objects and writes them in batches. A budget is the
        # run's: steps that ran in other processes already spent part of it.
        spent = run_requests(context.instance, context.run.run_id)[0] \
            if looker.budget_limit() is not None else 0
        return looker.stream(content_type, run_id=context.run.run_id, spent_before=spent)

    return _asset


CONTENT_ASSETS: list[dg.AssetsDefinition] = [build_content_asset(ct) for ct in CONTENT_TYPES]
