"""`looker-assets restore`: put backed-up objects back into Looker."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

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
    moment,
    open_store,
    say,
)
from looker_assets.restore import kinds as K

if TYPE_CHECKING:
    from looker_assets.restore.engine import Target

# The engine (and looker-sdk's 0.7 s of imports) is loaded by the commands that write to
# Looker, not by every `looker-assets` start (`show --at` needs none of it).

ACTION_WORDS = {"update": "update in place", "undelete": "undelete", "create": "re-create",
                "unchanged": "unchanged", "skipped": "cannot restore", "failed": "failed"}


def _secrets(pairs: list[str] | None) -> dict[str, str]:
    out = {}
    for pair in pairs or []:
        name, sep, var = pair.partition("=")
        if not sep or not name or not var:
            fail(f"--connection-secret takes NAME=ENV_VAR, not {pair!r}", 2)
        out[name] = var
    return out


def _show_plan(targets: list[Target], title: str,
               words: dict[str, str] = ACTION_WORDS) -> None:
    from looker_assets.restore.engine import label

    table = Table(title=title, title_justify="left")
    for col in ("action", "type", "id", "name", "what changes / why"):
        table.add_column(col, overflow="fold")
    for t in targets:
        name = label(t.backup) or ""
        what = ", ".join(t.changes[:8]) + (
            f" (+{len(t.changes) - 8} more)" if len(t.changes) > 8 else "")
        if t.reason:
            what = t.reason + ("; " + what if what else "")
        if t.pulls:
            what = (what + "; " if what else "") + "pulls in " + ", ".join(t.pulls)
        if t.pulled_by:
            what = (what + "; " if what else "") + "needed by " + ", ".join(t.pulled_by[:3])
        if t.matched_by != "id":
            what = (what + "; " if what else "") + f"matched by {t.matched_by} to {t.live_id}"
        table.add_row(words.get(t.action, t.action), t.kind.name, t.id, str(name),
                      what or "", style={"skipped": "yellow", "unchanged": "dim"}.get(t.action))
    console.print(table)


@app.command(rich_help_panel="Restore")
def restore(
    type_name: Annotated[str | None, typer.Argument(
        metavar="TYPE", help="Content type of the objects, e.g. dashboards.")] = None,
    ids: Annotated[list[str] | None, typer.Argument(help="Backed-up ids.")] = None,
    at: AtOption = None,
    folder: Annotated[str | None, typer.Option(
        help="Restore this folder and everything in it (subfolders, looks, dashboards).")]
    = None,
    deleted_since: Annotated[str | None, typer.Option(
        metavar="WHEN", help="Restore everything deleted or trashed since WHEN, as it was "
        "then.")] = None,
    dry_run: Annotated[bool, typer.Option(help="Show the plan; write nothing.")] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Write without asking.")] = False,
    max_concurrency: Annotated[int, typer.Option(min=1, max=64, help="Writes in flight.")] = 8,
    enable_schedules: Annotated[bool, typer.Option(
        help="Re-create scheduled plans enabled when they were (default: disabled).")] = False,
    connection_secret: Annotated[list[str] | None, typer.Option(
        metavar="NAME=ENV_VAR", help="Password of connection NAME, read from ENV_VAR.")] = None,
    db: DbOption = None,
    json_output: JsonOption = False,
) -> None:
    """Put backed-up objects back into Looker: update in place, undelete, or re-create.

    Nothing is written without --yes (or a yes at the prompt). The plan shows each object's
    action, what will change, and what it pulls in. Every written object is read back and
    compared with the backup; a repeated restore writes nothing.
    """
    from looker_assets.looker.resource import LookerResource
    from looker_assets.restore.engine import Request, Restore, RestoreError
    from looker_assets.restore.selection import select

    with open_store(db) as store:
        when = moment(store, at) if at else None
        since = moment(store, deleted_since, "--deleted-since") if deleted_since else None
        when = when or since
        try:
            items = select(store, content_type(type_name).name if type_name else None,
                           ids or [], folder, since, when)
        except ValueError as exc:
            fail(str(exc), 2)
        client = LookerResource(max_concurrency=max_concurrency).get_client()
        request = Request(items, at=when, dry_run=True, max_concurrency=max_concurrency,
                          choice=K.Choice(enable_plans=enable_schedules,
                                          connection_secrets=_secrets(connection_secret)))
        restore_run = Restore(store, client, request, progress=None if json_output else say)
        try:
            planned = restore_run.run()
        except RestoreError as exc:
            fail(str(exc), 2)
        writes = [t for t in planned if t.action in ("update", "undelete", "create")]
        where = client.base_url
        if not json_output:
            _show_plan(planned, f"Restore into {where}" + (f" as of {when}" if when else ""))
        go = not dry_run and bool(writes) and (yes or (
            not json_output and sys.stdin.isatty()
            and typer.confirm(f"Write {len(writes)} object(s) to {where}?")))
        if go:
            planned = restore_run.execute(planned)
        _report(planned, where, when, written=go, dry_run=dry_run or not go,
                json_output=json_output, asked=not yes and bool(writes))


def _report(targets: list[Target], where: str, when: str | None, written: bool, dry_run: bool,
            json_output: bool, asked: bool) -> None:
    from looker_assets.restore.engine import problems, summary

    results = [t.result() for t in targets]
    counts, bad = summary(results), problems(results)
    if json_output:
        emit_json({"looker": where, "at": when, "written": written, "results": results,
                   "summary": counts})
    elif not written:
        if dry_run and asked:
            say("Nothing written: pass --yes to write these changes.")
        else:
            say("Nothing written.")
    else:
        for t in targets:
            if t.status == "done":
                new = f" (new id {t.live_id})" if t.live_id not in (None, t.id) else ""
                state = "verified" if not t.differs else "differs: " + ", ".join(t.differs)
                say(f"{ACTION_WORDS[t.action]:15} {t.kind.name} {t.id}{new}: {state}")
            elif t.status == "failed":
                say(f"failed          {t.kind.name} {t.id}: {t.error}")
        done = sum(1 for t in targets if t.status == "done")
        say(f"{done} written, {sum(1 for t in targets if t.status == 'unchanged')} unchanged, "
            f"{sum(1 for t in targets if t.status == 'skipped')} skipped, {counts['failed']} "
            f"failed, {len(bad) - counts['failed']} not verified.")
    if bad:
        raise typer.Exit(1)
