"""One migration: plan (GET requests only), then, if asked, write through the restore engine
and run the target's content validator on what it wrote."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from looker_assets.looker.errors import LookerError
from looker_assets.migrate.identity import Migration, MigrationError, Renames
from looker_assets.migrate.scope import folder_overrides, select
from looker_assets.migrate.target import open_target
from looker_assets.restore import kinds as K
from looker_assets.restore.engine import Request, Restore, Target
from looker_assets.storage.history import last_sync
from looker_assets.storage.store import ContentStore

ACTIONS = ("create", "update", "unchanged", "skipped", "failed")


@dataclass
class Outcome:
    targets: list[Target]
    written: bool
    migration: Migration
    # The target validator's errors about what was written: those the source's own LookML
    # (as backed up) explains too, and the rest, which the migration brought.
    validation: list[dict[str, Any]] = field(default_factory=list)
    validation_at_source: list[dict[str, Any]] = field(default_factory=list)
    validation_note: str | None = None
    # The target's requests, by kind (list, detail, write...): what the run cost.
    requests: dict[str, int] = field(default_factory=dict)

    def results(self) -> list[dict[str, Any]]:
        return [result(t) for t in self.targets]

    @property
    def ok(self) -> bool:
        return not any(r["action"] == "failed" or (self.written and r["differs"])
                       for r in self.results())

    def as_dict(self) -> dict[str, Any]:
        results = self.results()
        return {"written": self.written, "results": results,
                "summary": {a: sum(1 for r in results if r["action"] == a) for a in ACTIONS},
                "owner_fallbacks": sorted(self.migration.fallbacks),
                "stale_id_map": sorted(self.migration.stale),
                "content_validation": self.validation,
                "content_validation_at_source": self.validation_at_source,
                "content_validation_note": self.validation_note, "requests": self.requests}


def result(t: Target) -> dict[str, Any]:
    """restore --json's shape, with the target's id as `target_id`."""
    out = t.result()
    action = out["action"]
    if action == "undelete":
        action = "update"  # a trashed target object brought back
    return {"type": out["type"], "id": out["id"], "action": action,
            "target_id": t.live_id, "error": out["error"], "note": out["note"],
            "matched_by": None if t.live_id is None else t.matched_by,
            "changes": out["changes"], "pulled_by": out["pulled_by"],
            "verified": out["verified"], "differs": out["differs"]}


@dataclass
class Options:
    """What to migrate where: the CLI's flags, the Dagster job's config."""

    target: str
    ini: Path = Path("looker.ini")
    folders: list[str] = field(default_factory=list)
    type_name: str | None = None
    ids: list[str] = field(default_factory=list)
    at: str | None = None
    into: str | None = None
    map_file: Path | None = None
    owner_fallback: str | None = None
    enable_schedules: bool = False
    connection_secrets: dict[str, str] = field(default_factory=dict)
    max_concurrency: int = 8


def plan(store: ContentStore, options: Options,
         progress: Callable[[str], None] | None = None) -> tuple[Restore, list[Target]]:
    """Open the target, select the scope, and plan (GET requests only). Raises
    MigrationError, RestoreError or LookerError for what stops it before any plan."""
    client = open_target(options.ini, options.target, store.instance(),
                         options.max_concurrency)
    # Without --at: as of the last completed sync, so what the source has deleted since is
    # not migrated (restore, by contrast, reads each object's latest version, gone or not).
    at = options.at or last_sync(store)
    if at is None:
        raise MigrationError(f"no sync has completed in {store.location} yet: run one first")
    items = select(store, options.folders, options.type_name, options.ids, at)
    renames = Renames.load(options.map_file)
    migration = Migration(renames, options.owner_fallback, folder_overrides(
        store, client, options.folders, options.into, renames.folders, at))
    choice = K.Choice(enable_plans=options.enable_schedules,
                      connection_secrets=options.connection_secrets)
    request = Request(items, at=at, dry_run=True, max_concurrency=options.max_concurrency,
                      choice=choice, migration=migration)
    restore = Restore(store, client, request, progress=progress)
    if options.owner_fallback:
        migration.fallback_id(restore)  # a wrong email stops here, before any plan
    return restore, restore.run()


def finish(restore: Restore, planned: list[Target], write: bool,
           folders_in_scope: bool) -> Outcome:
    """Write the plan (unless `write` is false), validate what was written, and count the
    run's requests."""
    outcome = Outcome(restore.execute(planned) if write else planned, write,
                      restore.request.migration)
    if write and folders_in_scope:
        validate(restore, outcome)
    outcome.requests = restore.client.stats.as_dict()
    return outcome


def validate(restore: Restore, outcome: Outcome) -> None:
    """The target's content validator on the folders the migration wrote into. What it
    reports about the migrated looks and dashboards is in the results, split by whether the
    source has the same error: the backup holds no validator run, but it holds the source's
    explores, so an unknown field, explore or model the source's LookML lacks too is the
    content's own error, not the migration's."""
    folders = sorted({t.live_id for t in outcome.targets
                      if t.kind.name == "folders" and t.live_id})
    mine = {(t.kind.name, t.live_id) for t in outcome.targets if t.live_id}
    try:
        report = restore.client.get_json("/content_validation",
                                         {"space_ids": ",".join(folders)} if folders else None)
    except LookerError as exc:
        outcome.validation_note = f"the target's content validator did not answer: {exc}"
        return
    for entry in (report or {}).get("content_with_errors") or []:
        for type_, key in (("dashboards", "dashboard"), ("looks", "look")):
            obj = entry.get(key) or {}
            element = entry.get("dashboard_element") or {}
            if not obj and key == "dashboard":
                obj = {"id": element.get("dashboard_id")} if element else {}
            if obj.get("id") is None or (type_, str(obj["id"])) not in mine:
                continue
            for error in entry.get("errors") or []:
                found = {
                    "type": type_, "target_id": str(obj["id"]), "title": obj.get("title"),
                    "element": element.get("title"), "message": error.get("message"),
                    "model": error.get("model_name"), "explore": error.get("explore_name"),
                    "field": error.get("field_name")}
                at_source = _source_lacks(restore, found)
                (outcome.validation_at_source if at_source else outcome.validation).append(
                    found)


def _source_lacks(restore: Restore, error: dict[str, Any]) -> bool:
    """Whether the source's backed-up LookML lacks what a validator error names too (its
    explore, or the field among the explore's fields). Unknown (no model or explore named,
    explores not backed up): False, so the error is reported as the migration's."""
    model, explore, name = error["model"], error["explore"], error["field"]
    if not isinstance(model, str) or not isinstance(explore, str):
        return False
    migration = restore.request.migration
    back = {new: old for old, new in (migration.renames.models if migration else {}).items()}
    source_model = back.get(model, model)
    source = restore.backup_of("explores", f"{source_model}::{explore}")
    if source is None:
        # At the source too only if its backed-up model says it has no such explore (an
        # explore a sync could not read is not evidence).
        listed = (restore.backup_of("lookml_models", source_model) or {}).get("explores")
        return isinstance(listed, list) and explore not in {
            e.get("name") for e in listed if isinstance(e, dict)}
    if not isinstance(name, str) or not name:
        return False
    groups = source.get("fields") or {}
    names = {f.get("name") for part in groups.values() if isinstance(part, list)
             for f in part if isinstance(f, dict)} if isinstance(groups, dict) else set()
    return name not in names
