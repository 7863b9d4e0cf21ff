"""The IO manager: a stream of raw Looker objects in, rows of content_items out."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dagster as dg
from pydantic import Field

from looker_assets import content_types, progress
from looker_assets.looker.budget import RequestBudgetExhausted
from looker_assets.looker.errors import LookerAuthError, LookerError, LookerResponseError
from looker_assets.looker.extract import ContentStream
from looker_assets.looker.preflight import preflight_once
from looker_assets.partitions import PartitionNotCapturable, check_capturable
from looker_assets.run_cost import BUDGET_TAG, record_run_requests
from looker_assets.settings import database_location
from looker_assets.storage.backend import redact
from looker_assets.storage.history import HistoryError, partition_cutoff, versions_at
from looker_assets.storage.rows import UnstorableObject
from looker_assets.storage.store import ContentStore, StoreError
from looker_assets.sync import Progress, run_sync

UNPARTITIONED = "__all__"
# The run's log reads like a progress bar: one line per content type at least this often.
LOG_EVERY_SECONDS = 5.0


def _content_type(context: dg.InputContext | dg.OutputContext) -> content_types.ContentType:
    return content_types.get(context.asset_key.path[-1])


class LookerContentIOManager(dg.ConfigurableIOManager):
    """Owns the SQLite file; writes each sync in batches, one transaction per batch."""

    path: str | None = Field(
        default=None,
        description="SQLite file, or a postgresql:// URL (pass it as an environment reference "
        "when it holds a password); else $LOOKER_ASSETS_DB, else ./looker_assets.sqlite.",
    )

    memory_warning_mb: int = Field(
        default=300, description="Log a warning when the step's peak RSS passes 80% of this.")

    def open_store(self) -> ContentStore:
        return ContentStore(database_location(self.path))

    def handle_output(self, context: dg.OutputContext, obj: ContentStream) -> None:
        if not isinstance(obj, ContentStream):
            raise TypeError(f"expected a ContentStream, got {type(obj).__name__}")
        partition = context.partition_key if context.has_partition_key else UNPARTITIONED
        # Open and test the file before the first request, so a bad path costs no API calls.
        try:
            if context.has_partition_key:
                # A day long past cannot be captured now: fail before touching Looker or the
                # store, and do not retry (a retry is later still). The grace is an environment
                # setting, so that the re-run sensor applies the same one.
                check_capturable(partition)
            store = self.open_store()
            store.check_writable()
            for warning in store.warnings:
                context.log.warning(warning)
        except (StoreError, PartitionNotCapturable) as exc:
            obj.close()
            raise dg.Failure(description=str(exc), allow_retries=False) from None
        with store:

            last_log = [0.0]

            def report(p: Progress) -> None:
                progress.publish(p)
                final = p.total is not None and p.done >= p.total
                if p.seconds - last_log[0] < LOG_EVERY_SECONDS and not final:
                    return
                last_log[0] = p.seconds
                total = "?" if p.total is None else str(p.total)
                eta = "" if p.eta_seconds is None else f", ETA {p.eta_seconds:.0f}s"
                stats = obj.client.stats
                context.log.info(
                    f"{p.content_type}: {p.done}/{total} objects, {p.rate:.0f}/s{eta}, "
                    f"{stats.requests} requests, {stats.retries} retries, "
                    f"{stats.rate_limited} x 429"
                )

            run_id = _run_id(context)
            try:
                checked = preflight_once(obj.client)
                missing = checked.missing(obj.content_type.permissions)
                if missing:
                    context.log.warning(
                        f"{obj.content_type.name} will be incomplete: the API user "
                        f"{checked.api_user_id} lacks {', '.join(missing)}")
                for problem in checked.problems:
                    context.log.warning(f"pre-flight: {problem}")
                result = run_sync(obj, store, partition, progress=report, progress_every=0.25,
                                  allow_deletes=not missing and checked.known, run_id=run_id)
            except LookerError as exc:
                # Record where the sync stopped: the next attempt resumes from there.
                checkpoint = store.checkpoint(obj.content_type.code, partition)
                context.log_event(dg.AssetObservation(
                    asset_key=context.asset_key,
                    partition=partition if context.has_partition_key else None,
                    metadata={"checkpoint": dg.MetadataValue.json(checkpoint or {}),
                              "error": str(exc)},
                ))
                spent = obj.client.stats.as_dict()
                record_run_requests(context, spent)
                if isinstance(exc, RequestBudgetExhausted):
                    # Stopped on purpose: no step retry, and the re-run sensor leaves it to
                    # the next scheduled run (which resumes from the checkpoint).
                    _tag_run(context, {BUDGET_TAG: "true"})
                # Wrong credentials, a request Looker refuses, or the budget spent: retrying the
                # step cannot help.
                retry = not isinstance(exc, LookerAuthError | LookerResponseError
                                       | RequestBudgetExhausted)
                raise dg.Failure(description=str(exc), allow_retries=retry,
                                 metadata={k: v for k, v in spent.items()
                                           if k.startswith("requests")}) from None
            except (StoreError, UnstorableObject) as exc:
                # Another attempt took over (two would interleave), or an object that cannot
                # be stored exactly: a retry would meet the same.
                raise dg.Failure(description=str(exc), allow_retries=False) from None
            finally:
                obj.close()
            metadata: dict[str, Any] = result.metadata()
            if result.skipped:
                context.log.info(f"{result.content_type}: not synced again, {result.skipped}")
            metadata["run_requests"] = record_run_requests(context, result.client)
            if result.peak_rss_bytes > 0.8 * self.memory_warning_mb * 2**20:
                context.log.warning(
                    f"{result.content_type}: peak RSS {result.peak_rss_bytes / 2**20:.0f} MB is "
                    f"near the {self.memory_warning_mb} MB limit (memory_warning_mb); lower "
                    f"batch_size or max_concurrency")
            # The path, or the URL without its password.
            metadata["database"] = (dg.MetadataValue.path(str(store.path)) if store.path
                                    else dg.MetadataValue.text(store.location))
            metadata["partition"] = partition
            metadata["checkpoint"] = dg.MetadataValue.json(result.checkpoint)
            metadata.update(checked.metadata())
            metadata["missing_permissions"] = ", ".join(missing) or "none"
            context.add_output_metadata(metadata)

    def load_input(self, context: dg.InputContext) -> Iterator[Any]:
        """The upstream type's objects, decoded lazily: for one partition, as of the end of that
        day's sync (a downstream asset for day D sees day D's instance); else as they are now."""
        ct = _content_type(context)
        path = database_location(self.path)
        keys = context.asset_partition_keys if context.has_asset_partitions else []
        cutoff = None
        if len(keys) == 1:
            with ContentStore(path) as store:
                cutoff = partition_cutoff(store, ct.code, keys[0])
            if cutoff is None:
                raise HistoryError(f"{ct.name} has no completed sync for partition {keys[0]} "
                                   f"in {redact(path)}")

        def objects() -> Iterator[Any]:
            with ContentStore(path) as store:
                if cutoff is None:
                    yield from store.objects(ct.code)
                else:
                    for version in versions_at(store, ct.code, cutoff):
                        yield version.decoded()

        return objects()


def _run_id(context: dg.OutputContext) -> str | None:
    """The Dagster run's id (None outside a run, as in a bare output context)."""
    try:
        return context.run_id
    except Exception:  # build_output_context without a run
        return None


def _tag_run(context: dg.OutputContext, tags: dict[str, str]) -> None:
    try:
        context.step_context.instance.add_run_tags(context.run_id, tags)
    except Exception as exc:  # no instance to tag (a bare context): the log says it instead
        context.log.debug(f"could not tag the run: {exc}")
