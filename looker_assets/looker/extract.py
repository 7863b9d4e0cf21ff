"""Listing and detail fan-out for one content type, as a lazy stream of raw objects.

One code path: the sequential case is max_concurrency=1, not a second implementation.
"""

from __future__ import annotations

import functools
import string
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from looker_assets.content_types import ContentType, ListCall
from looker_assets.looker.client import LookerClient
from looker_assets.looker.errors import LookerNotFound, LookerResponseError


@dataclass
class ExtractStats:
    listed: int = 0
    fetched: int = 0
    gone: int = 0
    pages: int = 0
    listing_complete: bool = False
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    @property
    def seconds(self) -> float:
        return (self.finished or time.monotonic()) - self.started


def _lookup(row: Any, key: str, parent: Any) -> Any:
    source = row
    if key.startswith("parent."):
        source, key = parent, key[len("parent."):]
    if not isinstance(source, dict) or key not in source:
        raise LookerResponseError(f"listing row has no {key!r}: cannot address the object")
    return source[key]


def _ref_values(call: ListCall, row: Any, parent: Any) -> dict[str, str]:
    return {var: str(_lookup(row, key, parent)) for var, key in call.ref.items()}


class ContentStream:
    """Iterates (id, object) pairs of one content type exactly as Looker returned them.

    The listing runs first (ids only for detail types), then details are fetched with at most
    `max_concurrency` requests in flight and at most twice that many results pending, so memory
    holds a set of ids, not a set of objects.
    """

    def __init__(self, client: LookerClient, content_type: ContentType, *,
                 page_size: int = 500, max_concurrency: int = 8,
                 batch_size: int = 500) -> None:
        self.client = client
        self.batch_size = batch_size
        self.content_type = content_type
        self.page_size = page_size
        self.max_concurrency = max(1, max_concurrency)
        self.stats = ExtractStats()
        self.total: int | None = None
        self.seen_ids: set[str] = set()

    def close(self) -> None:
        self.client.close()

    # -- listing ---------------------------------------------------------------------------

    def _pages(self, call: ListCall) -> Iterator[list[Any]]:
        params: dict[str, Any] = dict(call.params)
        if call.fields:
            params["fields"] = call.fields
        if not call.paged:
            yield self._rows(call, self.client.get_json(call.path, params))
            return
        offset = 0
        while True:
            page = self._rows(call, self.client.get_json(
                call.path, {**params, "limit": self.page_size, "offset": offset}))
            yield page
            # Stop on a short page; X-Total-Count is optional in Looker, so not relied on.
            if len(page) < self.page_size:
                return
            offset += len(page)

    def _rows(self, call: ListCall, body: Any) -> list[Any]:
        self.stats.pages += 1
        if not isinstance(body, list):
            raise LookerResponseError(
                f"GET {call.path} returned {type(body).__name__}, expected a JSON array")
        return body

    def _refs(self) -> Iterator[dict[str, str]]:
        for call in self.content_type.listing:
            for page in self._pages(call):
                for row in page:
                    if call.expand is None:
                        yield _ref_values(call, row, None)
                        continue
                    for child in row.get(call.expand) or ():
                        yield _ref_values(call, child, row)

    # -- streaming -------------------------------------------------------------------------

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        if self.content_type.detail is None:
            yield from self._iter_list_rows()
        else:
            yield from self._iter_details()
        self.stats.listing_complete = True
        self.stats.finished = time.monotonic()

    def _iter_list_rows(self) -> Iterator[tuple[str, Any]]:
        ct = self.content_type
        for call in ct.listing:
            for page in self._pages(call):
                for row in page:
                    id_ = _row_id(ct, row)
                    if id_ in self.seen_ids:
                        # Offset paging over a live instance can repeat a row: keep one.
                        continue
                    self.seen_ids.add(id_)
                    self.stats.listed += 1
                    self.stats.fetched += 1
                    yield id_, row

    def _iter_details(self) -> Iterator[tuple[str, Any]]:
        ct = self.content_type
        assert ct.detail is not None
        refs: list[dict[str, str]] = []
        for ref in self._refs():
            id_ = ct.id_template.format_map(ref)
            if id_ not in self.seen_ids:
                self.seen_ids.add(id_)
                refs.append(ref)
        self.stats.listed = len(refs)
        self.total = len(refs)
        yield from self._fetch_all(refs)

    def _fetch_one(self, ref: dict[str, str]) -> tuple[str, Any]:
        ct = self.content_type
        assert ct.detail is not None
        id_ = ct.id_template.format_map(ref)
        # Ids are opaque strings (LookML dashboards are `model::name`); the SDK quotes paths
        # only in its typed methods, so quote here.
        path = ct.detail.format_map({k: _quote(v) for k, v in ref.items()})
        try:
            return id_, self.client.get_json(path)
        except LookerNotFound:
            return id_, _GONE

    def _fetch_all(self, refs: list[dict[str, str]]) -> Iterator[tuple[str, Any]]:
        window = self.max_concurrency * 2
        with ThreadPoolExecutor(self.max_concurrency,
                                thread_name_prefix=f"looker-{self.content_type.name}") as pool:
            pending: set[Future[tuple[str, Any]]] = set()
            position = 0
            try:
                while position < len(refs) or pending:
                    while position < len(refs) and len(pending) < window:
                        pending.add(pool.submit(self._fetch_one, refs[position]))
                        position += 1
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        id_, obj = future.result()
                        if obj is _GONE:
                            # Deleted between list and detail: gone, not an error, not seen.
                            self.stats.gone += 1
                            self.seen_ids.discard(id_)
                            continue
                        self.stats.fetched += 1
                        yield id_, obj
            finally:
                for future in pending:
                    future.cancel()


_GONE = object()


@functools.cache
def _template_fields(template: str) -> tuple[str, ...]:
    return tuple(name for _, name, _, _ in string.Formatter().parse(template) if name)


def _row_id(ct: ContentType, row: Any) -> str:
    """The stored id of a list row, from the fields its id template names."""
    if not isinstance(row, dict):
        raise LookerResponseError(f"{ct.name}: listing row is not a JSON object")
    values = {}
    for name in _template_fields(ct.id_template):
        value = row.get(name)
        if value is None or value == "":
            raise LookerResponseError(f"{ct.name}: listing row has no {name!r}")
        values[name] = str(value)
    return ct.id_template.format_map(values)


def _quote(value: str) -> str:
    return quote(value, safe="")
