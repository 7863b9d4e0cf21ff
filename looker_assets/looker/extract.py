"""Listing and detail fan-out for one content type, as a lazy stream of raw objects.

One code path: the sequential case is max_concurrency=1, not a second implementation.
"""

from __future__ import annotations

import functools
import queue
import string
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import msgspec

from looker_assets import content_types
from looker_assets.content_types import ContentType, ListCall
from looker_assets.looker.client import ClientScope, LookerClient
from looker_assets.looker.errors import LookerNotFound, LookerResponseError
from looker_assets.looker.signals import SIGNALS, RowSignal

# Yielded instead of an object when the listing proves the stored copy is current.
UNCHANGED: Any = type("Unchanged", (), {"__repr__": lambda self: "UNCHANGED"})()
_GONE = object()
# A page's JSON above this shrinks the next pages' limit (decoded, it is several times larger).
PAGE_TARGET_BYTES = 4 * 2**20
MIN_PAGE = 10
WINDOW_FACTOR = 2

# Stored objects of a type a listing reads (ListCall.objects_of), as (id, the version it was
# fetched at, the object): what the sync hands the stream.
StoredObjects = Callable[[ContentType], Iterator[tuple[str, str, Any]]]
# Of those: id -> (version, the refs the listing reads out of it).
_Known = dict[str, tuple[str, list[dict[str, str]]]]


@dataclass
class ExtractStats:
    listed: int = 0
    fetched: int = 0
    skipped_unchanged: int = 0
    skipped_done: int = 0
    gone: int = 0
    listing_complete: bool = False


@dataclass(frozen=True)
class ResumePoint:
    """Where a list-form listing stands: which call, and the offset of the page being read."""

    call: int = 0
    offset: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"call": self.call, "offset": self.offset}


