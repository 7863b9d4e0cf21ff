"""Objects that are mostly their edges: groups, users and roles with their memberships, the
per-parent edge types (role users, group values, content metadata and access), and boards
with their sections and items.

What "restored" means for them (../shared/notes/looker-restore.md, "What restored means"):
a group comes back with every edge the backup recorded for it, wherever Looker keeps that
edge: its members, parent and child groups, the roles granted to it, its user-attribute
values and the access entries naming it. A user attribute comes back with its group values;
a role with its groups and direct users. Looker drops those edges when the object goes.

How the edges are written:
- Each handler lists its edges as operations (`Op`): `diff` shows them (so the plan names
  them, a repeated restore finds nothing to do, and verification checks them) and `link`
  writes them, after every object of the level exists (a group's parent may be re-created
  beside it).
- An id of the backup is resolved to what it stands for now (`resolve`): a live id; a
  marker (`<new groups 5>`) for an object this restore re-creates at this level or has
  already tried to; LATER for one re-created at a later level, which writes the edge itself
  once it exists (users add themselves to groups, groups to roles and attribute values); or
  None for something gone and not restored: reported by name, never silently dropped.
- What cannot be restored (credentials other than email, hidden attribute values, custom
  board images, memberships of externally managed groups) is reported in the target's
  reason, never a failure.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, TypeGuard
from urllib.parse import quote

from looker_assets.restore.fields import pick, same, writable
from looker_assets.restore.handlers_base import Plain

if TYPE_CHECKING:
    from looker_assets.restore.engine import Restore, Target

# An object of the backup that a later level of this restore re-creates: it writes the edge
# itself (a group of level 7 is made after its role of level 6 is set).
LATER = "<later>"
# Listings that tell at once which ids are live (one request instead of one per member).
LISTINGS = {"users": ("/users", "id", True),
            "groups": ("/groups", "id,name,externally_managed,include_by_default", True),
            "roles": ("/roles", "id,name", False)}
PAGE = 500
# Credentials the API can only read or delete: a backup cannot give them back.
OTHER_CREDENTIALS = ("credentials_google", "credentials_ldap", "credentials_looker_openid",
                     "credentials_oidc", "credentials_saml", "credentials_totp",
                     "credentials_workforce", "credentials_api3", "credentials_embed")
ADMIN = "Admin"  # the built-in role: never written through its own endpoints


def _q(value: str) -> str:
    return quote(str(value), safe="")


def marker(type_: str, old: str) -> str:
    """Stands for an object this restore re-creates and that has no id yet: it never equals
    a live id, so the edge shows as a change until the object exists."""
    return f"<new {type_} {old}>"


def is_marker(value: str | None) -> bool:
    return value is not None and value.startswith("<")


def is_live(value: str | None) -> TypeGuard[str]:
    """A resolved id that names a live object (not gone, LATER or a marker)."""
    return value is not None and value != LATER and not is_marker(value)


@dataclass
class Op:
    """One edge to add, change or remove: `what` for the plan, `run` writes it (None: the
    object at the other end writes it in this run, or it cannot be written yet). An op with
    an empty `what` only writes what others describe (one replace-all for a set)."""

    category: str
    what: str
    run: Callable[[], Any] | None = None


def describe(ops: Iterable[Op]) -> list[str]:
    """One change per category: `members (+user 5, -user 7)`."""
    by: dict[str, list[str]] = {}
    for op in ops:
        if op.what:
            by.setdefault(op.category, []).append(op.what)
    out = []
    for category, items in by.items():
        more = f", +{len(items) - 6} more" if len(items) > 6 else ""
        out.append(f"{category} ({', '.join(items[:6])}{more})")
    return out


class _Shared:
    """State the edge handlers of one restore share: live id listings, the lock of each
    replace-all collection (a role's groups, an attribute's group values), the API user."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.rows: dict[str, dict[str, dict[str, Any]]] = {}
        self.locks: dict[tuple[str, str], threading.Lock] = {}
        self.me: str | None = None


_SHARED: weakref.WeakKeyDictionary[Any, _Shared] = weakref.WeakKeyDictionary()
_SHARED_LOCK = threading.Lock()


