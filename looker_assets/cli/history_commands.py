"""The history of the backup: one object's versions, what changed between two moments, and
retention (prune) and compaction."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from looker_assets.cli.common import (
    DbOption,
    JsonOption,
    app,
    console,
    content_type,
    emit_json,
    fail,
    human_bytes,
    moment,
    open_store,
    say,
    short_time,
)
from looker_assets.content_types import BY_NAME, CONTENT_TYPES, ContentType
from looker_assets.storage.compaction import compact
from looker_assets.storage.history import (
    HistoryError,
    Version,
    changed_paths,
    changed_top_keys,
    checksums_at,
    diff_checksums,
    is_absent,
    sync_cutoff,
    version_at,
    versions_of,
)
from looker_assets.storage.retention import cutoff_for, prune
from looker_assets.storage.store import ContentStore

# Objects listed per change kind in the plain output (--json lists them all).
SHOWN = 20


@app.command(rich_help_panel="History")
def history(content_type_name: Annotated[str, typer.Argument(metavar="TYPE",
                                                             help="e.g. dashboards")],
            object_id: Annotated[str, typer.Argument(help="Looker id")],
            db: DbOption = None, json_output: JsonOption = False) -> None:
    """Every kept version of one object.

    Per version: from, to, size, checksum, and the top-level keys that changed from the
    version before."""
    ct = content_type(content_type_name)
    with open_store(db) as store:
        versions = versions_of(store, ct.code, object_id)
        if not versions:
            fail(f"no {ct.name} with id {object_id!r} in the history")
        try:
            rows = _version_rows(versions)
        except HistoryError as exc:
            fail(str(exc))
    if json_output:
        emit_json({"type": ct.name, "id": object_id, "versions": rows})
        return
    table = Table(title=f"{ct.name} {object_id}: {len(rows)} versions")
    for column in ("from", "to", "size", "checksum", "then", "changed keys"):
        table.add_column(column, justify="right" if column == "size" else "left")
    for row in rows:
        table.add_row(short_time(row["from"]), short_time(row["to"], "now"),
                      human_bytes(row["size"]), row["checksum"][:12], row["ended"],
                      escape(", ".join(row["changed_keys"])))
    console.print(table)


def _version_rows(versions: list[Version]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    previous: Any = None
    for i, version in enumerate(versions):
        obj = version.decoded()
        following = versions[i + 1] if i + 1 < len(versions) else None
        if version.valid_to is None:
            ended = "current"
        elif following is not None and following.valid_from == version.valid_to:
            ended = "changed"
        else:
            ended = "deleted"  # gone from Looker (seen again later, if a version follows)
        rows.append({"from": version.valid_from, "to": version.valid_to,
                     "size": version.content_size, "checksum": version.checksum,
                     "ended": ended,
                     "changed_keys": ["(first version)"] if i == 0
                     else changed_top_keys(previous, obj)})
        previous = obj
    return rows


@app.command(rich_help_panel="History")
def diff(
    from_: Annotated[str, typer.Option("--from", metavar="WHEN", help="The earlier moment.")],
    to: Annotated[str, typer.Option("--to", metavar="WHEN", help="The later moment.")],
    content_type_name: Annotated[str | None, typer.Argument(
        metavar="[TYPE]", help="Only this content type.")] = None,
    object_id: Annotated[str | None, typer.Argument(
        metavar="[ID]", help="One object: the key paths that changed, old and new values.")]
    = None,
    db: DbOption = None, json_output: JsonOption = False,
) -> None:
    """What changed between two moments.

    Added, changed and deleted objects per type; for one object, every changed key path with
    its old and new value."""
    types = [content_type(content_type_name)] if content_type_name else list(CONTENT_TYPES)
    with open_store(db) as store:
        start, end = moment(store, from_, "--from"), moment(store, to, "--to")
        if start > end:
            fail(f"--from ({start}) is after --to ({end})", 2)
        if object_id is not None:
            _diff_object(store, types[0], object_id, start, end, json_output)
        else:
            _diff_types(store, types, start, end, json_output)


def _diff_types(store: ContentStore, types: list[ContentType], start: str, end: str,
                json_output: bool) -> None:
    results, not_synced = [], []
    for ct in types:
        before, after = sync_cutoff(store, ct.code, start), sync_cutoff(store, ct.code, end)
        if before is None or after is None:
            not_synced.append(ct.name)
            continue
        d = diff_checksums(checksums_at(store, ct.code, before),
                           checksums_at(store, ct.code, after))
        results.append({"type": ct.name, "from_sync": before, "to_sync": after,
                        "added": d.added, "changed": d.changed, "deleted": d.deleted})
    if json_output:
        emit_json({"from": start, "to": end, "content_types": results,
                   "not_synced": not_synced})
        return
    table = Table(title=f"Changes from {start} to {end}")
    for column in ("type", "added", "changed", "deleted"):
        table.add_column(column, justify="left" if column == "type" else "right")
    for r in results:
        table.add_row(r["type"], *(f"{len(r[k]):,}" for k in ("added", "changed", "deleted")))
    console.print(table)
    for r in results:
        names = store.names(BY_NAME[r["type"]].code)
        for kind in ("added", "changed", "deleted"):
            for id_ in r[kind][:SHOWN]:
                say(f"  {kind:8} {r['type']} {id_}  {names.get(id_) or ''}")
            if len(r[kind]) > SHOWN:
                console.print(f"  ... and {len(r[kind]) - SHOWN:,} more {kind} {r['type']} "
                              f"(--json lists all)")
    if not_synced:
        console.print(f"not synced at both moments: {', '.join(not_synced)}")


def _diff_object(store: ContentStore, ct: ContentType, id_: str, start: str, end: str,
                 json_output: bool) -> None:
    before_sync, after_sync = sync_cutoff(store, ct.code, start), sync_cutoff(store, ct.code, end)
    if before_sync is None or after_sync is None:
        fail(f"no sync of {ct.name} had completed at "
             f"{start if before_sync is None else end}", 2)
    before = version_at(store, ct.code, id_, before_sync)
    after = version_at(store, ct.code, id_, after_sync)
    if before is None and after is None:
        fail(f"no {ct.name} with id {id_!r} at either moment")
    try:
        old = before.decoded() if before else None
        new = after.decoded() if after else None
    except HistoryError as exc:
        fail(str(exc))
    if before is None:
        status, changes = "added", []
    elif after is None:
        status, changes = "deleted", []
    else:
        changes = list(changed_paths(old, new))
        status = "changed" if changes else "unchanged"
    if json_output:
        emit_json({"type": ct.name, "id": id_, "from": start, "to": end, "status": status,
                   "changes": [_change(path, a, b) for path, a, b in changes]})
        return
    say(f"{ct.name} {id_}: {status} from {start} to {end}")
    for path, a, b in changes:
        say(f"  {path}: {_shown(a)} -> {_shown(b)}")


def _change(path: str, old: Any, new: Any) -> dict[str, Any]:
    """A changed path as JSON: a side where the key is absent has no old/new entry."""
    change: dict[str, Any] = {"path": path}
    if not is_absent(old):
        change["old"] = old
    if not is_absent(new):
        change["new"] = new
    return change


def _shown(value: Any) -> str:
    if is_absent(value):
        return "(absent)"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 120 else text[:117] + "..."


@app.command(name="prune", rich_help_panel="History")
def prune_command(
    older_than: Annotated[float, typer.Option(
        "--older-than", metavar="DAYS",
        help="Remove versions that stopped being current, and objects deleted from Looker, "
        "more than DAYS ago.")],
    dry_run: Annotated[bool, typer.Option(help="Report what would go; remove nothing.")]
    = False,
    vacuum: Annotated[bool, typer.Option(help="Then give the space back to the file system "
                                         "(rewrites the file; needs it to yourself).")]
    = False,
    db: DbOption = None, json_output: JsonOption = False,
) -> None:
    """Retention: drop history older than DAYS.

    Never the current version of a live object. Moments before the cutoff can no longer be
    read afterwards."""
    try:
        cutoff = cutoff_for(older_than)
    except ValueError as exc:
        fail(str(exc), 2)
    with open_store(db) as store:
        report = prune(store, cutoff, dry_run=dry_run, vacuum=vacuum)
    if json_output:
        emit_json(report.as_dict())
        return
    verb = "would remove" if dry_run else "removed"
    console.print(
        f"{verb} {report.versions_removed:,} versions and {report.objects_removed:,} deleted "
        f"objects closed before {cutoff}: {human_bytes(report.bytes_removed)} of content "
        f"({report.blobs_removed:,} stored blobs)", highlight=False)
    if not dry_run:
        console.print(
            f"file {human_bytes(report.file_bytes_before)} -> "
            f"{human_bytes(report.file_bytes_after)}"
            + ("" if report.vacuumed else f"; {human_bytes(report.free_bytes)} free inside it "
               f"for later syncs (--vacuum returns it to the file system)"), highlight=False)


@app.command(name="compact", rich_help_panel="History")
def compact_command(
    vacuum: Annotated[bool, typer.Option(help="Then give the space back to the file system "
                                         "(rewrites the file; needs it to yourself).")]
    = False,
    db: DbOption = None, json_output: JsonOption = False,
) -> None:
    """Compress what older releases stored uncompressed, as new versions are written.

    Trains per-type dictionaries, re-encodes current objects and past versions (as deltas
    against the version before where smaller) in batches: safe to stop and run again, and
    syncs may run meanwhile. Every read gives the same bytes before and after."""
    with open_store(db) as store:
        err = Console(stderr=True)

        def progress(name: str, rows: int) -> None:
            if not json_output:
                err.print(f"  {name}: {rows:,} re-encoded", highlight=False)

        report = compact(store, vacuum=vacuum, progress=progress)
    if json_output:
        emit_json(report.as_dict())
        return
    trained = ", ".join(report.dictionaries_trained) or "none"
    console.print(
        f"re-encoded {report.current_recoded:,} current objects and {report.past_recoded:,} "
        f"past versions in {report.seconds:.1f} s; dictionaries trained: {trained}\n"
        f"stored bodies {human_bytes(report.stored_bytes_before)} -> "
        f"{human_bytes(report.stored_bytes_after)} (saved {human_bytes(report.saved)}); "
        f"file {human_bytes(report.file_bytes_before)} -> "
        f"{human_bytes(report.file_bytes_after)}"
        + ("" if report.vacuumed else " (--vacuum returns the freed space to the file system)"),
        highlight=False)
