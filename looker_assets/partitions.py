"""Daily partitions: a partition is that day's snapshot of the instance, so only days a sync
could really capture are offered, and a day long past is refused instead of faked."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dagster as dg

from looker_assets.settings import START_DATE_ENV, database_location
from looker_assets.storage.backend import is_url, open_backend

GRACE_ENV = "LOOKER_ASSETS_CAPTURE_GRACE_HOURS"
# A day can still be captured this long after it ended: a step retry or a sensor re-run that
# crosses midnight completes its day instead of failing.
DEFAULT_GRACE_HOURS = 6.0


class PartitionNotCapturable(ValueError):
    """A day whose snapshot can no longer be taken (or not yet)."""


def start_date(today: date | None = None) -> str:
    """The first partition: LOOKER_ASSETS_START_DATE if set, else the day of the first sync in
    the store (LOOKER_ASSETS_DB), else today. Earlier days can never be captured, so the UI
    does not offer them."""
    explicit = os.environ.get(START_DATE_ENV)
    if explicit:
        return explicit
    first = _first_synced_day()
    return first or (today or datetime.now(UTC).date()).isoformat()


def _first_synced_day() -> str | None:
    """The first day partition a sync of the store began, read without creating, upgrading
    or locking anything (this runs whenever the code location loads)."""
    location = database_location()
    if not is_url(location) and not Path(location).is_file():
        return None
    try:
        db = open_backend(location)
    except Exception:  # unreachable or unreadable now: the default is today
        return None
    try:
        return db.execute("SELECT min(partition_key) FROM sync_checkpoints "
                          "WHERE partition_key LIKE '____-__-__'").fetchone()[0]
    except db.errors:  # not ours, or not created yet: the default is today
        return None
    finally:
        db.close()


def daily_partitions() -> dg.DailyPartitionsDefinition:
    # end_offset=1 makes today a valid partition: a sync captures the instance as it is now.
    return dg.DailyPartitionsDefinition(start_date=start_date(), timezone="UTC", end_offset=1)


def grace_hours() -> float:
    value = os.environ.get(GRACE_ENV)
    if not value:
        return DEFAULT_GRACE_HOURS
    try:
        hours = float(value)
    except ValueError:
        raise PartitionNotCapturable(f"{GRACE_ENV}={value!r} is not a number of hours") from None
    if hours < 0:
        raise PartitionNotCapturable(f"{GRACE_ENV}={value!r} must not be negative")
    return hours


def check_capturable(partition_key: str, now: datetime | None = None,
                     grace: float | None = None) -> None:
    """Raise unless `partition_key` (a day, UTC) can be captured now: the day has begun and
    ended no more than the grace period ago."""
    try:
        day = date.fromisoformat(partition_key)
    except ValueError:
        return  # not a day partition: nothing to say about it
    now = now or datetime.now(UTC)
    grace = grace_hours() if grace is None else grace
    begins = datetime.combine(day, datetime.min.time(), UTC)
    deadline = begins + timedelta(days=1, hours=grace)
    if now < begins:
        raise PartitionNotCapturable(
            f"partition {partition_key} has not begun (now {now:%Y-%m-%d %H:%M} UTC): a "
            f"partition is that day's snapshot of Looker")
    if now > deadline:
        raise PartitionNotCapturable(
            f"partition {partition_key} cannot be captured now: a partition is that day's "
            f"snapshot of Looker, and that day ended more than {grace:g} h ago (deadline "
            f"{deadline:%Y-%m-%d %H:%M} UTC, {GRACE_ENV}). Syncing today's Looker under it "
            f"would label today's content with a past day; sync today's partition instead, "
            f"and read the past with `looker-assets export --at {partition_key}`")