class Edged(Plain):
    """Plain plus edges: `edges` lists them; diff shows, link writes, verify re-checks."""

    def __init__(self, restore: Restore) -> None:
        super().__init__(restore)
        with _SHARED_LOCK:
            self.shared = _SHARED.setdefault(restore, _Shared())

    # -- what ids stand for now ------------------------------------------------------------

    def live_rows(self, type_: str) -> dict[str, dict[str, Any]]:
        """Live objects of a listed type by id (one listing per restore; objects this
        restore makes are known through their targets instead)."""
        sh = self.shared
        with sh.lock:
            if type_ not in sh.rows:
                path, fields, paged = LISTINGS[type_]
                rows: dict[str, dict[str, Any]] = {}
                offset = 0
                while True:
                    params = {"fields": fields}
                    if paged:
                        params.update(limit=str(PAGE), offset=str(offset))
                    page = self.r.get(path, **params) or []
                    rows.update({str(row["id"]): row for row in page})
                    if not paged or len(page) < PAGE:
                        break
                    offset += PAGE
                sh.rows[type_] = rows
            return sh.rows[type_]

    def lock(self, type_: str, id_: str) -> threading.Lock:
        with self.shared.lock:
            return self.shared.locks.setdefault((type_, id_), threading.Lock())

    def me(self) -> str:
        if self.shared.me is None:
            self.shared.me = str(self.r.get("/user", fields="id")["id"])
        return self.shared.me

    def resolve(self, t: Target, type_: str, old: Any) -> str | None:
        """What the backed-up id `old` stands for now: a live id, a marker, LATER, or None
        (gone and not restored)."""
        old = str(old)
        other = self.r.targets.get((type_, old))
        if other is not None and other.live_id is not None:
            return other.live_id
        if type_ in LISTINGS and self.r.migration is None:
            rows = self.live_rows(type_)
            if old in rows:
                return old
            new = self.r.records.mapped(type_, old)
            live = new if new is not None and new in rows else None
        else:
            live = self.r.live_ref(type_, old)
        if live is not None:
            return live
        if other is None or other.action == "skipped" or other.status == "skipped":
            return None
        if other.status == "planned" and other.kind.level > t.kind.level:
            return LATER
        return marker(type_, old)

    def name_of(self, type_: str, old: str) -> str:
        backed = self.r.backup_of(type_, old) if type_ != "content_metadata" else None
        label = None
        if isinstance(backed, dict):
            label = backed.get("name") or backed.get("title") or backed.get("email")
        return f"{type_} {old}" + (f" ({label!r})" if label else "")

    def resolved(self, t: Target, type_: str, olds: Iterable[Any], notes: list[str],
                 why: str) -> dict[str, str]:
        """Live id (or marker) -> backed-up id of each of `olds` that is or will be live;
        the gone ones are noted; LATER ones left to their own restore."""
        out: dict[str, str] = {}
        for old in olds:
            live = self.resolve(t, type_, old)
            if live is None:
                notes.append(f"{self.name_of(type_, str(old))} is gone and not restored: "
                             f"{why} left out")
            elif live != LATER:
                out[live] = str(old)
        return out

    def group_managed_elsewhere(self, old: str | None, live: str | None) -> str | None:
        """Why a group's membership is not Looker's to write (None: it is)."""
        rows = [self.live_rows("groups").get(live or "") or {}]
        if old is not None:
            backed = self.r.backup_of("groups", old)
            rows.append(backed if isinstance(backed, dict) else {})
        if any(row.get("externally_managed") for row in rows):
            return "externally managed (its identity provider owns the membership)"
        if any(row.get("include_by_default") for row in rows):
            return "every user's group (Looker adds everyone)"
        return None

    def backup_list(self, type_: str, id_: str) -> list[dict[str, Any]] | None:
        value = self.r.backup_of(type_, id_)
        return value if isinstance(value, list) else None

    def ids(self, path: str, paged: bool = False, **params: str) -> list[str]:
        """Ids of a live sub-collection (all pages)."""
        out: list[str] = []
        offset = 0
        while True:
            query = {"fields": "id", **params}
            if paged:
                query.update(limit=str(PAGE), offset=str(offset))
            rows = self.r.get(path, **query) or []
            out += [str(row["id"]) for row in rows]
            if not paged or len(rows) < PAGE:
                return out
            offset += PAGE

    # -- the handler -------------------------------------------------------------------------

    def edges(self, t: Target, notes: list[str]) -> list[Op]:
        return []

    def diff(self, t: Target) -> list[str]:
        notes = self.notes(t)
        changes = super().diff(t) if t.live is not None else []
        if t.live is not None or t.live_id is not None:
            changes += describe(self.edges(t, notes))
        t.reason = "; ".join(dict.fromkeys(notes)) or None
        return changes

    def notes(self, t: Target) -> list[str]:
        """What of the object a restore cannot reproduce (reported, not failed)."""
        return []

    def cannot_create(self, t: Target) -> str | None:
        why = super().cannot_create(t)
        if why is None:
            notes = self.notes(t)
            t.reason = "; ".join(notes) or None
            t.changes += [f"not restorable: {n}" for n in notes]
        return why

    def link(self, t: Target) -> None:
        for op in self.edges(t, []):
            if op.run is not None:
                op.run()

    def refresh(self, t: Target) -> None:
        self.r.forget(t.kind.name, t.live_id)
        t.live = self.r.live(t.kind.name, t.live_id or t.id)


# -- shared edge plans -------------------------------------------------------------------------


def set_ops(category: str, noun: str, want: dict[str, str], have: Iterable[str],
            add: Callable[[str], Any] | None, drop: Callable[[str], Any] | None,
            keep: Callable[[str], bool] = lambda _x: False,
            owned: Callable[[str], bool] = lambda _x: False) -> list[Op]:
    """Ops that make the set `have` equal `want` (live id -> backed-up id). `keep`: live
    extras never removed; `owned`: edges the other end writes in this run (shown, not
    written here); markers are shown but cannot be written yet."""
    have = set(have)
    ops: list[Op] = []
    for live in sorted(set(want) - have):
        run = None if is_marker(live) or owned(live) or add is None else partial(add, live)
        label = live if want[live] == live or is_marker(live) else f"{live} (was {want[live]})"
        ops.append(Op(category, f"+{noun} {label}", run))
    for live in sorted(have - set(want)):
        if keep(live):
            continue
        run = None if owned(live) or drop is None else partial(drop, live)
        ops.append(Op(category, f"-{noun} {live}", run))
    return ops


def replace_all(category: str, noun: str, want: dict[str, str], have: list[str],
                put: Callable[[list[str]], Any], keep: Iterable[str] = ()) -> list[Op]:
    """A set written whole (PUT of ids): the changes described one by one, one write. Objects
    still to be made are left out of it (they add themselves once they exist)."""
    keep = set(keep)
    if set(want) | keep == set(have):
        return []
    body = sorted({x for x in want if not is_marker(x)} | keep)
    ops = set_ops(category, noun, want, have, None, None, keep=lambda x: x in keep)
    return [*ops, Op(category, "", lambda: put(body))]


class _Hanging(Edged):
    """Edges with no fields of their own, kept under the id of the object they hang on (a
    user attribute, a role, a folder's or board's content metadata): found, and written in
    apply, through that object once it is live."""

    parent_type = ""  # the kind of object they hang on
    noun = ""  # what they are, for the plan

    def parent(self, t: Target) -> str | None:
        """What the object they hang on stands for now (see `resolve`)."""
        return self.resolve(t, self.parent_type, t.id)

    def read(self, pid: str) -> Any:
        """The live edges on object `pid` (None: not there)."""
        raise NotImplementedError

    def load(self, t: Target, pid: str) -> None:
        """Reads the live edges before they are written."""
        t.live = self.read(pid)

    def not_live(self, t: Target) -> str:
        return f"{self.name_of(self.parent_type, t.id)} is not live"

    def desired(self, t: Target) -> dict[str, Any]:
        return {}

    def current(self, t: Target) -> dict[str, Any]:
        return {}

    def find(self, t: Target) -> tuple[str | None, Any, str]:
        pid = self.parent(t)
        if not is_live(pid):
            return None, None, "id"
        live = self.read(pid)
        return (pid, live, "id" if pid == t.id else "id map") if live is not None else (
            None, None, "id")

    def cannot_create(self, t: Target) -> str | None:
        if self.parent(t) is None:
            return (f"{self.name_of(self.parent_type, t.id)} is gone and not restored: "
                    f"its {self.noun} have nothing to hang on")
        return None  # the object they hang on is re-created first in this run

    def apply(self, t: Target) -> None:
        pid = self.parent(t)
        if not is_live(pid):
            from looker_assets.restore.engine import RestoreError

            raise RestoreError(self.not_live(t))
        self.r.remember(t, pid)
        self.load(t, pid)
        super().link(t)

    def link(self, t: Target) -> None:
        pass  # written in apply: the object they hang on exists by then