class ContentStream:
    """Iterates (id, object, version) triples of one content type exactly as Looker returned them.

    Detail types list ids (cheap) in a thread of their own while the details listed so far
    are fetched, with at most `max_concurrency` requests in flight (listing included) and at
    most twice that many results pending, so memory holds a set of ids, never a set of
    objects; `total` is known once the listing ends. Before iterating, the sync may set:
    - `done_ids`: ids an interrupted sync of this partition already stored (skipped);
    - `version_of(row)`: a digest of a versioned listing row (stored with the object);
    - `is_unchanged(id, version)`: True when the stored copy is current (yields UNCHANGED);
    - `resume`: where an interrupted list-form listing stood;
    - `stored_objects`: the stored objects of a type, for listings over another type's
      objects (read once, before the listing starts, in the consuming thread).
    """

    def __init__(self, client: LookerClient | ClientScope, content_type: ContentType, *,
                 page_size: int = 500, max_concurrency: int = 8,
                 batch_size: int = 500, full_refresh: bool = False) -> None:
        self.client = client
        self.content_type = content_type
        self.page_size = page_size
        self.max_concurrency = max(1, max_concurrency)
        self.batch_size = batch_size
        self.full_refresh = full_refresh
        # Results pending at most: the workers keep fetching while a batch commits.
        self.window = self.max_concurrency * WINDOW_FACTOR
        self.stats = ExtractStats()
        self.total: int | None = None
        self.done_ids: set[str] = set()
        self.version_of: Callable[[Any], str] | None = None
        self.is_unchanged: Callable[[str, str], bool] | None = None
        self.stored_objects: StoredObjects | None = None
        self._versions: dict[str, str] = {}
        self.resume = ResumePoint()
        self.position = ResumePoint()
        self._seen: set[str] = set()
        self._signals: dict[str, RowSignal] = {}

    def close(self) -> None:
        self.client.close()

    # -- listing ---------------------------------------------------------------------------

    def _pages(self, call: ListCall, start: int = 0) -> Iterator[tuple[int, list[msgspec.Raw]]]:
        """(offset, undecoded rows) of each page; unpaged calls are one page at offset 0.

        Rows stay JSON until `_decoded` takes them one at a time: an unpaged list (5,000
        scheduled plans) is never all Python objects at once.
        """
        params: dict[str, Any] = dict(call.params)
        if call.fields:
            params["fields"] = call.fields
        if not call.paged:
            yield 0, self.client.get_json_array(call.path, params)
            return
        offset, limit = start, min(self.page_size, call.page_size or self.page_size)
        while True:
            page = self.client.get_json_array(
                call.path, {**params, "limit": limit, "offset": offset})
            size = self.client.last_body_size
            yield offset, page
            # Stop on a short page; X-Total-Count is optional in Looker, so not relied on.
            if len(page) < limit:
                return
            offset += len(page)
            if size > PAGE_TARGET_BYTES:
                # Rows that embed much (folders carry their dashboards and looks): smaller
                # pages, so a page of rows stays a few MB.
                limit = max(MIN_PAGE, limit * PAGE_TARGET_BYTES // size)

    def _first_sighting(self, id_: str) -> bool:
        """Offset paging over a live instance can repeat a row, and listings overlap: keep one."""
        if id_ in self._seen:
            return False
        self._seen.add(id_)
        self.stats.listed += 1
        if id_ in self.done_ids:
            self.stats.skipped_done += 1
            return False
        return True

    # -- streaming -------------------------------------------------------------------------

    def __iter__(self) -> Iterator[tuple[str, Any, str | None]]:
        if self.content_type.detail is None:
            yield from self._iter_list_rows()
        else:
            yield from self._iter_details()
        self.stats.listing_complete = True

    def _iter_list_rows(self) -> Iterator[tuple[str, Any, str | None]]:
        ct = self.content_type
        for index, call in enumerate(ct.listing):
            if index < self.resume.call:
                continue
            start = self.resume.offset if index == self.resume.call and call.paged else 0
            for offset, page in self._pages(call, start):
                self.position = ResumePoint(index, offset)
                for row in _decoded(page):
                    id_ = _row_id(ct, row)
                    if self._first_sighting(id_):
                        self.stats.fetched += 1
                        yield id_, row, None

    def _iter_details(self) -> Iterator[tuple[str, Any, str | None]]:
        # Read here, in the consuming thread, which alone uses the store.
        known = self._known_sources()
        # The listing runs in its own thread while the details of what it has listed so far
        # are fetched: 3,000 dashboards spent 1.0 of 9.3 s listing before any detail request.
        with _Background(self._listed(known),
                         f"looker-{self.content_type.name}-listing") as listed:
            yield from self._fetch_all(listed)

    def _listed(self, known: dict[int, _Known]) -> Iterator[str | tuple[str, Any, str | None]]:
        """Each listed id to fetch, or (id, UNCHANGED, version) when the stored copy is
        current; sets `total` at the end. Only ids are kept, never listing rows."""
        ct = self.content_type
        to_fetch = 0
        for index, call in enumerate(ct.listing):
            for ref, child, row in self._listed_refs(call, known.get(index)):
                id_ = ct.id_template.format_map(ref)
                if not self._first_sighting(id_):
                    continue
                version = self._version(call, id_, child, row)
                if version is not None:
                    if self.is_unchanged is not None and self.is_unchanged(id_, version):
                        self.stats.skipped_unchanged += 1
                        yield id_, UNCHANGED, version
                        continue
                    self._versions[id_] = version
                to_fetch += 1
                yield id_
        self.total = to_fetch + self.stats.skipped_unchanged

    def _version(self, call: ListCall, id_: str, child: Any, row: Any) -> str | None:
        """What the stored copy must have been fetched at to be current, if anything says:
        the listing's `child` (the row, or its `expand` element), with the signal of the
        `row` it is in where the call names one (an unknown signal: no version)."""
        if self.version_of is None or self.content_type.immutable:
            return self.kept_version(id_)
        if not call.versioned:
            return None
        if call.signal is None:
            return self.version_of(child)
        if call.signal not in self._signals:
            self._signals[call.signal] = SIGNALS[call.signal](self.client)
        signal = self._signals[call.signal](row)
        return None if signal is None else self.version_of([child, signal])

    def kept_version(self, id_: str) -> str | None:
        """The version to store with what `lookup` returned: only an immutable type's is
        known without a listing row (its id)."""
        return id_ if self.content_type.immutable and self.version_of is not None else None

    def _listed_refs(self, call: ListCall, known: _Known | None,
                     ) -> Iterator[tuple[dict[str, str], Any, Any]]:
        """The refs one listing yields, each with the `expand` element (or row) it is from and
        the row."""
        if call.objects_of is None:
            for _, page in self._pages(call):
                for row in _decoded(page):
                    for ref, child in _row_refs(call, row):
                        yield ref, child, row
            return
        for id_, obj, _ in self._source_stream(call, known):
            if obj is UNCHANGED:
                assert known is not None
                for ref in known[id_][1]:
                    yield ref, None, None
            else:
                for ref, child in _row_refs(call, obj):
                    yield ref, child, obj

    def _source_stream(self, call: ListCall, known: _Known | None) -> ContentStream:
        """The objects `call` reads, as a sync of their type would get them: listed, and
        fetched unless `known` (the stored ones) holds them at the version listed."""
        source = ContentStream(self.client, content_types.get(str(call.objects_of)),
                               page_size=self.page_size, max_concurrency=self.max_concurrency)
        if known is not None:
            source.version_of = self.version_of

            def is_unchanged(id_: str, version: str) -> bool:
                return id_ in known and known[id_][0] == version

            source.is_unchanged = is_unchanged
        return source

    def _known_sources(self) -> dict[int, _Known]:
        """Per listing that reads another type's objects: the refs of that type's stored
        objects by id, with the version each was fetched at (ids, not objects, are kept).
        Empty on a full refresh, or when the sync gives no store."""
        if self.stored_objects is None or self.is_unchanged is None:
            return {}
        known: dict[int, _Known] = {}
        for index, call in enumerate(self.content_type.listing):
            if call.objects_of is None:
                continue
            refs: _Known = {}
            for id_, version, obj in self.stored_objects(content_types.get(call.objects_of)):
                refs[id_] = (version, [ref for ref, _ in _row_refs(call, obj)])
            known[index] = refs
        return known

    def _get_object(self, template: str, ref: dict[str, str],
                    params: dict[str, str] | None = None) -> Any:
        """GET one object by its path template, or _GONE on a 404."""
        # Ids are opaque strings (LookML dashboards are `model::name`): quote them whole.
        path = template.format_map({k: quote(v, safe="") for k, v in ref.items()})
        try:
            return self.client.get_json(path, params or None)
        except LookerNotFound:
            return _GONE

    def _fetch_one(self, id_: str) -> tuple[str, Any]:
        ct = self.content_type
        assert ct.detail is not None
        ref = self._ref(id_)
        params = {k: v.format_map(ref) for k, v in ct.detail_params.items()}
        return id_, self._get_object(ct.detail, ref, params)

    def _ref(self, id_: str) -> dict[str, str]:
        """The path variables of an id: `x`, or `a::b` for explores (a LookML dashboard id
        `m::d` is one `{id}`)."""
        names = _template_fields(self.content_type.id_template)
        parts = [id_] if len(names) == 1 else id_.split("::", len(names) - 1)
        return dict(zip(names, parts, strict=True))

    def lookup(self, id_: str) -> Any | None:
        """The object now, in the form the type stores, or None when Looker says it is gone
        (a 404 from its single-object endpoint); UNCHANGED, without a request, for a stored
        object of an immutable type (it still exists, as it was)."""
        ct = self.content_type
        if ct.immutable and self.is_unchanged is not None and self.is_unchanged(id_, id_):
            return UNCHANGED
        ref = self._ref(id_)
        obj = self._get_object(ct.lookup_path, ref)
        if obj is _GONE:
            return None
        if ct.detail is not None and ct.lookup_path != ct.detail:
            # The lookup only proves it exists (a sub-collection's parent): fetch what is
            # stored.
            _, obj = self._fetch_one(id_)
            return None if obj is _GONE else obj
        if ct.detail is None:
            # Stored as listing rows: where they differ from the single-object form, the row as
            # listed (a group's row carries its parents and roles; its group(id) does not).
            row = self._listed_row(id_)
            if row is not None:
                return row
        return obj

    def _listed_row(self, id_: str) -> Any | None:
        ct = self.content_type
        for call in ct.listing:
            if not call.reread_by_id:
                continue
            params = {**call.params, "id": id_, **({"fields": call.fields} if call.fields else {})}
            for row in _decoded(self.client.get_json_array(call.path, params, kind="detail")):
                if isinstance(row, dict) and str(row.get(call.ref["id"])) == id_:
                    return row
        return None

    def _fetch_all(self, listed: _Background) -> Iterator[tuple[str, Any, str | None]]:
        window = self.window
        # Finished fetches arrive on a queue (each future's done callback puts it there):
        # concurrent.futures.wait() would lock and unlock every pending future on each call,
        # 6% of a dashboards sync's GIL time.
        finished: queue.SimpleQueue[Future[tuple[str, Any]]] = queue.SimpleQueue()
        with ThreadPoolExecutor(self.max_concurrency,
                                thread_name_prefix=f"looker-{self.content_type.name}") as pool:
            pending: set[Future[tuple[str, Any]]] = set()
            listing_done = False
            try:
                while not listing_done or pending:
                    while not listing_done and len(pending) < window:
                        # Wait for the listing only when nothing else is in flight.
                        item = listed.get(block=not pending)
                        if item is _NOTHING_YET:
                            break
                        if item is _END:
                            listing_done = True
                        elif isinstance(item, tuple):
                            yield item  # unchanged: nothing to fetch
                        else:
                            future = pool.submit(self._fetch_one, item)
                            pending.add(future)
                            future.add_done_callback(finished.put)
                    if not pending:
                        continue
                    # Short waits while the listing may bring more work than is in flight.
                    timeout = None if listing_done or len(pending) >= window else 0.005
                    for future in _drain(finished, timeout):
                        pending.discard(future)
                        id_, obj = future.result()
                        version = self._versions.pop(id_, None)
                        if obj is _GONE:
                            # Deleted between list and detail: gone, not an error, not seen.
                            self.stats.gone += 1
                            continue
                        self.stats.fetched += 1
                        yield id_, obj, version
            finally:
                for future in pending:
                    future.cancel()


def _drain(finished: queue.SimpleQueue[Any], timeout: float | None) -> list[Any]:
    """What has finished: waits up to `timeout` (None: for ever) for the first, then takes
    whatever else is already there."""
    try:
        got = [finished.get(timeout=timeout)]
    except queue.Empty:
        return []
    while True:
        try:
            got.append(finished.get_nowait())
        except queue.Empty:
            return got


_END = object()
_NOTHING_YET = object()


class _Background:
    """Runs an iterator in a thread of its own; `get` hands over its items in order, then
    `_END`, and raises what the iterator raised. Leaving the `with` block stops it at its
    next item (a request in progress finishes first; the thread is a daemon)."""

    def __init__(self, items: Iterator[Any], name: str) -> None:
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(items,), name=name,
                                        daemon=True)

    def __enter__(self) -> _Background:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=1.0)

    def _run(self, items: Iterator[Any]) -> None:
        try:
            for item in items:
                if self._stop.is_set():
                    return
                self._queue.put(item)
            self._queue.put(_END)
        except BaseException as exc:  # handed to the consuming thread, raised there
            self._queue.put(_Failure(exc))

    def get(self, block: bool) -> Any:
        """The next item, `_END`, or `_NOTHING_YET` when not blocking and none is ready."""
        try:
            item = self._queue.get(block=block)
        except queue.Empty:
            return _NOTHING_YET
        if isinstance(item, _Failure):
            raise item.error
        return item


