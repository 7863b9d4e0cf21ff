"""Asset checks on every content type, run with each materialization.

- integrity: every stored row decodes, and its checksum and content_size match;
- reconciliation: the active count equals what the completed sync handled from Looker's listing;
- references (warning): objects point at folders, sets, dashboards and looks that are stored.
"""


import dagster as dg

from looker_assets.assets import IO_MANAGER_KEY, asset_key
from looker_assets.content_types import CONTENT_TYPES, ContentType
from looker_assets.io_manager import UNPARTITIONED, LookerContentIOManager
from looker_assets.storage.integrity import check_rows, dangling_references

# How many offending rows a check names in its metadata (the CLI lists them all).
SHOWN = 20


def _io_manager(context: dg.AssetCheckExecutionContext) -> LookerContentIOManager:
    return getattr(context.resources, IO_MANAGER_KEY)


def _partition(context: dg.AssetCheckExecutionContext) -> str:
    return context.run.tags.get("dagster/partition", UNPARTITIONED)


def build_checks(content_type: ContentType) -> list[dg.AssetChecksDefinition]:
    key = asset_key(content_type)
    resources = {IO_MANAGER_KEY}

    @dg.asset_check(asset=key, name="integrity", required_resource_keys=resources,
                    description="Every stored row decodes; checksum and content_size match.")
    def integrity(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        with _io_manager(context).open_store() as store:
            report = check_rows(store, content_type)
        return dg.AssetCheckResult(
            passed=report.ok,
            description=None if report.ok else f"{len(report.bad)} bad rows",
            metadata={"rows": report.rows, "bad_rows": len(report.bad),
                      "bad": [f"{b.id}: {b.problem}" for b in report.bad[:SHOWN]]},
        )

    @dg.asset_check(asset=key, name="reconciliation", required_resource_keys=resources,
                    description="Active rows equal the objects Looker listed in the sync.")
    def reconciliation(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
        partition = _partition(context)
        with _io_manager(context).open_store() as store:
            checkpoint = store.checkpoint(content_type.code, partition)
            active = len(store.active_ids(content_type.code))
        if checkpoint is None or checkpoint["status"] != "complete":
            return dg.AssetCheckResult(
                passed=False, description=f"no complete sync for partition {partition}",
                metadata={"active": active, "partition": partition})
        listed = int(checkpoint["state"].get("completed_objects", -1))
        return dg.AssetCheckResult(
            passed=active == listed,
            description=None if active == listed else f"{active} active rows, Looker listed "
            f"{listed}",
            metadata={"active": active, "listed": listed, "partition": partition},
        )

    checks = [integrity, reconciliation]
    if content_type.references:

        @dg.asset_check(asset=key, name="references", required_resource_keys=resources,
                        description="References point at stored objects (warning only).")
        def references(context: dg.AssetCheckExecutionContext) -> dg.AssetCheckResult:
            with _io_manager(context).open_store() as store:
                dangling = list(dangling_references(store, content_type))
            return dg.AssetCheckResult(
                passed=not dangling,
                severity=dg.AssetCheckSeverity.WARN,
                description=None if not dangling else f"{len(dangling)} dangling references",
                metadata={"dangling": len(dangling),
                          "examples": [f"{d.id}.{d.field} -> {d.target} {d.value}"
                                       for d in dangling[:SHOWN]]},
            )

        checks.append(references)
    return checks


CONTENT_CHECKS: list[dg.AssetChecksDefinition] = [
    check for ct in CONTENT_TYPES for check in build_checks(ct)
]
