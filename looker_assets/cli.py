"""`looker-assets`: the demo, the emulator and inspection commands (Typer + Rich)."""

from __future__ import annotations

import json
import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Back up a Looker instance into one SQLite file, as Dagster assets.")
console = Console()

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
        os.environ.update({
            "LOOKERSDK_BASE_URL": emulator.url,
            "LOOKERSDK_CLIENT_ID": "emulator-client",
            "LOOKERSDK_CLIENT_SECRET": "emulator-secret",
            "LOOKERSDK_VERIFY_SSL": "false",
            "LOOKER_ASSETS_DB": str(db_path),
        })
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
                                        raise_on_error=False)
    rows = []
    for event in result.get_asset_materialization_events():
        mat = event.asset_materialization
        assert mat is not None
        meta = {k: v.value for k, v in mat.metadata.items()}
        rows.append({"type": mat.asset_key.path[-1], **meta})
    rows.sort(key=lambda r: str(r["type"]))
    if not result.success:
        for event in result.all_events:
            if event.is_step_failure and event.step_failure_data:
                err = event.step_failure_data.error
                message = err.message.strip() if err else ""
                console.print(f"[red]{event.step_key} failed:[/] {message}")
    return rows, result.success


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
