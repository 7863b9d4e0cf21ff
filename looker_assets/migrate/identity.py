"""Identity across instances: which object of the target a backed-up object is.

Never its id: on another instance the same id is another object, if any. In order:
1. the id map (target URL, type, source id) -> target id that every migration into that target
   keeps (restore's table), trusted while the target object exists and still has the natural
   key this tool last saw on it (or the one it should have): a dashboard someone moved or
   retitled in the target is not silently taken over;
2. the natural key: folders by name under their (resolved) parent from the root, dashboards and
   looks by title within their folder, boards by title, users by email, groups, roles, sets,
   user attributes, connections and models by name (restore/kinds.py `natural`), with the
   operator's renames (--map) applied first.
Where the plan holds two or more objects of a folder, the target folder's looks, dashboards
or subfolders are listed once (Kind.listing) and both rules read that listing instead of one
request per object.
What resolves to nothing is created when it is content in scope, or refused with the reason.
A connection named by `migrate connections` is made when the target lacks it and left as it is
when the target has it (KEPT).
Owners are users by email; a missing one falls back to --owner-fallback or the API user, and
every fallback is reported.
"""

from __future__ import annotations

import json
import threading
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from looker_assets.restore import kinds as K
from looker_assets.restore.fields import same

if TYPE_CHECKING:
    from looker_assets.restore.engine import Restore, Target

# Content a migration creates in the target when it has no counterpart there; everything
# else (users, groups, roles, models, connections...) must already be there, by name.
CREATED = frozenset({"folders", "looks", "dashboards", "alerts", "scheduled_plans", "boards",
                     "content_metadata", "content_access"})
# Made in the target when it lacks them, never changed when it has them: a target's connection
# of that name points at the target's own database (prod, not dev).
KEPT = frozenset({"connections"})
MAP_SECTIONS = ("models", "connections", "emails", "groups", "folders")
# Owners by email, and dashboards by slug, are searched one by one up to this many; then
# every user (or dashboard, trash included) is listed once, a page per 500 instead of a search
# per name: a bare target costs a page or two, a target of 50,000 dashboards 100 pages and its
# trash's.
SEARCHES = 25
PAGE = 500


class MigrationError(ValueError):
    """The migration cannot start as asked (a bad map file, a missing --into path)."""


@dataclass(frozen=True)
class Renames:
    """What differs by name between the instances (--map FILE, TOML): source -> target."""

    models: dict[str, str] = field(default_factory=dict)
    connections: dict[str, str] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    # Folder paths ("Shared/Dev Team" = "Shared/Analytics"): resolved to ids before planning
    # (scope.folder_overrides), not renamed in the objects.
    folders: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path | None) -> Renames:
        if path is None:
            return cls()
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise MigrationError(f"--map {path}: {exc}") from None
        unknown = sorted(set(data) - set(MAP_SECTIONS))
        if unknown:
            raise MigrationError(f"--map {path}: unknown section(s) {', '.join(unknown)}; "
                                 f"known: {', '.join(MAP_SECTIONS)}")
        out: dict[str, dict[str, str]] = {}
        for section in MAP_SECTIONS:
            table = data.get(section, {})
            if not isinstance(table, dict) or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in table.items()):
                raise MigrationError(f"--map {path}: [{section}] must map names to names, "
                                     f'e.g. "source_name" = "target_name"')
            out[section] = dict(table)
        if any(not v for v in out["emails"].values()):
            raise MigrationError(f"--map {path}: an empty email")
        out["emails"] = {k.lower(): v for k, v in out["emails"].items()}
        return cls(**out)

    def __bool__(self) -> bool:
        return any((self.models, self.connections, self.emails, self.groups))

    def apply(self, type_: str, obj: Any) -> Any:
        """`obj` with every model and connection name renamed wherever it appears (queries,
        merge sources, filters, model sets), and a user's email or a group's name."""
        if not self:
            return obj
        return self._walk(obj, type_, top=True)

    def _walk(self, value: Any, type_: str, top: bool = False) -> Any:
        if isinstance(value, list):
            return [self._walk(v, type_) for v in value]
        if not isinstance(value, dict):
            return value
        out = {}
        for key, item in value.items():
            if isinstance(item, str):
                if key in ("model", "model_name", "lookml_model"):
                    item = self.models.get(item, item)
                elif key in ("connection", "connection_name"):
                    item = self.connections.get(item, item)
                elif key == "email" and (type_ == "users" or not top):
                    item = self.emails.get(item.lower(), item)
                elif key == "name" and top and type_ == "groups":
                    item = self.groups.get(item, item)
                elif key == "name" and top and type_ == "connections":
                    item = self.connections.get(item, item)
            elif key == "models" and type_ == "model_sets" and isinstance(item, list):
                item = [self.models.get(m, m) if isinstance(m, str) else m for m in item]
            elif key == "allowed_db_connection_names" and isinstance(item, list):
                item = [self.connections.get(c, c) if isinstance(c, str) else c for c in item]
            else:
                item = self._walk(item, type_)
            out[key] = item
        return out


