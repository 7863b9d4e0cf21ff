"""Retention in Dagster: `looker_prune_job`, and a nightly schedule of it when a retention is
configured (LOOKER_ASSETS_RETENTION_DAYS). Without one, nothing is ever pruned."""

# No `from __future__ import annotations`: Dagster reads the op's config annotation at runtime.

import os

import dagster as dg
from pydantic import Field

from looker_assets.assets import IO_MANAGER_KEY
from looker_assets.io_manager import LookerContentIOManager
from looker_assets.storage.retention import cutoff_for, prune

RETENTION_ENV = "LOOKER_ASSETS_RETENTION_DAYS"


class PruneConfig(dg.Config):
    older_than_days: float | None = Field(
        default=None, ge=0, description="Remove versions closed, and objects deleted from "
        f"Looker, more than this many days ago; else ${RETENTION_ENV}.")
    vacuum: bool = Field(default=False, description="Then give the space back to the file "
                         "system (rewrites the file).")


def retention_days(config: PruneConfig) -> float:
    if config.older_than_days is not None:
        return config.older_than_days
    value = os.environ.get(RETENTION_ENV)
    if not value:
        raise dg.Failure(description=f"no retention configured: set older_than_days in the "
                         f"run config or {RETENTION_ENV}", allow_retries=False)
    try:
        return float(value)
    except ValueError:
        raise dg.Failure(description=f"{RETENTION_ENV}={value!r} is not a number of days",
                         allow_retries=False) from None


@dg.op(required_resource_keys={IO_MANAGER_KEY}, out=dg.Out(dg.Nothing))
def prune_history(context: dg.OpExecutionContext, config: PruneConfig) -> dg.Output[None]:
    """Drop history older than the retention; never the current version of a live object."""
    manager: LookerContentIOManager = getattr(context.resources, IO_MANAGER_KEY)
    cutoff = cutoff_for(retention_days(config))
    with manager.open_store() as store:
        report = prune(store, cutoff, vacuum=config.vacuum)
    context.log.info(f"removed {report.versions_removed} versions and "
                     f"{report.objects_removed} deleted objects closed before {cutoff}")
    return dg.Output(None, metadata=report.as_dict())


@dg.job(name="looker_prune_job",
        description="Retention: remove history older than the configured number of days.")
def looker_prune_job() -> None:
    prune_history()


def build_prune_schedule() -> list[dg.ScheduleDefinition]:
    """Nightly at 03:30 UTC when LOOKER_ASSETS_RETENTION_DAYS is set; else no schedule."""
    if not os.environ.get(RETENTION_ENV):
        return []
    return [dg.ScheduleDefinition(
        name="looker_prune_history", job=looker_prune_job, cron_schedule="30 3 * * *",
        execution_timezone="UTC", default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Prune history older than ${RETENTION_ENV} days.")]
