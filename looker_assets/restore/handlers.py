"""How each kind of object is found, compared and written (one Handler per `Kind.handler`).

The plain handler (handlers_base.py) covers every type whose object is its own writable
fields; the others add what Looker keeps elsewhere: a look's immutable query, a dashboard's
children (dashboards.py), a folder's fixed roots, a connection's secret, a plan's delivery
switch, and the edges of groups, users and roles (edges.py).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from looker_assets.looker.errors import LookerResponseError
from looker_assets.restore import kinds as K
from looker_assets.restore.fields import query_form
from looker_assets.restore.handlers_base import Plain

if TYPE_CHECKING:
    from looker_assets.restore.engine import Target


class Look(Plain):
    """A look points at an immutable query: a changed query is a new one, then re-pointed."""

    def desired(self, t: Target) -> dict[str, Any]:
        out = super().desired(t)
        out["query"] = query_form(t.backup.get("query"))
        return out

    def current(self, t: Target) -> dict[str, Any]:
        out = super().current(t)
        out["query"] = query_form((t.live or {}).get("query"))
        return out

    def apply(self, t: Target) -> None:
        if t.action != "create":
            return super().apply(t)
        body = self.create_body(t)
        body.pop("query", None)
        # The create carries the query (by its id where Looker still knows it).
        made = self.r.send_with_query(
            t, "POST", "/looks", body, t.backup.get("query"),
            send=lambda b: self.r.create(t, "/looks", b, landed=lambda: self.landed(t, b)))
        self.r.remember(t, str(made["id"]))
        if t.backup.get("deleted"):
            self.r.write(t, "PATCH", self.path(t), {"deleted": True})
        return None

    def update_body(self, t: Target) -> dict[str, Any]:
        body = super().update_body(t)
        body.pop("query", None)
        return body

    def after_update(self, t: Target) -> None:
        if "query" in t.changes:
            self.r.send_with_query(t, "PATCH", self.path(t), {}, t.backup.get("query"))


class Folder(Plain):
    """Folders: roots and personal folders come with Looker and their users, never by API."""

    FIXED = ("is_shared_root", "is_users_root", "is_embed_shared_root", "is_embed_users_root",
             "is_personal")

    def dependencies(self, t: Target) -> list[tuple[str, str]]:
        from looker_assets.restore.edges import access_dependencies

        if self._taken_as_is(t):
            return []  # nor its access: the target's own
        return access_dependencies(t)  # its access (inherits, entries), when gone with it

    def _taken_as_is(self, t: Target) -> bool:
        """Its owner's own folder, or the one a path was mapped to: the target's folder,
        never renamed, moved, or given the source's access."""
        migration = self.r.migration
        return migration is not None and bool(t.backup.get("is_personal")
                                              or t.key in migration.overrides)

    def diff(self, t: Target) -> list[str]:
        return [] if self._taken_as_is(t) else super().diff(t)

    def cannot_create(self, t: Target) -> str | None:
        if self.r.migration is not None and t.backup.get("is_personal"):
            owner = (self.r.backup_of("users", str(t.backup.get("creator_id"))) or {}).get(
                "email") or f"user {t.backup.get('creator_id')}"
            return (f"a personal folder goes to its owner's in the target, and the target has "
                    f"no user {owner} (or no folder of theirs)")
        fixed = [f for f in self.FIXED if t.backup.get(f)]
        if fixed:
            return (f"{fixed[0].removeprefix('is_').replace('_', ' ')} folders are made by "
                    f"Looker (a personal folder comes with its user), not through the API")
        return super().cannot_create(t)


