"""The default executor: a run's steps in threads of one process.

A whole sync is 24 content types, most of them a request or two, a few of them thousands. Run
one after another (Dagster's in_process executor), each type pays its own ramp-up and drain
and the small ones leave the request slots idle; step processes (multiprocess) cost 1.5-3 s
each to start here. In threads, several types sync at once in one process, sharing its one
Looker client (looker/resource.py), so together they still never have more than
max_concurrency requests in flight, and the slots stay busy between types.

Dagster's plan bookkeeping (which steps are ready, pool claims, retries, skips) stays in the
orchestrating thread: worker threads only run a step's event sequence and hand its events
back, which this thread logs-through and records, in order, as the in-process executor does.
Pools (`looker_api`) and tag limits apply as for any executor. Run-level hooks are not run
(this code location defines none)."""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import dagster as dg
from dagster._core.events import DagsterEvent, EngineEventData
from dagster._core.execution.api import ExecuteRunWithPlanIterable
from dagster._core.execution.compute_logs import create_compute_log_file_key
from dagster._core.execution.context.system import PlanExecutionContext, PlanOrchestrationContext
from dagster._core.execution.context_creation_job import PlanExecutionContextManager
from dagster._core.execution.plan.execute_plan import dagster_event_sequence_for_step
from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext
from dagster._core.execution.plan.plan import ExecutionPlan
from dagster._core.execution.retries import RetryMode, get_retries_config
from dagster._core.execution.step_dependency_config import StepDependencyConfig
from dagster._core.executor.base import Executor

from looker_assets.assets import FAN_OUT_TAG
from looker_assets.settings import POOL

# Threads when neither the run config nor the `looker_api` pool says how many.
FALLBACK_MAX_CONCURRENT = 4
# How long the orchestrating thread waits for a step's next event before it looks again at
# what became ready (a retry's delay ending, a pool slot freed).
POLL_SECONDS = 0.05


@dataclass(frozen=True)
class _Done:
    step_key: str
    error: BaseException | None = None


def _run_step(step_context: Any, out: queue.SimpleQueue[Any]) -> None:
    """A worker thread: the step's events, in order, then _Done. Dagster turns what the step
    raises into failure events; anything that still escapes goes back to be raised."""
    key = step_context.step.key
    try:
        for event in dagster_event_sequence_for_step(step_context):
            out.put((key, event))
    except BaseException as exc:  # re-raised in the orchestrating thread
        out.put(_Done(key, exc))
        return
    out.put(_Done(key))


def _threaded_iterator(job_context: PlanExecutionContext, execution_plan: ExecutionPlan,
                       max_concurrent: int | None) -> Iterator[DagsterEvent]:
    # The process's stdout and stderr, captured for the run's steps as the in-process executor
    # does (the UI's step logs); a capture that cannot start is reported, not fatal.
    logs = job_context.instance.compute_log_manager
    key = logs.build_log_key_for_run(job_context.run_id, create_compute_log_file_key())
    steps = [step.key for step in execution_plan.get_steps_to_execute_in_topo_order()]
    try:
        capture = logs.capture_logs(key)
        log_context = capture.__enter__()
    except Exception as exc:
        capture = None
        yield DagsterEvent.engine_event(job_context, f"could not capture step logs: {exc}",
                                        EngineEventData())
    else:
        yield DagsterEvent.capture_logs(job_context, steps, key, log_context)
    try:
        yield from _steps_in_threads(job_context, execution_plan, max_concurrent)
    finally:
        if capture is not None:
            capture.__exit__(None, None, None)


