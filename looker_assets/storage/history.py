"""Reading the past: the instance as the syncs saw it at any moment, and what changed.

"As of T", for one content type, is what the last sync of that type that completed at or before
T saw: the versions current at that sync's completion. Each type has its own syncs, so each
has its own cutoff; a type not yet synced at T has no state at T (reported, never guessed).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

from looker_assets.content_types import BY_CODE
from looker_assets.storage import codec
from looker_assets.storage.bodies import Body
from looker_assets.storage.store import ContentStore

HISTORY_STARTS_AT = "history_starts_at"
HISTORY_STARTS_WHY = "history_starts_why"

# A version's body: in content_blobs, or, while content_items holds that version, only there.
_BODY = ("i.codec, i.dict_id, i.content_data, b.codec, b.dict_id, b.base_checksum, "
         "b.content_data",
         "LEFT JOIN content_items i ON i.content_type = v.content_type AND i.id = v.id "
         "AND i.checksum = v.checksum LEFT JOIN content_blobs b ON b.checksum = v.checksum")
_NO_BODY = ("NULL, NULL, NULL, NULL, NULL, NULL, NULL", "")
_CURRENT_AT = "v.valid_from <= :at AND (v.valid_to IS NULL OR v.valid_to > :at)"


def _select_versions(with_bytes: bool = True) -> str:
    """SELECT ... FROM content_versions v (with the bodies' joins): what _version reads."""
    body, joins = _BODY if with_bytes else _NO_BODY
    return (f"SELECT v.id, v.valid_from, v.valid_to, v.content_size, v.checksum, {body} "
            f"FROM content_versions v {joins}")


def _version(store: ContentStore, code: int, row: Any) -> Version:
    """A row of _select_versions as a Version with its raw bytes (BodyError when its body
    does not read back)."""
    id_, valid_from, valid_to, size, checksum, i_codec, i_dict, i_data, *blob = row
    if i_data is not None:
        body: Body | None = Body(i_codec, i_dict, i_data)
    elif blob[-1] is not None:
        b_codec, b_dict, b_base, b_data = blob
        body = Body(b_codec, b_dict, b_data, b_base)
    else:
        body = None
    raw = None if body is None else store.bodies.unpack(
        body, f"{BY_CODE[code].name} {id_}, version from {valid_from}")
    return Version(id_, valid_from, valid_to, size, checksum, raw)


class HistoryError(ValueError):
    """A moment the store cannot answer for: before the first sync, pruned, or unreadable."""


@dataclass(frozen=True, slots=True)
class Version:
    id: str
    valid_from: str
    valid_to: str | None
    content_size: int
    checksum: str
    content_data: bytes | None  # None only when a store lost the bytes (integrity says so)

    def decoded(self) -> Any:
        if self.content_data is None:
            raise HistoryError(f"the bytes of version {self.checksum[:12]} of {self.id} "
                               f"are missing; run `looker-assets verify`")
        return codec.decode(self.content_data)


# -- moments -------------------------------------------------------------------------------

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_moment(text: str, label: str = "WHEN") -> str:
    """WHEN as stored text: an ISO-8601 timestamp (UTC when it has no offset), or a date
    YYYY-MM-DD meaning the end of that UTC day."""
    value = text.strip()
    try:
        if _DATE.fullmatch(value):
            return codec.format_utc(datetime.combine(date.fromisoformat(value), time.max, UTC))
        moment = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        raise HistoryError(
            f"{label} {text!r} is not a date (YYYY-MM-DD, the end of that UTC day) or an ISO-8601 "
            f"timestamp (e.g. 2026-11-27T14:30:00Z)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return codec.format_utc(moment)


# -- which sync answers for a moment -------------------------------------------------------

def first_sync(store: ContentStore) -> str | None:
    return store.db.execute("SELECT min(completed_at) FROM sync_history").fetchone()[0]


def last_sync(store: ContentStore) -> str | None:
    return store.db.execute("SELECT max(completed_at) FROM sync_history").fetchone()[0]


def history_start(store: ContentStore) -> tuple[str | None, str]:
    """The first moment the history can answer for (None: its first sync), and why."""
    meta = dict(store.db.execute("SELECT key, value FROM store_meta WHERE key IN (?, ?)",
                                   (HISTORY_STARTS_AT, HISTORY_STARTS_WHY)))
    return meta.get(HISTORY_STARTS_AT), meta.get(HISTORY_STARTS_WHY, "")


def check_moment(store: ContentStore, at: str, label: str = "WHEN") -> None:
    """Fail clearly when the store holds nothing for `at`."""
    first = first_sync(store)
    if first is None:
        raise HistoryError(f"no sync has completed in {store.location} yet: run a sync first")
    if at < first:
        raise HistoryError(f"{label} {at} is before the first completed sync ({first}); "
                           f"the store holds nothing for it")
    start, why = history_start(store)
    if start is not None and at < start:
        raise HistoryError(f"{label} {at} is before {start}: the history before it is not "
                           f"kept ({why})")


def sync_cutoff(store: ContentStore, code: int, at: str) -> str | None:
    """When the last sync of the type that completed at or before `at` completed."""
    return store.db.execute(
        "SELECT max(completed_at) FROM sync_history WHERE content_type = ? "
        "AND completed_at <= ?", (code, at)).fetchone()[0]


def partition_cutoff(store: ContentStore, code: int, partition_key: str) -> str | None:
    """When the last completed sync of the type for that partition completed."""
    return store.db.execute(
        "SELECT max(completed_at) FROM sync_history WHERE content_type = ? "
        "AND partition_key = ?", (code, partition_key)).fetchone()[0]


# -- the state at a cutoff -----------------------------------------------------------------

def versions_at(store: ContentStore, code: int, cutoff: str,
                with_bytes: bool = True) -> Iterator[Version]:
    """The versions of the type current at `cutoff` (a sync's completion), by id, streamed."""
    sql = (f"{_select_versions(with_bytes)} WHERE v.content_type = :code AND {_CURRENT_AT} "
           f"ORDER BY v.id")
    for row in store.db.stream(sql, {"code": code, "at": cutoff}):
        yield _version(store, code, row)


def checksums_at(store: ContentStore, code: int, cutoff: str) -> dict[str, str]:
    """id -> checksum of the versions current at `cutoff` (no bytes read)."""
    return {v.id: v.checksum for v in versions_at(store, code, cutoff, with_bytes=False)}


def version_at(store: ContentStore, code: int, id_: str, cutoff: str) -> Version | None:
    row = store.db.execute(
        f"{_select_versions()} WHERE v.content_type = :code AND v.id = :id "
        f"AND {_CURRENT_AT} ORDER BY v.valid_from DESC LIMIT 1",
        {"code": code, "id": id_, "at": cutoff}).fetchone()
    return None if row is None else _version(store, code, row)


def versions_of(store: ContentStore, code: int, id_: str) -> list[Version]:
    """Every kept version of one object, oldest first."""
    return [_version(store, code, row) for row in store.db.execute(
        f"{_select_versions()} WHERE v.content_type = ? AND v.id = ? ORDER BY v.valid_from",
        (code, id_))]


def counts_at(store: ContentStore, code: int, cutoff: str) -> dict[str, int]:
    """Objects current at `cutoff`, their bytes, and objects seen before but gone by then."""
    active, size, seen = store.db.execute(
        f"SELECT count(*) FILTER (WHERE {_CURRENT_AT}), "
        f"sum(CASE WHEN {_CURRENT_AT} THEN v.content_size END), "
        f"count(DISTINCT v.id) FROM content_versions v WHERE v.content_type = :code "
        f"AND v.valid_from <= :at", {"code": code, "at": cutoff}).fetchone()
    return {"active": active or 0, "deleted": (seen or 0) - (active or 0), "bytes": size or 0}


# -- what changed --------------------------------------------------------------------------

@dataclass
class TypeDiff:
    added: list[str]
    changed: list[str]
    deleted: list[str]


def id_order(id_: str) -> tuple[int, int, str]:
    """Numeric ids in numeric order (2 before 10), then the others by text."""
    return (0, int(id_), "") if id_.isdigit() else (1, 0, id_)


def diff_checksums(before: dict[str, str], after: dict[str, str]) -> TypeDiff:
    return TypeDiff(
        added=sorted(set(after) - set(before), key=id_order),
        changed=sorted((i for i in before.keys() & after.keys() if before[i] != after[i]),
                       key=id_order),
        deleted=sorted(set(before) - set(after), key=id_order),
    )


def changed_top_keys(old: Any, new: Any) -> list[str]:
    """Top-level keys whose values differ (added and removed keys included)."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return [] if old == new else ["(whole object)"]
    return sorted(k for k in old.keys() | new.keys()
                  if k not in old or k not in new or old[k] != new[k])


_ABSENT: Any = type("Absent", (), {"__repr__": lambda self: "(absent)"})()


def changed_paths(old: Any, new: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """(key path, old value, new value) of every leaf that differs. Lists of objects that all
    carry a distinct `id` are matched by id (`dashboard_elements[id=12].title`), so an inserted
    element is one change, not a shift of every element after it; other lists by position."""
    if old == new:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            yield from changed_paths(old.get(key, _ABSENT), new.get(key, _ABSENT),
                                     f"{path}.{key}" if path else str(key))
        return
    if isinstance(old, list) and isinstance(new, list):
        old_ids, new_ids = _ids(old), _ids(new)
        if old_ids is not None and new_ids is not None:
            for key in [*old_ids, *(k for k in new_ids if k not in old_ids)]:
                yield from changed_paths(old_ids.get(key, _ABSENT), new_ids.get(key, _ABSENT),
                                         f"{path}[id={key}]")
            return
        for i in range(max(len(old), len(new))):
            yield from changed_paths(old[i] if i < len(old) else _ABSENT,
                                     new[i] if i < len(new) else _ABSENT, f"{path}[{i}]")
        return
    yield path or "(whole object)", old, new


def _ids(items: list[Any]) -> dict[str, Any] | None:
    if not items or not all(isinstance(x, dict) and x.get("id") is not None for x in items):
        return None
    by_id = {str(x["id"]): x for x in items}
    return by_id if len(by_id) == len(items) else None


def is_absent(value: Any) -> bool:
    return value is _ABSENT
