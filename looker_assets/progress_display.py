"""How the CLI shows progress: Rich bars on a terminal, plain lines otherwise, or JSON events."""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)

from looker_assets.sync import Progress as SyncProgress


def _percentage(p: SyncProgress) -> float | None:
    if not p.total:
        return None
    return round(100.0 * min(p.done, p.total) / p.total, 1)


class JsonProgress:
    """One JSON object per line: {"event": "extraction_progress", ...}."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stdout
        self._lock = threading.Lock()

    def __enter__(self) -> JsonProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stream.flush()

    def update(self, p: SyncProgress) -> None:
        event = {"event": "extraction_progress", "content_type": p.content_type,
                 "completed": p.done, "total": p.total, "percentage": _percentage(p),
                 "objects_per_second": round(p.rate, 1)}
        with self._lock:
            self.stream.write(json.dumps(event) + "\n")
            self.stream.flush()


class RichProgress:
    """A bar per content type on a terminal; a plain line every few seconds when not a TTY."""

    PLAIN_EVERY = 5.0

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live = console.is_terminal
        self.bars = Progress(
            TextColumn("{task.description:<16}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:>7} obj/s"), TimeRemainingColumn(),
            console=console, transient=False,
        ) if self.live else None
        self.tasks: dict[str, TaskID] = {}
        self._last_plain: dict[str, float] = {}
        self._lock = threading.Lock()

    def __enter__(self) -> RichProgress:
        if self.bars is not None:
            self.bars.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bars is not None:
            self.bars.stop()

    def update(self, p: SyncProgress) -> None:
        with self._lock:
            if self.bars is None:
                self._plain(p)
                return
            task = self.tasks.get(p.content_type)
            if task is None:
                task = self.tasks[p.content_type] = self.bars.add_task(
                    p.content_type, total=p.total, rate="0")
            self.bars.update(task, completed=p.done, total=p.total, rate=f"{p.rate:,.0f}")

    def _plain(self, p: SyncProgress) -> None:
        now = time.monotonic()
        final = p.total is not None and p.done >= p.total
        if not final and now - self._last_plain.get(p.content_type, 0.0) < self.PLAIN_EVERY:
            return
        self._last_plain[p.content_type] = now
        total = "?" if p.total is None else f"{p.total:,}"
        pct = _percentage(p)
        self.console.print(f"{p.content_type}: {p.done:,}/{total}"
                           + ("" if pct is None else f" ({pct:.0f}%)")
                           + f", {p.rate:,.0f} objects/s", highlight=False)
