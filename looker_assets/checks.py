"""Asset checks on every content type, run with each materialization.

- integrity: every stored row decodes, and its checksum and content_size match;
- history: versions never overlap, the latest is the stored row, every version decodes and
  matches its checksum;
- reconciliation: the active count equals what the completed sync handled from Looker's listing;
- references (warning): objects point at folders, sets, dashboards and looks that are stored.

Each content type's checks are one subsettable multi-asset check: one step per type, not per
check (a step costs a process start under the multiprocess executor), and not one for all types
(a step downstream of every asset would be skipped when any one type fails).
"""

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import dagster as dg

from looker_assets.assets import IO_MANAGER_KEY, asset_key
from looker_assets.content_types import CONTENT_TYPES, ContentType
from looker_assets.io_manager import UNPARTITIONED, LookerContentIOManager
from looker_assets.storage.history import counts_at, partition_cutoff
from looker_assets.storage.integrity import (
    IntegrityReport,
    check_history,
    check_rows,
    dangling_references,
    unjudged_targets,
)
from looker_assets.storage.store import ContentStore

# How many offending rows a check names in its metadata (the CLI lists them all).
SHOWN = 20

# A check returns the keyword arguments of its AssetCheckResult.
CheckFn = Callable[[ContentStore, ContentType, str], dict[str, Any]]


def _report_result(report: IntegrityReport, what: str) -> dict[str, Any]:
    return dict(
        passed=report.ok,
        description=None if report.ok else f"{len(report.bad)} bad {what}",
        metadata={what: report.rows, f"bad_{what}": len(report.bad),
                  "bad": [f"{b.id}: {b.problem}" for b in report.bad[:SHOWN]]},
    )


def integrity(store: ContentStore, ct: ContentType, partition: str) -> dict[str, Any]:
    return _report_result(check_rows(store, ct), "rows")


def history(store: ContentStore, ct: ContentType, partition: str) -> dict[str, Any]:
    return _report_result(check_history(store, ct), "versions")


def reconciliation(store: ContentStore, ct: ContentType, partition: str) -> dict[str, Any]:
    checkpoint = store.checkpoint(ct.code, partition)
    cutoff = partition_cutoff(store, ct.code, partition)
    if checkpoint is None or checkpoint["status"] != "complete" or cutoff is None:
        return dict(
            passed=False, description=f"no complete sync for partition {partition}",
            metadata={"partition": partition})
    # As of the end of that partition's sync, so a later day's sync does not change the answer.
    active = counts_at(store, ct.code, cutoff)["active"]
    listed = int(checkpoint["state"].get("completed_objects", -1))
    return dict(
        passed=active == listed,
        description=None if active == listed else f"{active} active rows, Looker listed {listed}",
        metadata={"active": active, "listed": listed, "partition": partition},
    )


def references(store: ContentStore, ct: ContentType, partition: str) -> dict[str, Any]:
    dangling = list(dangling_references(store, ct))
    return dict(
        passed=not dangling,
        severity=dg.AssetCheckSeverity.WARN,
        description=None if not dangling else f"{len(dangling)} dangling references",
        metadata={"dangling": len(dangling),
                  "examples": [f"{d.id}.{d.field} -> {d.target} {d.value}"
                               for d in dangling[:SHOWN]],
                  "not_checked": ", ".join(unjudged_targets(store, ct)) or "none"},
    )


CHECKS: dict[str, tuple[CheckFn, str]] = {
    "integrity": (integrity, "Every stored row decodes; checksum and content_size match."),
    "history": (history, "Versions never overlap; the latest is the stored row; every "
                "version decodes and matches its checksum."),
    "reconciliation": (reconciliation, "Active rows equal the objects Looker listed in the sync."),
    "references": (references, "References point at stored objects (warning only)."),
}


def check_names(ct: ContentType) -> list[str]:
    return [name for name in CHECKS if name != "references" or ct.references]


def build_content_checks(types: Sequence[ContentType] = CONTENT_TYPES) -> dg.AssetChecksDefinition:
    by_key: dict[dg.AssetCheckKey, tuple[ContentType, CheckFn]] = {}
    specs = []
    for ct in types:
        for name in check_names(ct):
            fn, description = CHECKS[name]
            spec = dg.AssetCheckSpec(name, asset=asset_key(ct), description=description)
            specs.append(spec)
            by_key[spec.key] = (ct, fn)

    name = "looker_checks" if len(types) != 1 else f"looker_{types[0].name}_checks"

    @dg.multi_asset_check(specs=specs, can_subset=True, name=name,
                          required_resource_keys={IO_MANAGER_KEY})
    def looker_content_checks(context: dg.AssetCheckExecutionContext,
                              ) -> Iterator[dg.AssetCheckResult]:
        manager: LookerContentIOManager = getattr(context.resources, IO_MANAGER_KEY)
        partition = context.run.tags.get("dagster/partition", UNPARTITIONED)
        with manager.open_store() as store:
            for key in sorted(context.selected_asset_check_keys, key=str):
                ct, fn = by_key[key]
                yield dg.AssetCheckResult(asset_key=key.asset_key, check_name=key.name,
                                          **fn(store, ct, partition))

    return looker_content_checks


CONTENT_CHECKS: list[dg.AssetChecksDefinition] = [
    build_content_checks([ct]) for ct in CONTENT_TYPES
]