class Connection(Plain):
    """Passwords are in no backup: a connection is created only with its secret from the
    environment variable the operator named (`--connection-secret NAME=VAR`)."""

    def cannot_create(self, t: Target) -> str | None:
        var = self.r.request.choice.connection_secrets.get(t.id)
        if var is None:
            return (f"connection {t.id!r} is gone and its password is in no backup; pass "
                    f"--connection-secret {t.id}=ENV_VAR naming a variable that holds it")
        if not os.environ.get(var):
            return f"the environment variable {var} named for connection {t.id!r} is not set"
        return super().cannot_create(t)

    def create_body(self, t: Target) -> dict[str, Any]:
        body = super().create_body(t)
        body["password"] = os.environ[self.r.request.choice.connection_secrets[t.id]]
        if t.backup.get("dialect") and "dialect_name" not in body:
            body["dialect_name"] = (t.backup.get("dialect") or {}).get("name")
        return body


class Plan(Plain):
    """Scheduled plans deliver to real people: re-created disabled unless the operator says
    so (`--enable-schedules`)."""

    def fields(self, kind: K.Kind) -> frozenset[str]:
        return super().fields(kind) - {"user"}

    # A destination's id and recipient are Looker's; the rest is what the plan delivers.
    DESTINATION_OWN = ("id", "scheduled_plan_id", "looker_recipient")

    def _destinations(self, out: dict[str, Any]) -> dict[str, Any]:
        if out.get("scheduled_plan_destination") is not None:
            out["scheduled_plan_destination"] = [
                {k: v for k, v in d.items() if k not in self.DESTINATION_OWN}
                for d in out["scheduled_plan_destination"]]
        return out

    def desired(self, t: Target) -> dict[str, Any]:
        return self._destinations(super().desired(t))

    def current(self, t: Target) -> dict[str, Any]:
        return self._destinations(super().current(t))

    def create_body(self, t: Target) -> dict[str, Any]:
        body = super().create_body(t)
        if not self.r.request.choice.enable_plans:
            body["enabled"] = False
        return body

    def cannot_create(self, t: Target) -> str | None:
        if not t.backup.get("name"):
            # create_scheduled_plan requires one (the spec's description); inventing one would
            # write what the backup does not hold.
            return ("Looker creates a schedule only with a name, and this one has none: name "
                    "it in the source, sync, and run again")
        return super().cannot_create(t)

    def diff(self, t: Target) -> list[str]:
        changes = super().diff(t)
        made_by_restore = t.action == "create" or t.matched_by == "id map"
        if (made_by_restore or self.r.migration) and not self.r.request.choice.enable_plans:
            changes = [c for c in changes if c != "enabled"]
        return changes


class Alert(Plain):
    """An alert stays on its tile: Looker refuses to move one (looker_deployer#97). When its
    tile was re-created, the alert is made again on the new tile and the old one, left on a
    tile that no longer exists, is deleted."""

    def _moved(self, t: Target) -> bool:
        return "dashboard_element_id" in t.changes and t.live is not None

    def desired(self, t: Target) -> dict[str, Any]:
        out = super().desired(t)
        if self.r.migration is not None and out.get("query_id") is not None:
            # The source's query id means another query (or none) in the target: the tile's
            # query there, once the tile exists.
            element = out.get("dashboard_element_id")
            live = None if not element or str(element).startswith("<") else self.r.get_or_none(
                f"/dashboard_elements/{quote(str(element), safe='')}", fields="query_id")
            out["query_id"] = (live or {}).get("query_id")
        return out

    def _kept_off(self) -> bool:
        """Migrated alerts are made disabled, and left as the target has them, unless the
        operator says so (`--enable-schedules`)."""
        return self.r.migration is not None and not self.r.request.choice.enable_plans

    def create_body(self, t: Target) -> dict[str, Any]:
        body = super().create_body(t)
        if self._kept_off():
            body["is_disabled"] = True
        return body

    def update_body(self, t: Target) -> dict[str, Any]:
        body = super().update_body(t)
        if self._kept_off() and "is_disabled" in body:
            body["is_disabled"] = (t.live or {}).get("is_disabled", True)
        return body

    def diff(self, t: Target) -> list[str]:
        changes = super().diff(t)
        return [c for c in changes if c != "is_disabled"] if self._kept_off() else changes

    def apply(self, t: Target) -> None:
        if t.action == "create" or not self._moved(t):
            return super().apply(t)
        old = t.live_id
        t.action = "create"
        t.reason = (f"its tile was re-created: made again on the new tile, and alert {old} "
                    f"(left on the old tile) deleted")
        body = self.desired(t)
        if self._kept_off():
            body["is_disabled"] = True
        made = self.r.create(t, "/alerts", body, landed=lambda: self.landed(t, body))
        self.r.remember(t, str(made["id"]))
        self.r.write(t, "DELETE", f"/alerts/{quote(old or '', safe='')}")
        return None


