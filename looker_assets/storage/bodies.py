"""Stored bodies: each version's MessagePack, compressed, and read back byte for byte.

A body is (codec, dict_id, base_checksum, data), its codec a column beside it, never guessed:
- 0 RAW: the MessagePack itself (written before schema 3, or where zstd saves nothing);
- 1 ZSTD: a zstd frame (a content type too small yet to train a dictionary on);
- 2 ZSTD_DICT: a zstd frame compressed with the content type's trained dictionary `dict_id`
  (content_dicts), ~2x smaller again than ZSTD on Looker objects;
- 3 DELTA: a zstd frame compressed against the raw bytes of an older version of the object
  (`base_checksum`, a past version in content_blobs stored whole) as its prefix: a folder
  rename that made a new version of every dashboard in it costs tens of bytes a dashboard.
Only past versions are deltas, each against the object's last past version stored whole (a
keyframe, as in video): the current state reads in one step, any past version in two, a delta
is always written after its base (no cycles), and writing one decodes one body. Once a
delta would be over half the whole body (the object drifted from its keyframe), the version is
stored whole and is the next keyframe. Every frame carries zstd's content checksum: a flipped
byte, a wrong dictionary or a wrong base fails (BodyError, naming the object), never returns
other bytes. The store's checksums stay those of the raw MessagePack, so dedup, `verify` and
`diff` ignore the codec.
"""

from __future__ import annotations

import sys
import threading
from dataclasses import dataclass
from typing import Any

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

RAW, ZSTD, ZSTD_DICT, DELTA = 0, 1, 2, 3
CODEC_NAMES = {RAW: "raw", ZSTD: "zstd", ZSTD_DICT: "zstd+dict", DELTA: "delta"}
# Above 3, zstd buys little on these objects for several times the CPU
# (shared/notes/backup-storage.md).
LEVEL = 3
# Deltas are written one link from a whole body; reading follows at most this many (older
# stores, or a damaged one, are refused beyond it rather than followed for ever).
MAX_CHAIN = 16
# A dictionary is trained once a type has this many objects (fewer: plain zstd), on at most
# TRAIN_MAX_SAMPLES of them (0.2 s for 300 dashboards here).
TRAIN_MIN_SAMPLES = 64
TRAIN_MAX_SAMPLES = 1000
DICT_MAX_BYTES = 64 * 1024
_OPTIONS = {zstd.CompressionParameter.compression_level: LEVEL,
            zstd.CompressionParameter.checksum_flag: 1}


class BodyError(ValueError):
    """A stored body that cannot be read back exactly: corrupt, or its dictionary or delta base
    missing. Names the object and version; no bytes are returned for it."""

    def __init__(self, what: str, problem: str) -> None:
        super().__init__(f"{what}: {problem}")
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Body:
    codec: int
    dict_id: int | None
    data: bytes
    base: str | None = None  # DELTA only: the checksum of the version it is encoded against


@dataclass(frozen=True, slots=True)
class Dictionary:
    """A trained dictionary, ready to store in content_dicts."""

    dict_id: int
    content_type: int
    samples: int
    data: bytes


