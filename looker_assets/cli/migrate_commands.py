"""`looker-assets migrate`: backed-up content into another Looker instance, by plan."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from looker_assets.cli.common import (
    AtOption,
    DbOption,
    JsonOption,
    app,
    content_type,
    emit_json,
    fail,
    moment,
    open_store,
    say,
)
from looker_assets.cli.restore_commands import _secrets, _show_plan

if TYPE_CHECKING:
    from looker_assets.migrate.run import Outcome

PLAN_WORDS = {"create": "create", "update": "update", "undelete": "update (untrash)",
              "unchanged": "unchanged", "skipped": "refused", "failed": "failed"}


@app.command(rich_help_panel="Restore")
def migrate(
    type_and_ids: Annotated[list[str] | None, typer.Argument(
        metavar="[TYPE ID...]", help="Looks, dashboards, folders or boards by backed-up id.")]
    = None,
    target: Annotated[str, typer.Option(
        metavar="SECTION", help="The target instance: a section of the looker.ini.")] = "",
    ini: Annotated[Path, typer.Option(help="looker.ini holding the target's section.")]
    = Path("looker.ini"),
    folder: Annotated[list[str] | None, typer.Option(
        metavar="ID", help="A backed-up folder with its whole subtree (repeatable).")] = None,
    at: AtOption = None,
    into: Annotated[str | None, typer.Option(
        metavar="PATH", help="Place the folders under this folder path of the target, e.g. "
        "Shared/Promoted.")] = None,
    map_file: Annotated[Path | None, typer.Option(
        "--map", metavar="FILE", help="TOML renames: [models], [connections], [emails], "
        "[groups].")] = None,
    dry_run: Annotated[bool, typer.Option(help="Show the plan; write nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Write without asking.")] = False,
    enable_schedules: Annotated[bool, typer.Option(
        help="Create schedules and alerts enabled as they were (default: disabled).")]
    = False,
    connection_secret: Annotated[list[str] | None, typer.Option(
        metavar="NAME=ENV_VAR", help="Password of connection NAME, read from ENV_VAR.")] = None,
    owner_fallback: Annotated[str | None, typer.Option(
        metavar="EMAIL", help="Owner of what a user the target lacks owned (default: the "
        "API user).")] = None,
    max_concurrency: Annotated[int, typer.Option(min=1, max=64, help="Writes in flight.")] = 8,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Promote backed-up content into another Looker instance (dev to prod, old to new).

    Identity comes from the id map this tool keeps and from natural keys (folder paths,
    titles within folders, emails, names), never from the source's ids. The plan is made
    from reads alone; nothing is written without --yes (or a yes at the prompt); a second
    run writes nothing."""
    # Loaded here, not at start-up: the restore engine brings looker-sdk (0.7 s of imports).
    from looker_assets.looker.errors import LookerError
    from looker_assets.migrate.identity import MigrationError
    from looker_assets.migrate.run import Options, finish, plan
    from looker_assets.restore.engine import RestoreError

    if not target:
        fail("name the target: --target SECTION (a section of --ini, default ./looker.ini)", 2)
    type_name, ids = None, []
    if type_and_ids:
        type_name, ids = content_type(type_and_ids[0]).name, type_and_ids[1:]
    with open_store(db) as store:
        when = moment(store, at) if at else None
        source = store.instance()
        options = Options(target, ini, folder or [], type_name, ids, when, into, map_file,
                          owner_fallback, enable_schedules, _secrets(connection_secret),
                          max_concurrency)
        try:
            restore, planned = plan(store, options, progress=None if json_output else say)
        except (MigrationError, RestoreError, LookerError) as exc:
            fail(str(exc), 2)
        client = restore.client
        writes = [t for t in planned if t.action in ("update", "undelete", "create")]
        where = client.base_url
        if not json_output:
            _show_plan(planned, f"Migrate into {where}" + (f" as of {when}" if when else ""),
                       PLAN_WORDS)
        go = not dry_run and bool(writes) and (yes or (
            not json_output and sys.stdin.isatty()
            and typer.confirm(f"Write {len(writes)} object(s) to {where}?")))
        try:
            outcome = finish(restore, planned, go, bool(folder))
        finally:
            client.close()
    _report(outcome, source, where, when, json_output,
            asked=not yes and bool(writes) and not dry_run)


def _report(outcome: Outcome, source: str | None, where: str, when: str | None,
            json_output: bool, asked: bool) -> None:
    data = outcome.as_dict()
    if json_output:
        emit_json({"source": source, "target": where, "at": when, **data})
    else:
        for note in data["owner_fallbacks"] + data["stale_id_map"]:
            say(note)
        counts = data["summary"]
        summary_line = ", ".join(f"{counts[a]} {a}" for a in counts) + f" in {where}"
        if not outcome.written:
            say(f"Planned: {summary_line}. Nothing written"
                + (": pass --yes to write these changes." if asked else "."))
        else:
            for r in data["results"]:
                if r["action"] == "failed":
                    say(f"failed      {r['type']} {r['id']}: {r['error']}")
                elif r["differs"]:
                    say(f"differs     {r['type']} {r['id']} -> {r['target_id']}: "
                        f"{', '.join(r['differs'])}")
            for v in data["content_validation"]:
                say(f"validator   {v['type']} {v['target_id']} ({v['title']}): {v['message']}")
            if data["content_validation_at_source"]:
                say(f"validator   {len(data['content_validation_at_source'])} more errors name "
                    f"what the source's LookML lacks too: the content's own "
                    f"(content_validation_at_source in --json)")
            say(f"Written: {summary_line}.")
        cost = data["requests"]
        kinds = ", ".join(f"{k.removeprefix('requests_')} {n:,}" for k, n in cost.items()
                          if k.startswith("requests_") and n)
        say(f"Requests to {where}: {cost.get('requests', 0):,} ({kinds})")
    if not outcome.ok:
        raise typer.Exit(1)
