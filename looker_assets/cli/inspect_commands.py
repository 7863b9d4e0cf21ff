"""Reading the backup, now or as of a moment: verify, stats, show, export."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import typer
from rich.table import Table

from looker_assets.cli.common import (
    AtOption,
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
from looker_assets.content_types import BY_CODE, BY_NAME, CONTENT_TYPES, ContentType
from looker_assets.storage import codec
from looker_assets.storage.history import (
    HistoryError,
    counts_at,
    sync_cutoff,
    version_at,
    versions_at,
    versions_of,
)
from looker_assets.storage.integrity import check_history, check_rows
from looker_assets.storage.store import ContentStore


@app.command(rich_help_panel="Read the backup")
def verify(db: DbOption = None, json_output: JsonOption = False) -> None:
    """Check every stored row and every kept version; exit 1 on failure.

    Each decodes, its checksum and size match, versions never overlap, the latest is the
    stored row."""
    with open_store(db) as store:
        reports = [(check_rows(store, ct), check_history(store, ct)) for ct in CONTENT_TYPES]
    bad = [b for pair in reports for r in pair for b in r.bad]
    if json_output:
        emit_json({"ok": not bad,
                   "content_types": [{"type": rows.content_type, "rows": rows.rows,
                                      "versions": versions.rows,
                                      "bad": len(rows.bad) + len(versions.bad)}
                                     for rows, versions in reports],
                   "bad_rows": [b.__dict__ for b in bad]})
    else:
        table = Table(title="Integrity")
        for column in ("type", "rows", "versions", "bad", "status"):
            table.add_column(column, justify="left" if column == "type" else "right")
        for rows, versions in reports:
            failed = len(rows.bad) + len(versions.bad)
            table.add_row(rows.content_type, f"{rows.rows:,}", f"{versions.rows:,}",
                          str(failed), "[red]FAILED[/]" if failed else "[green]ok[/]")
        console.print(table)
        for b in bad:
            say(f"bad row {b.content_type} {b.id}: {b.problem}")
        console.print("[green]all rows and versions intact[/]" if not bad
                      else f"[red]{len(bad)} bad rows[/]")
    if bad:
        raise typer.Exit(1)


@app.command(rich_help_panel="Read the backup")
def stats(db: DbOption = None, at: AtOption = None, json_output: JsonOption = False) -> None:
    """Per content type: active and deleted objects, bytes, versions, how it sees change, its
    last complete sync and its last full read.

    With --at: as of WHEN, and the sync that answers for it."""
    with open_store(db) as store:
        when = moment(store, at) if at else None
        rows = _stats_at(store, when) if when else _stats_now(store)
        full_reads = store.last_full_reads(when)
    for row in rows:
        ct = BY_NAME[row["type"]]
        row.update(change=ct.change, reread=ct.reread or "-",
                   last_full_read=full_reads.get(ct.code))
    if json_output:
        emit_json({"at": at, "content_types": rows})
        return
    title = "Stored content" + (f" as of {at}" if at else "")
    table = Table(title=title, caption="bytes: current objects, uncompressed; stored: every "
                  "kept version (current and past) as stored, compressed, of: the same "
                  "uncompressed; change: how a nightly sync sees change (README, \"What a night "
                  "costs\"); re-read: the cadence on which every object is read again")
    last = "last sync" if not at else "as of sync"
    now_only = ("versions", "stored", "of") if not at else ()
    columns = ("type", "active", "deleted", "bytes", *now_only, "change", "re-read", last,
               "last full read")
    for column in columns:
        table.add_column(column, justify="right" if column in (
            "active", "deleted", "bytes", *now_only) else "left")
    for row in rows:
        cells = [row["type"], f"{row['active'] or 0:,}", f"{row['deleted'] or 0:,}",
                 human_bytes(row["bytes"] or 0)]
        if not at:
            cells += [f"{row['versions']:,}", human_bytes(row["stored_bytes"]),
                      human_bytes(row["uncompressed_bytes"])]
        cells += [row["change"], row["reread"],
                  short_time(row["last_sync"], "never" if not at else "not synced yet"),
                  short_time(row["last_full_read"], "never")]
        table.add_row(*cells)
    console.print(table)


def _stats_now(store: ContentStore) -> list[dict[str, Any]]:
    counts, last, versions = store.counts(), store.last_synced(), store.version_counts()
    bodies = store.body_bytes()
    return [{"type": ct.name, **counts.get(ct.code, {"active": 0, "deleted": 0, "bytes": 0}),
             "versions": versions.get(ct.code, 0),
             "stored_bytes": bodies.get(ct.code, (0, 0))[0],
             "uncompressed_bytes": bodies.get(ct.code, (0, 0))[1],
             "last_sync": last.get(ct.code)} for ct in CONTENT_TYPES]


def _stats_at(store: ContentStore, at: str) -> list[dict[str, Any]]:
    rows = []
    for ct in CONTENT_TYPES:
        cutoff = sync_cutoff(store, ct.code, at)
        counts = counts_at(store, ct.code, cutoff) if cutoff else {
            "active": 0, "deleted": 0, "bytes": 0}
        rows.append({"type": ct.name, **counts, "last_sync": cutoff})
    return rows


@app.command(rich_help_panel="Read the backup")
def show(content_type_name: Annotated[str, typer.Argument(metavar="TYPE",
                                                          help="e.g. dashboards")],
         object_id: Annotated[str, typer.Argument(help="Looker id, e.g. 42 or model::name")],
         db: DbOption = None, at: AtOption = None) -> None:
    """Print one stored object as JSON, exactly as Looker returned it.

    With --at: as it was at WHEN."""
    ct = content_type(content_type_name)
    with open_store(db) as store:
        if at is None:
            obj = store.get(ct.code, object_id)
            if obj is None:
                fail(f"no {ct.name} with id {object_id!r} in the database")
        else:
            obj = object_at(store, ct, object_id, moment(store, at), at)
    typer.echo(json.dumps(obj, indent=2, ensure_ascii=False))


def object_at(store: ContentStore, ct: ContentType, id_: str, at: str, label: str) -> Any:
    """`show --at`: the object as it was at `at`, or exit with a message saying why not."""
    cutoff = sync_cutoff(store, ct.code, at)
    if cutoff is None:
        fail(f"no sync of {ct.name} had completed at {label}", 2)
    version = version_at(store, ct.code, id_, cutoff)
    if version is None:
        kept = versions_of(store, ct.code, id_)
        when = "; it existed " + ", ".join(
            f"from {v.valid_from} to {v.valid_to or 'now'}" for v in kept) if kept else ""
        fail(f"no {ct.name} with id {id_!r} as of {label} (the sync that completed at "
             f"{cutoff}){when}")
    return version.decoded()


@app.command(rich_help_panel="Read the backup")
def export(directory: Annotated[Path, typer.Argument(help="Folder to write into.")],
           db: DbOption = None, at: AtOption = None,
           include_deleted: Annotated[bool, typer.Option(help="Also objects gone from Looker "
                                                         "(not with --at).")] = False,
           json_output: JsonOption = False) -> None:
    """One JSON file per object (DIR/<type>/<id>.json, sorted keys), for diffs and git.

    With --at: the instance as the syncs saw it at WHEN."""
    if at and include_deleted:
        fail("--include-deleted shows objects gone by now; with --at, export has exactly what "
             "Looker held at WHEN", 2)
    written: dict[str, int] = {}
    not_synced: list[str] = []
    with open_store(db) as store:
        if at is None:
            objects = ((BY_CODE[i.content_type].name, i.id, i.content_data)
                       for i in store.iter_items(include_deleted=include_deleted))
        else:
            objects = _objects_at(store, moment(store, at), not_synced)
        try:
            _write_files(directory, objects, written)
        except HistoryError as exc:
            fail(str(exc))
    if json_output:
        emit_json({"directory": str(directory), "at": at, "files": written,
                   "not_synced": not_synced})
    else:
        console.print(f"wrote {sum(written.values()):,} files under {directory}"
                      + (f" as of {at}" if at else ""))
        if not_synced:
            console.print(f"not synced yet at {at}: {', '.join(not_synced)}")


def _write_files(directory: Path, objects: Iterator[tuple[str, str, bytes]],
                 written: dict[str, int]) -> None:
    for name, id_, blob in objects:
        folder = directory / name
        if name not in written:
            folder.mkdir(parents=True, exist_ok=True)
            written[name] = 0
        # Ids are opaque (`model::name`, names with spaces): quote them into file names.
        text = json.dumps(codec.decode(blob), indent=2, sort_keys=True, ensure_ascii=False)
        (folder / f"{quote(id_, safe='')}.json").write_text(text + "\n", encoding="utf-8")
        written[name] += 1


def _objects_at(store: ContentStore, at: str,
                not_synced: list[str]) -> Iterator[tuple[str, str, bytes]]:
    for ct in CONTENT_TYPES:
        cutoff = sync_cutoff(store, ct.code, at)
        if cutoff is None:
            not_synced.append(ct.name)
            continue
        for version in versions_at(store, ct.code, cutoff):
            if version.content_data is None:
                version.decoded()  # raises, naming the version
            yield ct.name, version.id, version.content_data