class Dashboard(Plain):
    """Scalars with one PATCH; the children by dashboards.reconcile."""

    def dependencies(self, t: Target) -> list[tuple[str, str]]:
        from looker_assets.restore.dashboards import dependencies

        return dependencies(self.r, t)

    def dependents(self, t: Target) -> list[tuple[str, str]]:
        from looker_assets.restore.dashboards import alerts_on_tiles

        return alerts_on_tiles(self.r, t)

    def never(self, t: Target) -> str | None:
        if "::" in t.id:  # model::name
            return "LookML dashboards live in git: deploy the LookML to restore them"
        return super().never(t)

    def diff(self, t: Target) -> list[str]:
        from looker_assets.restore.dashboards import child_changes

        return super().diff(t) + child_changes(self.r, t)

    def cannot_create(self, t: Target) -> str | None:
        slug = t.backup.get("slug")
        if self.r.migration is not None and slug:
            # On another instance the slug may name another dashboard (trash included):
            # refused rather than given a new slug, which would break the links to it.
            taken = self.r.migration.slug_holder(self.r, str(slug))
            if taken is not None:
                return (f"its slug {slug} is taken in the target by dashboards "
                        f"{taken.get('id')} ({taken.get('title')!r})")
        return super().cannot_create(t)

    def create_body(self, t: Target) -> dict[str, Any]:
        body = super().create_body(t)
        if t.backup.get("slug"):
            body["slug"] = t.backup["slug"]
        return body

    def apply(self, t: Target) -> None:
        from looker_assets.restore.dashboards import reconcile

        kind = t.kind
        if t.action == "create":
            body = self.create_body(t)
            try:
                made = self.r.create(t, "/dashboards", body,
                                     landed=lambda: self.landed(t, body))
            except LookerResponseError as exc:
                if exc.status != 409 or "slug" not in body:
                    raise
                # The slug is taken (a trashed dashboard still holds it): a new one.
                body.pop("slug")
                made = self.r.create(t, "/dashboards", body,
                                     landed=lambda: self.landed(t, body))
            self.r.remember(t, str(made["id"]))
            # The create's answer is the new dashboard (its default layout included); only a
            # create found after a lost answer must be read.
            t.live = made if "dashboard_layouts" in made else self.r.get(
                f"/dashboards/{quote(t.live_id or '', safe='')}")
        else:
            scalars = self.update_body(t)
            if kind.trash in scalars and not scalars[kind.trash]:
                # Out of the trash first, so the children can be written.
                self.r.write(t, "PATCH", self.path(t), {kind.trash: False})
            rest = {k: v for k, v in scalars.items() if k != kind.trash}
            if rest:
                self.r.write(t, "PATCH", self.path(t), rest)
            # Children as the plan read them: a PATCH of the dashboard leaves them alone.
        reconcile(self.r, t)
        if t.backup.get(kind.trash or "") and not (t.live or {}).get(kind.trash or ""):
            self.r.write(t, "PATCH", self.path(t), {kind.trash: True})


def _handlers() -> dict[str, type[Plain]]:
    from looker_assets.restore import edges

    return {"plain": Plain, "look": Look, "folder": Folder, "connection": Connection,
            "plan": Plan, "alert": Alert, "dashboard": Dashboard, **edges.HANDLERS}


HANDLERS = _handlers()
