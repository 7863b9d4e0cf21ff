"""Shared request admission: adaptive concurrency (AIMD on 429) and a requests/second cap.

Every thread of a step asks the same gate before each request, so a 429 seen by one thread
slows all of them, and the rate cap holds for the step as a whole.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class RequestGate:
    def __init__(self, max_concurrency: int, requests_per_second: float | None = None) -> None:
        self.max_concurrency = max(1, max_concurrency)
        self._limit = float(self.max_concurrency)
        self._in_flight = 0
        self._cond = threading.Condition()
        self.min_limit_reached = self.max_concurrency
        self._last_decrease = float("-inf")
        # Token bucket for the rps cap; a burst of at most one second's worth.
        self._rps = requests_per_second if requests_per_second and requests_per_second > 0 else None
        self._tokens = self._rps or 0.0
        self._last_refill = time.monotonic()
        self._rate_lock = threading.Lock()

    @property
    def limit(self) -> int:
        return max(1, int(self._limit))

    @contextmanager
    def slot(self) -> Iterator[None]:
        self._wait_for_rate()
        with self._cond:
            while self._in_flight >= self.limit:
                self._cond.wait()
            self._in_flight += 1
        try:
            yield
        finally:
            with self._cond:
                self._in_flight -= 1
                self._cond.notify()

    def _wait_for_rate(self) -> None:
        if self._rps is None:
            return
        while True:
            with self._rate_lock:
                now = time.monotonic()
                self._tokens = min(self._rps, self._tokens + (now - self._last_refill) * self._rps)
                self._last_refill = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                delay = (1 - self._tokens) / self._rps
            time.sleep(delay)

    def on_success(self) -> None:
        # Additive increase: one more slot after about `limit` successful requests.
        with self._cond:
            if self._limit < self.max_concurrency:
                before = self.limit
                self._limit = min(self.max_concurrency, self._limit + 1.0 / self._limit)
                if self.limit > before:
                    self._cond.notify_all()

    def on_rate_limited(self) -> None:
        # Multiplicative decrease: halve, never below one request in flight. The requests in
        # flight when Looker starts refusing all see 429 together: that is one signal, not
        # eight, so halve at most once per second.
        with self._cond:
            now = time.monotonic()
            if now - self._last_decrease < 1.0:
                return
            self._last_decrease = now
            self._limit = max(1.0, self._limit / 2)
            self.min_limit_reached = min(self.min_limit_reached, self.limit)
