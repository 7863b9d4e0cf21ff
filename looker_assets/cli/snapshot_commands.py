"""`looker-assets snapshot ...`: offsite copies of the whole store (looker_assets.snapshots)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from looker_assets.cli.common import (
    DbOption,
    JsonOption,
    app,
    console,
    emit_json,
    fail,
    human_bytes,
)
from looker_assets.settings import database_location
from looker_assets.snapshots import (
    IDENTITY_ENV,
    RECIPIENT_ENV,
    URL_ENV,
    SnapshotError,
    SnapshotNotFound,
    keys,
    operations,
)
from looker_assets.snapshots.destination import Destination, open_destination
from looker_assets.snapshots.manifest import is_name
from looker_assets.storage.backend import is_url, redact

snapshot_app = typer.Typer(
    no_args_is_help=True,
    help=f"Offsite snapshots of the whole store: push, list, pull, verify, prune. URL: "
    f"s3://bucket/prefix, gs://bucket/prefix, az://account/container/prefix or a folder "
    f"(default ${URL_ENV}).")
app.add_typer(snapshot_app, name="snapshot", rich_help_panel="Snapshots")

UrlArgument = Annotated[str | None, typer.Argument(
    metavar="[URL]", help=f"Where snapshots are (default ${URL_ENV}).", show_default=False)]
IdentityOption = Annotated[Path | None, typer.Option(
    "--identity", metavar="FILE", help=f"age identity file (age-keygen's output) to decrypt "
    f"with (default ${IDENTITY_ENV}).")]


def _destination(url: str | None) -> Destination:
    try:
        return open_destination(url)
    except SnapshotError as exc:
        fail(str(exc), 2)


def _url_and_name(first: str | None, second: str | None) -> tuple[str | None, str | None]:
    """`[URL] NAME`: one argument is a name when it looks like one (or is `latest`)."""
    if second is not None:
        return first, second
    if first is not None and (first == "latest" or is_name(first)):
        return None, first
    return first, None


def _err(text: str) -> None:
    Console(stderr=True).print(text, highlight=False, markup=False)


@snapshot_app.command()
def push(url: UrlArgument = None, db: DbOption = None,
         recipient: Annotated[list[str] | None, typer.Option(
             "--recipient", metavar="AGE_PUBKEY", help=f"Encrypt to this age public key "
             f"(age1...; repeatable; default ${RECIPIENT_ENV}).")] = None,
         work_dir: Annotated[Path | None, typer.Option(
             help="Folder for the temporary copy (default: the store's folder, or the "
             "system's temp folder for PostgreSQL).")] = None,
         json_output: JsonOption = False) -> None:
    """Upload a consistent copy of the store (history included), compressed, optionally
    encrypted; syncs may keep running."""
    destination = _destination(url)
    location = database_location(db)
    if not is_url(location) and not Path(location).is_file():
        fail(f"no database at {location}; run a sync first or pass --db", 2)
    try:
        recipients = keys.parse_recipients(recipient)
        pushed = operations.push(destination, location, recipients, work_dir,
                                 log=lambda text: None if json_output else _err(text))
    except SnapshotError as exc:
        fail(str(exc))
    if json_output:
        emit_json(pushed.as_dict())
        return
    console.print(f"pushed {pushed.name} to {escape(pushed.url)}: {human_bytes(pushed.bytes)} "
                  f"from a {human_bytes(pushed.store_bytes)} store of "
                  f"{escape(redact(location))} in {pushed.seconds:.1f} s"
                  + (" (encrypted)" if pushed.encrypted else ""), highlight=False)
    console.print(f"sha256 {pushed.sha256}", highlight=False)


@snapshot_app.command(name="list")
def list_command(url: UrlArgument = None, json_output: JsonOption = False,
                 show_all: Annotated[bool, typer.Option(
                     "--all", help="Also uploads that never finished (no manifest).")] = False,
                 ) -> None:
    """Snapshots, newest first."""
    destination = _destination(url)
    try:
        listing = operations.list_snapshots(destination)
    except SnapshotError as exc:
        fail(str(exc))
    if json_output:
        rows = []
        for s in listing.snapshots:
            m = s.manifest
            row = {"name": s.name, "created_at": s.created_at,
                   "bytes": m.bytes if m else listing.sizes.get(s.name),
                   "sha256": m.sha256 if m else None,
                   "encrypted": (m.encryption is not None) if m else None}
            if s.problem:
                row["problem"] = s.problem
            rows.append(row)
        payload: dict[str, object] = {"snapshots": rows}
        if show_all:
            payload["incomplete"] = [{"name": n, "bytes": listing.sizes[n]}
                                     for n in listing.incomplete]
        emit_json(payload)
        return
    table = Table(title=f"Snapshots at {escape(destination.url)}")
    for column in ("#", "name", "created (UTC)", "size", "sha256", "encrypted", "status"):
        table.add_column(column, justify="right" if column in ("#", "size") else "left",
                         no_wrap=column in ("name", "created (UTC)"))
    for index, s in enumerate(listing.snapshots, 1):
        m = s.manifest
        table.add_row(str(index), s.name, (s.created_at or "?").replace("T", " ")[:19],
                      human_bytes(m.bytes) if m else "", m.sha256[:12] if m else "",
                      ("yes" if m.encryption else "no") if m else "",
                      "ok" if m else f"[yellow]{escape(str(s.problem))}[/]")
    if show_all:
        for name in listing.incomplete:
            table.add_row("", name, "", human_bytes(listing.sizes[name]), "", "",
                          "[yellow]incomplete (no manifest)[/]")
    console.print(table)
    if not listing.snapshots:
        console.print("no snapshots yet")


@snapshot_app.command()
def pull(url_or_name: Annotated[str, typer.Argument(metavar="[URL] NAME|latest")],
         name: Annotated[str | None, typer.Argument(hidden=True)] = None,
         db: Annotated[Path | None, typer.Option(
             "--db", metavar="FILE", help="The SQLite file to write.")] = None,
         identity: IdentityOption = None,
         force: Annotated[bool, typer.Option(help="Replace FILE if it exists.")] = False,
         json_output: JsonOption = False) -> None:
    """Download a snapshot, check it, and write it as a SQLite store file."""
    url, chosen = _url_and_name(url_or_name, name)
    if chosen is None:
        fail("name the snapshot to pull (a name from `snapshot list`, or latest)", 2)
    if db is None or is_url(str(db)):
        fail("pass --db FILE: the SQLite file to write (every command can then read it with "
             "--db FILE)", 2)
    destination = _destination(url)
    try:
        identities = keys.load_identities(identity)
        manifest = operations.pull(destination, chosen, db, identities, force)
    except SnapshotNotFound as exc:
        fail(str(exc), 3)
    except SnapshotError as exc:
        fail(str(exc))
    if json_output:
        emit_json({"name": manifest.name, "file": str(db), "created_at": manifest.created_at,
                   "bytes": manifest.bytes, "sha256": manifest.sha256})
        return
    console.print(f"pulled {manifest.name} (created {manifest.created_at}) into "
                  f"{escape(str(db))}: SHA-256, "
                  + ("decryption, " if manifest.encryption else "")
                  + "store integrity checked", highlight=False)


@snapshot_app.command(name="verify")
def verify_command(url_or_name: Annotated[str | None, typer.Argument(
                       metavar="[URL] [NAME|latest]")] = None,
                   name: Annotated[str | None, typer.Argument(hidden=True)] = None,
                   all_snapshots: Annotated[bool, typer.Option(
                       "--all", help="Every snapshot (the default without NAME).")] = False,
                   read_data: Annotated[bool, typer.Option(
                       help="Download every byte: hash, decrypt, decompress, check the "
                       "store.")] = False,
                   identity: IdentityOption = None,
                   json_output: JsonOption = False) -> None:
    """Check snapshots; exit 1 naming each bad one."""
    url, chosen = _url_and_name(url_or_name, name)
    if chosen and all_snapshots:
        fail("give NAME or --all, not both", 2)
    destination = _destination(url)
    try:
        identities = keys.load_identities(identity) if read_data else None
        results = operations.verify(destination, [chosen] if chosen else None, read_data,
                                    identities)
    except SnapshotNotFound as exc:
        fail(str(exc), 3)
    except SnapshotError as exc:
        fail(str(exc))
    bad = [r for r in results if not r.ok]
    if json_output:
        emit_json({"ok": not bad, "read_data": read_data, "snapshots": [
            {"name": r.name, "ok": r.ok, "problems": r.problems, "decrypted": r.decrypted}
            for r in results]})
    else:
        for r in results:
            note = ""
            if r.read_data and r.decrypted is False:
                note = " (encrypted: hash checked only, no identity for it given)"
            elif r.read_data:
                note = " (every byte read and checked)"
            console.print(f"{r.name}: " + ("[green]ok[/]" if r.ok else "[red]BAD[/]") + note,
                          highlight=False)
            for problem in r.problems:
                console.print(f"  {escape(problem)}", highlight=False)
        console.print(f"{len(results)} snapshots checked, {len(bad)} bad" if results
                      else "no snapshots to check")
    if bad:
        _err("bad snapshots: " + ", ".join(r.name for r in bad))
        raise typer.Exit(1)


@snapshot_app.command(name="prune")
def prune_command(url: UrlArgument = None,
                  keep_last: Annotated[int, typer.Option(min=0, help="Keep the N newest.")] = 0,
                  keep_daily: Annotated[int, typer.Option(
                      min=0, help="Keep the newest of each of the N latest days (UTC).")] = 0,
                  keep_weekly: Annotated[int, typer.Option(
                      min=0, help="... of each of the N latest weeks (Monday-Sunday).")] = 0,
                  keep_monthly: Annotated[int, typer.Option(
                      min=0, help="... of each of the N latest months.")] = 0,
                  dry_run: Annotated[bool, typer.Option(help="Report, delete nothing.")] = False,
                  json_output: JsonOption = False) -> None:
    """Remove snapshots no --keep rule keeps (restic's rules). The newest snapshot, and any
    dated in the future or written by a newer release, are always kept."""
    keep = {"last": keep_last, "daily": keep_daily, "weekly": keep_weekly,
            "monthly": keep_monthly}
    if not any(keep.values()):
        fail("give at least one --keep-last/--keep-daily/--keep-weekly/--keep-monthly", 2)
    destination = _destination(url)
    try:
        decisions = operations.prune(destination, keep, dry_run, datetime.now(UTC))
    except SnapshotError as exc:
        fail(str(exc))
    removed = [d for d in decisions if not d.keep]
    if json_output:
        emit_json({"dry_run": dry_run, "snapshots": [
            {"name": d.name, "keep": d.keep, "reasons": d.reasons} for d in decisions]})
        return
    for d in decisions:
        action = "keep  " if d.keep else ("would remove" if dry_run else "remove")
        console.print(f"{action} {d.name}  ({d.why})", highlight=False)
    console.print(f"{len(removed)} of {len(decisions)} snapshots "
                  + ("would be removed (dry run)" if dry_run else "removed"))
