"""Writes store_v1.sqlite.gz: a store exactly as release c2671b6 (schema version 1) wrote it.

Run with that release's code on the path (it is not importable from this one):
    git worktree add /tmp/v1 c2671b6
    PYTHONPATH=/tmp/v1 uv run python looker_assets_tests/data/make_store_v1.py
Two syncs of every type against the emulator (scale 60, seed 5), with a dashboard retitled,
one trashed and one deleted between them, so the file holds updated, trashed and soft-deleted
rows and completed checkpoints of two partitions.
"""

import gzip
import shutil
import sys
import tempfile
from pathlib import Path

from looker_assets import content_types
from looker_assets.emulator import Faults, LookerEmulator
from looker_assets.looker.resource import LookerResource
from looker_assets.storage.schema import SCHEMA_VERSION
from looker_assets.storage.store import ContentStore
from looker_assets.sync import run_sync

assert SCHEMA_VERSION == 1, "run this with release c2671b6 on PYTHONPATH"
OUT = Path(__file__).resolve().parent / "store_v1.sqlite.gz"

emu = LookerEmulator(scale=60, seed=5, faults=Faults()).start("127.0.0.1", 0)
looker = LookerResource(base_url=emu.url, client_id=emu.client_id,
                        client_secret=emu.client_secret, verify_ssl=False)
with tempfile.TemporaryDirectory() as tmp:
    db = Path(tmp) / "v1.sqlite"

    def sync(partition: str) -> None:
        with ContentStore(db) as store:
            for ct in content_types.CONTENT_TYPES:
                result = run_sync(looker.stream(ct), store, partition)
                assert result.listing_complete, ct.name

    sync("2026-11-26")
    dashboards = sorted(d for d, o in emu.objects("dashboards").items()
                        if "::" not in d and not o.get("deleted"))
    emu.update("dashboards", dashboards[0])
    emu.trash("dashboards", dashboards[1])
    emu.delete("dashboards", dashboards[2])
    sync("2026-11-27")
    emu.stop()
    with db.open("rb") as src, gzip.open(OUT, "wb") as dst:
        shutil.copyfileobj(src, dst)
print(f"wrote {OUT} ({OUT.stat().st_size:,} bytes)", file=sys.stderr)