class Bodies:
    """Encodes and decodes the bodies of one store; its dictionaries are loaded on first use
    and cached (they never change once stored)."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self._dicts: dict[int, Any] = {}
        self._compressors: dict[int | None, Any] = {}
        # The dictionary each content type compresses with, as far as this process knows.
        self._latest: dict[int, int] = {}
        self._lock = threading.Lock()

    # -- dictionaries ----------------------------------------------------------------------

    def dictionary_of(self, content_type: int) -> int | None:
        """The dictionary new bodies of the type are compressed with (the newest stored)."""
        known = self._latest.get(content_type)
        if known is not None:
            return known
        newest = self.newest(content_type)
        if newest is not None:
            self._latest[content_type] = newest[0]
            return newest[0]
        return None

    def newest(self, content_type: int) -> tuple[int, int] | None:
        """(dict_id, samples it was trained on) of the type's newest stored dictionary."""
        row = self.db.execute(
            "SELECT dict_id, samples FROM content_dicts WHERE content_type = ? "
            "ORDER BY created_at DESC, dict_id DESC LIMIT 1", (content_type,)).fetchone()
        return None if row is None else (int(row[0]), int(row[1]))

    @staticmethod
    def train(content_type: int, samples: list[bytes]) -> Dictionary | None:
        """A dictionary trained on `samples` (raw bodies), or None when they are too few or
        zstd cannot find one in them."""
        samples = samples[:TRAIN_MAX_SAMPLES]
        if len(samples) < TRAIN_MIN_SAMPLES:
            return None
        size = max(4096, min(DICT_MAX_BYTES, sum(map(len, samples)) // 10))
        try:
            trained = zstd.train_dict(samples, size)
        except zstd.ZstdError:
            return None
        if not trained.dict_id:
            return None
        return Dictionary(trained.dict_id, content_type, len(samples), trained.dict_content)

    def adopt(self, dictionary: Dictionary) -> None:
        """Compress the type's new bodies with `dictionary` (after it was committed)."""
        with self._lock:
            self._dicts[dictionary.dict_id] = zstd.ZstdDict(dictionary.data)
            self._latest[dictionary.content_type] = dictionary.dict_id

    def _dictionary(self, dict_id: int | None, what: str) -> Any:
        if dict_id is None:
            raise BodyError(what, "compressed with a dictionary, but names none")
        found = self._dicts.get(dict_id)
        if found is None:
            row = self.db.execute("SELECT dict_data FROM content_dicts WHERE dict_id = ?",
                                  (dict_id,)).fetchone()
            if row is None:
                raise BodyError(what, f"its dictionary {dict_id} is missing from content_dicts")
            found = self._dicts.setdefault(dict_id, zstd.ZstdDict(bytes(row[0])))
        return found

    def _compressor(self, dict_id: int | None) -> Any:
        found = self._compressors.get(dict_id)
        if found is None:
            zdict = None if dict_id is None else self._dictionary(dict_id, "compressing")
            # One compressor per dictionary: building one digests the dictionary (~90 us);
            # zstd's compressor serialises its callers itself.
            with self._lock:
                found = self._compressors.setdefault(
                    dict_id, zstd.ZstdCompressor(options=_OPTIONS, zstd_dict=zdict))
        return found

    # -- encoding --------------------------------------------------------------------------

    def pack(self, content_type: int, raw: bytes) -> Body:
        """`raw` as a body standing alone: with the type's dictionary where it has one."""
        return self.pack_with(self._latest.get(content_type), raw)

    def pack_with(self, dict_id: int | None, raw: bytes) -> Body:
        """`raw` as a body standing alone, with dictionary `dict_id` (None: without)."""
        data = self._compressor(dict_id).compress(raw, zstd.ZstdCompressor.FLUSH_FRAME)
        if len(data) >= len(raw):
            return Body(RAW, None, raw)
        return Body(ZSTD if dict_id is None else ZSTD_DICT, dict_id, data)

    @staticmethod
    def delta(raw: bytes, base_raw: bytes, base_checksum: str) -> Body:
        data = zstd.compress(raw, options=_OPTIONS,
                             zstd_dict=zstd.ZstdDict(base_raw, is_raw=True).as_prefix)
        return Body(DELTA, None, data, base_checksum)

    def pack_past(self, content_type: int, what: str, checksum: str, body: Body,
                  base: str | None) -> Body:
        """A version that stops being current, for content_blobs: a delta against `base` (the
        object's last past version stored whole) where under half the whole body, else
        whole (the next keyframe)."""
        raw = self.unpack(body, what)
        whole = body if body.codec == ZSTD_DICT else self.pack(content_type, raw)
        if base is None or base == checksum:
            return whole
        try:
            base_raw, links = self.past(base, what)
        except BodyError:
            return whole  # `verify` reports the broken base; this version stands alone
        if links or len(base_raw) < 64:
            return whole  # a base is a whole body: never a chain
        delta = self.delta(raw, base_raw, base)
        return delta if 2 * len(delta.data) < len(whole.data) else whole

    # -- decoding --------------------------------------------------------------------------

    def unpack(self, body: Body, what: str, links: int = 0) -> bytes:
        """The raw MessagePack of `body`; `what` names it in errors ("dashboards 42, version
        of 2026-11-27T02:00:00Z")."""
        return self._unpack(body, what, links)[0]

    def _unpack(self, body: Body, what: str, links: int) -> tuple[bytes, int]:
        codec = body.codec
        if codec == RAW:
            return bytes(body.data), links
        try:
            if codec == ZSTD:
                return zstd.decompress(body.data), links
            if codec == ZSTD_DICT:
                return zstd.decompress(body.data,
                                       zstd_dict=self._dictionary(body.dict_id, what)), links
            if codec == DELTA:
                if body.base is None:
                    raise BodyError(what, "a delta without a base")
                base_raw, links = self.past(body.base, what, links + 1)
                prefix = zstd.ZstdDict(base_raw, is_raw=True).as_prefix
                return zstd.decompress(body.data, zstd_dict=prefix), links
        except zstd.ZstdError as exc:
            raise BodyError(what, f"the stored body does not decode ({exc})") from None
        raise BodyError(what, f"unknown codec {codec} (written by a newer looker_assets?)")

    def past(self, checksum: str, what: str, links: int = 0) -> tuple[bytes, int]:
        """The raw bytes of a past version in content_blobs, and how many delta links were
        decoded to reach them."""
        if links > MAX_CHAIN * 2:  # a chain no writer makes: a loop, or a damaged store
            raise BodyError(what, f"delta chain longer than {MAX_CHAIN * 2} at {checksum[:12]}")
        row = self.db.execute(
            "SELECT codec, dict_id, base_checksum, content_data FROM content_blobs "
            "WHERE checksum = ?", (checksum,)).fetchone()
        if row is None:
            raise BodyError(what, f"the bytes of version {checksum[:12]} are missing")
        codec, dict_id, base, data = row
        return self._unpack(Body(codec, dict_id, data, base), what, links)
