"""Merged-results tiles: their merge queries and source queries, fetched once each (both are
immutable in Looker), found again by the next sync when a tile is added, kept when nothing
reaches them any more, and resumed after an interrupted sync."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from looker_assets import content_types
from looker_assets.emulator import LookerEmulator
from looker_assets.looker.errors import LookerError
from looker_assets.storage.integrity import dangling_references
from looker_assets.storage.store import ContentStore
from looker_assets.sync import SyncResult, run_sync
from looker_assets_tests.conftest import looker_resource, served

MERGES = content_types.get("merge_queries")
QUERIES = content_types.get("queries")
DASHBOARDS = content_types.get("dashboards")
MERGE_DETAIL = "/merge_queries/{merge_query_id}"
QUERY_DETAIL = "/queries/{query_id}"
SEARCH = "/dashboards/search"
TILES = next(r for r in DASHBOARDS.references if r.target == "merge_queries")


def _sync(emu: LookerEmulator, store: ContentStore, ct: content_types.ContentType,
          partition: str = "p", **resource: object) -> SyncResult:
    stream = looker_resource(emu, **resource).stream(ct)
    try:
        return run_sync(stream, store, partition)
    finally:
        stream.close()


def _requests(emu: LookerEmulator) -> dict[str, int]:
    """GET requests since the last reset by route, the API prefix and logins left out."""
    return {t.removeprefix("/api/4.0"): n for (m, t), n in emu.stats.by_route.items()
            if m == "GET"}


def _assert_stored_exactly(store: ContentStore, emu: LookerEmulator,
                           ct: content_types.ContentType, kept: set[str] = frozenset()) -> None:
    expected = served(emu, ct.name)
    active = {item.id for item in store.iter_items(ct.code, include_deleted=False)}
    assert active == set(expected) | kept, ct.name
    for id_, obj in expected.items():
        assert msgspec.json.encode(store.get(ct.code, id_)) == msgspec.json.encode(obj)


def test_an_incremental_sync_fetches_no_stored_merge_or_source_query(
        fresh_emulator: LookerEmulator, tmp_path: Path) -> None:
    emu = fresh_emulator
    merges, queries = served(emu, MERGES.name), served(emu, QUERIES.name)
    assert merges and len(queries) >= 2 * len(merges), "no merged tiles: the test proves nothing"
    with ContentStore(tmp_path / "s.sqlite") as store:
        emu.reset_stats()
        first = _sync(emu, store, MERGES)
        assert _requests(emu)[MERGE_DETAIL] == len(merges) == first.counts.new
        emu.reset_stats()
        # The merge queries are stored: the source queries are read out of them.
        first = _sync(emu, store, QUERIES)
        assert MERGE_DETAIL not in _requests(emu)
        assert _requests(emu)[QUERY_DETAIL] == len(queries) == first.counts.new
        for ct in (MERGES, QUERIES):
            _assert_stored_exactly(store, emu, ct)

        for ct in (MERGES, QUERIES):
            emu.reset_stats()
            again = _sync(emu, store, ct)
            # The listing's pages (active dashboards, then the trash), and nothing else.
            assert set(_requests(emu)) == {SEARCH}, ct.name
            assert again.counts.unchanged == again.objects == len(served(emu, ct.name))
            assert again.counts.new == again.counts.updated == again.deleted == 0
            assert again.versions_opened == again.versions_closed == 0

        # A full refresh trusts nothing stored: every merge and source query is read again.
        emu.reset_stats()
        stream = looker_resource(emu, full_refresh=True).stream(QUERIES)
        try:
            run_sync(stream, store, "p")
        finally:
            stream.close()
        got = _requests(emu)
        assert got[MERGE_DETAIL] == len(merges) and got[QUERY_DETAIL] == len(queries)


def test_a_new_merged_tile_is_backed_up_by_the_next_sync_and_an_orphan_is_kept(
        fresh_emulator: LookerEmulator, tmp_path: Path) -> None:
    emu = fresh_emulator
    with ContentStore(tmp_path / "s.sqlite") as store:
        for ct in (DASHBOARDS, MERGES, QUERIES):
            _sync(emu, store, ct)
        before_merges, before_queries = set(served(emu, MERGES.name)), set(
            served(emu, QUERIES.name))
        # New dashboards until one has a merged-results tile (a fifth or so have one).
        for _ in range(60):
            emu.create("dashboards")
            if set(served(emu, MERGES.name)) - before_merges:
                break
        new_merges = set(served(emu, MERGES.name)) - before_merges
        new_queries = set(served(emu, QUERIES.name)) - before_queries
        assert new_merges and new_queries
        # A dashboard with merged tiles gone for good: Looker keeps its merge queries.
        holder, orphans = next((k, ids) for k, ids in (
            (k, {str(i) for i in TILES.values(d)}) for k, d in emu.objects("dashboards").items())
            if ids and ids <= before_merges)
        emu.delete("dashboards", holder)
        assert orphans.isdisjoint(served(emu, MERGES.name))

        emu.reset_stats()
        merged = _sync(emu, store, MERGES)
        assert _requests(emu).get(MERGE_DETAIL) == len(new_merges) == merged.counts.new
        assert merged.kept == len(orphans) and merged.deleted == 0
        emu.reset_stats()
        sourced = _sync(emu, store, QUERIES)
        assert MERGE_DETAIL not in _requests(emu)
        assert _requests(emu).get(QUERY_DETAIL) == len(new_queries) == sourced.counts.new
        orphan_queries = {str(s["query_id"]) for m in orphans
                          for s in store.get(MERGES.code, m)["source_queries"]}
        _assert_stored_exactly(store, emu, MERGES, kept=orphans)
        _assert_stored_exactly(store, emu, QUERIES,
                               kept=orphan_queries - set(served(emu, QUERIES.name)))
        assert set(store.active_ids(MERGES.code)) >= new_merges
        assert set(store.active_ids(QUERIES.code)) >= new_queries
        _sync(emu, store, DASHBOARDS)
        for ct in (DASHBOARDS, MERGES):
            assert list(dangling_references(store, ct)) == [], ct.name

        # A full refresh reads the orphans again (trusting nothing stored), and stores them
        # so that the next incremental sync still trusts them.
        emu.reset_stats()
        _sync(emu, store, MERGES, full_refresh=True)
        assert _requests(emu)[MERGE_DETAIL] == len(served(emu, MERGES.name)) + len(orphans)
        emu.reset_stats()
        assert _sync(emu, store, MERGES).kept == len(orphans)
        assert set(_requests(emu)) == {SEARCH}


def test_an_interrupted_sync_of_source_queries_resumes(fresh_emulator: LookerEmulator,
                                                        tmp_path: Path) -> None:
    emu = fresh_emulator
    queries = served(emu, QUERIES.name)
    with ContentStore(tmp_path / "s.sqlite") as store:
        # Merge queries not stored yet: the queries' listing fetches them itself.
        emu.faults.outage_after = len(served(emu, MERGES.name)) + len(queries) // 2
        with pytest.raises(LookerError):
            _sync(emu, store, QUERIES, max_concurrency=2, batch_size=5, max_attempts=2,
                  max_retry_seconds=2)
        emu.faults.outage_after = None
        done = store.progress_ids(QUERIES.code, "p")
        assert 0 < len(done) < len(queries)
        emu.reset_stats()
        resumed = _sync(emu, store, QUERIES)
        assert resumed.resumed and resumed.resumed_after == len(done)
        assert _requests(emu)[QUERY_DETAIL] == len(queries) - len(done)
        _assert_stored_exactly(store, emu, QUERIES)
        assert store.checkpoint(QUERIES.code, "p")["status"] == "complete"


def test_a_store_made_before_these_types_existed_takes_them(emulator: LookerEmulator,
                                                            store_location: str) -> None:
    new_codes = (MERGES.code, QUERIES.code)
    with ContentStore(store_location) as store:
        # As a store created by the release before codes 23 and 24 holds its content_types.
        store.db.execute(f"DELETE FROM content_types WHERE code IN {new_codes}")
    with ContentStore(store_location) as store:
        for ct in (MERGES, QUERIES):
            assert _sync(emulator, store, ct).listing_complete
            _assert_stored_exactly(store, emulator, ct)
        assert dict(store.db.execute(
            f"SELECT code, name FROM content_types WHERE code IN {new_codes}").fetchall()) == {
            MERGES.code: MERGES.name, QUERIES.code: QUERIES.name}


def test_references_follow_paths_through_nested_lists() -> None:
    source = MERGES.references[0]
    merge = {"source_queries": [{"query_id": "7"}, {"query_id": None}, {"name": "x"}]}
    assert list(source.values(merge)) == ["7"]
    assert list(TILES.values({"dashboard_elements": None})) == []
    assert list(TILES.values({"dashboard_elements": [{"merge_result_id": "5"}, {}]})) == ["5"]
    groups = content_types.get("groups").references[0]
    assert list(groups.values({"parent_group_ids": ["1", "2"]})) == ["1", "2"]
