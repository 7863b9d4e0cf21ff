"""Offsite snapshots of the store: a consistent copy, zstd-compressed, optionally encrypted to
age recipients, uploaded create-only beside a manifest written last (issue 17)."""

from __future__ import annotations

URL_ENV = "LOOKER_ASSETS_SNAPSHOT_URL"
RECIPIENT_ENV = "LOOKER_ASSETS_SNAPSHOT_RECIPIENT"
IDENTITY_ENV = "LOOKER_ASSETS_SNAPSHOT_IDENTITY"


class SnapshotError(RuntimeError):
    """A snapshot operation cannot go on; the message says why and never holds a secret."""


class SnapshotNotFound(SnapshotError):
    pass


class BucketMissing(SnapshotError):
    pass
