"""Request counters, so tests and benchmarks can see what a client actually did."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StatsSnapshot:
    """Counts since start (or the last reset). `by_route` keys are (method, route template)."""

    requests: int = 0
    logins: int = 0
    by_route: dict[tuple[str, str], int] = field(default_factory=dict)
    by_status: dict[int, int] = field(default_factory=dict)

    def route(self, method: str, template: str) -> int:
        """Count for one route; the template may omit the /api/4.0 prefix, as the spec does
        (`route("GET", "/dashboards/{dashboard_id}")`)."""
        method = method.upper()
        hit = self.by_route.get((method, template))
        if hit is None and not template.startswith("/api/"):
            hit = self.by_route.get((method, "/api/4.0" + template))
        return hit or 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "logins": self.logins,
            "by_route": {f"{m} {t}": n for (m, t), n in sorted(self.by_route.items())},
            "by_status": {str(s): n for s, n in sorted(self.by_status.items())},
        }

    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]


class Stats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._requests = 0
        self._logins = 0
        self._routes: Counter[tuple[str, str]] = Counter()
        self._statuses: Counter[int] = Counter()

    def reset(self) -> None:
        with self._lock:
            self._reset()

    def record(self, method: str, template: str, status: int, login: bool) -> None:
        with self._lock:
            self._requests += 1
            if login and status == 200:
                self._logins += 1
            self._routes[(method, template)] += 1
            self._statuses[status] += 1

    def snapshot(self) -> StatsSnapshot:
        with self._lock:
            return StatsSnapshot(
                self._requests, self._logins, dict(self._routes), dict(self._statuses)
            )
