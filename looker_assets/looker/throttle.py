"""Shared request admission: adaptive concurrency (AIMD on 429) and a requests/second cap.

Every thread of every step of a process asks the same gate before each request, so a 429 seen
by one thread slows all of them, and the rate cap holds for them as a whole.

Slots are handed over first come, first served: a freed slot goes to the thread that waited
longest, never to one that just finished a request and asks again at once. Without that, a
type syncing thousands of details keeps every slot while another type's one listing request
waits for seconds (measured: 1.7 s for model_sets' single request beside queries).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager


class RequestGate:
    def __init__(self, max_concurrency: int, requests_per_second: float | None = None) -> None:
        self.max_concurrency = max(1, max_concurrency)
        self._limit = float(self.max_concurrency)
        self._in_flight = 0
        self._slots_lock = threading.Lock()
        # Waiting threads in arrival order, each woken by the slot it is handed.
        self._waiting: deque[threading.Event] = deque()
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
        with self._slots_lock:
            handed = None
            if self._in_flight < self.limit and not self._waiting:
                self._in_flight += 1
            else:
                handed = threading.Event()
                self._waiting.append(handed)
        if handed is not None:
            handed.wait()  # the slot is ours when set: counted by whoever handed it over
        try:
            yield
        finally:
            with self._slots_lock:
                self._in_flight -= 1
                self._hand_over()

    def _hand_over(self) -> None:
        """Give free slots to the longest waiting threads (under the lock)."""
        while self._waiting and self._in_flight < self.limit:
            self._in_flight += 1
            self._waiting.popleft().set()

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
        with self._slots_lock:
            if self._limit < self.max_concurrency:
                before = self.limit
                self._limit = min(self.max_concurrency, self._limit + 1.0 / self._limit)
                if self.limit > before:
                    self._hand_over()

    def on_rate_limited(self) -> None:
        # Multiplicative decrease: halve, never below one request in flight. The requests in
        # flight when Looker starts refusing all see 429 together: that is one signal, not
        # eight, so halve at most once per second.
        with self._slots_lock:
            now = time.monotonic()
            if now - self._last_decrease < 1.0:
                return
            self._last_decrease = now
            self._limit = max(1.0, self._limit / 2)
            self.min_limit_reached = min(self.min_limit_reached, self.limit)
