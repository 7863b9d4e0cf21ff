"""The Dagster resource: Looker connection settings and a factory for clients and streams."""

from __future__ import annotations

import threading

import dagster as dg
from pydantic import Field

from looker_assets.content_types import ContentType
from looker_assets.looker.budget import RequestBudget, budget_from_environment
from looker_assets.looker.client import ClientConfig, LookerClient, RunShare
from looker_assets.looker.extract import ContentStream

# One client per Looker configuration per process: the steps of a run share its login, its
# connection pool and its request gate, so types synced at once never have more than
# max_concurrency requests in flight together, and a run logs in once, not once per type.
_SHARED_CLIENTS: dict[ClientConfig, LookerClient] = {}
# What each run seen by this process shares between its steps (its budget, its pre-flight,
# the answers of change signals).
_RUNS: dict[str, RunShare] = {}
_LOCK = threading.Lock()


def shared_client(config: ClientConfig) -> LookerClient:
    with _LOCK:
        client = _SHARED_CLIENTS.get(config)
        if client is None:
            client = _SHARED_CLIENTS[config] = LookerClient(config)
        return client


def run_share(run_id: str | None, limit: int | None, spent_before: int = 0) -> RunShare:
    """What the steps of `run_id` share in this process (made on first use; a budget starts
    from what the run's steps in other processes spent); a share of its own without a run."""
    if run_id is None:
        return RunShare(None if limit is None else RequestBudget(limit, spent_before))
    with _LOCK:
        run = _RUNS.setdefault(run_id, RunShare())
        if limit is not None and (run.budget is None or run.budget.limit != limit):
            run.budget = RequestBudget(limit, spent_before, label=f"run {run_id[:8]}")
        return run


class LookerResource(dg.ConfigurableResource):
    """Connection to a Looker instance through looker-sdk (API 4.0).

    Every setting left unset comes from the standard LOOKERSDK_* variables or looker.ini, as
    the SDK reads them. Pass the secret as an environment variable reference
    (`client_secret: {env: LOOKERSDK_CLIENT_SECRET}`), never as a literal.
    """

    base_url: str | None = Field(default=None, description="Looker URL; else LOOKERSDK_BASE_URL.")
    client_id: str | None = Field(default=None, description="Else LOOKERSDK_CLIENT_ID.")
    client_secret: str | None = Field(
        default=None, description="Else LOOKERSDK_CLIENT_SECRET. Never logged or stored."
    )
    verify_ssl: bool | None = Field(default=None, description="Else LOOKERSDK_VERIFY_SSL.")
    timeout: int | None = Field(default=None, description="Seconds per request; else "
                                "LOOKERSDK_TIMEOUT, else 120.")
    ini_file: str = Field(default="looker.ini", description="looker.ini path (optional file).")
    max_concurrency: int = Field(default=8, ge=1, le=64,
                                 description="Detail requests in flight at once.")
    requests_per_second: float | None = Field(
        default=None, gt=0, description="Cap on requests/s shared by the step's threads.")
    page_size: int = Field(default=500, ge=1, le=5000, description="limit for paged listings.")
    batch_size: int = Field(default=500, ge=1, description="Objects per SQLite transaction.")
    full_refresh: bool = Field(default=False, description="Fetch every detail, even when the "
                               "listing shows the stored copy is current (the weekly re-read "
                               "sets it), and sync again a type whose sync of the partition "
                               "already completed in an interrupted run.")
    request_budget: int | None = Field(
        default=None, ge=1, description="Most requests one run may make (all its steps); "
        "reached, a sync stops cleanly and the next run resumes it. Else "
        "LOOKER_ASSETS_REQUEST_BUDGET, else no cap.")
    max_attempts: int = Field(default=6, ge=1, description="Application-level attempts per "
                              "request on 429/5xx.")
    max_retry_seconds: float = Field(default=120.0, gt=0, description="Time bound on retries "
                                     "of one request.")

    def client_config(self) -> ClientConfig:
        return ClientConfig(
            base_url=self.base_url,
            client_id=self.client_id,
            client_secret=self.client_secret,
            verify_ssl=self.verify_ssl,
            timeout=self.timeout,
            ini_file=self.ini_file,
            max_concurrency=self.max_concurrency,
            requests_per_second=self.requests_per_second,
            max_attempts=self.max_attempts,
            max_retry_seconds=self.max_retry_seconds,
        )

    def get_client(self) -> LookerClient:
        return LookerClient(self.client_config())

    def budget_limit(self) -> int | None:
        return self.request_budget or budget_from_environment()

    def stream(self, content_type: ContentType, *, run_id: str | None = None,
               spent_before: int = 0) -> ContentStream:
        """A lazy stream of the type's objects; no request is made until it is iterated. It
        uses the process's client for this Looker, and shares with the other steps of
        `run_id` (its budget, its pre-flight, change signals' answers)."""
        run = run_share(run_id, self.budget_limit(), spent_before)
        client = shared_client(self.client_config()).scoped(run)
        return ContentStream(client, content_type, page_size=self.page_size,
                             max_concurrency=self.max_concurrency, batch_size=self.batch_size,
                             full_refresh=self.full_refresh)
