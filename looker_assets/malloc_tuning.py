"""Keep the C allocator from holding memory a sync has already freed (glibc only).

Measured (bench/RESULTS.md, 30,000 dashboards, 8 fetch threads): with glibc's defaults every
fetch thread gets its own malloc arena, and the dynamic mmap threshold climbs after the first
multi-MB dashboard body, so later bodies land in those arenas and each arena keeps its
high-water mark. The process grew 103 MB while iterating; with at most 2 arenas and a fixed
256 KB mmap threshold (large bodies mapped and unmapped whole) it grew 39 MB.

`mallopt` changes take effect for arenas created afterwards, so this runs before a sync starts
its threads. LOOKER_ASSETS_MALLOC_ARENAS=0 leaves the allocator alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os

log = logging.getLogger(__name__)

ARENAS_ENV = "LOOKER_ASSETS_MALLOC_ARENAS"
DEFAULT_ARENAS = 2
MMAP_THRESHOLD_BYTES = 256 * 1024
# From glibc's malloc.h.
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8


@functools.cache
def tune_allocator() -> bool:
    """Apply the arena limit and a fixed mmap threshold once per process; True if applied."""
    try:
        arenas = int(os.environ.get(ARENAS_ENV, DEFAULT_ARENAS))
    except ValueError:
        log.warning("%s must be an integer; leaving the allocator alone", ARENAS_ENV)
        return False
    if arenas <= 0:
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False  # not glibc (musl, macOS): nothing to tune
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success.
    return bool(mallopt(_M_ARENA_MAX, arenas)) and bool(
        mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
