"""From a raw Looker object to a stored row: metadata columns read through the registry."""

from __future__ import annotations

from typing import Any

from looker_assets.content_types import ContentType
from looker_assets.storage import codec
from looker_assets.storage.store import Row


def _text(obj: dict[str, Any], key: str | None) -> str | None:
    if key is None:
        return None
    value = obj.get(key)
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)


class UnstorableObject(ValueError):
    """An object MessagePack cannot hold as is (an integer beyond 64 bits): named, not hidden."""


def make_row(content_type: ContentType, id_: str, obj: Any, source_version: str | None = None,
             ) -> Row:
    """Encode `obj` once and read its metadata; the object itself is kept exactly as given."""
    try:
        blob = codec.encode(obj)
    except (OverflowError, TypeError, ValueError) as exc:
        raise UnstorableObject(
            f"{content_type.name} {id_}: cannot be stored exactly ({exc}); nothing was changed "
            f"for it") from None
    fields = obj if isinstance(obj, dict) else {}
    return Row(
        id=id_,
        name=_text(fields, content_type.name_field),
        owner_id=_text(fields, content_type.owner_field),
        owner_email=_text(fields, content_type.owner_email_field),
        created_at=codec.utc_timestamp(fields.get(content_type.created_field or "")),
        updated_at=codec.utc_timestamp(fields.get(content_type.updated_field or "")),
        source_version=source_version,
        content_data=blob,
        checksum=codec.checksum(blob),
    )
