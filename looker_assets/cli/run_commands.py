"""Commands that talk to Looker: the demo, extract, and the emulator."""

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

from looker_assets.cli.common import app, console, content_type, emit_json, human_bytes
from looker_assets.content_types import CONTENT_TYPES
from looker_assets.settings import ASSET_PREFIX, database_location
from looker_assets.storage.backend import redact

# The terminal shows the summary (and bars); Dagster's own event lines only from warnings up.
# Every event is still in the run's log in DAGSTER_HOME, as the UI shows it.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}

PROJECT_DAGSTER_YAML = Path(__file__).resolve().parents[2] / "dagster.yaml"


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


@app.command(rich_help_panel="Run")
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
        rows, ok, cost = _run_job(partition_key)
    _print_summary(rows, db_path, partition_key, json_output, cost)
    if not ok:
        raise typer.Exit(1)
    if not json_output:
        _print_next_steps(db_path)


RunCost = tuple[int, dict[str, int]]


def _run_job(partition_key: str) -> tuple[list[dict[str, object]], bool, RunCost]:
    return _execute_sync(partition_key)


def _sync_job() -> object:
    """The sync job, reconstructable from this module (dg.execute_job needs that)."""
    from looker_assets.definitions import defs

    return defs.resolve_job_def("looker_sync_job")


def _execute_sync(partition_key: str, names: set[str] | None = None,
                  looker_config: dict[str, object] | None = None,
                  ) -> tuple[list[dict[str, object]], bool, RunCost]:
    """The sync job for one partition, in this process with the code location's executor
    (content types in threads, sharing one client), as a scheduled run would be: the types in
    `names` (default all), the resource settings in `looker_config`."""
    import dagster as dg

    from looker_assets.run_cost import run_requests

    run_config: dict[str, object] = dict(QUIET)
    if looker_config:
        run_config["resources"] = {"looker": {"config": looker_config}}
    selection = None if names is None else [dg.AssetKey([ASSET_PREFIX, n]) for n in sorted(names)]
    with dg.DagsterInstance.get() as instance:
        _release_dead_runs(instance)
        with dg.execute_job(dg.reconstructable(_sync_job), instance=instance,
                            run_config=run_config, asset_selection=selection,
                            tags={"dagster/partition": partition_key, **_cli_run_tags()},
                            raise_on_error=False) as result:
            rows = _materialization_rows(result)
            if not result.success:
                _report_failures(result)
            return rows, result.success, run_requests(instance, result.dagster_run.run_id)


def _release_dead_runs(instance: object) -> None:
    from looker_assets.dead_runs import release_dead_cli_runs

    for run_id in release_dead_cli_runs(instance):  # type: ignore[arg-type]
        Console(stderr=True).print(f"[yellow]run {run_id[:8]} was killed while it ran: marked "
                                   f"failed, its pool slots freed; this run resumes it[/]")


def _cli_run_tags() -> dict[str, str]:
    from looker_assets.dead_runs import cli_run_tags

    return cli_run_tags()


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


def _cost_json(cost: RunCost) -> dict[str, object]:
    return {"requests": cost[0], "requests_by_kind": cost[1]}


def _print_summary(rows: list[dict[str, object]], db_path: Path | str, partition_key: str,
                   json_output: bool, cost: RunCost) -> None:
    if json_output:
        console.print_json(json.dumps({"database": str(db_path), "partition": partition_key,
                                       "content_types": rows, "run": _cost_json(cost)},
                                      default=str))
        return
    table = Table(title=f"Looker sync, partition {partition_key}")
    for column in ("type", "objects", "bytes", "requests", "seconds", "objects/s"):
        if column == "type":
            # Whole names, however narrow the terminal: scripts and people grep for them.
            table.add_column(column, no_wrap=True,
                             min_width=max(len(ct.name) for ct in CONTENT_TYPES))
        else:
            table.add_column(column, justify="right")
    totals = dict.fromkeys(("objects", "bytes", "requests"), 0)
    for row in rows:
        counts = {k: int(row.get(k, 0) or 0) for k in totals}  # type: ignore[call-overload]
        for key, value in counts.items():
            totals[key] += value
        name = str(row["type"]) + (" (skipped)" if row.get("skipped") not in (None, "no")
                                   else "")
        table.add_row(name, f"{counts['objects']:,}", human_bytes(counts["bytes"]),
                      f"{counts['requests']:,}", f"{row.get('seconds', 0):.2f}",
                      f"{row.get('objects_per_second', 0):,.0f}")
    table.add_section()
    table.add_row("total", f"{totals['objects']:,}", human_bytes(totals["bytes"]),
                  f"{totals['requests']:,}", "", "")
    console.print(table)
    total, by_kind = cost
    split = ", ".join(f"{kind} {n:,}" for kind, n in by_kind.items() if n)
    # From the run's tags: steps that failed (a spent budget, say) count here too.
    console.print(f"Requests this run: [bold]{total:,}[/]" + (f" ({split})" if split else ""))
    console.print(f"Database: [bold]{db_path}[/]")


