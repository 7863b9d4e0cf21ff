"""What a run cost in Looker requests: each step adds its requests to the run's tags, so the
run's total (and its split by kind) is on the run in the Dagster UI, beside each
materialization's own figures."""

from __future__ import annotations

import threading
from typing import Any

import dagster as dg

from looker_assets.looker.client import REQUEST_KINDS

REQUESTS_TAG = "looker/requests"
REQUESTS_BY_KIND_TAG = "looker/requests_by_kind"
BUDGET_TAG = "looker/request_budget_reached"
# Steps in threads of one process add to the same tags: one at a time.
_ACCOUNT_LOCK = threading.Lock()


def parse_by_kind(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for part in filter(None, text.split(",")):
        kind, _, value = part.partition("=")
        counts[kind] = int(value or 0)
    return counts


def record_run_requests(context: dg.OutputContext, step: dict[str, Any]) -> int:
    """Add one step's requests (a ClientStats.as_dict()) to its run's tags; the run's total
    so far, or the step's own outside a run. Steps of one run in several processes that end
    at the same moment may each miss the other's share: the tags are a running account, the
    materializations' metadata the exact one."""
    with _ACCOUNT_LOCK:
        return _record(context, step)


def _record(context: dg.OutputContext, step: dict[str, Any]) -> int:
    total = int(step.get("requests", 0))
    try:
        instance = context.step_context.instance
        run = instance.get_run_by_id(context.run_id)
    except Exception:  # a bare output context: no run to account to
        return total
    if run is None:
        return total
    by_kind = parse_by_kind(run.tags.get(REQUESTS_BY_KIND_TAG, ""))
    for kind in REQUEST_KINDS:
        by_kind[kind] = by_kind.get(kind, 0) + int(step.get(f"requests_{kind}", 0))
    total += int(run.tags.get(REQUESTS_TAG, "0"))
    instance.add_run_tags(context.run_id, {
        REQUESTS_TAG: str(total),
        REQUESTS_BY_KIND_TAG: ",".join(f"{k}={by_kind[k]}" for k in REQUEST_KINDS)})
    return total


def run_requests(instance: dg.DagsterInstance, run_id: str) -> tuple[int, dict[str, int]]:
    """The run's requests so far and their split by kind, from its tags."""
    run = instance.get_run_by_id(run_id)
    if run is None:
        return 0, {}
    return (int(run.tags.get(REQUESTS_TAG, "0")),
            parse_by_kind(run.tags.get(REQUESTS_BY_KIND_TAG, "")))
