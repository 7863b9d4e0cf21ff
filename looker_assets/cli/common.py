"""What every `looker-assets` command shares: the Typer app, output, errors, the store."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from looker_assets import content_types
from looker_assets.settings import database_location
from looker_assets.storage.backend import is_url
from looker_assets.storage.history import HistoryError, check_moment, parse_moment
from looker_assets.storage.store import ContentStore, StoreError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Back up a Looker instance into one SQLite file, as Dagster assets.")
console = Console()

DbOption = Annotated[str | None, typer.Option(
    "--db", help="SQLite file or postgresql:// URL (default $LOOKER_ASSETS_DB, else "
    "./looker_assets.sqlite).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
AtOption = Annotated[str | None, typer.Option(
    "--at", metavar="WHEN", help="As of WHEN: an ISO-8601 timestamp (UTC without an offset) "
    "or a date YYYY-MM-DD (the end of that UTC day).")]


def human_bytes(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def fail(message: str, code: int = 1) -> NoReturn:
    Console(stderr=True).print(f"[red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def say(text: str) -> None:
    """A line holding Looker's data (titles, ids, JSON): printed as is, never as markup."""
    console.print(text, markup=False, highlight=False)


def short_time(stored: str | None, none: str = "") -> str:
    """A stored timestamp for a table cell, to the second (`--json` gives it in full)."""
    return none if stored is None else stored[:19].replace("T", " ")


def emit_json(payload: object) -> None:
    typer.echo(json.dumps(payload, default=str, ensure_ascii=False))


def open_store(db: str | None) -> ContentStore:
    location = database_location(db)
    if not is_url(location) and not Path(location).exists():
        fail(f"no database at {location}; run a sync first or pass --db", 2)
    try:
        store = ContentStore(location)
    except StoreError as exc:
        fail(str(exc), 2)
    err = Console(stderr=True)
    for warning in store.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    if store.upgraded_from is not None:
        first = ("; its stored objects are the first versions of their history"
                 if store.upgraded_from < 2 else "")
        err.print(f"upgraded {escape(store.location)} from schema {store.upgraded_from} to the "
                  f"current one{first}; what it held stays uncompressed until "
                  f"`looker-assets compact`", highlight=False)
    return store


def content_type(name: str) -> content_types.ContentType:
    try:
        return content_types.get(name)
    except content_types.UnknownContentType as exc:
        fail(str(exc), 2)


def moment(store: ContentStore, text: str, label: str = "WHEN") -> str:
    """`text` as a stored moment the store can answer for, or a clear error (exit 2)."""
    try:
        at = parse_moment(text, label)
        check_moment(store, at, label)
    except HistoryError as exc:
        fail(str(exc), 2)
    return at
