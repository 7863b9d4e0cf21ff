"""Where snapshots go: a URL (s3://, gs://, az://, file:// or a path) opened through obstore.

Credentials come only from each cloud's standard environment and config files. Absent ones
are detected here, before any request: obstore would otherwise wait on the cloud metadata
endpoint (169.254.169.254) and fail late with a vague error."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import obstore
from obstore.exceptions import AlreadyExistsError, BaseError
from obstore.store import from_url

from looker_assets.snapshots import BucketMissing, SnapshotError, SnapshotNotFound

# Opt-in for the machine's own cloud identity (EC2 instance profile, GCE service account,
# Azure managed identity), which only the metadata endpoint can give.
INSTANCE_CREDENTIALS_ENV = "LOOKER_ASSETS_SNAPSHOT_INSTANCE_CREDENTIALS"

# What each scheme accepts as credentials: (any of these environment variables, config files).
_CREDENTIAL_HINTS = {
    "s3": "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), "
          "AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI "
          "or _FULL_URI, or AWS_SKIP_SIGNATURE=true for a public bucket",
    "gs": "GOOGLE_APPLICATION_CREDENTIALS or GOOGLE_SERVICE_ACCOUNT(_PATH|_KEY) naming a "
          "service-account key, or `gcloud auth application-default login`",
    "az": "AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_SAS_TOKEN, AZURE_CLIENT_ID with "
          "AZURE_CLIENT_SECRET and AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE, "
          "AZURE_USE_AZURE_CLI=true, or AZURE_STORAGE_USE_EMULATOR=true",
}
_SCHEMES = {"s3": "s3", "s3a": "s3", "gs": "gs", "az": "az", "azure": "az", "abfs": "az",
            "abfss": "az"}


def _true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _has_any(*names: str) -> bool:
    return any(os.environ.get(n) for n in names)


def _has_credentials(cloud: str) -> bool:
    if _true(INSTANCE_CREDENTIALS_ENV):
        return True
    if cloud == "s3":
        return (_has_any("AWS_ACCESS_KEY_ID") and _has_any("AWS_SECRET_ACCESS_KEY")) or (
            _has_any("AWS_WEB_IDENTITY_TOKEN_FILE") and _has_any("AWS_ROLE_ARN")) or _has_any(
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"
        ) or _true("AWS_SKIP_SIGNATURE")
    if cloud == "gs":
        adc = Path.home() / ".config/gcloud/application_default_credentials.json"
        return _has_any("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_SERVICE_ACCOUNT",
                        "GOOGLE_SERVICE_ACCOUNT_PATH", "GOOGLE_SERVICE_ACCOUNT_KEY") \
            or adc.exists() or _true("GOOGLE_SKIP_SIGNATURE")
    return _has_any("AZURE_STORAGE_ACCOUNT_KEY", "AZURE_STORAGE_ACCESS_KEY",
                    "AZURE_STORAGE_MASTER_KEY", "AZURE_STORAGE_SAS_KEY",
                    "AZURE_STORAGE_SAS_TOKEN", "AZURE_STORAGE_TOKEN",
                    "AZURE_FEDERATED_TOKEN_FILE") or (
        _has_any("AZURE_CLIENT_ID", "AZURE_STORAGE_CLIENT_ID")
        and _has_any("AZURE_CLIENT_SECRET", "AZURE_STORAGE_CLIENT_SECRET")) or _true(
        "AZURE_USE_AZURE_CLI") or _true("AZURE_STORAGE_USE_EMULATOR") or _true(
        "AZURE_SKIP_SIGNATURE")


def clean_error(exc: BaseException) -> str:
    """obstore's message, first line only (its debug dump repeats it), without query strings
    (a SAS token or a presigned signature would be one)."""
    text = str(exc).split("\n\nDebug source:", 1)[0].strip()
    text = re.sub(r"\?[^\s\"'<>]*", "?…", text)
    # The server's XML answer is appended to the message: keep its code, drop the rest.
    code = re.search(r"<Code>([^<]+)</Code>", text)
    text = re.split(r":\s*<\?xml", text, maxsplit=1)[0]
    return f"{text} ({code.group(1)})" if code else text[:500]


def _bucket_missing(exc: BaseException) -> bool:
    text = str(exc)
    return any(marker in text for marker in (
        "NoSuchBucket", "ContainerNotFound", "bucket does not exist", "NoSuchContainer"))


def file_chunks(path: Path, size: int = 16 * 1024 * 1024) -> Iterator[bytes]:
    """A file in parts, for a multipart upload (obstore aborts it if this raises)."""
    with open(path, "rb") as f:
        while chunk := f.read(size):
            yield chunk


@dataclass
class Destination:
    """One snapshot folder: a bucket (and prefix), a container, or a local directory."""

    url: str
    kind: str  # s3, gs, az, file
    store: Any

    @property
    def where(self) -> str:
        return self.url

    def _fail(self, exc: BaseException, action: str) -> SnapshotError:
        if _bucket_missing(exc):
            bucket = "container" if self.kind == "az" else "bucket"
            return BucketMissing(f"the {bucket} of {self.url} does not exist (create it first, "
                                 f"or fix the URL)")
        return SnapshotError(f"{action} at {self.url} failed: {clean_error(exc)}")

    def names(self) -> list[dict[str, Any]]:
        """The objects directly under the prefix (not in sub-folders): path, size,
        last_modified. Also proves the bucket exists and the credentials are accepted."""
        try:
            listing = obstore.list_with_delimiter(self.store)
        except (BaseError, OSError) as exc:
            raise self._fail(exc, "listing") from None
        return list(listing["objects"])

    def put_new(self, key: str, source: Path | bytes, *, large: bool = False) -> None:
        """Create `key` from `source`; never overwrite. Atomic: readers see all or nothing.
        `large`: a multipart upload (obstore's create-only put holds the whole object in
        memory); its key is random and checked free first, as S3 has no create-only
        multipart."""
        try:
            if large:
                if self.exists(key):
                    raise SnapshotError(f"{key} already exists at {self.url}")
                chunks = file_chunks(source) if isinstance(source, Path) else [source]
                obstore.put(self.store, key, chunks, use_multipart=True,
                            chunk_size=16 * 1024 * 1024, max_concurrency=4)
            else:
                obstore.put(self.store, key, source, mode="create")
        except AlreadyExistsError:
            raise SnapshotError(f"{key} already exists at {self.url}; nothing overwritten") \
                from None
        except (BaseError, OSError) as exc:
            if isinstance(exc, FileNotFoundError) and not _bucket_missing(exc) \
                    and self.kind == "file":
                raise SnapshotError(f"cannot write {key} under {self.url}: {exc}") from None
            raise self._fail(exc, f"uploading {key}") from None

    def size(self, key: str) -> int | None:
        """The object's size, or None when there is no such object."""
        try:
            return int(obstore.head(self.store, key)["size"])
        except FileNotFoundError as exc:
            if _bucket_missing(exc):
                raise self._fail(exc, "reading") from None
            return None
        except (BaseError, OSError) as exc:
            raise self._fail(exc, f"reading {key}") from None

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    def read(self, key: str) -> bytes:
        with self._getting(key, "does not exist", "reading"):
            return bytes(obstore.get(self.store, key).bytes())

    def stream(self, key: str) -> Iterator[bytes | memoryview]:
        """The object's bytes in chunks of a few MB (memory stays flat)."""
        with self._getting(key, "no longer exists", "downloading"):
            result = obstore.get(self.store, key)
            for chunk in result.stream(min_chunk_size=8 * 1024 * 1024):
                yield memoryview(chunk)

    @contextmanager
    def _getting(self, key: str, gone: str, doing: str) -> Iterator[None]:
        """A missing bucket, a missing object and other failures of a read, each said."""
        try:
            yield
        except FileNotFoundError as exc:
            if _bucket_missing(exc):
                raise self._fail(exc, "reading") from None
            raise SnapshotNotFound(f"{key} {gone} at {self.url}") from None
        except (BaseError, OSError) as exc:
            raise self._fail(exc, f"{doing} {key}") from None

    def delete(self, key: str) -> None:
        try:
            obstore.delete(self.store, key)
        except FileNotFoundError:
            pass  # already gone: what was asked
        except (BaseError, OSError) as exc:
            raise self._fail(exc, f"deleting {key}") from None


