"""Restore in Dagster: `looker_restore_job`, launched from the UI with run config. The plan
and every object's result go into the run's metadata: each restore leaves an audit trail."""

# No `from __future__ import annotations`: Dagster reads the op's config annotation at runtime.

import dagster as dg
from pydantic import Field

from looker_assets.assets import IO_MANAGER_KEY
from looker_assets.io_manager import LookerContentIOManager
from looker_assets.looker.resource import LookerResource
from looker_assets.restore import kinds as K
from looker_assets.restore.engine import Request, Restore, RestoreError, problems, summary
from looker_assets.restore.selection import select
from looker_assets.storage.history import HistoryError, check_moment, parse_moment


class RestoreConfig(dg.Config):
    type: str | None = Field(default=None, description="Content type of `ids`, e.g. dashboards.")
    ids: list[str] = Field(default_factory=list, description="Backed-up ids to restore.")
    folder: str | None = Field(default=None, description="A folder to restore with "
                               "everything in it.")
    deleted_since: str | None = Field(default=None, description="Restore everything deleted "
                                      "or trashed since this moment, as it was then.")
    at: str | None = Field(default=None, description="As of this moment (ISO-8601 or a "
                           "date); default: each object's latest backed-up version.")
    dry_run: bool = Field(default=True, description="Plan only. Set false to write: a "
                          "restore writes to production Looker.")
    max_concurrency: int = Field(default=8, ge=1, le=64)
    enable_schedules: bool = Field(default=False, description="Re-create scheduled plans "
                                   "enabled when they were.")
    connection_secrets: dict[str, str] = Field(
        default_factory=dict, description="Connection name -> environment variable holding "
        "its password (passwords are in no backup).")


@dg.op(required_resource_keys={IO_MANAGER_KEY, "looker"}, out=dg.Out(dg.Nothing))
def restore_objects(context: dg.OpExecutionContext, config: RestoreConfig) -> dg.Output[None]:
    """Plan (and unless dry_run, write and verify) the restore the run config asks for."""
    manager: LookerContentIOManager = getattr(context.resources, IO_MANAGER_KEY)
    looker: LookerResource = context.resources.looker
    with manager.open_store() as store:
        try:
            at = parse_moment(config.at, "at") if config.at else None
            since = parse_moment(config.deleted_since, "deleted_since") \
                if config.deleted_since else None
            for moment in (at, since):
                if moment is not None:
                    check_moment(store, moment)
            at = at or since
            items = select(store, config.type, config.ids, config.folder, since, at)
        except (ValueError, HistoryError, KeyError) as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None
        request = Request(items, at=at, dry_run=config.dry_run,
                          max_concurrency=config.max_concurrency,
                          choice=K.Choice(enable_plans=config.enable_schedules,
                                          connection_secrets=config.connection_secrets))
        client = looker.get_client()
        try:
            restore = Restore(store, client, request, progress=context.log.info)
            targets = restore.run()
        except RestoreError as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None
        finally:
            client.close()
    results = [t.result() for t in targets]
    counts, bad = summary(results), problems(results)
    metadata = {"dry_run": config.dry_run, "at": at or "latest", "run_id": restore.run_id or "",
                "results": dg.MetadataValue.json(results), **counts}
    if bad:
        raise dg.Failure(description=f"{counts['failed']} failed, "
                         f"{len(bad) - counts['failed']} not verified: "
                         + "; ".join(f"{r['type']} {r['id']}: {r['error'] or r['differs']}"
                                     for r in bad[:10]),
                         metadata=metadata, allow_retries=False)
    return dg.Output(None, metadata=metadata)


@dg.job(name="looker_restore_job", tags={"looker/api": "true"},
        description="Restore backed-up objects into Looker (dry run unless dry_run: false).")
def looker_restore_job() -> None:
    restore_objects()
