"""Migrate in Dagster: `looker_migrate_job`, launched with run config. A dry run unless the
config says `dry_run: false`; the plan and every object's result go into the run's metadata."""

# No `from __future__ import annotations`: Dagster reads the op's config annotation at runtime.

from pathlib import Path

import dagster as dg
from pydantic import Field

from looker_assets.assets import IO_MANAGER_KEY
from looker_assets.io_manager import LookerContentIOManager
from looker_assets.looker.errors import LookerError
from looker_assets.migrate.identity import MigrationError
from looker_assets.migrate.run import Options, finish, plan
from looker_assets.restore.engine import RestoreError
from looker_assets.storage.history import HistoryError, check_moment, parse_moment


class MigrateConfig(dg.Config):
    target: str = Field(description="The target instance: a section of `ini`.")
    ini: str = Field(default="looker.ini", description="looker.ini holding that section.")
    folders: list[str] = Field(default_factory=list, description="Backed-up folder ids, "
                               "each with its whole subtree.")
    type: str | None = Field(default=None, description="Content type of `ids`.")
    ids: list[str] = Field(default_factory=list, description="Backed-up ids.")
    at: str | None = Field(default=None, description="As of this moment (default: latest).")
    into: str | None = Field(default=None, description="Target folder path for the folders.")
    map_file: str | None = Field(default=None, description="TOML renames ([models], "
                                 "[connections], [emails], [groups]).")
    owner_fallback: str | None = Field(default=None, description="Owner email for what a "
                                       "user the target lacks owned.")
    enable_schedules: bool = Field(default=False, description="Schedules and alerts enabled "
                                   "as they were (default: created disabled).")
    connection_secrets: dict[str, str] = Field(default_factory=dict, description="Connection "
                                               "name -> environment variable with its password.")
    dry_run: bool = Field(default=True, description="Plan only. Set false to write into the "
                          "target.")
    max_concurrency: int = Field(default=8, ge=1, le=64)


@dg.op(required_resource_keys={IO_MANAGER_KEY}, out=dg.Out(dg.Nothing))
def migrate_objects(context: dg.OpExecutionContext, config: MigrateConfig) -> dg.Output[None]:
    """Plan (and unless dry_run, write and verify) the migration the run config asks for."""
    manager: LookerContentIOManager = getattr(context.resources, IO_MANAGER_KEY)
    with manager.open_store() as store:
        try:
            at = parse_moment(config.at, "at") if config.at else None
            if at is not None:
                check_moment(store, at)
            options = Options(
                config.target, Path(config.ini), config.folders, config.type, config.ids, at,
                config.into, Path(config.map_file) if config.map_file else None,
                config.owner_fallback, config.enable_schedules, config.connection_secrets,
                config.max_concurrency)
            restore, planned = plan(store, options, progress=context.log.info)
        except (MigrationError, RestoreError, LookerError, HistoryError, KeyError) as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None
        try:
            outcome = finish(restore, planned, not config.dry_run, bool(config.folders))
        finally:
            restore.client.close()
    data = outcome.as_dict()
    metadata = {"dry_run": config.dry_run, "target": restore.client.base_url,
                "at": at or "latest", **data["summary"],
                "results": dg.MetadataValue.json(data["results"]),
                "owner_fallbacks": dg.MetadataValue.json(data["owner_fallbacks"]),
                "content_validation": dg.MetadataValue.json(data["content_validation"]),
                "content_validation_at_source": len(data["content_validation_at_source"]),
                **{f"target_{k}": v for k, v in data["requests"].items()}}
    if not outcome.ok:
        bad = [r for r in data["results"] if r["action"] == "failed" or r["differs"]]
        raise dg.Failure(description="; ".join(
            f"{r['type']} {r['id']}: {r['error'] or r['differs']}" for r in bad[:10]),
            metadata=metadata, allow_retries=False)
    return dg.Output(None, metadata=metadata)


@dg.job(name="looker_migrate_job", tags={"looker/api": "true"},
        description="Migrate backed-up content into another Looker instance (dry run unless "
        "dry_run: false).")
def looker_migrate_job() -> None:
    migrate_objects()