def open_destination(url: str | None) -> Destination:
    """The destination a URL names; a clear error for a missing URL, an unknown scheme,
    absent credentials, plain http without AWS_ALLOW_HTTP, or a missing local folder."""
    from looker_assets.snapshots import URL_ENV

    url = (url or os.environ.get(URL_ENV) or "").strip()
    if not url:
        raise SnapshotError(f"no snapshot destination: pass URL or set {URL_ENV} (s3://bucket/"
                            f"prefix, gs://bucket/prefix, az://account/container/prefix, or a "
                            f"folder)")
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme in ("", "file") or (len(scheme) == 1 and os.name == "nt"):
        return _local(Path(parts.path if scheme == "file" else url).expanduser(), url)
    cloud = _SCHEMES.get(scheme)
    if cloud is None:
        raise SnapshotError(f"unsupported snapshot URL scheme {scheme!r}: use s3://, gs://, "
                            f"az:// or file://")
    if parts.query or parts.password:
        raise SnapshotError("the snapshot URL must not hold credentials or options; they come "
                            "from the environment")
    if not _has_credentials(cloud):
        raise SnapshotError(f"no credentials for {scheme}:// found in the environment: set "
                            f"{_CREDENTIAL_HINTS[cloud]} (or {INSTANCE_CREDENTIALS_ENV}=true "
                            f"to use this machine's cloud identity)")
    if cloud == "s3":
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get(
            "AWS_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT") or ""
        if endpoint.lower().startswith("http://") and not _true("AWS_ALLOW_HTTP"):
            raise SnapshotError(f"the S3 endpoint {endpoint} is plain http: set "
                                f"AWS_ALLOW_HTTP=true to allow it (test servers only)")
    try:
        store = from_url(url)
    except (BaseError, OSError, ValueError) as exc:
        raise SnapshotError(f"cannot use {url}: {clean_error(exc)}") from None
    return Destination(url=url, kind=cloud, store=store)


def _local(folder: Path, url: str) -> Destination:
    # A missing folder is refused, not created: it is most often an unmounted volume, and
    # snapshots written to the local disk instead would not be offsite.
    if not folder.is_dir():
        raise BucketMissing(f"the snapshot folder {folder} does not exist (create it, or mount "
                            f"the volume)")
    try:
        store = from_url(folder.resolve().as_uri())
    except (BaseError, OSError) as exc:
        raise SnapshotError(f"cannot use {folder}: {clean_error(exc)}") from None
    return Destination(url=url, kind="file", store=store)