class Directory:
    """Names in the target (emails, slugs) looked up one search each for the first few, then
    from one listing of them all; answers are kept for the run. Safe across threads."""

    def __init__(self, search: Callable[[Restore, str], Any],
                 listing: Callable[[Restore], dict[str, Any]],
                 normal: Callable[[str], str] = lambda name: name) -> None:
        self._search, self._listing, self._normal = search, listing, normal
        self._searches = 0
        self._found: dict[str, Any] = {}
        self._listed: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self._listing_lock = threading.Lock()

    def get(self, r: Restore, name: str) -> Any:
        key = self._normal(name)
        with self._lock:
            if self._listed is not None:
                return self._listed.get(key)
            if key in self._found:
                return self._found[key]
            search = self._searches < SEARCHES
            self._searches += 1
        if search:
            found = self._search(r, name)
            with self._lock:
                self._found[key] = found
            return found
        with self._listing_lock:  # listed once, whoever asks first
            listed = self._listed
            if listed is None:
                listed = self._listing(r)
                with self._lock:
                    self._listed = listed
            return listed.get(key)


def _pages(r: Restore, path: str, **params: str) -> list[dict[str, Any]]:
    return [row for row in r.pages(path, PAGE, **params) if isinstance(row, dict)]


def _search_user(r: Restore, email: str) -> str | None:
    # Emails match case aside, as Looker's search and the listing below both match them.
    rows = r.get_or_none("/users/search", email=email, fields="id,email") or []
    return next((str(row["id"]) for row in rows if isinstance(row, dict)
                 and str(row.get("email") or "").lower() == email.lower()), None)


def _list_users(r: Restore) -> dict[str, str]:
    return {u["email"].lower(): str(u["id"])
            for u in _pages(r, "/users", fields="id,email", sorts="id")
            if isinstance(u.get("email"), str)}


SLUG_FIELDS = "id,title,slug,deleted"


def _search_slug(r: Restore, slug: str) -> dict[str, Any] | None:
    # Trashed dashboards keep their slugs, and search leaves the trash out unless asked.
    for deleted in ("false", "true"):
        rows = r.get_or_none("/dashboards/search", slug=slug, deleted=deleted,
                             fields=SLUG_FIELDS) or []
        found = next((row for row in rows if isinstance(row, dict)
                      and row.get("slug") == slug), None)
        if found is not None:
            return found
    return None


def _list_slugs(r: Restore) -> dict[str, dict[str, Any]]:
    rows = [row for deleted in ("false", "true")
            for row in _pages(r, "/dashboards/search", deleted=deleted, sorts="id",
                              fields=SLUG_FIELDS)]
    return {str(row["slug"]): row for row in rows if row.get("slug") not in (None, "")}


