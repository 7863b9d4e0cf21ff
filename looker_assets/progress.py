"""In-process progress listeners: the CLI's bars and JSON events hear what the IO manager logs."""

from __future__ import annotations

from collections.abc import Callable

from looker_assets.sync import Progress

Listener = Callable[[Progress], None]

_listeners: list[Listener] = []


def add_listener(listener: Listener) -> None:
    _listeners.append(listener)


def remove_listener(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def publish(progress: Progress) -> None:
    for listener in list(_listeners):
        listener(progress)
