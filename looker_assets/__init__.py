"""looker_assets: Looker content backup and extraction as Dagster assets.

`defs` (what `dagster -m looker_assets` loads) is imported on first use, so the
`looker-assets` commands that only read the store do not pay for importing Dagster.
"""

from typing import Any

__all__ = ["defs"]


def __getattr__(name: str) -> Any:
    if name == "defs":
        from looker_assets.definitions import defs

        return defs
    raise AttributeError(f"module 'looker_assets' has no attribute {name!r}")


def __dir__() -> list[str]:
    # Dagster finds the Definitions by listing the module's attributes.
    return sorted([*globals(), "defs"])
