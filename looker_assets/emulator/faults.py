"""Injected misbehaviour: latency, 5xx errors, 429 throttling, outages and malformed bodies.

A `Faults` object is live: tests change its fields while the server runs. Changing any field
restarts its counters, so "every Nth request" and "from the Nth request on" count from the
moment the setting was made.
"""

from __future__ import annotations

import random
import re
import threading
import time
from dataclasses import dataclass, field, fields
from typing import Any

ERROR_STATUSES = (500, 502, 503, 504)
MALFORMED_VARIANTS = ("truncated_json", "html_502", "html_200")


@dataclass(frozen=True, slots=True)
class FaultAction:
    """What to answer instead of the real response."""

    status: int
    message: str
    retry_after: int | None = None


@dataclass
class Faults:
    latency_ms: float = 0.0
    latency_jitter_ms: float = 0.0
    error_rate: float = 0.0
    rate_limit_every: int | None = None
    rate_limit_rps: float | None = None
    retry_after_s: int = 1
    outage_after: int | None = None
    malformed_every: int | None = None
    # Every Nth write (POST/PUT/PATCH/DELETE) is carried out, then its answer is lost (a 504
    # from a gateway): what a client that re-sends a create blindly turns into a duplicate.
    lost_response_every: int | None = None
    # Keys left out of every row of a successful array answer: a server whose listings carry
    # less than its reads by id (a folder's dashboards without their tiles).
    sparse_rows: tuple[str, ...] = ()
    only_paths: str | None = None
    seed: int = 0
    _state: _FaultState = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_state", _FaultState(self))

    def __setattr__(self, name: str, value: Any) -> None:
        object.__setattr__(self, name, value)
        if not name.startswith("_") and "_state" in self.__dict__:
            object.__setattr__(self, "_state", _FaultState(self))

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls) if not f.name.startswith("_")]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Faults:
        unknown = set(data) - set(cls.field_names())
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.field_names()}

    def update(self, data: dict[str, Any]) -> None:
        """Set several fields at once (unknown names raise ValueError)."""
        unknown = set(data) - set(self.field_names())
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        for name, value in data.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_state", _FaultState(self))

    # --- used by the server ---------------------------------------------------------------

    def applies_to(self, path: str) -> bool:
        return self._state.applies_to(path)

    def before_request(self, path: str) -> tuple[float, FaultAction | None]:
        """Seconds to sleep, and the fault to answer with (None: serve normally)."""
        return self._state.before_request(path)

    def malformed_variant(self, path: str) -> str | None:
        """For a successful content response: which broken body to send instead, if any."""
        return self._state.malformed_variant(path)

    def sparse(self, path: str) -> tuple[str, ...]:
        """For a successful array answer: the keys to leave out of its rows."""
        return tuple(self.sparse_rows) if self.sparse_rows and self.applies_to(path) else ()

    def response_lost(self, method: str, path: str) -> bool:
        """For a write just carried out: whether its answer is lost on the way back."""
        return self._state.response_lost(method, path)


class _FaultState:
    """Counters and RNG behind one configuration of a `Faults`."""

    def __init__(self, cfg: Faults) -> None:
        self.cfg = cfg
        self.lock = threading.Lock()
        self.rng = random.Random(cfg.seed)
        self.count = 0
        self.content_count = 0
        self.write_count = 0
        self.pattern = re.compile(cfg.only_paths) if cfg.only_paths else None
        rps = cfg.rate_limit_rps
        self.bucket_capacity = max(1.0, float(rps)) if rps else 0.0
        self.tokens = self.bucket_capacity
        self.bucket_at = time.monotonic()

    def applies_to(self, path: str) -> bool:
        return self.pattern is None or self.pattern.search(path) is not None

    def _retry_after(self) -> int:
        # Retry-After is an integer header; round fractions up so clients never retry early.
        value = float(self.cfg.retry_after_s or 0)
        return max(0, int(value) + (1 if value > int(value) else 0))

    def before_request(self, path: str) -> tuple[float, FaultAction | None]:
        cfg = self.cfg
        if not self.applies_to(path):
            return 0.0, None
        with self.lock:
            self.count += 1
            n = self.count
            delay = max(0.0, float(cfg.latency_ms or 0))
            if cfg.latency_jitter_ms:
                delay += self.rng.uniform(0, float(cfg.latency_jitter_ms))
            delay /= 1000.0
            if cfg.outage_after is not None and n >= cfg.outage_after:
                return delay, FaultAction(503, "Service Unavailable")
            if cfg.rate_limit_every and n % int(cfg.rate_limit_every) == 0:
                return delay, FaultAction(429, "Too Many Requests", self._retry_after())
            if cfg.rate_limit_rps:
                now = time.monotonic()
                rate = float(cfg.rate_limit_rps)
                self.tokens = min(self.bucket_capacity, self.tokens + (now - self.bucket_at) * rate)
                self.bucket_at = now
                if self.tokens < 1.0:
                    return delay, FaultAction(429, "Too Many Requests", self._retry_after())
                self.tokens -= 1.0
            if cfg.error_rate and self.rng.random() < float(cfg.error_rate):
                status = self.rng.choice(ERROR_STATUSES)
                return delay, FaultAction(status, _REASONS[status])
        return delay, None

    def response_lost(self, method: str, path: str) -> bool:
        every = self.cfg.lost_response_every
        if not every or method in ("GET", "HEAD") or not self.applies_to(path):
            return False
        with self.lock:
            self.write_count += 1
            return self.write_count % int(every) == 0

    def malformed_variant(self, path: str) -> str | None:
        every = self.cfg.malformed_every
        if not every or not self.applies_to(path):
            return None
        with self.lock:
            self.content_count += 1
            n = self.content_count
        if n % int(every):
            return None
        return MALFORMED_VARIANTS[(n // int(every) - 1) % len(MALFORMED_VARIANTS)]


_REASONS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