def _print_next_steps(db_path: Path) -> None:
    """What to try next, one command a line (run from the repository, as the demo was)."""
    run = "sh scripts/uv run"
    db = f"--db {db_path}"
    console.print("Next, from this folder:", highlight=False)
    for line in (
            f"{run} looker-assets stats {db}",
            f"{run} looker-assets show dashboards 1 {db}",
            f"{run} looker-assets history dashboards 1 {db}",
            f"{run} looker-assets diff --from WHEN --to WHEN {db}",
            f"{run} looker-assets restore dashboards 1 --dry-run {db}    (against a running "
            f"Looker or emulator: README, Restore)",
            f"{run} looker-assets migrate --target prod --folder 17 --dry-run {db}    (into a "
            f"second emulator, another instance: README, Migrate)",
            f"DAGSTER_HOME=$PWD/var/dagster_home {run} dagster dev -w workspace.yaml "
            f"-h 127.0.0.1    (the Dagster UI)"):
        console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)


@app.command(rich_help_panel="Run")
def extract(
    types: Annotated[list[str] | None, typer.Argument(
        help="Content types to extract (default: all), e.g. dashboards looks")] = None,
    partition: Annotated[str | None, typer.Option(help="Day partition (default today, UTC).")]
    = None,
    full_refresh: Annotated[bool, typer.Option(help="Fetch every detail again.")] = False,
    request_budget: Annotated[int | None, typer.Option(
        min=1, help="Most requests this run may make; reached, the sync stops cleanly and the "
        "next run resumes it (default: LOOKER_ASSETS_REQUEST_BUDGET, else no cap).")] = None,
    json_output: Annotated[bool, typer.Option(
        "--json", help="One JSON progress event per line instead of bars.")] = False,
) -> None:
    """Run the sync job for the chosen content types in this process, with live progress.

    Uses LOOKERSDK_* / looker.ini for Looker and LOOKER_ASSETS_DB for the file, like the
    Dagster code location does.
    """
    from looker_assets import progress
    from looker_assets.progress_display import JsonProgress, RichProgress

    names = types or [ct.name for ct in CONTENT_TYPES]
    selected = {content_type(name).name for name in names}
    partition_key = partition or datetime.now(UTC).strftime("%Y-%m-%d")
    _prepare_dagster_home(Path("var/dagster_home"))
    display = JsonProgress() if json_output else RichProgress(console)
    progress.add_listener(display.update)
    looker_config: dict[str, object] = {}
    if full_refresh:
        looker_config["full_refresh"] = True
    if request_budget:
        looker_config["request_budget"] = request_budget
    try:
        with display:
            rows, success, cost = _execute_sync(partition_key, selected, looker_config)
    finally:
        progress.remove_listener(display.update)
    if not json_output:
        _print_summary(rows, redact(database_location()), partition_key, False, cost)
    else:
        emit_json({"event": "extraction_finished", "success": success,
                    "content_types": rows, "run": _cost_json(cost)})
    if not success:
        raise typer.Exit(1)


@app.command(rich_help_panel="Run", add_help_option=False,
             context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def emulator(ctx: typer.Context) -> None:
    """Run the Looker API emulator (see `looker-assets emulator --help`)."""
    from looker_assets.emulator.__main__ import main as emulator_main

    emulator_main(list(ctx.args))
