"""Integrity of a stored file, checked from the file alone (shared by asset checks and CLI)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import msgspec

from looker_assets.content_types import BY_NAME, ContentType
from looker_assets.storage import codec
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
    """Every row decodes, and its checksum and content_size match its BLOB."""
    report = IntegrityReport(content_type.name)
    for item in store.iter_items(content_type.code):
        report.rows += 1
        problem = None
        if len(item.content_data) != item.content_size:
            problem = f"content_size {item.content_size} != {len(item.content_data)} bytes"
        elif codec.checksum(item.content_data) != item.checksum:
            problem = "checksum mismatch"
        else:
            try:
                codec.decode(item.content_data)
            except msgspec.DecodeError as exc:
                problem = f"does not decode: {exc}"
        if problem:
            report.bad.append(BadRow(content_type.name, item.id, problem))
    return report


@dataclass(frozen=True)
class DanglingReference:
    content_type: str
    id: str
    field: str
    target: str
    value: str


def dangling_references(store: ContentStore,
                        content_type: ContentType) -> Iterator[DanglingReference]:
    """References from active objects of the type to objects not stored as active."""
    if not content_type.references:
        return
    targets = {ref.target: store.active_ids(BY_NAME[ref.target].code)
               for ref in content_type.references}
    for item in store.iter_items(content_type.code, include_deleted=False):
        obj = codec.decode(item.content_data)
        if not isinstance(obj, dict):
            continue
        for ref in content_type.references:
            value = obj.get(ref.field)
            if value is not None and str(value) not in targets[ref.target]:
                yield DanglingReference(content_type.name, item.id, ref.field, ref.target,
                                        str(value))
