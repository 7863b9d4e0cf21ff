"""A Looker API 4.0 emulator: deterministic content shaped by the official OpenAPI spec, served
over HTTP on 127.0.0.1, with injectable faults (latency, 5xx, 429, outages, broken bodies).

    from looker_assets.emulator import LookerEmulator, Faults

    with LookerEmulator(scale=1000, seed=0) as emu:
        ...  # point looker-sdk at emu.url with emu.client_id / emu.client_secret

`LookerEmulator(scale, seed, instance=1, base_scale=...)` is another instance of the same
company (same LookML, its own ids, users and content) for migration tests; `scale=0` a bare one.
"""

from .faults import Faults
from .server import LookerEmulator, main
from .stats import StatsSnapshot

__all__ = ["Faults", "LookerEmulator", "StatsSnapshot", "main"]
