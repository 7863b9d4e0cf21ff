"""The plain handler: how an object that is its own writable fields is found, compared and
written. The other handlers (handlers.py, edges.py, dashboards.py) build on it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from looker_assets.restore import kinds as K
from looker_assets.restore.engine import RestoreError
from looker_assets.restore.fields import pick, same, writable

if TYPE_CHECKING:
    from looker_assets.restore.engine import Restore, Target


class Plain:
    """Objects that are their own writable fields, written with one request."""

    def __init__(self, restore: Restore) -> None:
        self.r = restore

    # -- planning --------------------------------------------------------------------------

    def dependencies(self, t: Target) -> list[tuple[str, str]]:
        """Objects this one needs: pulled into the plan when they are gone."""
        return []

    def dependents(self, t: Target) -> list[tuple[str, str]]:
        """Objects that hang off this one: always in the plan with it."""
        return []

    def never(self, t: Target) -> str | None:
        """Why this object is never written (None: it may be)."""
        return t.kind.never

    def fields(self, kind: K.Kind) -> frozenset[str]:
        return writable(kind.schema) - kind.omit - {kind.trash or "", "id"}

    def find(self, t: Target) -> tuple[str | None, dict[str, Any] | None, str]:
        """The live object this backup is: same id; else the one an earlier restore made;
        else, where the name is the identity, the live one of that name."""
        name = t.kind.name
        if self.r.migration is not None:
            # Another instance: its object of the same id is another object, if any.
            found_elsewhere = self.r.migration.find(self.r, t)
            if found_elsewhere is not None:
                return found_elsewhere
        else:
            live = self.r.live(name, t.id)
            if live is not None:
                return t.id, live, "id"
            new = self.r.records.mapped(name, t.id)
            if new is not None:
                live = self.r.live(name, new)
                if live is not None:
                    return new, live, "id map"
            if t.kind.adopt and t.kind.natural:
                found = self.r.search_one(t.kind,
                                          {k: t.backup.get(k) for k in t.kind.natural})
                if found is not None:
                    live = self.r.live(name, found)
                    if live is not None:
                        return found, live, "name"
        if t.key in self.r.interrupted:
            # A killed restore sent this create and never heard back: did it land?
            try:
                found = self.landed(t, self.desired(t))
            except RestoreError:
                found = None
            live = self.r.live(name, found) if found is not None else None
            if live is not None:
                self.r.remember(t, found)
                return found, live, "interrupted create"
        return None, None, "id"

    def cannot_create(self, t: Target) -> str | None:
        if t.kind.path is None:
            return f"{t.kind.name} cannot be created through the Looker API"
        return None

    def desired(self, t: Target) -> dict[str, Any]:
        """The backup's writable fields, references rewritten to live ids."""
        want = pick(t.backup, self.fields(t.kind))
        if "user_id" in want and want["user_id"] is None:
            # No owner (deleted long ago) cannot be written back: Looker makes the user who
            # creates an object its owner, and an owner is never set to none.
            del want["user_id"]
        return self.r.map_refs(t, want)

    def current(self, t: Target) -> dict[str, Any]:
        return pick(t.live or {}, self.fields(t.kind))

    def diff(self, t: Target) -> list[str]:
        want, have = self.desired(t), self.current(t)
        return [k for k in want if not same(want[k], have.get(k))]

    # -- writing ---------------------------------------------------------------------------

    def path(self, t: Target) -> str:
        assert t.kind.path is not None and t.live_id is not None
        return f"{t.kind.path}/{quote(t.live_id, safe='')}"

    def create_body(self, t: Target) -> dict[str, Any]:
        return self.desired(t)

    def apply(self, t: Target) -> None:
        kind = t.kind
        if t.action == "create":
            assert kind.path is not None
            body = self.create_body(t)
            made = self.r.create(t, kind.path, body, landed=lambda: self.landed(t, body))
            self.r.remember(t, str(made[kind.key_field] if kind.key_field in made
                                   else made["id"]))
            self.after_create(t)
            if kind.trash and t.backup.get(kind.trash):
                self.r.write(t, "PATCH", self.path(t), {kind.trash: t.backup[kind.trash]})
            return
        body = self.update_body(t)
        if body:
            self.r.write(t, kind.update_method, self.path(t), body)
        self.after_update(t)

    def update_body(self, t: Target) -> dict[str, Any]:
        want = self.desired(t)
        if t.kind.update_method == "PUT":  # a full replace (update_alert)
            body = dict(want)
        else:
            body = {k: want[k] for k in t.changes if k in want}
        trash = t.kind.trash
        if trash and t.live is not None and bool(t.live.get(trash)) != bool(t.backup.get(trash)):
            body[trash] = t.backup.get(trash) if t.backup.get(trash) else (
                False if trash == "deleted" else None)
        return body

    def after_create(self, t: Target) -> None:
        pass

    def after_update(self, t: Target) -> None:
        pass

    def landed(self, t: Target, body: dict[str, Any]) -> str | None:
        if not t.kind.natural:
            return None
        return self.r.search_one(t.kind, {k: body.get(k, t.backup.get(k))
                                          for k in t.kind.natural}, listed=False)

    def link(self, t: Target) -> None:
        """Edges that need every object of the level to exist first."""


