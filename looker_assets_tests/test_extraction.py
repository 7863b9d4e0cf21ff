"""Every content type, through Dagster and the real looker-sdk, stored exactly as served."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import msgspec
import pytest

from looker_assets import content_types
from looker_assets.assets import CONTENT_ASSETS, IO_MANAGER_KEY
from looker_assets.emulator import LookerEmulator
from looker_assets.io_manager import LookerContentIOManager
from looker_assets.looker.client import ClientConfig, LookerClient
from looker_assets.storage import codec
from looker_assets.storage.store import ContentStore
from looker_assets_tests.conftest import PARTITION, looker_resource, served


@pytest.fixture(scope="module")
def synced(emulator: LookerEmulator, tmp_path_factory: pytest.TempPathFactory):
    db = tmp_path_factory.mktemp("fidelity") / "looker.sqlite"
    result = dg.materialize(
        CONTENT_ASSETS,
        partition_key=PARTITION,
        resources={"looker": looker_resource(emulator, max_concurrency=4),
                   IO_MANAGER_KEY: LookerContentIOManager(path=str(db))},
    )
    assert result.success
    return result, db


def _canonical(obj: object) -> bytes:
    # JSON bytes compare keys, order, nulls and types at once.
    return msgspec.json.encode(obj)


@pytest.mark.parametrize("name", [ct.name for ct in content_types.CONTENT_TYPES])
def test_every_type_round_trips_exactly(synced, emulator: LookerEmulator, name: str) -> None:
    _, db = synced
    ct = content_types.get(name)
    expected = served(emulator, name)
    assert expected, f"the emulator serves no {name}: the test would prove nothing"
    with ContentStore(db) as store:
        stored = {item.id: item for item in store.iter_items(ct.code)}
        assert sorted(stored) == sorted(expected)
        for id_, obj in expected.items():
            item = stored[id_]
            assert item.deleted_at is None
            assert _canonical(store.get(ct.code, id_)) == _canonical(obj), f"{name} {id_}"


def test_materialization_metadata(synced, emulator: LookerEmulator) -> None:
    result, db = synced
    events = {e.asset_key.path[-1]: e.materialization.metadata
              for e in result.get_asset_materialization_events()}
    assert set(events) == {ct.name for ct in content_types.CONTENT_TYPES}
    for name, meta in events.items():
        count = len(served(emulator, name))
        assert meta["objects"].value == count, name
        assert meta["new"].value == count
        assert meta["bytes"].value > 0
        assert meta["requests"].value >= 1
        assert meta["seconds"].value >= 0
        assert meta["listing_complete"].value is True
        assert meta["database"].value == str(db)


def test_what_naive_extractors_miss_is_there(synced, emulator: LookerEmulator) -> None:
    _, db = synced
    dashboards = content_types.get("dashboards")
    with ContentStore(db) as store:
        objs = list(store.objects(dashboards.code))
    lookml = [d for d in objs if "::" in str(d["id"])]
    trashed = [d for d in objs if d.get("deleted") is True]
    assert lookml, "LookML dashboards (listed only by all_dashboards) are missing"
    assert trashed, "dashboards in Looker's trash are missing"
    assert max(len(d.get("dashboard_elements") or []) for d in objs) >= 100
    spec_keys = set().union(*(emulator.objects("dashboards")[d["id"]].keys() for d in objs))
    assert spec_keys == set().union(*(d.keys() for d in objs))
    # What a restore needs of groups: their parent groups and roles (all_groups has neither).
    with ContentStore(db) as store:
        groups = list(store.objects(content_types.get("groups").code))
    assert any(g["parent_group_ids"] for g in groups) and any(g["role_ids"] for g in groups)
    # Direct role holders only: a role that also comes through a group is not granted twice.
    with ContentStore(db) as store:
        direct = {r: {u["id"] for u in users} for r, users in (
            (item.id, codec.decode(item.content_data))
            for item in store.iter_items(content_types.get("role_users").code))}
    assert any(direct[r] < {u["id"] for u in emulator.api_get(f"/roles/{r}/users", fields="id")}
               for r in direct)


def test_second_sync_is_all_unchanged(synced, emulator: LookerEmulator) -> None:
    _, db = synced
    result = dg.materialize(
        [a for a in CONTENT_ASSETS if a.key.path[-1] in ("users", "dashboards")],
        partition_key=PARTITION,
        resources={"looker": looker_resource(emulator),
                   IO_MANAGER_KEY: LookerContentIOManager(path=str(db))},
    )
    for event in result.get_asset_materialization_events():
        meta = event.materialization.metadata
        assert meta["new"].value == 0 and meta["updated"].value == 0
        assert meta["unchanged"].value == meta["objects"].value > 0
        assert meta["deleted"].value == 0


def test_load_input_streams_stored_objects(synced) -> None:
    _, db = synced
    manager = LookerContentIOManager(path=str(db))
    context = dg.build_input_context(asset_key=dg.AssetKey(["looker", "users"]))
    loaded = manager.load_input(context)
    first = next(iter(loaded))
    assert "email" in first


def test_definitions_shape() -> None:
    from looker_assets import defs

    dg.Definitions.validate_loadable(defs)
    keys = {k.to_user_string() for a in CONTENT_ASSETS for k in a.keys}
    assert keys == {f"looker/{ct.name}" for ct in content_types.CONTENT_TYPES}
    for asset in CONTENT_ASSETS:
        assert asset.group_names_by_key[asset.key] == "looker"
        assert asset.partitions_def is not None
        spec_pool = asset.op.pool
        assert spec_pool == "looker_api"
        assert asset.op.retry_policy is not None
    job = defs.resolve_job_def("looker_sync_job")
    assert job.partitions_def is not None
    assert Path(__file__).exists()


def test_raw_and_typed_sdk_calls_share_the_client(emulator: LookerEmulator) -> None:
    """Raw GETs take bodies as bytes (no str round trip); the SDK's typed methods on the same
    session still get their models."""
    client = LookerClient(ClientConfig(base_url=emulator.url, client_id=emulator.client_id,
                                       client_secret=emulator.client_secret, verify_ssl=False))
    try:
        raw = client.get_json_array("/dashboards", {"fields": "id"})
        typed = client.sdk.all_dashboards(fields="id")
        assert [msgspec.json.decode(r)["id"] for r in raw] == [d.id for d in typed]
        assert client.get_json("/user", {"fields": "id"})["id"] == client.sdk.me(fields="id").id
    finally:
        client.close()