@dataclass(frozen=True)
class _Failure:
    error: BaseException


def _decoded(page: list[msgspec.Raw]) -> Iterator[Any]:
    """Decode a page's rows one at a time (each Raw is a view into the page's body)."""
    for raw in page:
        yield msgspec.json.decode(raw)


def _row_refs(call: ListCall, row: Any) -> Iterator[tuple[dict[str, str], Any]]:
    """The refs of one row (one per `expand` element), each with the element it is from."""
    children = [row] if call.expand is None else (row.get(call.expand) or ())
    for child in children:
        try:
            ref = {var: str(_lookup(child, key, row)) for var, key in call.ref.items()}
        except LookerResponseError:
            if call.optional_ref:
                continue
            raise
        yield ref, child


def _lookup(row: Any, key: str, parent: Any) -> Any:
    source = row
    if key.startswith("parent."):
        source, key = parent, key[len("parent."):]
    if not isinstance(source, dict) or source.get(key) in (None, ""):
        raise LookerResponseError(f"listing row has no {key!r}: cannot address the object")
    return source[key]


@functools.cache
def _template_fields(template: str) -> tuple[str, ...]:
    return tuple(name for _, name, _, _ in string.Formatter().parse(template) if name)


def _row_id(ct: ContentType, row: Any) -> str:
    """The stored id of a list row, from the fields its id template names."""
    if not isinstance(row, dict):
        raise LookerResponseError(f"{ct.name}: listing row is not a JSON object")
    values = {name: str(_lookup(row, name, None)) for name in _template_fields(ct.id_template)}
    return ct.id_template.format_map(values)
