"""looker_assets: Looker content backup and extraction as Dagster assets."""

from looker_assets.definitions import defs

__all__ = ["defs"]
