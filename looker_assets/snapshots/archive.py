"""The snapshot payload: the store copy, zstd-compressed as one stream, optionally
age-encrypted; and the way back, with every check a restore needs."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterable
from contextlib import closing, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyrage

from looker_assets.snapshots import SnapshotError

try:
    from compression import zstd  # type: ignore[import-not-found]  # Python 3.14+
except ImportError:
    from backports import zstd

CHUNK = 4 * 1024 * 1024
# Level 3 is zstd's default: levels above it buy little on MessagePack (backup-storage.md
# §2.1) and cost several times the CPU; two worker threads keep a 2-core host's push fast.
LEVEL = 3
WORKERS = min(2, os.cpu_count() or 1)


@dataclass
class Packed:
    path: Path
    bytes: int
    sha256: str  # of the bytes uploaded
    plain_bytes: int
    plain_sha256: str


def _private(path: Path) -> Any:
    """A new file only this user can read (a store copy holds emails and hosts)."""
    return os.fdopen(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600), "wb")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def pack(copy: Path, folder: Path, recipients: list[Any]) -> Packed:
    """Compress `copy` into `folder` (then encrypt it to `recipients`, if any)."""
    compressed = folder / "payload.zst"
    plain = hashlib.sha256()
    size = 0
    params = {zstd.CompressionParameter.compression_level: LEVEL,
              zstd.CompressionParameter.checksum_flag: 1}
    if WORKERS > 1:
        params[zstd.CompressionParameter.nb_workers] = WORKERS
    compressor = zstd.ZstdCompressor(options=params)
    with open(copy, "rb") as src, _private(compressed) as out:
        while chunk := src.read(CHUNK):
            plain.update(chunk)
            size += len(chunk)
            out.write(compressor.compress(chunk))
        out.write(compressor.flush())
    final = compressed
    if recipients:
        final = folder / "payload.zst.age"
        try:
            pyrage.encrypt_file(str(compressed), str(final), recipients)
        except pyrage.EncryptError as exc:
            raise SnapshotError(f"encryption failed: {exc}") from None
        compressed.unlink()
        os.chmod(final, 0o600)
    return Packed(final, final.stat().st_size, file_sha256(final), size, plain.hexdigest())


def download(chunks: Iterable[bytes | memoryview], target: Path) -> tuple[int, str]:
    """Write `chunks` to a new private file; its size and SHA-256."""
    digest = hashlib.sha256()
    size = 0
    with _private(target) as out:
        for chunk in chunks:
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    return size, digest.hexdigest()


def unpack(payload: Path, target: Path, identities: list[Any] | None) -> tuple[int, str]:
    """Decrypt (when `identities` are given) and decompress `payload` into `target` (the
    SQLite file); its size and SHA-256. The intermediate file is removed either way."""
    source = payload
    if identities is not None:
        source = payload.with_name(payload.name + ".zst")
        try:
            pyrage.decrypt_file(str(payload), str(source), identities)
        except pyrage.DecryptError as exc:
            with suppress(FileNotFoundError):
                source.unlink()  # pyrage leaves a partial output behind
            reason = ("the identity does not match any recipient of the snapshot"
                      if "No matching keys" in str(exc) else f"the payload is damaged ({exc})")
            raise SnapshotError(f"cannot decrypt: {reason}") from None
    digest = hashlib.sha256()
    size = 0
    decompressor = zstd.ZstdDecompressor()
    try:
        with open(source, "rb") as src, _private(target) as out:
            # A snapshot is one frame: data after it would be a sign of tampering.
            while chunk := src.read(CHUNK):
                if decompressor.eof:
                    raise SnapshotError("cannot decompress: data after the zstd frame")
                data = decompressor.decompress(chunk)
                digest.update(data)
                size += len(data)
                out.write(data)
            if not decompressor.eof:
                raise SnapshotError("cannot decompress: the zstd stream is truncated")
    except zstd.ZstdError as exc:
        raise SnapshotError(f"cannot decompress: {exc}") from None
    finally:
        if source != payload:
            with suppress(FileNotFoundError):
                source.unlink()
    return size, digest.hexdigest()


@dataclass
class StoreFacts:
    """What a snapshot's manifest tells about the store inside it."""

    schema_version: int
    source_instance: str | None
    rows: dict[str, dict[str, int]] = field(default_factory=dict)


def store_facts(path: Path) -> StoreFacts:
    """Read from the SQLite copy itself: schema version, instance, rows per content type."""
    with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        instance = conn.execute("SELECT value FROM store_meta WHERE key = 'looker_instance'"
                                ).fetchone()
        names = dict(conn.execute("SELECT code, name FROM content_types"))
        rows: dict[str, dict[str, int]] = {}
        for table, label in (("content_items", "items"), ("content_versions", "versions")):
            for code, count in conn.execute(
                    f"SELECT content_type, count(*) FROM {table} GROUP BY content_type"):
                rows.setdefault(names.get(code, str(code)), {"items": 0, "versions": 0})[
                    label] = count
    return StoreFacts(version, instance[0] if instance else None, dict(sorted(rows.items())))


def check_store(path: Path, expected_rows: dict[str, dict[str, int]] | None) -> list[str]:
    """Problems of a restored SQLite file: SQLite's own integrity check, the store's checks
    of every row and version (what `verify` runs), and the manifest's row counts."""
    from looker_assets.content_types import CONTENT_TYPES
    from looker_assets.storage.integrity import check_history, check_rows
    from looker_assets.storage.store import ContentStore, StoreError

    problems: list[str] = []
    with closing(sqlite3.connect(path)) as conn:
        try:
            result = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        except sqlite3.DatabaseError as exc:
            return [f"not a readable SQLite database: {exc}"]
        if result != ["ok"]:
            return [f"SQLite integrity_check: {'; '.join(result[:5])}"]
    if expected_rows is not None:
        found = store_facts(path).rows
        if found != expected_rows:
            problems.append(f"row counts differ from the manifest: {found} != {expected_rows}")
    try:
        with ContentStore(path) as store:
            for ct in CONTENT_TYPES:
                for report in (check_rows(store, ct), check_history(store, ct)):
                    problems.extend(f"{b.content_type} {b.id}: {b.problem}" for b in report.bad)
    except StoreError as exc:
        problems.append(str(exc))
    return problems
