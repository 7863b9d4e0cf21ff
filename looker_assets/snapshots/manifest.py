"""The manifest: one small JSON object per snapshot, written after its data and read first.

A snapshot exists only once its manifest does; a data object without one is an upload that
never finished. What the manifest says is visible to anyone who can list the bucket: for an
encrypted snapshot it holds no fact about the content (no plaintext hash, no row counts)."""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from looker_assets.snapshots import SnapshotError

# 1: one zstd frame of a SQLite store file, optionally inside age (X25519 recipients).
FORMAT_VERSION = 1
DATA_SUFFIX = ".lksnap"
MANIFEST_SUFFIX = ".json"
NAME = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{8}$")


def tool_version() -> str:
    try:
        return version("looker-assets")
    except PackageNotFoundError:
        return "unknown"


def new_name(created: datetime) -> str:
    """`YYYYMMDDTHHMMSSZ-<8 random hex>`: sorts by time; two pushes in one second differ."""
    return f"{created.astimezone(UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"


def is_name(text: str) -> bool:
    return bool(NAME.match(text))


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Manifest:
    name: str
    created_at: str
    bytes: int
    sha256: str
    schema_version: int
    source_kind: str
    source_instance: str | None
    encryption: dict[str, Any] | None
    # Only when not encrypted: the store file's size, SHA-256 and rows per type.
    plaintext: dict[str, Any] | None = None
    compression: str = "zstd"
    format_version: int = FORMAT_VERSION
    tool: str = "looker-assets"
    tool_version: str = ""

    @property
    def data_key(self) -> str:
        return self.name + DATA_SUFFIX

    @property
    def manifest_key(self) -> str:
        return self.name + MANIFEST_SUFFIX

    @property
    def created(self) -> datetime:
        return datetime.strptime(self.created_at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)

    def to_json(self) -> bytes:
        return (json.dumps(asdict(self), indent=2, sort_keys=True) + "\n").encode()


@dataclass
class Listed:
    """A manifest as found in the bucket: readable, or the reason it is not usable."""

    name: str
    manifest: Manifest | None
    problem: str | None = None  # unreadable, or written by a newer release
    newer_format: int | None = None
    created_at: str | None = None  # from the manifest, else from the name

    @property
    def created(self) -> datetime | None:
        try:
            return datetime.strptime(self.created_at or "", "%Y-%m-%dT%H:%M:%SZ").replace(
                tzinfo=UTC)
        except ValueError:
            return None


def name_time(name: str) -> str | None:
    try:
        return utc_text(datetime.strptime(name[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC))
    except ValueError:
        return None


def parse(name: str, raw: bytes) -> Listed:
    """A manifest's bytes as a Listed: never raises (a bad manifest is reported, not fatal)."""
    try:
        data = json.loads(raw)
        found = int(data["format_version"])
    except (ValueError, KeyError, TypeError):
        return Listed(name, None, "manifest is not readable JSON with a format_version",
                      created_at=name_time(name))
    created = data.get("created_at") if isinstance(data.get("created_at"), str) else None
    if found > FORMAT_VERSION:
        return Listed(name, None, f"written in snapshot format {found} by looker-assets "
                      f"{data.get('tool_version', '?')}: needs a newer release (this one reads "
                      f"format {FORMAT_VERSION})", newer_format=found,
                      created_at=created or name_time(name))
    try:
        fields = {k: data[k] for k in Manifest.__dataclass_fields__ if k in data}
        manifest = Manifest(**fields)
        if manifest.name != name:
            raise ValueError(f"names {manifest.name!r}")
        manifest.created  # noqa: B018 (validates the timestamp)
    except (TypeError, ValueError) as exc:
        return Listed(name, None, f"manifest is malformed: {exc}", created_at=name_time(name))
    return Listed(name, manifest, created_at=manifest.created_at)


def check_readable(listed: Listed) -> Manifest:
    """The manifest, or a refusal that reads no payload (newer format, malformed)."""
    if listed.manifest is None:
        raise SnapshotError(f"snapshot {listed.name}: {listed.problem}")
    return listed.manifest
