"""Encoding at the boundary: raw JSON in, MessagePack plus checksum out.

msgspec decodes the API's JSON once into plain dicts and lists (every key, every null, in the
server's order) and encodes that to MessagePack once. No per-type classes on the hot path.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

_msgpack_encoder = msgspec.msgpack.Encoder()
_msgpack_decoder = msgspec.msgpack.Decoder()


def encode(obj: Any) -> bytes:
    return _msgpack_encoder.encode(obj)


def decode(blob: bytes) -> Any:
    return _msgpack_decoder.decode(blob)


class _Skim(msgspec.Struct):
    """No fields: decoding into it walks the whole MessagePack structure (so truncated or
    malformed bytes still fail) without building a Python object of it."""


_skim_decoder = msgspec.msgpack.Decoder(_Skim | list[msgspec.Raw])


def check_decodes(blob: bytes) -> None:
    """Raise msgspec.DecodeError unless `blob` is well-formed MessagePack: what decode() would
    raise, at a fraction of its cost (7x less for a dashboard)."""
    try:
        _skim_decoder.decode(blob)
    except msgspec.ValidationError:
        decode(blob)  # a top level other than a map or array: decode it whole


def paths_decoder(paths: list[str]) -> Any:
    """A decoder that reads only the keys on `paths` (dotted, through nested maps and lists of
    maps) and gives them as dicts and lists, everything else skipped unbuilt; a blob of
    another shape is decoded whole. For reading references out of every stored object."""
    tree: dict[str, Any] = {}
    for path in paths:
        node = tree
        for key in path.split("."):
            node = node.setdefault(key, {})
    if not all(key.isidentifier() for path in paths for key in path.split(".")):
        return decode

    def struct(node: dict[str, Any], name: str) -> Any:
        fields = []
        for key, child in node.items():
            if child:  # a map on the way: one, a list of them, or nothing
                inner = struct(child, f"{name}_{key}")
                fields.append((key, inner | list[inner] | None, None))
            else:
                fields.append((key, Any, None))
        return msgspec.defstruct(name, fields)

    view = msgspec.msgpack.Decoder(struct(tree, "Paths"))

    def read(blob: bytes) -> Any:
        try:
            return msgspec.to_builtins(view.decode(blob))
        except msgspec.ValidationError:
            return decode(blob)

    return read


def checksum(blob: bytes) -> str:
    # SHA-256 runs on the CPU's SHA extensions: 6.1 us per 10 KB here, BLAKE2b 8.0 us.
    return hashlib.sha256(blob).hexdigest()


def version_digest(listing_row: Any) -> str:
    """A short digest of a listing row: equal rows mean an unchanged object."""
    return hashlib.blake2b(_msgpack_encoder.encode(listing_row), digest_size=12).hexdigest()


def utc_timestamp(value: Any) -> str | None:
    """Looker's timestamp as ISO 8601 UTC text, or None when absent or unreadable.

    Never a made-up value: anything that does not parse as a date-time stays NULL.
    """
    if not isinstance(value, str) or not value:
        return None
    if len(value) == 29 and value[19] == "." and value.endswith("+00:00") and value[10] == "T":
        # Looker's usual form, `2025-03-04T05:06:07.123+00:00`: already UTC, no parsing
        # needed beyond checking it is a real date-time (the write path runs this per row).
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return None
        return value[:23] + "000Z"
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        # Looker writes UTC; a naive value is read as UTC rather than as local time.
        parsed = parsed.replace(tzinfo=UTC)
    return format_utc(parsed)


_clock_lock = threading.Lock()
_last_now = datetime.min.replace(tzinfo=UTC)


def now_utc() -> str:
    """The current UTC time as stored: strictly increasing within the process, so two versions
    of one object never share a moment even when the wall clock steps back."""
    global _last_now
    with _clock_lock:
        now = max(datetime.now(UTC), _last_now + timedelta(microseconds=1))
        _last_now = now
    return format_utc(now)


def format_utc(moment: datetime) -> str:
    """A timezone-aware datetime in the stored form, `2026-11-27T02:00:00.000000Z`."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")