class GroupValues(_Hanging):
    """A user attribute's values for groups (user_attribute_group_values, id = the attribute
    id): set_user_attribute_group_values replaces them all, in rank order (lowest wins).
    Written in apply: the attribute and the groups exist by then (level 9)."""

    parent_type, noun = "user_attributes", "group values"

    def dependencies(self, t: Target) -> list[tuple[str, str]]:
        entries = t.backup if isinstance(t.backup, list) else []
        return [("user_attributes", t.id)] + [("groups", str(e["group_id"])) for e in entries
                                              if e.get("group_id") is not None]

    def read(self, pid: str) -> Any:
        return self.r.get_or_none(f"/user_attributes/{_q(pid)}/group_values")

    def load(self, t: Target, pid: str) -> None:
        t.live = self.r.get(f"/user_attributes/{_q(pid)}/group_values")

    def notes(self, t: Target) -> list[str]:
        return hidden_note(t.backup if isinstance(t.backup, list) else [])

    def edges(self, t: Target, notes: list[str]) -> list[Op]:
        aid = t.live_id or self.parent(t)
        entries = t.backup if isinstance(t.backup, list) else []
        if aid is None or aid == LATER or hidden_note(entries):
            return []
        return values_ops(self, t, aid, entries, notes)


def hidden_note(entries: list[dict[str, Any]]) -> list[str]:
    hidden = [e for e in entries if e.get("value_is_hidden") or e.get("value") is None]
    if not hidden:
        return []
    return [f"hidden values of {len(hidden)} group(s) come back null from Looker: not "
            f"restorable, left as they are"]


