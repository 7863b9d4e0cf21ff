"""`looker-assets`: the demo, the emulator and inspection commands (Typer + Rich)."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, NoReturn
from urllib.parse import quote

import typer
from rich.console import Console
from rich.table import Table

from looker_assets import content_types
from looker_assets.content_types import BY_CODE, CONTENT_TYPES
from looker_assets.settings import database_path
from looker_assets.storage import codec
from looker_assets.storage.integrity import check_rows
from looker_assets.storage.store import ContentStore, StoreError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Back up a Looker instance into one SQLite file, as Dagster assets.")
console = Console()

# The terminal shows the summary (and bars); Dagster's own event lines only from warnings up.
# Every event is still in the run's log in DAGSTER_HOME, as the UI shows it.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}

PROJECT_DAGSTER_YAML = Path(__file__).resolve().parent.parent / "dagster.yaml"


def _prepare_dagster_home(default: Path) -> Path:
    """DAGSTER_HOME as set, else `default`, holding a dagster.yaml (telemetry off)."""
    home = Path(os.environ.get("DAGSTER_HOME") or default).resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        if PROJECT_DAGSTER_YAML.exists():
            shutil.copyfile(PROJECT_DAGSTER_YAML, config)
        else:
            config.write_text("telemetry:\n  enabled: false\n")
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def _human_bytes(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


@app.command()
def demo(
    scale: Annotated[int, typer.Option(help="Objects in the bundled emulator.")] = 2000,
    latency_ms: Annotated[float, typer.Option(help="Emulated latency per request.")] = 5.0,
    db: Annotated[Path, typer.Option(help="SQLite file to write.")] = Path("var/demo.sqlite"),
    partition: Annotated[str | None, typer.Option(help="Day partition (default today, UTC).")]
    = None,
    json_output: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")]
    = False,
) -> None:
    """Run the daily sync job against the bundled Looker emulator and summarise the result."""
    from looker_assets.emulator.subprocess_runner import EmulatorProcess

    _prepare_dagster_home(Path("var/dagster_home"))
    partition_key = partition or datetime.now(UTC).strftime("%Y-%m-%d")
    db_path = db.resolve()
    with EmulatorProcess(scale=scale, latency_ms=latency_ms) as emulator:
        if not json_output:
            console.print(f"[bold]Looker emulator[/] at {emulator.url} (scale {scale}, "
                          f"{latency_ms:g} ms latency)")
        os.environ.update({**emulator.looker_env(), "LOOKER_ASSETS_DB": str(db_path)})
        rows, ok = _run_job(partition_key)
    _print_summary(rows, db_path, partition_key, json_output)
    if not ok:
        raise typer.Exit(1)


def _run_job(partition_key: str) -> tuple[list[dict[str, object]], bool]:
    import dagster as dg

    from looker_assets.definitions import defs

    job = defs.resolve_job_def("looker_sync_job")
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(partition_key=partition_key, instance=instance,
                                        raise_on_error=False, run_config=QUIET)
    if not result.success:
        _report_failures(result)
    return _materialization_rows(result), result.success


def _materialization_rows(result: object) -> list[dict[str, object]]:
    rows = []
    for event in result.get_asset_materialization_events():  # type: ignore[attr-defined]
        mat = event.materialization
        meta = {k: v.value for k, v in mat.metadata.items() if k != "checkpoint"}
        rows.append({"type": mat.asset_key.path[-1], **meta})
    rows.sort(key=lambda r: str(r["type"]))
    return rows


def _report_failures(result: object) -> None:
    err_console = Console(stderr=True)
    for event in result.all_events:  # type: ignore[attr-defined]
        if event.is_step_failure and event.step_failure_data:
            err = event.step_failure_data.error
            message = err.message.strip() if err else ""
            err_console.print(f"[red]{event.step_key} failed:[/] {message}")


def _print_summary(rows: list[dict[str, object]], db_path: Path, partition_key: str,
                   json_output: bool) -> None:
    if json_output:
        console.print_json(json.dumps({"database": str(db_path), "partition": partition_key,
                                       "content_types": rows}, default=str))
        return
    table = Table(title=f"Looker sync, partition {partition_key}")
    for column in ("type", "objects", "bytes", "requests", "seconds", "objects/s"):
        table.add_column(column, justify="left" if column == "type" else "right")
    total_objects = total_bytes = total_requests = 0
    for row in rows:
        objects, size, requests = (int(row.get(k, 0) or 0)  # type: ignore[call-overload]
                                   for k in ("objects", "bytes", "requests"))
        total_objects, total_bytes = total_objects + objects, total_bytes + size
        total_requests += requests
        table.add_row(str(row["type"]), f"{objects:,}", _human_bytes(size), f"{requests:,}",
                      f"{row.get('seconds', 0):.2f}", f"{row.get('objects_per_second', 0):,.0f}")
    table.add_section()
    table.add_row("total", f"{total_objects:,}", _human_bytes(total_bytes), f"{total_requests:,}",
                  "", "")
    console.print(table)
    console.print(f"Database: [bold]{db_path}[/]")


DbOption = Annotated[Path | None, typer.Option(
    "--db", help="SQLite file (default $LOOKER_ASSETS_DB, else ./looker_assets.sqlite).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def _open_store(db: Path | None) -> ContentStore:
    path = database_path(str(db) if db else None)
    if not path.exists():
        _fail(f"no database at {path}; run a sync first or pass --db", 2)
    try:
        return ContentStore(path)
    except StoreError as exc:
        _fail(str(exc), 2)


def _fail(message: str, code: int = 1) -> NoReturn:
    Console(stderr=True).print(f"[red]error:[/] {message}")
    raise typer.Exit(code)


def _emit_json(payload: object) -> None:
    typer.echo(json.dumps(payload, default=str, ensure_ascii=False))


@app.command()
def verify(db: DbOption = None, json_output: JsonOption = False) -> None:
    """Check every stored row: it decodes, its checksum and size match. Exit 1 on failure."""
    with _open_store(db) as store:
        reports = [check_rows(store, ct) for ct in CONTENT_TYPES]
    bad = [b for r in reports for b in r.bad]
    if json_output:
        _emit_json({"ok": not bad,
                    "content_types": [{"type": r.content_type, "rows": r.rows,
                                       "bad": len(r.bad)} for r in reports],
                    "bad_rows": [b.__dict__ for b in bad]})
    else:
        table = Table(title="Integrity")
        for column in ("type", "rows", "bad", "status"):
            table.add_column(column, justify="left" if column == "type" else "right")
        for r in reports:
            table.add_row(r.content_type, f"{r.rows:,}", str(len(r.bad)),
                          "[green]ok[/]" if r.ok else "[red]FAILED[/]")
        console.print(table)
        for b in bad:
            console.print(f"[red]bad row[/] {b.content_type} {b.id}: {b.problem}")
        console.print("[green]all rows intact[/]" if not bad else f"[red]{len(bad)} bad rows[/]")
    if bad:
        raise typer.Exit(1)


@app.command()
def stats(db: DbOption = None, json_output: JsonOption = False) -> None:
    """Per content type: active and deleted objects, bytes, last complete sync."""
    with _open_store(db) as store:
        counts, last = store.counts(), store.last_synced()
    rows = [{"type": ct.name, **counts.get(ct.code, {"active": 0, "deleted": 0, "bytes": 0}),
             "last_sync": last.get(ct.code)} for ct in CONTENT_TYPES]
    if json_output:
        _emit_json({"content_types": rows})
        return
    table = Table(title="Stored content")
    for column in ("type", "active", "deleted", "bytes", "last sync"):
        table.add_column(column, justify="left" if column in ("type", "last sync") else "right")
    for row in rows:
        table.add_row(row["type"], f"{row['active'] or 0:,}", f"{row['deleted'] or 0:,}",
                      _human_bytes(row["bytes"] or 0), str(row["last_sync"] or "never"))
    console.print(table)


@app.command()
def show(content_type: Annotated[str, typer.Argument(help="e.g. dashboards")],
         object_id: Annotated[str, typer.Argument(help="Looker id, e.g. 42 or model::name")],
         db: DbOption = None) -> None:
    """Print one stored object as JSON, exactly as Looker returned it."""
    try:
        ct = content_types.get(content_type)
    except content_types.UnknownContentType as exc:
        _fail(str(exc), 2)
    with _open_store(db) as store:
        obj = store.get(ct.code, object_id)
    if obj is None:
        _fail(f"no {ct.name} with id {object_id!r} in the database")
    typer.echo(json.dumps(obj, indent=2, ensure_ascii=False))


@app.command()
def export(directory: Annotated[Path, typer.Argument(help="Folder to write into.")],
           db: DbOption = None,
           include_deleted: Annotated[bool, typer.Option(help="Also objects gone from Looker.")]
           = False,
           json_output: JsonOption = False) -> None:
    """One JSON file per object (DIR/<type>/<id>.json, sorted keys) for diffs and git."""
    written: dict[str, int] = {}
    with _open_store(db) as store:
        for item in store.iter_items(include_deleted=include_deleted):
            name = BY_CODE[item.content_type].name
            folder = directory / name
            folder.mkdir(parents=True, exist_ok=True)
            # Ids are opaque (`model::name`, names with spaces): quote them into file names.
            target = folder / f"{quote(item.id, safe='')}.json"
            text = json.dumps(codec.decode(item.content_data), indent=2, sort_keys=True,
                              ensure_ascii=False)
            target.write_text(text + "\n", encoding="utf-8")
            written[name] = written.get(name, 0) + 1
    if json_output:
        _emit_json({"directory": str(directory), "files": written})
    else:
        console.print(f"wrote {sum(written.values()):,} files under {directory}")


@app.command()
def extract(
    types: Annotated[list[str] | None, typer.Argument(
        help="Content types to extract (default: all), e.g. dashboards looks")] = None,
    partition: Annotated[str | None, typer.Option(help="Day partition (default today, UTC).")]
    = None,
    full_refresh: Annotated[bool, typer.Option(help="Fetch every detail again.")] = False,
    json_output: Annotated[bool, typer.Option(
        "--json", help="One JSON progress event per line instead of bars.")] = False,
) -> None:
    """Run the content-type assets in process (Dagster materialize) with live progress.

    Uses LOOKERSDK_* / looker.ini for Looker and LOOKER_ASSETS_DB for the file, like the
    Dagster code location does.
    """
    import dagster as dg

    from looker_assets import progress
    from looker_assets.assets import CONTENT_ASSETS
    from looker_assets.definitions import defs
    from looker_assets.looker.resource import LookerResource
    from looker_assets.progress_display import JsonProgress, RichProgress

    names = types or [ct.name for ct in CONTENT_TYPES]
    try:
        selected = {content_types.get(name).name for name in names}
    except content_types.UnknownContentType as exc:
        _fail(str(exc), 2)
    partition_key = partition or datetime.now(UTC).strftime("%Y-%m-%d")
    assets = [a for a in CONTENT_ASSETS if a.key.path[-1] in selected]
    _prepare_dagster_home(Path("var/dagster_home"))
    display = JsonProgress() if json_output else RichProgress(console)
    progress.add_listener(display.update)
    resources = dict(defs.resources or {})
    if full_refresh:
        resources["looker"] = LookerResource(full_refresh=True)
    try:
        with display, dg.DagsterInstance.get() as instance:
            result = dg.materialize(assets, partition_key=partition_key, instance=instance,
                                    resources=resources, raise_on_error=False, run_config=QUIET)
    finally:
        progress.remove_listener(display.update)
    rows = _materialization_rows(result)
    if not json_output:
        _print_summary(rows, database_path(), partition_key, False)
    else:
        _emit_json({"event": "extraction_finished", "success": result.success,
                    "content_types": rows})
    if not result.success:
        _report_failures(result)
        raise typer.Exit(1)


@app.command(add_help_option=False,
             context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def emulator(ctx: typer.Context) -> None:
    """Run the Looker API emulator (see `looker-assets emulator --help`)."""
    from looker_assets.emulator.__main__ import main as emulator_main

    emulator_main(list(ctx.args))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