class Migration:
    """The identity rules of one migration, handed to the restore engine
    (`Request.migration`); safe to use from its threads."""

    def __init__(self, renames: Renames | None = None, owner_fallback: str | None = None,
                 overrides: dict[tuple[str, str], str] | None = None) -> None:
        self.renames = renames or Renames()
        self.owner_fallback = owner_fallback
        # (type, source id) -> target id fixed before planning: --into's folder.
        self.overrides = dict(overrides or {})
        self.fallbacks: set[str] = set()
        self.stale: set[str] = set()
        self._resolved: dict[tuple[str, str], str | None] = {}
        self._explores: dict[str, set[str]] = {}  # model -> its explores in the target
        self._users = Directory(_search_user, _list_users, str.lower)  # as search matches
        self._slugs = Directory(_search_slug, _list_slugs)
        self._fallback_id: str | None = None
        self._lock = threading.Lock()

    # -- what the engine asks ---------------------------------------------------------------

    def rename(self, type_: str, obj: Any) -> Any:
        return self.renames.apply(type_, obj)

    @staticmethod
    def kept(type_: str) -> str | None:
        """Why an object of `type_` the target already has is left as it is (None: it is
        brought up to date like any other)."""
        if type_ in KEPT:
            return (f"the target has {type_.removesuffix('s')} of this name: left as it is "
                    f"(its host, database and credentials are the target's)")
        return None

    @staticmethod
    def may_pull(type_: str) -> bool:
        """Whether a referenced object the target lacks is pulled into the plan (content,
        created) rather than refused (users, groups, models... must be there already)."""
        return type_ in CREATED

    def resolve(self, r: Restore, type_: str, old: str) -> str | None:
        """The target id that source id `old` of `type_` stands for, or None."""
        key = (type_, old)
        if key in self.overrides:
            return self.overrides[key]
        if type_ in K.CHILD_TYPES or type_ not in K.KINDS:
            return r.records.mapped(type_, old)
        with self._lock:
            if key in self._resolved:
                return self._resolved[key]
        kind = K.KINDS[type_]
        backup = r.backup_of(type_, old)
        if type_ == "folders" and backup is not None and backup.get("is_personal"):
            return self._personal_folder(r, backup)
        found = self._by_map(r, kind, old, backup)
        if found is None and type_ == "users" and backup is not None:
            found = self._user_by_email(r, backup.get("email"))
        elif found is None and backup is not None and kind.natural:
            values = self.natural_values(r, kind, backup)
            if values is not None:
                r.read_with_siblings(kind, backup)
                found = r.search_one(kind, values)
        # Kept, found or not: what the plan makes is found through its target first, and what
        # a migration never makes (users, groups...) does not appear in the target meanwhile.
        with self._lock:
            self._resolved[key] = found
        return found

    def find(self, r: Restore, t: Target) -> tuple[str, dict[str, Any], str] | None:
        """The target object a planned object is: (id, live object, how it was matched)."""
        name = t.kind.name
        if name == "folders" and t.backup.get("is_personal"):
            found = self._personal_folder(r, t.backup)
            live = None if found is None else r.live(name, found)
            return (found, live, "owner's email") if live is not None else None
        if t.key in self.overrides:
            live = r.live(name, self.overrides[t.key])
            return (self.overrides[t.key], live, "folder path") if live is not None else None
        new = self._by_map(r, t.kind, t.id, t.backup)
        if new is not None:
            live = r.live(name, new)
            if live is not None:
                return new, live, "id map"
        if t.kind.natural and not self._inside_new(r, t):
            values = self.natural_values(r, t.kind, t.backup)
            if values is not None:
                r.read_with_siblings(t.kind, t.backup)
            found = None if values is None else r.search_one(t.kind, values)
            if found is not None:
                live = r.live(name, found)
                if live is not None:
                    return found, live, "natural key"
        return None

    @staticmethod
    def remember(r: Restore, t: Target) -> None:
        """A target object found by natural key, or made: into the id map with the key it has
        now, so the next run finds it there, even renamed at the source."""
        if t.live_id is None or t.status not in ("done", "unchanged") or r.run_id is None:
            return
        r.records.map_id(t.kind.name, t.id, t.live_id, r.run_id)
        if t.live is not None and t.kind.natural:
            r.records.remember_key(t.kind.name, t.id, key_text(t.kind, t.live))

    def fallback_owner(self, r: Restore, t: Target, old: str) -> str:
        """The target user who owns what a user the target lacks owned (reported)."""
        fallback = self.fallback_id(r)
        user = r.backup_of("users", old) or {}
        who = user.get("email") or f"user {old}"
        instead = self.owner_fallback or "the API user"
        note = f"owner {who} is not in the target: owned by {instead}"
        with self._lock:
            self.fallbacks.add(note)
        t.reason = note
        return fallback

    def fallback_id(self, r: Restore) -> str:
        """--owner-fallback's target user (checked before planning), else the API user."""
        with self._lock:
            if self._fallback_id is None:
                if self.owner_fallback:
                    found = r.search_one(K.KINDS["users"], {"email": self.owner_fallback})
                    if found is None:
                        raise MigrationError(f"--owner-fallback {self.owner_fallback}: the "
                                             f"target has no user with that email")
                    self._fallback_id = found
                else:
                    self._fallback_id = str(r.get("/user", fields="id")["id"])
            return self._fallback_id

    def missing_lookml(self, r: Restore, obj: Any) -> str | None:
        """Why `obj` cannot be written to the target: a model or explore its queries or
        filters use that the target lacks (after --map). None: all there."""
        for model, explore in sorted(_explores_used(obj)):
            with self._lock:
                explores = self._explores.get(model)
            if explores is None:
                # One read per model: its explores' names (a missing model: none).
                found = r.get_or_none(f"/lookml_models/{quote(model, safe='')}",
                                      fields="explores")
                explores = {e.get("name") for e in (found or {}).get("explores") or []
                            if isinstance(e, dict)}
                with self._lock:
                    self._explores[model] = explores
            if explore not in explores:
                return (f"the target has no explore {model}::{explore} (its model is missing "
                        f"or named otherwise there: map it with [models] in --map, or deploy "
                        f"the LookML first)")
        return None

    # -- natural keys -----------------------------------------------------------------------

    def natural_values(self, r: Restore, kind: K.Kind, obj: dict[str, Any],
                       ) -> dict[str, Any] | None:
        """The natural key of `obj` in the target's terms: its reference fields (a folder's
        parent, a dashboard's folder) resolved there. None: a reference has no counterpart,
        so neither can the object."""
        refs = dict(kind.refs)
        values: dict[str, Any] = {}
        for name in kind.natural:
            value = obj.get(name)
            if name in refs and value not in (None, ""):
                value = r.live_ref(refs[name], str(value))
                if value is None:
                    return None
            values[name] = value
        return values

    def _user_by_email(self, r: Restore, email: Any) -> str | None:
        """The target user with this email (Directory: searched, then all listed once)."""
        if not isinstance(email, str) or not email:
            return None
        return self._users.get(r, email)

    def slug_holder(self, r: Restore, slug: str) -> dict[str, Any] | None:
        """The target dashboard (trash included) holding `slug`, or None."""
        return self._slugs.get(r, slug)

    @staticmethod
    def _inside_new(r: Restore, t: Target) -> bool:
        """Whether `t`'s natural key names an object this run created (a dashboard in a
        folder made minutes ago): nothing can be there yet, so there is nothing to search."""
        refs = dict(t.kind.refs)
        for name in t.kind.natural:
            value = t.backup.get(name)
            if name in refs and value not in (None, ""):
                parent = r.targets.get((refs[name], str(value)))
                if parent is not None and parent.action == "create" and parent.status == "done":
                    return True
        return False

    @staticmethod
    def _personal_folder(r: Restore, folder: dict[str, Any]) -> str | None:
        """A personal folder is its owner's, by email: the target user's own one."""
        owner = folder.get("creator_id")
        user = None if owner in (None, "") else r.live_ref("users", str(owner))
        live = None if user is None else r.live("users", user)
        found = (live or {}).get("personal_folder_id")
        return None if found in (None, "") else str(found)

    def _by_map(self, r: Restore, kind: K.Kind, old: str, backup: dict[str, Any] | None,
                ) -> str | None:
        """The id map's target id for `old`, while that object exists and still has the key
        last seen on it, or the key the backup gives it now."""
        new = r.records.mapped(kind.name, old)
        if new is None:
            return None
        r.read_with_siblings(kind, backup)  # its folder's other objects in the same request
        live = r.live(kind.name, new)
        if live is None:
            return None
        if backup is None or not kind.natural:
            return new
        seen = r.records.key_of(kind.name, old)
        now = key_text(kind, live)
        wanted = self.natural_values(r, kind, backup)
        if seen in (None, now) or (wanted is not None and all(
                same(live.get(k), v) for k, v in wanted.items())):
            return new
        with self._lock:
            self.stale.add(f"{kind.name} {old} -> {new}: changed in the target since the last "
                           f"migration (id map entry ignored)")
        return None


def key_text(kind: K.Kind, obj: dict[str, Any]) -> str:
    """An object's natural key as stored beside the id map."""
    return json.dumps({k: obj.get(k) for k in kind.natural}, sort_keys=True, default=str)


def _explores_used(obj: Any, found: set[tuple[str, str]] | None = None) -> set[tuple[str, str]]:
    """(model, explore) of every query (model + view) and field filter (model + explore)."""
    found = set() if found is None else found
    if isinstance(obj, dict):
        model = obj.get("model")
        explore = obj.get("view") if "view" in obj else obj.get("explore")
        if isinstance(model, str) and model and isinstance(explore, str) and explore:
            found.add((model, explore))
        for value in obj.values():
            _explores_used(value, found)
    elif isinstance(obj, list):
        for value in obj:
            _explores_used(value, found)
    return found