def ordered_values(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(entries, key=lambda e: (e.get("rank") is None, e.get("rank") or 0))


def values_ops(h: Edged, t: Target, aid: str, entries: list[dict[str, Any]],
               notes: list[str]) -> list[Op]:
    """The whole list of an attribute's group values, as the backup ranks them."""
    want: list[tuple[str, Any]] = []
    for e in ordered_values(entries):
        gid = h.resolve(t, "groups", e.get("group_id"))
        if gid is None:
            notes.append(f"{h.name_of('groups', str(e.get('group_id')))} is gone and not "
                         f"restored: its value of attribute {t.id} left out")
        elif gid != LATER:
            want.append((gid, e.get("value")))
    live = h.r.get(f"/user_attributes/{_q(aid)}/group_values") or []
    have = [(str(e.get("group_id")), e.get("value")) for e in ordered_values(live)]
    if same([list(p) for p in want], [list(p) for p in have]):
        return []
    what = ", ".join(f"{g}={v!r}" for g, v in want) or "none"

    def run() -> None:
        with h.lock("group_values", aid):
            body = [{"group_id": g, "value": v} for g, v in want if not is_marker(g)]
            h.r.write(t, "POST", f"/user_attributes/{_q(aid)}/group_values", body)

    return [Op("group values", f"in rank order: {what}", run)]


class UserAttribute(Edged):
    """A user attribute with its group values (restored together: Looker drops the values
    with the attribute). Groups re-created later in the run add their own values."""

    def dependencies(self, t: Target) -> list[tuple[str, str]]:
        return [("groups", str(e["group_id"])) for e in self.backup_list(
            "user_attribute_group_values", t.id) or [] if e.get("group_id") is not None]

    def notes(self, t: Target) -> list[str]:
        return hidden_note(self.backup_list("user_attribute_group_values", t.id) or [])

    def edges(self, t: Target, notes: list[str]) -> list[Op]:
        entries = self.backup_list("user_attribute_group_values", t.id)
        if entries is None or t.live_id is None or hidden_note(entries):
            return []
        if ("user_attribute_group_values", t.id) in self.r.targets:
            return []  # restored as its own object later in this run
        return values_ops(self, t, t.live_id, entries, notes)


# -- roles and their users --------------------------------------------------------------------


def role_user_rows(h: Edged) -> dict[str, set[str]]:
    """Role id -> ids of the users holding it directly, as of the backup (role_users)."""
    return {rid: {str(u.get("id")) for u in rows if isinstance(u, dict)}
            for rid, rows in h.r.backup_all("role_users") if isinstance(rows, list)}


def is_admin(h: Edged, live_role: str) -> bool:
    return (h.live_rows("roles").get(live_role) or {}).get("name") == ADMIN


class Role(Edged):
    """A role names its sets through write-only ids (GET shows the nested sets instead);
    its groups and direct users are set with the replace-all set_role_groups and
    set_role_users. The built-in Admin role is never written (the registry skips it)."""

    def desired(self, t: Target) -> dict[str, Any]:
        body = dict(t.backup)
        for name in ("permission_set", "model_set"):
            nested = body.get(name)
            if isinstance(nested, dict) and nested.get("id") is not None:
                body[f"{name}_id"] = str(nested["id"])
        return self.r.map_refs(t, {k: body[k] for k in ("name", "permission_set_id",
                                                        "model_set_id") if k in body})

    def current(self, t: Target) -> dict[str, Any]:
        live = t.live or {}
        out: dict[str, Any] = {"name": live.get("name")}
        for name in ("permission_set", "model_set"):
            nested = live.get(name)
            out[f"{name}_id"] = str(nested["id"]) if isinstance(nested, dict) else None
        return out

    def edges(self, t: Target, notes: list[str]) -> list[Op]:
        rid = t.live_id
        if rid is None:
            return []
        groups = [gid for gid, g in self.r.backup_all("groups") if isinstance(g, dict)
                  and t.id in {str(x) for x in g.get("role_ids") or []}]
        want = self.resolved(t, "groups", groups, notes, "its grant to the role")
        ops = replace_all("groups", "group", want, self.ids(f"/roles/{_q(rid)}/groups"),
                          lambda body: self.r.write(t, "PUT", f"/roles/{_q(rid)}/groups", body))
        users = role_user_rows(self).get(t.id)
        if users is None:
            notes.append("no backup of the role's direct users (role_users): left as they are")
            return ops
        want = self.resolved(t, "users", sorted(users), notes, "its direct grant")
        have = self.ids(f"/roles/{_q(rid)}/users", direct_association_only="true")
        return ops + replace_all("users", "user", want, have, lambda body: self.r.write(
            t, "PUT", f"/roles/{_q(rid)}/users", body))


class RoleUsers(_Hanging):
    """A role's direct users (role_users, id = the role id), set with the replace-all
    set_role_users on the live role (written in apply: the role exists by then). Never on
    the built-in Admin role."""

    parent_type, noun = "roles", "users"

    def dependencies(self, t: Target) -> list[tuple[str, str]]:
        return [("roles", t.id)]

    def read(self, pid: str) -> Any:
        # Read directly: the direct holders only, as the backup has them.
        return self.r.get_or_none(f"/roles/{_q(pid)}/users", direct_association_only="true",
                                  fields="id,email")

    def load(self, t: Target, pid: str) -> None:
        pass  # edges reads the holders itself

    def edges(self, t: Target, notes: list[str]) -> list[Op]:
        rid = t.live_id or self.parent(t)
        if not is_live(rid):
            return []
        if is_admin(self, rid):
            notes.append("the built-in Admin role is never written: its users left as they "
                         "are")
            return []
        rows = t.backup if isinstance(t.backup, list) else []
        want = self.resolved(t, "users", [u.get("id") for u in rows], notes, "its grant")
        have = self.ids(f"/roles/{_q(rid)}/users", direct_association_only="true")
        return replace_all("users", "user", want, have, lambda body: self.r.write(
            t, "PUT", f"/roles/{_q(rid)}/users", body))


# -- groups --------------------------------------------------------------------------------------


class Group(Edged):
    """A group's own fields, then its edges: parent groups (add_group_group), child groups
    not restored themselves, roles (set_role_groups on each role, read-modify-write, this
    group only), members (add_group_user / delete_group_user), and its user-attribute values
    and access entries where the backup recorded them."""

    def dependencies(self, t: Target) -> list[tuple[str, str]]:
        # A gone parent or role comes back first; members and children are restored on
        # their own (a restore never re-creates user accounts to fill a group).
        return ([("groups", str(p)) for p in t.backup.get("parent_group_ids") or []]
                + [("roles", str(r)) for r in t.backup.get("role_ids") or []])

    def notes(self, t: Target) -> list[str]:
        why = self.group_managed_elsewhere(t.id, t.live_id)
        return [f"membership not written: {why}"] if why else []

    def children(self, old: str) -> list[str]:
        return [gid for gid, g in self.r.backup_all("groups") if isinstance(g, dict)
                and old in {str(p) for p in g.get("parent_group_ids") or []}]

    def members(self, old: str) -> list[str]:
        return [uid for uid, u in self.r.backup_all("users") if isinstance(u, dict)
                and old in {str(g) for g in u.get("group_ids") or []}]

    def runs_link(self, type_: str, live: str) -> bool:
        """The object with this live id is restored in this run and writes its own edges
        (a child group its parents)."""
        return any(o.live_id == live and o.kind.name == type_ and o.status in ("done",
                                                                                "planned")
                   and o.action in ("update", "undelete", "create")
                   for o in self.r.targets.values())

    def edges(self, t: Target, notes: list[str]) -> list[Op]:
        gid = t.live_id
        if gid is None or t.live is None:
            return []
        ops: list[Op] = []
        g = _q(gid)
        # Parents: this group's own edges (a parent that is externally managed is not ours).
        want = self.resolved(t, "groups", t.backup.get("parent_group_ids") or [], notes,
                             "its membership in it")
        have = [str(p) for p in t.live.get("parent_group_ids") or []]
        theirs = {p for p in set(want) | set(have)
                  if self.group_managed_elsewhere(want.get(p), p)}
        ops += set_ops("parent groups", "group",
                       {k: v for k, v in want.items() if k not in theirs},
                       [p for p in have if p not in theirs],
                       lambda p: self.r.write(t, "POST", f"/groups/{_q(p)}/groups",
                                              {"group_id": gid}),
                       lambda p: self.r.write(t, "DELETE", f"/groups/{_q(p)}/groups/{g}"))
        managed = self.group_managed_elsewhere(t.id, gid)
        if not managed:
            # Children that are restored too write the edge from their side (their parents).
            want = self.resolved(t, "groups", self.children(t.id), notes, "its inclusion")
            have = self.ids(f"/groups/{g}/groups")
            ops += set_ops("child groups", "group", want, have,
                           lambda c: self.r.write(t, "POST", f"/groups/{g}/groups",
                                                  {"group_id": c}),
                           lambda c: self.r.write(t, "DELETE", f"/groups/{g}/groups/{_q(c)}"),
                           owned=lambda c: self.runs_link("groups", c))
            want = self.resolved(t, "users", self.members(t.id), notes, "its membership")
            have = self.ids(f"/groups/{g}/users", paged=True)
            ops += set_ops("members", "user", want, have,
                           lambda u: self.r.write(t, "POST", f"/groups/{g}/users",
                                                  {"user_id": u}),
                           lambda u: self.r.write(t, "DELETE", f"/groups/{g}/users/{_q(u)}"))
        # Roles: each role's groups are replaced whole, so read, change this group, write,
        # one writer per role at a time.
        want = self.resolved(t, "roles", t.backup.get("role_ids") or [], notes, "the grant")
        have = [str(r) for r in t.live.get("role_ids") or []]

        def grant(role: str, on: bool) -> None:
            with self.lock("role_groups", role):
                groups = self.ids(f"/roles/{_q(role)}/groups")
                if (gid in groups) != on:
                    body = [x for x in groups if x != gid] + ([gid] if on else [])
                    self.r.write(t, "PUT", f"/roles/{_q(role)}/groups", body)

        # Taking the built-in Admin role away could lock every admin out: never done.
        ops += set_ops("roles", "role", want, have, lambda r: grant(r, True),
                       lambda r: grant(r, False), keep=lambda r: is_admin(self, r))
        ops += self.value_ops(t, gid, notes)
        ops += self.access_ops(t, gid, notes)
        return ops

    def value_ops(self, t: Target, gid: str, notes: list[str]) -> list[Op]:
        """This group's value of each user attribute, at its rank among the values the
        backup lists (attribute values restored as their own objects are left to them)."""
        ops: list[Op] = []
        for aid_old, entries in self.r.backup_all("user_attribute_group_values"):
            mine = [e for e in entries or [] if str(e.get("group_id")) == t.id]
            if not mine or ("user_attribute_group_values", aid_old) in self.r.targets:
                continue
            if hidden_note(entries):
                notes.append(f"its value of hidden attribute {aid_old}: not restorable")
                continue
            aid = self.resolve(t, "user_attributes", aid_old)
            if aid is None:
                notes.append(f"{self.name_of('user_attributes', aid_old)} is gone and not "
                             f"restored: the group's value of it left out")
                continue
            if not is_live(aid):
                continue
            ops += self.value_op(t, gid, aid, ordered_values(entries), mine[0])
        return ops

    def value_op(self, t: Target, gid: str, aid: str, entries: list[dict[str, Any]],
                 mine: dict[str, Any]) -> list[Op]:
        ranked = [str(e.get("group_id")) for e in entries]
        before = {self.resolve(t, "groups", x) for x in ranked[:ranked.index(t.id)]}
        after = {self.resolve(t, "groups", x) for x in ranked[ranked.index(t.id) + 1:]}

        def placed(live: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
            rest = [p for p in live if p[0] != gid]
            at = max([i + 1 for i, p in enumerate(rest) if p[0] in before], default=0)
            return [*rest[:at], (gid, mine.get("value")), *rest[at:]]

        def read() -> list[tuple[str, Any]]:
            rows = ordered_values(self.r.get(f"/user_attributes/{_q(aid)}/group_values") or [])
            return [(str(e.get("group_id")), e.get("value")) for e in rows]

        live = read()
        ours = [i for i, p in enumerate(live) if p[0] == gid]
        ok = bool(ours) and live[ours[0]][1] == mine.get("value") and all(
            (p[0] not in before or i < ours[0]) and (p[0] not in after or i > ours[0])
            for i, p in enumerate(live))
        if ok:
            return []

        def run() -> None:
            with self.lock("group_values", aid):
                body = [{"group_id": g, "value": v} for g, v in placed(read())]
                self.r.write(t, "POST", f"/user_attributes/{_q(aid)}/group_values", body)

        return [Op("attribute values", f"attribute {aid} = {mine.get('value')!r}", run)]

    def access_ops(self, t: Target, gid: str, notes: list[str]) -> list[Op]:
        """Access entries naming this group, on folders and boards whose access is not
        restored as its own object in this run: added or corrected, never removed."""
        ops: list[Op] = []
        for cm_old, entries in self.r.backup_all("content_access"):
            mine = [e for e in entries or [] if str(e.get("group_id")) == t.id]
            if not mine or ("content_access", cm_old) in self.r.targets:
                continue
            cm = live_cm(self, t, cm_old)
            if cm is None:
                notes.append(f"content {cm_old} is gone and not restored: the group's access "
                             f"to it left out")
                continue
            if not is_live(cm):
                continue
            live = self.r.get("/content_metadata_access", content_metadata_id=cm) or []
            have = {str(e.get("group_id")): e for e in live if e.get("group_id") is not None}
            perm = mine[0].get("permission_type")
            entry = have.get(gid)
            if entry is not None and entry.get("permission_type") == perm:
                continue

            def run(cm: str = cm, entry: dict[str, Any] | None = entry, perm: Any = perm
                    ) -> None:
                body = {"content_metadata_id": cm, "permission_type": perm, "group_id": gid}
                if entry is not None:
                    self.r.write(t, "PUT", f"/content_metadata_access/{_q(entry['id'])}", body)
                    return
                ensure_own_access(self, t, cm)
                self.r.write(t, "POST", "/content_metadata_access", body)

            ops.append(Op("access", f"{perm} on content {cm}", run))
        return ops

    def link(self, t: Target) -> None:
        self.refresh(t)
        super().link(t)


# -- users ---------------------------------------------------------------------------------------


class User(Edged):
    """A user's account fields, email credentials, group memberships and direct roles.
    Other credentials (SAML, LDAP, OIDC, Google, TOTP, API3, embed) and passwords cannot
    come from a backup: reported. Only the roles granted directly (role_users) are written:
    roles that come through groups are never granted directly."""

    def fields(self, kind: Any) -> frozenset[str]:
        return frozenset(f for f in super().fields(kind) if not f.startswith("credentials_"))

    def notes(self, t: Target) -> list[str]:
        notes = [f"{c.removeprefix('credentials_')} credentials: not restorable (the API "
                 f"only reads and deletes them)" for c in OTHER_CREDENTIALS if t.backup.get(c)]
        if t.action == "create" and t.backup.get("credentials_email"):
            notes.append("password: not restorable (send a password reset)")
        return notes

    def home(self, t: Target, notes: list[str]) -> str | None:
        """The live home folder: a personal one is the user's own new personal folder."""
        hf = t.backup.get("home_folder_id")
        if hf in (None, ""):
            return None
        if str(hf) == str(t.backup.get("personal_folder_id")):
            return None if t.live is None else t.live.get("personal_folder_id")
        live = self.r.live_ref("folders", str(hf))
        if live is None:
            later = ("folders", str(hf)) in self.r.targets
            notes.append(f"home folder {hf} " + ("is re-created after users in this run: "
                                                  "restore the user again to point at it"
                                                  if later else "is gone: left as it is"))
        return live

    def desired(self, t: Target) -> dict[str, Any]:
        out = pick(t.backup, self.fields(t.kind) - {"home_folder_id"})
        home = self.home(t, [])
        if home is not None:
            out["home_folder_id"] = home
        return out

    def dependencies(self, t: Target) -> list[tuple[str, str]]:
        # Gone groups (not the identity provider's) and directly granted roles come back
        # first; the home folder is not pulled (a preference, not a dependency).
        deps = [("groups", str(g)) for g in t.backup.get("group_ids") or []
                if not self.group_managed_elsewhere(str(g), None)]
        deps += [("roles", rid) for rid, users in role_user_rows(self).items()
                 if t.id in users]
        return deps

    def email(self, t: Target) -> tuple[Any, Any]:
        want = (t.backup.get("credentials_email") or {}).get("email")
        have = ((t.live or {}).get("credentials_email") or {}).get("email")
        return want, have

    def edges(self, t: Target, notes: list[str]) -> list[Op]:
        uid = t.live_id
        if uid is None or t.live is None:
            return []
        self.home(t, notes)
        u = _q(uid)
        ops: list[Op] = []
        want_email, have_email = self.email(t)
        if want_email and want_email != have_email:
            ops.append(Op("credentials_email", f"email {want_email}",
                          lambda: self.set_email(t)))
        # Groups whose membership is Looker's to write.
        olds = []
        for g in t.backup.get("group_ids") or []:
            why = self.group_managed_elsewhere(str(g), None)
            if why is None:
                olds.append(str(g))
            elif why.startswith("externally"):
                notes.append(f"membership of {self.name_of('groups', str(g))} not written: "
                             f"{why}")
        want = self.resolved(t, "groups", olds, notes, "its membership")
        have = [str(g) for g in t.live.get("group_ids") or []]
        ops += set_ops("groups", "group", want, have,
                       lambda g: self.r.write(t, "POST", f"/groups/{_q(g)}/users",
                                              {"user_id": uid}),
                       lambda g: self.r.write(t, "DELETE", f"/groups/{_q(g)}/users/{u}"),
                       keep=lambda g: bool(self.group_managed_elsewhere(None, g)))
        ops += self.role_ops(t, uid, notes)
        return ops

    def role_ops(self, t: Target, uid: str, notes: list[str]) -> list[Op]:
        if t.live is not None and t.live.get("roles_externally_managed"):
            notes.append("roles externally managed: left as they are")
            return []
        rows = role_user_rows(self)
        if not rows:
            notes.append("no backup of direct role assignments (role_users): roles left as "
                         "they are")
            return []
        want = self.resolved(t, "roles", [r for r, us in rows.items() if t.id in us], notes,
                             "the direct grant")
        have = self.ids(f"/users/{_q(uid)}/roles", direct_association_only="true")
        # Taking Admin away from the API user would end this restore and every later one.
        keep = {r for r in have if r not in want and is_admin(self, r) and uid == self.me()}
        if keep:
            notes.append("the API user keeps the built-in Admin role")
        return replace_all("direct roles", "role", want, have, lambda body: self.r.write(
            t, "PUT", f"/users/{_q(uid)}/roles", body), keep)

    def set_email(self, t: Target) -> None:
        want = self.email(t)[0]
        uid = _q(t.live_id or t.id)
        # Read through the user (it embeds its credentials): create when it has none (a
        # second create is a 409), else change the address.
        live = self.r.get(f"/users/{uid}", fields="credentials_email").get("credentials_email")
        if live and live.get("email") == want:
            return
        self.r.write(t, "PATCH" if live else "POST", f"/users/{uid}/credentials_email",
                     {"email": want})

    def after_create(self, t: Target) -> None:
        live = self.r.get(f"/users/{_q(t.live_id or '')}")
        t.live = live
        want = self.desired(t).get("home_folder_id")
        if want is not None and str(live.get("home_folder_id")) != str(want):
            self.r.write(t, "PATCH", self.path(t), {"home_folder_id": want})

    def link(self, t: Target) -> None:
        self.refresh(t)
        super().link(t)


# -- content metadata and access --------------------------------------------------------------

# Where a content_metadata row names its folder or board (dashboards and looks have one too,
# though the backup keeps only folders' and boards').
OWNER_FIELDS = (("folder_id", "folders"), ("homepage_id", "boards"),
                ("dashboard_id", "dashboards"), ("look_id", "looks"))


def owner_of(h: Edged, cm_old: str) -> tuple[str, str] | None:
    meta = h.r.backup_of("content_metadata", cm_old)
    for field, type_ in OWNER_FIELDS:
        if isinstance(meta, dict) and meta.get(field) not in (None, ""):
            return type_, str(meta[field])
    return None


def live_cm(h: Edged, t: Target, cm_old: str) -> str | None:
    """The live content_metadata_id a backed-up one stands for: the same; one an earlier
    restore mapped; else that of its folder or board, which a re-create gave a new one. A
    marker or LATER while the folder or board is still to be made."""
    for type_ in ("content_metadata", "content_access"):
        other = h.r.targets.get((type_, cm_old))
        if other is not None and other.live_id is not None:
            return other.live_id
    if h.r.migration is None and h.r.live("content_metadata", cm_old) is not None:
        return cm_old
    for type_ in ("content_metadata", "content_access"):
        new = h.r.records.mapped(type_, cm_old)
        if new is not None and h.r.live("content_metadata", new) is not None:
            return new
    owner = owner_of(h, cm_old)
    if owner is None:
        return None
    oid = h.resolve(t, *owner)
    if not is_live(oid):
        return oid
    obj = h.r.live(owner[0], oid)
    cm = obj.get("content_metadata_id") if isinstance(obj, dict) else None
    return None if cm in (None, "") else str(cm)


def ensure_own_access(h: Edged, t: Target, cm: str) -> None:
    """Access entries exist only where content stops inheriting its parent's (Looker refuses
    them otherwise): set inherits false first."""
    meta = h.r.get(f"/content_metadata/{_q(cm)}")
    if meta.get("inherits"):
        h.r.write(t, "PATCH", f"/content_metadata/{_q(cm)}", {"inherits": False})


def access_dependencies(t: Target) -> list[tuple[str, str]]:
    """A folder's or board's access (inherits, entries): pulled in with it when gone."""
    cm = t.backup.get("content_metadata_id")
    return [] if cm in (None, "") else [("content_metadata", str(cm)),
                                        ("content_access", str(cm))]


class _ContentEdge(_Hanging):
    """Shared by content_metadata and content_access: both hang off a folder or board."""

    def dependencies(self, t: Target) -> list[tuple[str, str]]:
        owner = owner_of(self, t.id)
        return [owner] if owner else []

    def parent(self, t: Target) -> str | None:
        return live_cm(self, t, t.id)

    def not_live(self, t: Target) -> str:
        return f"content_metadata {t.id}: its folder or board is not live"

    def cannot_create(self, t: Target) -> str | None:
        if live_cm(self, t, t.id) is not None:
            return None  # its folder or board is re-created first in this run
        owner = owner_of(self, t.id)
        what = self.name_of(*owner) if owner else f"the content of content_metadata {t.id}"
        return f"{what} is gone and not restored: its access has nothing to hang on"


class ContentMetadata(_ContentEdge):
    """Whether a folder or board inherits its parent's access: PATCH {inherits} (written in
    apply: the folder or board exists by then)."""

    def read(self, pid: str) -> Any:
        return self.r.get_or_none(f"/content_metadata/{_q(pid)}")

    def edges(self, t: Target, notes: list[str]) -> list[Op]:
        cm = t.live_id
        want, have = t.backup.get("inherits"), (t.live or {}).get("inherits")
        if cm is None or want is None or bool(want) == bool(have):
            return []
        return [Op("inherits", f"{bool(have)} -> {bool(want)}", lambda: self.r.write(
            t, "PATCH", f"/content_metadata/{_q(cm)}", {"inherits": bool(want)}))]


class ContentAccess(_ContentEdge):
    """The access entries of one content_metadata_id (group or user, view or edit): created,
    corrected (PUT) and extras deleted; group and user ids mapped."""

    def dependencies(self, t: Target) -> list[tuple[str, str]]:
        deps = [("content_metadata", t.id), *super().dependencies(t)]
        entries = t.backup if isinstance(t.backup, list) else []
        # Gone groups come back; a gone user is reported (accounts are not re-created).
        return deps + [("groups", str(e["group_id"])) for e in entries if e.get("group_id")]

    def read(self, pid: str) -> Any:
        if self.r.get_or_none(f"/content_metadata/{_q(pid)}") is None:
            return None
        return self.r.get("/content_metadata_access", content_metadata_id=pid)

    def edges(self, t: Target, notes: list[str]) -> list[Op]:
        cm = t.live_id
        if cm is None:
            return []
        want: dict[tuple[str, str], Any] = {}
        for e in t.backup if isinstance(t.backup, list) else []:
            type_, field = ("groups", "group_id") if e.get("group_id") else ("users", "user_id")
            live = self.resolve(t, type_, e.get(field))
            if live is None:
                notes.append(f"{self.name_of(type_, str(e.get(field)))} is gone and not "
                             f"restored: its {e.get('permission_type')} access left out")
            elif live != LATER:
                want[(field, live)] = e.get("permission_type")
        have: dict[tuple[str, str], dict[str, Any]] = {}
        extra: list[dict[str, Any]] = []
        for e in t.live if isinstance(t.live, list) else []:
            field = "group_id" if e.get("group_id") else "user_id"
            key = (field, str(e.get(field)))
            if key in have or key not in want:
                extra.append(e)  # not in the backup, or a second entry for one principal
            else:
                have[key] = e
        ops: list[Op] = []
        owned = [k for k in want if not is_marker(k[1])]
        if owned and (self.r.backup_of("content_metadata", t.id) or {}).get("inherits") \
                is not True:
            meta = self.r.get_or_none(f"/content_metadata/{_q(cm)}") or {}
            if meta.get("inherits") and ("content_metadata", t.id) not in self.r.targets:
                ops.append(Op("inherits", "False, so that its own entries apply",
                              lambda: ensure_own_access(self, t, cm)))
        for key, perm in want.items():
            entry = have.get(key)
            noun = f"{key[0].removesuffix('_id')} {key[1]}"
            body = {"content_metadata_id": cm, "permission_type": perm, key[0]: key[1]}
            if entry is None:
                ops.append(Op("entries", f"+{noun} {perm}", None if is_marker(key[1]) else (
                    lambda body=body: self.create_entry(t, cm, body))))
            elif entry.get("permission_type") != perm:
                ops.append(Op("entries", f"{noun} {entry.get('permission_type')} -> {perm}",
                              lambda body=body, entry=entry: self.r.write(
                                  t, "PUT", f"/content_metadata_access/{_q(entry['id'])}",
                                  body)))
        for e in extra:
            field = "group_id" if e.get("group_id") else "user_id"
            ops.append(Op("entries", f"-{field.removesuffix('_id')} {e.get(field)}",
                          lambda e=e: self.r.write(
                              t, "DELETE", f"/content_metadata_access/{_q(e['id'])}")))
        return ops

    def create_entry(self, t: Target, cm: str, body: dict[str, Any]) -> None:
        key = "group_id" if body.get("group_id") else "user_id"

        def landed() -> str | None:
            for e in self.r.get("/content_metadata_access", content_metadata_id=cm) or []:
                if str(e.get(key)) == str(body[key]):
                    return str(e.get("id"))
            return None

        self.r.create(t, "/content_metadata_access", body, landed=landed)


# -- boards --------------------------------------------------------------------------------------

CHILD_NOUNS = {"board_sections": "section", "board_items": "item"}
SECTION_FIELDS = frozenset({"title", "description"})
# What an item is besides where it points (matched and mapped separately) and its custom
# image (write-only: never in a backup).
ITEM_FIELDS = writable("BoardItem") - {"custom_image_data_base64", "board_section_id",
                                       "dashboard_id", "look_id", "lookml_dashboard_id",
                                       "use_custom_image"}


class BoardChildren:
    """A board's sections and items, then their order. Children are matched by id, then
    the id map, then natural key (a section by title; an item by what it shows and its
    order). Changed ones are patched, missing ones created, live extras deleted; then
    item_order and section_order are set with the live ids."""

    def __init__(self, h: Board, t: Target, live: dict[str, Any], write: bool,
                 notes: list[str]) -> None:
        self.h, self.r, self.t, self.live, self.write = h, h.r, t, live, write
        self.notes = notes
        self.bid = str(live.get("id"))
        self.ops: list[Op] = []
        self.sections: dict[str, str | None] = {}
        self.items: dict[str, str | None] = {}

    def op(self, category: str, what: str, run: Callable[[], Any] | None = None) -> Any:
        self.ops.append(Op(category, what))
        return run() if self.write and run is not None else None

    # Sections and items are made, patched and deleted alike; `child` names the collection.

    def create(self, child: str, what: str, old: str, body: dict[str, Any] | None) -> None:
        """Makes backed-up child `old` (body None: shown, not written yet) and maps its id."""
        noun = CHILD_NOUNS[child]
        made = self.op(f"{noun}s", f"+{noun} {what}", None if body is None else (
            lambda: self.r.create(self.t, f"/{child}", body)))
        if made is not None:
            (self.sections if child == "board_sections" else self.items)[old] = str(made["id"])
            self.r.remember_child(child, old, str(made["id"]))

    def patch(self, child: str, lid: str, want: dict[str, Any], have: dict[str, Any]) -> None:
        """Patches the fields of live child `lid` that differ from the backup's."""
        noun = CHILD_NOUNS[child]
        changed = [k for k in want if not same(want[k], have.get(k))]
        if changed:
            self.op(f"{noun}s", f"{noun} {lid} ({', '.join(changed)})", lambda: self.r.write(
                self.t, "PATCH", f"/{child}/{_q(lid)}", {k: want[k] for k in changed}))

    def delete(self, child: str, lid: str) -> None:
        noun = CHILD_NOUNS[child]
        self.op(f"{noun}s", f"-{noun} {lid}", lambda: self.r.write(
            self.t, "DELETE", f"/{child}/{_q(lid)}"))

    def _match(self, backup: list[dict[str, Any]], live: list[dict[str, Any]], child: str,
               key: Callable[[dict[str, Any], bool], Any]) -> dict[str, str | None]:
        by_id = {str(c.get("id")): c for c in live}
        taken: set[str] = set()
        out: dict[str, str | None] = {}
        for c in backup:
            old = str(c.get("id"))
            out[old] = None
            for cand in (old, self.r.records.mapped(child, old)):
                if cand in by_id and cand not in taken and key(by_id[cand], False)[0] == \
                        key(c, True)[0]:
                    out[old] = cand
                    taken.add(cand)
                    break
        for c in backup:
            old = str(c.get("id"))
            if out[old] is None:
                for lc in live:
                    lid = str(lc.get("id"))
                    if lid not in taken and key(lc, False) == key(c, True):
                        out[old] = lid
                        taken.add(lid)
                        break
        return out

    def target(self, item: dict[str, Any], backup: bool) -> tuple[str, str | None] | None:
        """What an item shows, by live id; None when it is gone and not restored."""
        for field, type_ in (("dashboard_id", "dashboards"), ("look_id", "looks")):
            value = item.get(field)
            if value not in (None, ""):
                if not backup:
                    return field, str(value)
                live = self.r.live_ref(type_, str(value))
                if live is None and (type_, str(value)) in self.r.targets:
                    live = marker(type_, str(value))
                return None if live is None else (field, live)
        return "lookml_dashboard_id", item.get("lookml_dashboard_id")

    def run(self) -> list[Op]:
        backup = self.t.backup.get("board_sections") or []
        live = self.live.get("board_sections") or []
        self.sections = self._match(backup, live, "board_sections",
                                    lambda s, _b: (None, s.get("title")))
        live_secs = {str(s.get("id")): s for s in live}
        for s in backup:
            old = str(s.get("id"))
            want = pick(s, SECTION_FIELDS)
            lid = self.sections[old]
            if lid is None:
                self.create("board_sections", repr(s.get("title")), old,
                            {**want, "board_id": self.bid})
            else:
                self.patch("board_sections", lid, want, live_secs[lid])
        self.reconcile_items(backup, live)
        matched = set(self.sections.values())
        for lid in live_secs:
            if lid not in matched:
                self.delete("board_sections", lid)
        self.order(backup)
        return self.ops

    def item_key(self, item: dict[str, Any], backup: bool) -> tuple[Any, ...]:
        section = item.get("board_section_id")
        if backup:
            section = self.sections.get(str(section))
        return (str(section), self.target(item, backup), item.get("order"))

    def reconcile_items(self, backup: list[dict[str, Any]], live: list[dict[str, Any]]
                        ) -> None:
        b_items = [i for s in backup for i in s.get("board_items") or []]
        l_items = [i for s in live for i in s.get("board_items") or []]
        # An item cannot move to another section: a match must be in the section it is
        # wanted in.
        self.items = self._match(b_items, l_items, "board_items",
                                 lambda i, b: (self.item_key(i, b)[0], *self.item_key(i, b)))
        live_items = {str(i.get("id")): i for i in l_items}
        for item in b_items:
            old = str(item.get("id"))
            shown = self.target(item, backup=True)
            if item.get("use_custom_image") or item.get("custom_image_url"):
                self.notes.append(f"custom image of board item {old}: not restorable (its "
                                  f"data is write-only)")
            if shown is None:
                field = "dashboard_id" if item.get("dashboard_id") else "look_id"
                self.notes.append(f"board item {old}: {field.removesuffix('_id')} "
                                  f"{item.get(field)} is gone and not restored: left out")
                self.items.pop(old, None)  # and out of item_order
                continue
            want = pick(item, ITEM_FIELDS)
            lid = self.items[old]
            if lid is None:
                section = self.sections.get(str(item.get("board_section_id")))
                body = {**want, "board_section_id": section, shown[0]: shown[1]}
                self.create("board_items", f"{shown[0].removesuffix('_id')} {shown[1]}", old,
                            None if is_marker(shown[1]) else body)
            else:
                self.patch("board_items", lid, want, live_items[lid])
        matched = set(self.items.values())
        kept_sections = set(self.sections.values())
        for s in live:
            if str(s.get("id")) not in kept_sections:
                continue  # the whole section goes
            for item in s.get("board_items") or []:
                lid = str(item.get("id"))
                if lid not in matched:
                    self.delete("board_items", lid)

    def order(self, backup: list[dict[str, Any]]) -> None:
        if self.write:
            self.live = self.r.get(f"/boards/{_q(self.bid)}")
        live_secs = {str(s.get("id")): s for s in self.live.get("board_sections") or []}
        for s in backup:
            lid = self.sections.get(str(s.get("id")))
            if s.get("item_order") is None:
                continue
            want = [self.items.get(str(i)) or f"<new {i}>" for i in s["item_order"]
                    if str(i) in self.items]
            have = [str(x) for x in (live_secs.get(lid or "") or {}).get("item_order") or []]
            if want != have:
                self.op("order", f"item_order of section {lid or s.get('title')!r}",
                        None if lid is None else lambda lid=lid, want=want: self.r.write(
                            self.t, "PATCH", f"/board_sections/{_q(lid)}", {"item_order": want}))
        if self.t.backup.get("section_order") is not None:
            want = [self.sections.get(str(x)) or f"<new {x}>"
                    for x in self.t.backup["section_order"] if str(x) in self.sections]
            have = [str(x) for x in self.live.get("section_order") or []]
            if want != have:
                self.op("order", "section_order", lambda: self.r.write(
                    self.t, "PATCH", f"/boards/{_q(self.bid)}", {"section_order": want}))


class Board(Edged):
    """A board's fields and trash state (deleted_at), then its sections and items and their
    order (BoardChildren). Custom item images are write-only: reported."""

    def dependencies(self, t: Target) -> list[tuple[str, str]]:
        deps = [("dashboards" if i.get("dashboard_id") else "looks",
                 str(i.get("dashboard_id") or i.get("look_id")))
                for s in t.backup.get("board_sections") or [] for i in s.get("board_items") or []
                if i.get("dashboard_id") or i.get("look_id")]
        return deps + access_dependencies(t)

    def notes(self, t: Target) -> list[str]:
        return [f"custom image of board item {i.get('id')}: not restorable (its data is "
                f"write-only)" for s in t.backup.get("board_sections") or []
                for i in s.get("board_items") or [] if i.get("use_custom_image")]

    def diff(self, t: Target) -> list[str]:
        notes = self.notes(t)
        changes = Plain.diff(self, t)
        if t.live is not None:
            changes += describe(BoardChildren(self, t, t.live, False, notes).run())
        t.reason = "; ".join(dict.fromkeys(notes)) or None
        return changes

    def apply(self, t: Target) -> None:
        trash = "deleted_at"
        if t.action == "create":
            body = self.create_body(t)
            made = self.r.create(t, "/boards", body, landed=lambda: self.landed(t, body))
            self.r.remember(t, str(made["id"]))
        else:
            body = self.update_body(t)
            if trash in body and not body[trash]:
                # Out of the trash first, so that its children can be written.
                self.r.write(t, "PATCH", self.path(t), {trash: None})
            rest = {k: v for k, v in body.items() if k != trash}
            if rest:
                self.r.write(t, "PATCH", self.path(t), rest)
        live = self.r.get(f"/boards/{_q(t.live_id or t.id)}")
        BoardChildren(self, t, live, True, []).run()
        if t.backup.get(trash) and not live.get(trash):
            self.r.write(t, "PATCH", self.path(t), {trash: t.backup[trash]})


HANDLERS: dict[str, type[Plain]] = {"role": Role, "group": Group, "user": User,
                                    "board": Board, "role_users": RoleUsers,
                                    "group_values": GroupValues,
                                    "content_metadata": ContentMetadata,
                                    "content_access": ContentAccess,
                                    "user_attribute": UserAttribute}
