"""`looker-assets`: the demo, syncs, the emulator, reading the backup now and in the past,
and restoring it.

Each module adds its commands to the one Typer app in `common`; `--help` lists them in the
order they are imported here.
"""
# isort: skip_file

from looker_assets.cli.common import app, fail
from looker_assets.storage.bodies import BodyError
from looker_assets.cli import run_commands, inspect_commands, history_commands
from looker_assets.cli import restore_commands, migrate_commands, snapshot_commands

__all__ = ["app", "main"]
_COMMAND_MODULES = (run_commands, inspect_commands, history_commands, restore_commands,
                    migrate_commands, snapshot_commands)


def main() -> None:
    try:
        app()
    except BodyError as exc:  # a damaged store, met while reading it
        fail(f"{exc}; run `looker-assets verify`")
