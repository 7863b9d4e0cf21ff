"""Which snapshots to keep: restic's `forget` rules over calendar buckets in UTC.

Snapshots are walked newest first. --keep-last N keeps the N newest; --keep-daily N keeps the
newest snapshot of each of the N most recent days that have one (a day without a snapshot does
not use up a slot); weekly buckets run Monday to Sunday (ISO weeks), monthly by calendar month.
A snapshot kept by any rule is kept. Never removed whatever the flags: the newest snapshot,
one dated in the future (a clock ahead, or skew between hosts), and one this release cannot
read (written by a newer release, or a manifest it cannot parse)."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import datetime

RULES: dict[str, Callable[[datetime], Hashable]] = {
    "last": lambda t: None,  # every snapshot is a bucket of its own (its name; see plan)
    "daily": lambda t: t.date(),
    "weekly": lambda t: t.isocalendar()[:2],
    "monthly": lambda t: (t.year, t.month),
}


@dataclass(frozen=True)
class Candidate:
    name: str
    created: datetime | None  # None: unreadable manifest
    readable: bool = True


@dataclass
class Decision:
    name: str
    created: datetime | None
    keep: bool
    reasons: list[str] = field(default_factory=list)

    @property
    def why(self) -> str:
        return ", ".join(self.reasons) if self.reasons else "no rule keeps it"


def plan(snapshots: list[Candidate], keep: dict[str, int], now: datetime) -> list[Decision]:
    """One decision per snapshot, newest first. `keep`: rule name (RULES) -> count."""
    unknown = set(keep) - set(RULES)
    if unknown:
        raise ValueError(f"unknown keep rules: {sorted(unknown)}")
    if not any(n > 0 for n in keep.values()):
        raise ValueError("no --keep rule given: refusing to remove every snapshot")
    decisions: list[Decision] = []
    ordered = sorted(snapshots, key=lambda s: (s.created is not None, s.created, s.name),
                     reverse=True)
    left = dict(keep)
    last: dict[str, Hashable] = {}
    newest_seen = False
    for snap in ordered:
        decision = Decision(snap.name, snap.created, keep=False)
        decisions.append(decision)
        if not snap.readable or snap.created is None:
            decision.keep = True
            decision.reasons.append("cannot be read by this release")
            continue
        if snap.created > now:
            decision.keep = True
            decision.reasons.append("dated in the future")
            continue
        if not newest_seen:
            newest_seen = True
            decision.keep = True
            decision.reasons.append("newest")
        for rule, bucket_of in RULES.items():
            if left.get(rule, 0) <= 0:
                continue
            bucket = snap.name if rule == "last" else bucket_of(snap.created)
            if last.get(rule) != bucket:
                last[rule] = bucket
                left[rule] -= 1
                decision.keep = True
                decision.reasons.append(rule)
    return decisions
