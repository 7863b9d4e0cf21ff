"""A cap on the requests one run may make: Looker (Google Cloud core) counts API calls per
month, so a nightly backup can be told what it may spend.

Shared by every thread of every step that draws on it; requests already in flight when the
cap is reached still finish (at most `max_concurrency` past the cap)."""

from __future__ import annotations

import os
import threading

from looker_assets.looker.errors import LookerError

BUDGET_ENV = "LOOKER_ASSETS_REQUEST_BUDGET"


class RequestBudgetExhausted(LookerError):
    """The run's request budget is spent: the sync stops where it is, its checkpoint kept."""


class RequestBudget:
    def __init__(self, limit: int, spent: int = 0, label: str = "this run") -> None:
        if limit < 1:
            raise ValueError(f"a request budget must be at least 1, got {limit}")
        self.limit = limit
        self.spent = spent
        self.label = label
        self._lock = threading.Lock()

    def check(self) -> None:
        """Raise before a request once the budget is spent."""
        if self.spent >= self.limit:
            raise RequestBudgetExhausted(
                f"request budget of {self.limit:,} requests for {self.label} reached "
                f"({self.spent:,} made): the sync stopped cleanly, its checkpoint is kept, and "
                f"the next run resumes where it stopped")

    def spend(self, requests: int = 1) -> None:
        with self._lock:
            self.spent += requests


def budget_from_environment() -> int | None:
    """LOOKER_ASSETS_REQUEST_BUDGET as a positive integer, else None (no cap)."""
    raw = os.environ.get(BUDGET_ENV, "").strip()
    if not raw:
        return None
    try:
        value = int(raw.replace("_", "").replace(",", ""))
    except ValueError:
        raise ValueError(f"{BUDGET_ENV}={raw!r}: expected a whole number of requests") from None
    if value < 1:
        raise ValueError(f"{BUDGET_ENV}={raw!r}: expected at least 1")
    return value
