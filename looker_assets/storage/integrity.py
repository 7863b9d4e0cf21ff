"""Integrity of a stored file, checked from the file alone (shared by asset checks and CLI)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import msgspec

from looker_assets.content_types import BY_NAME, ContentType
from looker_assets.storage import codec
from looker_assets.storage.bodies import Body, BodyError
from looker_assets.storage.store import ContentStore


@dataclass(frozen=True)
class BadRow:
    content_type: str
    id: str
    problem: str


@dataclass
class IntegrityReport:
    content_type: str
    rows: int = 0
    bad: list[BadRow] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.bad


def check_rows(store: ContentStore, content_type: ContentType) -> IntegrityReport:
    """Every row's body reads back, decodes, and its checksum and content_size match."""
    report = IntegrityReport(content_type.name)
    for id_, size, checksum, codec_, dict_id, data in store.db.stream(
            "SELECT id, content_size, checksum, codec, dict_id, content_data FROM content_items "
            "WHERE content_type = ? ORDER BY id", (content_type.code,)):
        report.rows += 1
        problem = _body_problem(store, Body(codec_, dict_id, data), size, checksum)
        if problem:
            report.bad.append(BadRow(content_type.name, id_, problem))
    return report


def _body_problem(store: ContentStore, body: Body | None, size: int,
                  checksum: str) -> str | None:
    if body is None:
        return "bytes missing (neither in content_blobs nor content_items)"
    try:
        data = store.bodies.unpack(body, "body")
    except BodyError as exc:
        return exc.problem
    if len(data) != size:
        return f"content_size {size} != {len(data)} bytes"
    if codec.checksum(data) != checksum:
        return "checksum mismatch"
    try:
        codec.check_decodes(data)
    except msgspec.DecodeError as exc:
        return f"does not decode: {exc}"
    return None


def check_history(store: ContentStore, content_type: ContentType) -> IntegrityReport:
    """The kept versions of the type: no two versions of one object overlap, the current (or,
    once deleted, the last) version is the content_items row, and every version's bytes
    decode and match its checksum. `rows` counts versions. (Bytes content_items holds are
    checked by check_rows.)"""
    report = IntegrityReport(content_type.name)
    items = {id_: (checksum, deleted) for id_, checksum, deleted in store.db.stream(
        "SELECT id, checksum, deleted_at IS NOT NULL FROM content_items WHERE content_type = ?",
        (content_type.code,))}
    verified: set[str] = set()

    def bad(id_: str, problem: str) -> None:
        report.bad.append(BadRow(content_type.name, id_, problem))

    def close_object(id_: str, last: tuple[str | None, str]) -> None:
        valid_to, checksum = last
        item = items.pop(id_, None)
        if item is None:
            bad(id_, "has versions but no content_items row")
        elif item[0] != checksum:
            bad(id_, "its latest version is not the content_items row")
        elif item[1] != (valid_to is not None):
            bad(id_, "deleted, but a version is open" if item[1] else
                "active, but its latest version is closed")

    previous: tuple[str, str | None, str] | None = None  # id, valid_to, checksum
    same = "(i.checksum IS NOT NULL AND i.checksum = v.checksum)"
    for id_, valid_from, valid_to, size, checksum, in_items, *blob in store.db.stream(
            f"SELECT v.id, v.valid_from, v.valid_to, v.content_size, v.checksum, {same}, "
            f"b.codec, b.dict_id, b.base_checksum, CASE WHEN {same} THEN NULL "
            "ELSE b.content_data END FROM content_versions v LEFT JOIN content_items i "
            "ON i.content_type = v.content_type AND i.id = v.id LEFT JOIN content_blobs b "
            "ON b.checksum = v.checksum WHERE v.content_type = ? ORDER BY v.id, v.valid_from",
            (content_type.code,)):
        report.rows += 1
        if previous is not None and previous[0] != id_:
            close_object(previous[0], previous[1:])
        elif previous is not None and (previous[1] is None or previous[1] > valid_from):
            bad(id_, f"the version from {valid_from} overlaps the one before it")
        if valid_to is not None and valid_to < valid_from:
            bad(id_, f"the version from {valid_from} closes before it opens ({valid_to})")
        if not in_items and checksum not in verified:
            b_codec, b_dict, b_base, b_data = blob
            body = None if b_data is None else Body(b_codec, b_dict, b_data, b_base)
            problem = _body_problem(store, body, size, checksum)
            if problem:
                bad(id_, f"version from {valid_from}: {problem}")
            else:
                verified.add(checksum)
        previous = (id_, valid_to, checksum)
    if previous is not None:
        close_object(previous[0], previous[1:])
    for id_ in sorted(items):
        bad(id_, "stored, but has no version")
    return report


def unjudged_targets(store: ContentStore, content_type: ContentType) -> list[str]:
    """Referenced types never synced into this store: nothing can be said of them yet."""
    synced = store.last_synced()
    return sorted({ref.target for ref in content_type.references
                   if BY_NAME[ref.target].code not in synced})


@dataclass(frozen=True)
class DanglingReference:
    content_type: str
    id: str
    field: str
    target: str
    value: str


def dangling_references(store: ContentStore,
                        content_type: ContentType) -> Iterator[DanglingReference]:
    """References from active objects of the type to objects not stored as active. Only
    targets whose type has completed a sync are judged (see `unjudged_targets`)."""
    synced = store.last_synced()
    references = [ref for ref in content_type.references
                  if BY_NAME[ref.target].code in synced]
    if not references:
        return
    targets = {ref.target: store.active_ids(BY_NAME[ref.target].code) for ref in references}
    # Only the referencing keys are built: a dashboard's tiles, not its whole JSON.
    read = codec.paths_decoder([ref.field for ref in references])
    for item in store.iter_items(content_type.code, include_deleted=False):
        obj = read(item.content_data)
        if not isinstance(obj, dict):
            continue
        for ref in references:
            # One id, a list of them (a group's parent_group_ids), or ids in nested objects.
            for one in ref.values(obj):
                if str(one) not in targets[ref.target]:
                    yield DanglingReference(content_type.name, item.id, ref.field, ref.target,
                                            str(one))
