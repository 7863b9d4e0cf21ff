"""Offsite snapshots in Dagster: the `looker_snapshot` asset, its job, and a sensor that runs
it after the nightly sync succeeds, when LOOKER_ASSETS_SNAPSHOT_URL is set.

Why a run-status sensor and not a schedule: a sync's length varies (minutes to hours), so a
schedule "shortly after" would either snapshot a sync half done or wait needlessly; the sensor
starts the snapshot when the sync job's run has succeeded. Its run key is the UTC day, so a
backfill of many partitions asks for one snapshot a day, not one per run. A failed sync asks
for none: the last good snapshot stays the newest (materialize `looker_snapshot` by hand to
take one anyway)."""

# No `from __future__ import annotations`: Dagster reads the resource annotations at runtime.

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
from pydantic import Field

from looker_assets.assets import IO_MANAGER_KEY, asset_key
from looker_assets.content_types import CONTENT_TYPES
from looker_assets.io_manager import LookerContentIOManager
from looker_assets.settings import GROUP, database_location
from looker_assets.snapshots import RECIPIENT_ENV, URL_ENV, SnapshotError, keys, operations
from looker_assets.snapshots.destination import open_destination

SNAPSHOT_RESOURCE_KEY = "looker_snapshots"


class SnapshotResource(dg.ConfigurableResource):
    """Where snapshots go and whom they are encrypted to. Only public keys: the identity that
    reads a snapshot never belongs on the sync host."""

    url: str | None = Field(default=None, description=f"Destination URL; else ${URL_ENV}.")
    recipients: list[str] = Field(default_factory=list, description="age public keys "
                                  f"(age1...) to encrypt to; else ${RECIPIENT_ENV}.")
    work_dir: str | None = Field(default=None, description="Folder for the temporary copy; "
                                 "else beside a SQLite store, or the temp folder.")


@dg.asset(
    name="looker_snapshot",
    group_name=GROUP,
    deps=[asset_key(ct) for ct in CONTENT_TYPES],
    required_resource_keys={IO_MANAGER_KEY, SNAPSHOT_RESOURCE_KEY},
    # Without a destination it is skipped, not failed: `materialize --select '*'` must still
    # succeed for a team that takes no snapshots.
    output_required=False,
    description="A consistent, compressed (optionally encrypted) copy of the whole store, "
    f"uploaded to ${URL_ENV} with its manifest written last (skipped when it is not set).",
)
def looker_snapshot(context: dg.AssetExecutionContext) -> Iterator[dg.MaterializeResult]:
    settings: SnapshotResource = getattr(context.resources, SNAPSHOT_RESOURCE_KEY)
    manager: LookerContentIOManager = getattr(context.resources, IO_MANAGER_KEY)
    if not (settings.url or os.environ.get(URL_ENV)):
        context.log.warning(f"no snapshot destination ({URL_ENV} unset): nothing pushed")
        return
    try:
        destination = open_destination(settings.url)
        recipients = keys.parse_recipients(settings.recipients)
        pushed = operations.push(
            destination, database_location(manager.path), recipients,
            None if settings.work_dir is None else Path(settings.work_dir),
            log=context.log.info)
    except SnapshotError as exc:
        # The message names the problem, never a credential; the upload left no manifest.
        raise dg.Failure(description=str(exc), allow_retries=False) from None
    context.log.info(f"pushed {pushed.name}: {pushed.bytes:,} bytes in {pushed.seconds:.1f} s")
    yield dg.MaterializeResult(metadata={
        "name": pushed.name, "bytes": dg.MetadataValue.int(pushed.bytes),
        "sha256": pushed.sha256, "seconds": dg.MetadataValue.float(round(pushed.seconds, 3)),
        "store_bytes": dg.MetadataValue.int(pushed.store_bytes),
        "encrypted": pushed.encrypted, "destination": pushed.url})


looker_snapshot_job = dg.define_asset_job(
    "looker_snapshot_job", selection=dg.AssetSelection.assets("looker_snapshot"),
    description="Push a snapshot of the store to $LOOKER_ASSETS_SNAPSHOT_URL.")


def build_snapshot_sensors(sync_job: "dg.UnresolvedAssetJobDefinition",
                           ) -> list[dg.SensorDefinition]:
    """The sensor, only when a destination is configured (else nothing runs by itself)."""
    if not os.environ.get(URL_ENV):
        return []

    @dg.run_status_sensor(
        name="looker_snapshot_after_sync", run_status=dg.DagsterRunStatus.SUCCESS,
        monitored_jobs=[sync_job], request_job=looker_snapshot_job,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Push a snapshot to ${URL_ENV} once a day, after the sync job succeeds.")
    def snapshot_after_sync(context: dg.RunStatusSensorContext) -> dg.RunRequest:
        ended = context.instance.get_run_stats(context.dagster_run.run_id).end_time
        day = datetime.fromtimestamp(ended or time.time(), UTC).date().isoformat()
        return dg.RunRequest(run_key=f"looker_snapshot:{day}")

    return [snapshot_after_sync]