def _pool_limit(instance: dg.DagsterInstance) -> int | None:
    """The `looker_api` pool's limit in this instance, if it has one."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return None
    for pool in storage.get_pool_limits():
        if pool.name == POOL:
            return pool.limit
    return storage.get_pool_config().default_pool_limit


def _step_order(step: Any) -> float:
    """Higher priority first (Dagster's tag); then steps outside any pool (asset checks: local
    reads), so a check never waits for a type to finish; then the types that fetch a detail per
    object (the longest), so that the quick listings run beside them rather than after them,
    when their slots would idle."""
    order = 0.0 if not step.pool else 1.0 if step.tags.get(FAN_OUT_TAG) else 2.0
    return -10.0 * int(step.tags.get("dagster/priority", 0)) + order


def _steps_in_threads(job_context: PlanExecutionContext, execution_plan: ExecutionPlan,
                      max_concurrent: int | None) -> Iterator[DagsterEvent]:
    # As many threads as the pool lets Looker steps run: a step asked for beyond that would
    # fail its claim and back off (Dagster retries a claim after growing waits, up to 15 s),
    # leaving slots idle after it is free.
    if max_concurrent is None:
        max_concurrent = _pool_limit(job_context.instance) or FALLBACK_MAX_CONCURRENT
    with InstanceConcurrencyContext(job_context.instance, job_context.dagster_run) as pools, \
            execution_plan.start(retry_mode=job_context.retry_mode,
                                 sort_key_fn=_step_order,
                                 instance_concurrency_context=pools,
                                 step_dependency_config=job_context.step_dependency_config,
                                 ) as active:
        events: queue.SimpleQueue[Any] = queue.SimpleQueue()
        running: dict[str, threading.Thread] = {}
        while not active.is_complete or running:
            yield from active.concurrency_event_iterator(job_context)
            free = max_concurrent - len(running)
            for step in (active.get_steps_to_execute(limit=free)
                         if free > 0 and not active.is_complete else []):
                step_context = job_context.for_step(step, active.get_known_state())
                thread = threading.Thread(target=_run_step, args=(step_context, events),
                                          name=f"dagster-step-{step.key}", daemon=True)
                running[step.key] = thread
                thread.start()
            if not running:
                yield from active.plan_events_iterator(job_context)  # skips after failures
                if not active.is_complete:
                    active.sleep_til_ready()
                continue
            try:
                item = events.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
            if isinstance(item, _Done):
                running.pop(item.step_key).join()
                if item.error is not None:
                    raise item.error
                active.verify_complete(job_context, item.step_key)
                yield from active.plan_events_iterator(job_context)
                continue
            _, event = item
            yield event
            active.handle_event(event)


class ThreadedExecutor(Executor):
    def __init__(self, retries: RetryMode, max_concurrent: int | None) -> None:
        self._retries = retries
        self.max_concurrent = None if max_concurrent is None else max(1, max_concurrent)
        self._step_dependency_config = StepDependencyConfig.default()

    @property
    def retries(self) -> RetryMode:
        return self._retries

    @property
    def step_dependency_config(self) -> StepDependencyConfig:
        return self._step_dependency_config

    def execute(self, plan_context: PlanOrchestrationContext,
                execution_plan: ExecutionPlan) -> Iterator[DagsterEvent]:
        steps = execution_plan.step_keys_to_execute
        yield DagsterEvent.engine_event(
            plan_context, f"Executing steps in threads, up to "
            f"{self.max_concurrent or 'the looker_api pool limit'} at once (pid: {os.getpid()})",
            event_specific_data=EngineEventData.in_process(os.getpid(), steps))
        yield from ExecuteRunWithPlanIterable(
            execution_plan=plan_context.execution_plan,
            iterator=partial(_threaded_iterator, max_concurrent=self.max_concurrent),
            execution_context_manager=PlanExecutionContextManager(
                job=plan_context.job,
                retry_mode=plan_context.retry_mode,
                execution_plan=plan_context.execution_plan,
                run_config=plan_context.run_config,
                dagster_run=plan_context.dagster_run,
                instance=plan_context.instance,
                raise_on_error=plan_context.raise_on_error,
                output_capture=plan_context.output_capture,
                step_dependency_config=self.step_dependency_config,
            ),
        )


@dg.executor(
    name="in_process_threads",
    config_schema={
        "max_concurrent": dg.Field(
            dg.Noneable(int), default_value=None,
            description="Steps running at once; default: the `looker_api` pool's limit "
            f"(dagster.yaml), else {FALLBACK_MAX_CONCURRENT}."),
        "retries": get_retries_config(),
    },
)
def in_process_threads(init_context: dg.InitExecutorContext) -> ThreadedExecutor:
    config = init_context.executor_config
    return ThreadedExecutor(
        retries=RetryMode.from_config(config["retries"]),  # type: ignore[arg-type]
        max_concurrent=config["max_concurrent"],  # type: ignore[arg-type]
    )
