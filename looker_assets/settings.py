"""Names and defaults shared by the Dagster wiring and the CLI."""

from __future__ import annotations

import os
from pathlib import Path

DB_ENV = "LOOKER_ASSETS_DB"
DEFAULT_DB = "looker_assets.sqlite"
START_DATE_ENV = "LOOKER_ASSETS_START_DATE"
ASSET_PREFIX = "looker"
GROUP = "looker"
POOL = "looker_api"


def database_location(explicit: str | None = None) -> str:
    """The store: explicit config, else $LOOKER_ASSETS_DB, else ./looker_assets.sqlite. A
    `postgresql://` URL selects PostgreSQL; anything else is a SQLite file's path."""
    location = explicit or os.environ.get(DB_ENV) or DEFAULT_DB
    if location.startswith(("postgresql://", "postgres://")):
        return location
    return str(Path(location).expanduser())
