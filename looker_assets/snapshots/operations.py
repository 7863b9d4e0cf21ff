"""push, list, pull, verify and prune: what the CLI and the Dagster asset call."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from looker_assets.snapshots import SnapshotError, SnapshotNotFound, archive, keys
from looker_assets.snapshots.copy import check_free_space, copy_store, store_bytes
from looker_assets.snapshots.destination import Destination
from looker_assets.snapshots.manifest import (
    DATA_SUFFIX,
    MANIFEST_SUFFIX,
    Listed,
    Manifest,
    check_readable,
    new_name,
    parse,
    tool_version,
    utc_text,
)
from looker_assets.snapshots.retention import Candidate, Decision, plan
from looker_assets.storage.backend import is_url

# Above this, the payload goes up as a multipart upload (obstore's create-only put holds the
# whole object in memory); below, one create-only PUT.
SINGLE_PUT_LIMIT = 512 * 1024 * 1024


@dataclass
class Pushed:
    name: str
    bytes: int
    sha256: str
    seconds: float
    store_bytes: int
    encrypted: bool
    url: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "bytes": self.bytes, "sha256": self.sha256,
                "seconds": round(self.seconds, 3), "store_bytes": self.store_bytes,
                "encrypted": self.encrypted, "url": self.url}


@contextmanager
def _work_folder(parent: Path) -> Any:
    """A private temporary folder, removed with everything in it whatever happens."""
    folder = Path(tempfile.mkdtemp(prefix=".lksnap-", dir=parent))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _default_work_parent(location: str) -> Path:
    # Next to a SQLite store (same disk, as big as it); the temp folder for PostgreSQL.
    return Path(tempfile.gettempdir()) if is_url(location) else Path(location).resolve().parent


def push(destination: Destination, location: str, recipients: list[Any],
         work_parent: Path | None = None, log: Callable[[str], None] = lambda _: None,
         ) -> Pushed:
    """Copy, compress, encrypt, upload (create-only), then write and read back the manifest.
    On any failure no manifest exists, so no snapshot is listed."""
    started = time.monotonic()
    destination.names()  # the bucket exists and the credentials work, before any copying
    parent = work_parent or _default_work_parent(location)
    size = store_bytes(location)
    # The copy (at most the store's size) plus its compressed form.
    check_free_space(parent, 2 * size, "the snapshot's temporary copy")
    created = datetime.now(UTC).replace(microsecond=0)
    name = new_name(created)
    with _work_folder(parent) as work:
        copy = work / "store.sqlite"
        log(f"copying {'PostgreSQL' if is_url(location) else 'SQLite'} store")
        copy_store(location, copy)
        facts = archive.store_facts(copy)
        log("compressing" + (" and encrypting" if recipients else ""))
        packed = archive.pack(copy, work, recipients)
        copy.unlink()
        manifest = Manifest(
            name=name, created_at=utc_text(created), bytes=packed.bytes, sha256=packed.sha256,
            schema_version=facts.schema_version,
            source_kind="postgresql" if is_url(location) else "sqlite",
            source_instance=facts.source_instance,
            encryption={"scheme": "age-x25519", "recipients": sorted(
                keys.fingerprint(str(r)) for r in recipients)} if recipients else None,
            plaintext=None if recipients else {
                "bytes": packed.plain_bytes, "sha256": packed.plain_sha256, "rows": facts.rows},
            tool_version=tool_version())
        log(f"uploading {manifest.data_key} ({packed.bytes:,} bytes)")
        destination.put_new(manifest.data_key, packed.path,
                            large=packed.bytes > SINGLE_PUT_LIMIT)
    _write_manifest(destination, manifest)
    return Pushed(name, packed.bytes, packed.sha256, time.monotonic() - started, size,
                  bool(recipients), destination.url)


def _write_manifest(destination: Destination, manifest: Manifest) -> None:
    """Only once the data object is there with its full size; read back after writing."""
    stored = destination.size(manifest.data_key)
    if stored != manifest.bytes:
        with suppress(SnapshotError):
            destination.delete(manifest.data_key)
        raise SnapshotError(f"{manifest.data_key} holds {stored} bytes after upload, not "
                            f"{manifest.bytes}; no manifest written")
    destination.put_new(manifest.manifest_key, manifest.to_json())
    back = parse(manifest.name, destination.read(manifest.manifest_key))
    if back.manifest != manifest:
        raise SnapshotError(f"the manifest of {manifest.name} reads back differently "
                            f"({back.problem or 'other content'})")


@dataclass
class Listing:
    snapshots: list[Listed]  # newest first
    sizes: dict[str, int]  # data objects: name -> size
    incomplete: list[str] = field(default_factory=list)  # data without a manifest


def list_snapshots(destination: Destination) -> Listing:
    sizes: dict[str, int] = {}
    manifests: list[str] = []
    for meta in destination.names():
        path = meta["path"].rsplit("/", 1)[-1]
        if path.endswith(DATA_SUFFIX):
            sizes[path[: -len(DATA_SUFFIX)]] = int(meta["size"])
        elif path.endswith(MANIFEST_SUFFIX):
            manifests.append(path[: -len(MANIFEST_SUFFIX)])
    listed = [parse(name, destination.read(name + MANIFEST_SUFFIX)) for name in manifests]
    listed.sort(key=lambda s: (s.created_at or "", s.name), reverse=True)
    incomplete = sorted(set(sizes) - set(manifests), reverse=True)
    return Listing(listed, sizes, incomplete)


def find(listing: Listing, name: str) -> Listed:
    """`name`, or the newest snapshot for "latest"."""
    if name == "latest":
        if not listing.snapshots:
            raise SnapshotNotFound("there is no snapshot at this destination yet")
        return listing.snapshots[0]
    for snap in listing.snapshots:
        if snap.name == name:
            return snap
    hint = " (its upload never finished: no manifest)" if name in listing.incomplete else ""
    raise SnapshotNotFound(f"no snapshot named {name}{hint}")


def _needs_identity(manifest: Manifest, identities: list[Any] | None) -> None:
    if manifest.encryption is None:
        return
    wanted = manifest.encryption.get("recipients", [])
    if identities is None:
        raise SnapshotError(f"snapshot {manifest.name} is encrypted (to {', '.join(wanted)}): "
                            f"pass --identity FILE or set {keys.IDENTITY_ENV}")
    if wanted and not keys.identity_fingerprints(identities) & set(wanted):
        raise SnapshotError(f"the identity given does not match snapshot {manifest.name}'s "
                            f"recipients ({', '.join(wanted)})")


def _fetch_and_check(destination: Destination, manifest: Manifest, work: Path,
                     identities: list[Any] | None) -> tuple[Path | None, list[str]]:
    """Download into `work`, check the hash, then (when readable) decrypt, decompress and
    check the store. Returns the store file (None when only hashed) and its problems."""
    payload = work / "payload"
    size, digest = archive.download(destination.stream(manifest.data_key), payload)
    if size != manifest.bytes or digest != manifest.sha256:
        return None, [f"the stored object does not match its manifest (SHA-256 {digest[:16]}… "
                      f"of {size:,} bytes, expected {manifest.sha256[:16]}… of "
                      f"{manifest.bytes:,}): it was damaged or altered"]
    if manifest.encryption is not None and identities is None:
        return None, []
    store = work / "store.sqlite"
    try:
        plain_size, plain_digest = archive.unpack(
            payload, store, identities if manifest.encryption is not None else None)
    except SnapshotError as exc:
        return None, [str(exc)]
    finally:
        payload.unlink()
    expected = manifest.plaintext or {}
    if expected and (plain_size, plain_digest) != (expected.get("bytes"), expected.get("sha256")):
        return None, ["the decompressed store does not match the manifest's SHA-256"]
    return store, archive.check_store(store, expected.get("rows"))


def pull(destination: Destination, name: str, target: Path, identities: list[Any] | None,
         force: bool = False) -> Manifest:
    """Download, check and restore snapshot `name` as the SQLite file `target`, which is
    replaced atomically only when every check passed (and, if it exists, with `force`)."""
    target = target.expanduser()
    if target.exists() and not force:
        raise SnapshotError(f"{target} exists; pass --force to replace it")
    if target.is_dir():
        raise SnapshotError(f"{target} is a directory; name the file to write")
    if not target.parent.is_dir():
        raise SnapshotError(f"folder {target.parent} does not exist")
    manifest = check_readable(find(list_snapshots(destination), name))
    _needs_identity(manifest, identities)
    # The download, and beside it the decompressed store: its size when the manifest says,
    # else a generous 10x (zstd gave 6-9x on stores here).
    plain = (manifest.plaintext or {}).get("bytes") or manifest.bytes * 10
    check_free_space(target.parent, manifest.bytes + plain, f"pulling {manifest.name}")
    with _work_folder(target.parent) as work:
        store, problems = _fetch_and_check(destination, manifest, work, identities)
        if problems:
            raise SnapshotError(f"snapshot {manifest.name} is not usable, {target} untouched: "
                                + "; ".join(problems[:10]))
        assert store is not None
        os.replace(store, target)
        for sidecar in ("-wal", "-shm"):  # of the file replaced: stale now (not before)
            if force:
                with suppress(FileNotFoundError):
                    os.unlink(f"{target}{sidecar}")
    return manifest


@dataclass
class Verified:
    name: str
    ok: bool
    problems: list[str]
    read_data: bool
    decrypted: bool | None = None  # None: not encrypted


def verify(destination: Destination, names: list[str] | None, read_data: bool,
           identities: list[Any] | None, work_parent: Path | None = None) -> list[Verified]:
    """Check manifests against their data objects (sizes); with `read_data` every byte."""
    listing = list_snapshots(destination)
    chosen = listing.snapshots if names is None else [find(listing, n) for n in names]
    results = []
    for listed in chosen:
        if listed.manifest is None:
            results.append(Verified(listed.name, False, [str(listed.problem)], read_data))
            continue
        manifest = listed.manifest
        size = listing.sizes.get(manifest.name)
        if size is None:
            results.append(Verified(manifest.name, False, ["the data object is missing"],
                                    read_data))
            continue
        if size != manifest.bytes:
            results.append(Verified(manifest.name, False, [
                f"the data object holds {size:,} bytes, the manifest says {manifest.bytes:,}"],
                read_data))
            continue
        problems: list[str] = []
        decrypted = None if manifest.encryption is None else False
        if read_data:
            usable = identities
            if manifest.encryption is not None and identities is not None and \
                    not keys.identity_fingerprints(identities) & set(
                        manifest.encryption.get("recipients", [])):
                usable = None  # another key's snapshot: hash only
            with _work_folder(work_parent or Path(tempfile.gettempdir())) as work:
                _, problems = _fetch_and_check(destination, manifest, work, usable)
            if manifest.encryption is not None:
                decrypted = usable is not None
        results.append(Verified(manifest.name, not problems, problems, read_data, decrypted))
    return results


def prune(destination: Destination, keep: dict[str, int], dry_run: bool,
          now: datetime | None = None) -> list[Decision]:
    """Apply `keep`; delete each removed snapshot's manifest first, then its data (so a
    half-pruned snapshot is never listed)."""
    listing = list_snapshots(destination)
    candidates = [Candidate(s.name, s.created, readable=s.manifest is not None)
                  for s in listing.snapshots]
    decisions = plan(candidates, keep, now or datetime.now(UTC))
    if not dry_run:
        for decision in decisions:
            if not decision.keep:
                destination.delete(decision.name + MANIFEST_SUFFIX)
                destination.delete(decision.name + DATA_SUFFIX)
    return decisions
