"""The restore: plan, confirm, write in dependency order, read back, record.

1. Plan. Each selected object's backed-up version (as of WHEN, else its latest) is compared
   with the live object: by id; else through the id map, for an object an earlier restore
   re-created; else, for types whose name is their identity, by name. The action follows:
   update in place, undelete, create, unchanged, or skipped with the reason. References to
   objects that are gone pull those objects into the plan from the backup; a reference to
   something neither live nor backed up is reported by name.
2. Nothing is written for a dry run. Otherwise the levels of the dependency order run one after
   another (parents before what points at them), the objects of a level in parallel.
3. Every written object is read back and compared again: the result says "verified", or names
   what still differs. Where two or more written objects share a parent (a folder's looks),
   one listing of the parent reads them back (Kind.listing), rows the spec gives the same
   schema as a read by id. A repeated restore finds everything unchanged and writes nothing.
4. Runs, per-object statuses and the id map are kept in the store; a killed restore, re-run,
   skips what it finished.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from looker_assets import content_types
from looker_assets.looker.client import LookerClient
from looker_assets.looker.errors import (
    LookerConnectionError,
    LookerError,
    LookerNotFound,
    LookerResponseError,
    LookerRetryableError,
)
from looker_assets.looker.extract import ContentStream
from looker_assets.restore import kinds as K
from looker_assets.restore.fields import query_form, same
from looker_assets.restore.records import Records
from looker_assets.restore.selection import objects_at
from looker_assets.storage.history import sync_cutoff, version_at
from looker_assets.storage.store import ContentStore

log = logging.getLogger(__name__)

ACTIONS = ("update", "undelete", "create", "unchanged", "skipped", "failed")
LISTING_PAGE = 100  # a paged listing's rows per request (folder rows embed their content)
# A parent is listed if it holds (as its backed-up version counts them) no more objects than a
# sync's page, or at most this many times those the plan needs there: a restore of 2 looks
# never fetches a folder of 5,000; they are read one by one.
LISTING_SMALL = 100
LISTING_SPREAD = 4


class RestoreError(Exception):
    """One object cannot be written as asked; the message says why (the rest goes on)."""


@dataclass
class Target:
    """One object of the plan: its backed-up version and what the restore will do with it."""

    kind: K.Kind
    id: str
    backup: dict[str, Any]
    requested: bool = True
    pulled_by: list[str] = field(default_factory=list)
    live_id: str | None = None
    live: dict[str, Any] | None = None
    matched_by: str = "id"  # id, id map, or name
    action: str = "unchanged"
    reason: str | None = None
    changes: list[str] = field(default_factory=list)
    pulls: list[str] = field(default_factory=list)
    # After the run:
    status: str = "planned"  # done, unchanged, skipped, failed
    error: str | None = None
    differs: list[str] = field(default_factory=list)
    writes: int = 0

    @property
    def key(self) -> tuple[str, str]:
        return (self.kind.name, self.id)

    @property
    def label(self) -> str:
        name = label(self.backup)
        return f"{self.kind.name} {self.id}" + (f" ({name!r})" if name else "")

    def result(self) -> dict[str, Any]:
        action = self.action
        if self.status == "failed":
            action = "failed"
        return {"type": self.kind.name, "id": self.id, "action": action,
                "new_id": self.live_id if self.live_id is not None else self.id,
                "error": self.error or (self.reason if action == "skipped" else None),
                "note": self.reason if action != "skipped" else None,
                "requested": self.requested, "pulled_by": self.pulled_by,
                "matched_by": self.matched_by, "changes": self.changes,
                # Written and read back equal, or found equal without a write.
                "verified": self.status in ("done", "unchanged") and not self.differs,
                "differs": self.differs}


def label(obj: dict[str, Any]) -> str | None:
    if not isinstance(obj, dict):
        return None  # per-parent lists (role users, group values, access entries)
    for key in ("title", "name", "label", "email", "display_name"):
        value = obj.get(key)
        if isinstance(value, str) and value:
            return value
    return None


@dataclass
class Request:
    """What to restore: objects by (type, id), as of `at` (None: each one's latest version)."""

    items: list[tuple[str, str]]
    at: str | None = None
    dry_run: bool = False
    max_concurrency: int = 8
    choice: K.Choice = field(default_factory=K.Choice)
    # Into another instance (migrate): identity by the id map and natural keys, never ids.
    migration: Any = None  # looker_assets.migrate.identity.Migration

    def fingerprint(self) -> str:
        text = json.dumps({"items": sorted(self.items), "at": self.at,
                           "migration": self.migration is not None}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


class Restore:
    """One restore against one Looker instance from one store."""

    def __init__(self, store: ContentStore, client: LookerClient, request: Request,
                 progress: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.client = client
        self.request = request
        self.progress = progress or (lambda _line: None)
        self.records = Records(store, client.base_url)
        self.targets: dict[tuple[str, str], Target] = {}
        self.run_id: str | None = None
        self.interrupted: set[tuple[str, str]] = set()
        # While planning, a reference to an object the plan will make stands for its new id;
        # when writing, it must be made (or the referring object cannot be written).
        self._planning = False
        self._live_cache: dict[tuple[str, str], dict[str, Any] | None] = {}
        self._cache_lock = threading.Lock()
        self._cutoffs: dict[int, str | None] = {}
        self._all: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        # Listings of a live parent's objects read this run ((type, parent) -> rows by id),
        # how many planned objects each backed-up parent holds, and how many it holds in all
        # (its backed-up version): a parent is listed where the plan has two or more objects
        # under it and it holds not many more (_worth_listing), instead of reading them one
        # by one.
        self._listed: dict[tuple[str, str], dict[str, dict[str, Any]] | None] = {}
        self._listing_locks: dict[tuple[str, str], threading.Lock] = {}
        self._under: Counter[tuple[str, str]] = Counter()
        self._held: dict[tuple[str, str], int] = {}
        self.migration = request.migration
        from looker_assets.restore.handlers import HANDLERS  # they build on this module

        self.handlers = {name: cls(self) for name, cls in HANDLERS.items()}

    # -- reading the backup ----------------------------------------------------------------

    def backup_of(self, type_: str, id_: str) -> dict[str, Any] | None:
        """The backed-up version of one object: as of the request's moment, or its latest."""
        ct = content_types.get(type_)
        with self.records.lock:  # one store connection, shared by the restore's threads
            if self.request.at is None:
                obj = self.store.get(ct.code, id_)
            else:
                cutoff = self._cutoff(ct.code)
                version = None if cutoff is None else version_at(self.store, ct.code, id_,
                                                                 cutoff)
                obj = None if version is None else version.decoded()
        if obj is not None and self.migration is not None:
            obj = self.migration.rename(type_, obj)
        return obj

    def _cutoff(self, code: int) -> str | None:
        if code not in self._cutoffs:
            assert self.request.at is not None
            self._cutoffs[code] = sync_cutoff(self.store, code, self.request.at)
        return self._cutoffs[code]

    def backup_all(self, type_: str) -> list[tuple[str, dict[str, Any]]]:
        """Every object of a type as of the moment (latest versions: the current state plus
        the last version of each object gone since), read once per restore."""
        with self.records.lock:
            if type_ not in self._all:
                found = objects_at(self.store, type_, self.request.at)
                if self.migration is not None:
                    found = {i: self.migration.rename(type_, o) for i, o in found.items()}
                self._all[type_] = list(found.items())
            return self._all[type_]

    # -- reading Looker --------------------------------------------------------------------

    def live(self, type_: str, id_: str) -> dict[str, Any] | None:
        """The live object in the form the backup stores it (None: Looker says it is gone)."""
        key = (type_, id_)
        with self._cache_lock:
            if key in self._live_cache:
                return self._live_cache[key]
        obj = ContentStream(self.client, content_types.get(type_)).lookup(id_)
        with self._cache_lock:
            self._live_cache[key] = obj
        return obj

    def forget(self, type_: str, id_: str | None) -> None:
        if id_ is not None:
            with self._cache_lock:
                self._live_cache.pop((type_, id_), None)

    def listed(self, type_: str, parent: str, fresh: bool = False,
               ) -> dict[str, dict[str, Any]] | None:
        """Every live object of `type_` under the live parent `parent`, by id, from one
        listing (Kind.listing), read once per run (again if `fresh`). Rows that carry every
        key the type is compared on, and its `whole` ones not null, become the live objects
        `live()` answers; the others are read by id. None: no such listing, the parent is
        gone, or the listing failed (a listing only saves requests: its objects are then
        read one by one, and a failure there is theirs)."""
        kind = K.KINDS[type_]
        spec = kind.listing
        if spec is None:
            return None
        key = (type_, parent)
        with self._cache_lock:
            lock = self._listing_locks.setdefault(key, threading.Lock())
        with lock:  # one read per parent, however many threads ask at once
            with self._cache_lock:
                if key in self._listed and not fresh:
                    return self._listed[key]
            try:
                rows = self._list(spec, parent)
            except LookerError as exc:
                log.info("listing %s of %s failed (%s): read one by one", type_, parent, exc)
                rows = None
            by_id = None if rows is None else {
                str(row[kind.key_field]): row for row in rows
                if isinstance(row, dict) and row.get(kind.key_field) not in (None, "")}
            compared = self.handlers[kind.handler].fields(kind)
            with self._cache_lock:
                self._listed[key] = by_id
                for id_, row in (by_id or {}).items():
                    if all(row.get(name) is not None for name in spec.whole) and all(
                            name in row for name in compared):
                        self._live_cache[(type_, id_)] = row
            return by_id

    def _list(self, spec: K.Listing, parent: str) -> list[Any] | None:
        path = spec.path.format(quote(parent, safe=""))
        params = {name: value.format(parent) for name, value in spec.params}
        try:
            if not spec.paged:
                return list(self.client.get_json(path, params or None, kind="list") or [])
            return self.pages(path, LISTING_PAGE, **params)
        except LookerNotFound:
            return None

    def pages(self, path: str, size: int, **params: str) -> list[Any]:
        """Every row of a limit/offset listing, `size` rows a request."""
        rows: list[Any] = []
        while True:
            page = self.client.get_json(path, {**params, "limit": str(size),
                                               "offset": str(len(rows))}, kind="list") or []
            rows.extend(page)
            if len(page) < size:
                return rows

    def live_parent(self, kind: K.Kind, backup: dict[str, Any] | None,
                    planned: int = 2) -> str | None:
        """The live parent (a folder) whose listing reads an object of this backup with its
        siblings: where the plan holds at least `planned` objects under it. None: read it
        alone."""
        spec = kind.listing
        old = None if spec is None or not backup else backup.get(spec.parent)
        if old in (None, "") or not self._worth_listing(kind, str(old), planned):
            return None
        assert spec is not None
        parent_type = dict(kind.refs)[spec.parent]
        if self.migration is None:
            # The instance the backup came from: the parent's id, or the one a restore made it
            # again as; not read to see it exists (the listing of a gone folder answers 404,
            # and its objects are then read one by one).
            made = self.targets.get((parent_type, str(old)))
            new = (made.live_id if made is not None else None) or self.records.mapped(
                parent_type, str(old)) or str(old)
        else:
            new = self.live_ref(parent_type, str(old))
        return None if new is None or new.startswith("<new") else new

    def _worth_listing(self, kind: K.Kind, old: str, planned: int) -> bool:
        """Whether the plan holds at least `planned` objects under backed-up parent `old`,
        and enough of what it holds that one listing beats reading them one by one."""
        spec = kind.listing
        assert spec is not None
        wanted = self._under[(kind.name, old)]
        if wanted < planned:
            return False
        key = (kind.name, old)
        with self._cache_lock:
            held = self._held.get(key)
        if held is None:
            parent_type = dict(kind.refs)[spec.parent]
            parent = self.backup_of(parent_type, old) or {}
            value = parent.get(spec.held) if spec.held else None
            # Unknown (not backed up), or another folder of the target than the backed-up
            # one (--into, a mapped path: its size is not known here): read one by one.
            held = len(value) if isinstance(value, list) else value \
                if isinstance(value, int) else -1
            if self.migration is not None and (parent_type, old) in self.migration.overrides:
                held = -1
            with self._cache_lock:
                self._held[key] = held
        return 0 <= held <= max(LISTING_SMALL, LISTING_SPREAD * wanted)

    def read_with_siblings(self, kind: K.Kind, backup: dict[str, Any] | None) -> None:
        """List the live parent of this backup's object once (see live_parent), so that its
        live objects are read in one request rather than one each."""
        try:
            parent = self.live_parent(kind, backup)
        except LookerError:
            return  # its parent cannot be resolved now: the object is read by id
        if parent is not None:
            self.listed(kind.name, parent)

    def get(self, path: str, **params: str) -> Any:
        return self.client.get_json(path, params or None)

    def get_or_none(self, path: str, **params: str) -> Any:
        try:
            return self.client.get_json(path, params or None)
        except LookerNotFound:
            return None

    def write(self, target: Target | None, method: str, path: str, body: Any = None,
              **params: str) -> Any:
        if self.request.dry_run:
            raise AssertionError(f"a dry run tried to write: {method} {path}")
        if target is not None:
            target.writes += 1
        # A POST that failed may have landed: never re-sent blindly (only a 429 is). The
        # object fails; the next restore, diffing against Looker, finds what did land.
        try:
            return self.client.write_json(method, path, body, params or None,
                                          resend=method != "POST")
        except LookerNotFound:
            if method == "DELETE":
                return None  # gone already (a retried delete whose first answer was lost)
            raise

    def send_with_query(self, target: Target, method: str, path: str, body: dict[str, Any],
                        query: dict[str, Any] | None,
                        send: Callable[[dict[str, Any]], Any] | None = None) -> Any:
        """Write `body` pointing at the backed-up query by its id: Looker never deletes a
        query, so on the instance it came from the id still holds and no query need be made
        (§1.7). Only where Looker does not know it (another instance) is it made again."""
        send = send or (lambda b: self.write(target, method, path, b))
        # On another instance the same id is another query, if any: always made again (an
        # identical one comes back as it is).
        if query and query.get("id") is not None and self.migration is None:
            try:
                return send({**body, "query_id": str(query["id"])})
            except (LookerNotFound, LookerResponseError) as exc:
                if exc.status not in (404, 422):
                    raise
        if query:
            made = self.write(target, "POST", "/queries", query_form(query))
            body = {**body, "query_id": str(made["id"])}
        return send(body)

    def create(self, target: Target, path: str, body: dict[str, Any],
               landed: Callable[[], str | None] | None = None) -> dict[str, Any]:
        """POST a new object. A create that timed out or met a 5xx may have landed: look for
        it (`landed`) before sending it again, so a retry never makes two."""
        if self.run_id is not None:
            # Said before the POST: if the process dies before the answer, the next run of
            # this request looks for the object instead of making a second one.
            self.records.record(self.run_id, target.kind.name, target.id, target.action,
                                "creating", None, None)
        for attempt in range(3):
            try:
                return self.write(target, "POST", path, body)
            except (LookerRetryableError, LookerConnectionError) as exc:
                found = landed() if landed is not None else None
                if found is not None:
                    log.info("%s: the create landed despite %s; using %s", path, exc, found)
                    return {"id": found, "_landed": True}
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def search_one(self, kind: K.Kind, values: dict[str, Any], listed: bool = True,
                   ) -> str | None:
        """The id of the live object whose natural key equals `values` exactly (search
        matches case-insensitively with wildcards, so hits are filtered). From the parent's
        listing when this run read it, unless not `listed`: whether a create sent since
        landed is only for a search to say."""
        if kind.search is None and kind.path is None:
            return None
        spec = kind.listing
        if listed and spec is not None and values.get(spec.parent) not in (None, ""):
            with self._cache_lock:
                rows = self._listed.get((kind.name, str(values[spec.parent])))
            others = [k for k in values if k != spec.parent]  # the parent: the listing's
            if rows is not None and all(k in row for row in rows.values() for k in others):
                # The parent's objects, all of them: no search needed.
                for id_, row in rows.items():
                    if not (kind.trash and row.get(kind.trash)) and all(
                            same(row.get(k), values[k]) for k in others):
                        return id_
                return None
        path = kind.search or kind.path
        params = {k: str(v) for k, v in values.items() if v is not None}
        try:
            rows = self.client.get_json(path, params)
        except LookerError:
            return None
        for row in rows or []:
            if isinstance(row, dict) and all(same(row.get(k), v) for k, v in values.items()):
                return str(row.get(kind.key_field))
        return None

    # -- references ------------------------------------------------------------------------

    def live_ref(self, type_: str, old_id: str) -> str | None:
        """The live id that an id of the backup now stands for (None: nothing live)."""
        target = self.targets.get((type_, old_id))
        if target is not None and target.live_id is not None:
            return target.live_id
        if self.migration is not None:
            return self.migration.resolve(self, type_, old_id)
        if type_ in K.CHILD_TYPES or type_ not in K.KINDS:
            return self.records.mapped(type_, old_id) or old_id
        if self.live(type_, old_id) is not None:
            return old_id
        new = self.records.mapped(type_, old_id)
        if new is not None and self.live(type_, new) is not None:
            return new
        return None

    def map_refs(self, target: Target, body: dict[str, Any],
                 refs: Iterable[tuple[str, str]] | None = None) -> dict[str, Any]:
        """`body` with the references rewritten to live ids; a reference to something neither
        live nor restored is an error naming it (never silently dropped)."""
        out = dict(body)
        live = target.live or {}
        for name, type_ in (target.kind.refs if refs is None else refs):
            value = out.get(name)
            if value is None or value == "":
                continue
            if live.get(name) == value and type_ in K.KINDS and not isinstance(value, list) \
                    and self.records.mapped(type_, str(value)) is None \
                    and self.migration is None:
                continue  # what the live object holds (no restore re-created it): no check
            if isinstance(value, list):
                out[name] = [self._mapped(target, name, type_, str(v)) for v in value]
            else:
                out[name] = self._mapped(target, name, type_, str(value))
        return out

    def _mapped(self, target: Target, name: str, type_: str, old: str) -> str:
        new = self.live_ref(type_, old)
        if new is not None:
            return new
        if self.migration is not None and type_ == "users":
            return self.migration.fallback_owner(self, target, old)
        planned = self.targets.get((type_, old))
        if planned is not None and planned.action == "skipped" and planned.backup:
            raise RestoreError(f"{name} refers to {planned.label}, which is not written: "
                               f"{planned.reason}")
        if self._planning and planned is not None:
            return f"<new {type_} {old}>"  # made earlier in the run, once it runs
        backed = self.backup_of(type_, old) if type_ in K.KINDS else None
        what = f"{type_} {old}" + (f" ({label(backed)!r})" if backed and label(backed)
                                   else "")
        raise RestoreError(f"{name} refers to {what}, which is neither live in Looker nor "
                           f"restored with it")

    # -- planning --------------------------------------------------------------------------

    def plan(self) -> list[Target]:
        for type_, id_ in self.request.items:
            self._add(type_, id_, requested=True, pulled_by=None)
        wave = list(self.targets.values())
        self._planning = True
        try:
            with ThreadPoolExecutor(self.request.max_concurrency) as pool:
                while wave:
                    wave = self._pull(wave, pool)
                ordered = sorted(self.targets.values(), key=self._order)
                # Level by level: what an object needs is decided before it (a refused
                # folder refuses what is in it, not a half-written tree).
                levels: dict[int, list[Target]] = {}
                for target in ordered:
                    levels.setdefault(target.kind.level, []).append(target)
                for level in sorted(levels):
                    list(pool.map(self._decide, levels[level]))
        finally:
            self._planning = False
        return ordered

    def _pull(self, wave: list[Target], pool: ThreadPoolExecutor) -> list[Target]:
        """Pull into the plan what the wave's objects reference and is gone (folders,
        looks, ...), and what hangs off them (alerts on tiles); the next wave."""
        # Read the wave's live objects at once (the decisions use them too): one that still
        # holds the backed-up reference proves the object it names exists.
        # (Not on another instance: there the same id is another object.)
        if self.migration is None:
            # A folder's looks (dashboards, subfolders) in one listing where the plan has two
            # or more there, then each object from it (or, missing from it, by id).
            list(pool.map(lambda t: t.backup and self.read_with_siblings(t.kind, t.backup),
                          wave))
            list(pool.map(lambda t: t.backup and self.live(t.kind.name, t.id), wave))
        needs: dict[tuple[str, str], list[Target]] = {}
        for target in wave:
            for key in self._dependencies(target):
                if key in self.targets:
                    self.targets[key].pulled_by.append(target.label)
                elif key[0] in K.KINDS and (self.migration is None
                                            or self.migration.may_pull(key[0])):
                    needs.setdefault(key, []).append(target)
        gone = [key for key, live in zip(needs, pool.map(lambda k: self.live_ref(*k), needs),
                                         strict=True) if live is None]
        following = []
        for key in gone:
            by = needs[key]
            added = self._add(*key, requested=False, pulled_by=by[0].label)
            if added is not None:
                added.pulled_by += [t.label for t in by[1:]]
                for t in by:
                    t.pulls.append(added.label)
                following.append(added)
        # Children kept as objects of their own: in the plan whether live or not, so what
        # happens to their parent reaches them.
        for target in wave:
            for key in self.handlers[target.kind.handler].dependents(target):
                if key not in self.targets:
                    added = self._add(*key, requested=False, pulled_by=target.label)
                    if added is not None:
                        following.append(added)
        return following

    def _add(self, type_: str, id_: str, requested: bool, pulled_by: str | None
             ) -> Target | None:
        kind = K.get(type_)
        if kind is None:
            raise RestoreError(f"{type_} cannot be restored")
        backup = self.backup_of(type_, id_)
        if backup is None:
            if requested:
                target = Target(kind, id_, {}, requested, status="skipped", action="skipped")
                target.reason = (f"the backup holds no {type_} {id_}"
                                 + (f" as of {self.request.at}" if self.request.at else ""))
                self.targets[target.key] = target
                return target
            return None
        target = Target(kind, id_, backup, requested,
                        pulled_by=[pulled_by] if pulled_by else [])
        self.targets[target.key] = target
        if kind.listing is not None and backup.get(kind.listing.parent) not in (None, ""):
            self._under[(type_, str(backup[kind.listing.parent]))] += 1
        return target

    def _dependencies(self, target: Target) -> list[tuple[str, str]]:
        if not target.backup:
            return []
        deps: list[tuple[str, str]] = []
        # What the live object points at exists (on the instance the backup came from).
        live = None if self.migration else self._live_cache.get((target.kind.name, target.id))
        for name, type_ in target.kind.refs:
            value = target.backup.get(name)
            if live is not None and live.get(name) == value:
                continue  # the live object still points there: it exists
            for v in value if isinstance(value, list) else [value]:
                if v not in (None, ""):
                    deps.append((type_, str(v)))
        deps.extend(self.handlers[target.kind.handler].dependencies(target))
        return deps

    def _order(self, target: Target) -> tuple[int, int, str]:
        depth = 0
        if target.kind.name == "folders":
            parent, seen = target.backup.get("parent_id"), set()
            while parent and ("folders", str(parent)) in self.targets and parent not in seen:
                seen.add(parent)
                depth += 1
                parent = self.targets[("folders", str(parent))].backup.get("parent_id")
        return (target.kind.level, depth, target.id)

    def _decide(self, target: Target) -> None:
        if not target.backup:
            return  # nothing in the backup to restore (said when it was added)
        target.action, target.reason, target.changes = "unchanged", None, []
        kind = target.kind
        try:
            handler = self.handlers[kind.handler]
            never = handler.never(target)
            if never:
                target.action, target.reason = "skipped", never
                return
            if kind.builtin and target.backup.get(kind.builtin[0]) == kind.builtin[1]:
                target.action = "skipped"
                target.reason = f"built-in {kind.name} are never written"
                return
            if self.migration is not None:
                missing = self.migration.missing_lookml(self, target.backup)
                if missing:
                    target.action, target.reason = "skipped", missing
                    return
            for key in handler.dependencies(target):
                # Decided first (a lower level): never half of what needs it (a dashboard
                # without the tile whose look cannot be written).
                needed = self.targets.get(key)
                if needed is not None and needed.action == "skipped" and needed.backup:
                    target.action = "skipped"
                    target.reason = f"needs {needed.label}, which is not written: " \
                        f"{needed.reason}"
                    return
            target.live_id, target.live, target.matched_by = handler.find(target)
            if target.live is None:
                target.action = "create"
                why = handler.cannot_create(target)
                if why:
                    target.action, target.reason = "skipped", why
                    return
                handler.desired(target)  # its references resolve (RestoreError: why not)
                return
            kept = self.migration.kept(kind.name) if self.migration is not None else None
            if kept:
                target.action, target.reason = "unchanged", kept
                return
            target.changes = handler.diff(target)
            trashed_live = bool(kind.trash and target.live.get(kind.trash))
            trashed_backup = bool(kind.trash and target.backup.get(kind.trash))
            if trashed_live and not trashed_backup:
                target.action = "undelete"
            elif target.changes or trashed_live != trashed_backup:
                target.action = "update"
                if trashed_live != trashed_backup:
                    target.changes.append(f"{kind.trash} (back to the trash)")
            else:
                target.action = "unchanged"
        except (RestoreError, LookerError) as exc:
            target.action, target.reason = "skipped", str(exc)
        except Exception as exc:  # a shape no one foresaw fails one object only
            target.action, target.reason = "skipped", _unexpected(exc)

    # -- running ---------------------------------------------------------------------------

    def run(self) -> list[Target]:
        """Plan, then (unless a dry run) write level by level and verify."""
        ordered = self.plan()
        if self.request.dry_run:
            for target in ordered:
                target.status = "skipped" if target.action == "skipped" else "planned"
            return ordered
        return self.execute(ordered)

    def execute(self, ordered: list[Target]) -> list[Target]:
        """Write what `plan()` decided (the plan an operator saw and confirmed)."""
        self.request.dry_run = False
        # A killed run of the same request is taken up again: what it finished plans as
        # unchanged now, what it created is found through the id map, and a create it sent
        # without learning the answer is looked for before being sent again.
        self.run_id, left = self.records.open_run(self.request.fingerprint(), {
            "items": self.request.items, "at": self.request.at})
        self.interrupted = {key for key, status in left.items() if status == "creating"}
        again = [t for t in ordered if t.key in self.interrupted and t.action == "create"]
        with ThreadPoolExecutor(self.request.max_concurrency) as pool:
            list(pool.map(self._decide, again))
        levels: dict[tuple[int, int], list[Target]] = {}
        for target in ordered:
            levels.setdefault(self._order(target)[:2], []).append(target)
        written_below = False
        for level in sorted(levels):
            batch = levels[level]
            if written_below:
                # What lower levels wrote can change what this level must do (a re-created
                # tile moves the alerts on it, a re-created tab a plan's tab_ids): decide
                # again on fresh reads. The plan shown was made before any write.
                for target in batch:
                    self.forget(target.kind.name, target.live_id or target.id)
                types = {t.kind.name for t in batch}
                with self._cache_lock:  # listed again when needed, after the writes
                    for key in [k for k in self._listed if k[0] in types]:
                        del self._listed[key]
                with ThreadPoolExecutor(self.request.max_concurrency) as pool:
                    list(pool.map(self._decide, batch))
            todo = []
            for target in batch:
                if target.action == "skipped":
                    target.status = "skipped"
                    self._record(target)
                elif target.action == "unchanged":
                    target.status = "unchanged"
                    self._record(target)
                else:
                    todo.append(target)
            with ThreadPoolExecutor(self.request.max_concurrency) as pool:
                list(pool.map(self._apply, todo))
            # Edges that need every object of the level first (groups inside groups).
            with ThreadPoolExecutor(self.request.max_concurrency) as pool:
                list(pool.map(self._link, [t for t in batch if t.status == "done"]))
            done = [t for t in batch if t.status == "done"]
            self._read_back(done)
            with ThreadPoolExecutor(self.request.max_concurrency) as pool:
                list(pool.map(self._verify, done))
            written_below = written_below or any(t.writes for t in batch)
        failed = any(t.status == "failed" for t in ordered)
        self.records.close_run(self.run_id, "failed" if failed else "complete")
        return ordered

    def _apply(self, target: Target) -> None:
        if self._guarded(target, self.handlers[target.kind.handler].apply):
            target.status = "done"
        self.progress(f"{target.action:9} {target.label}: {target.status}")

    def _link(self, target: Target) -> None:
        self._guarded(target, self.handlers[target.kind.handler].link)

    def _guarded(self, target: Target, step: Callable[[Target], None]) -> bool:
        """Run one step for one object; a failure is that object's, recorded, and the rest
        goes on."""
        try:
            step(target)
            return True
        except (RestoreError, LookerError) as exc:
            target.status, target.error = "failed", str(exc)
        except Exception as exc:  # a shape no one foresaw: still only this object
            target.status, target.error = "failed", _unexpected(exc)
        self._record(target)
        return False

    def _read_back(self, done: list[Target]) -> None:
        """Forget the written objects' live state; where two or more share a live parent,
        read them back in one listing of it (what `_verify` then compares)."""
        for target in done:
            self.forget(target.kind.name, target.live_id or target.id)
        with ThreadPoolExecutor(self.request.max_concurrency) as pool:
            parents = list(pool.map(self._written_parent, done))
            groups = Counter((t.kind.name, p) for t, p in zip(done, parents, strict=True)
                             if p is not None)
            shared = [key for key, count in groups.items() if count > 1]
            list(pool.map(lambda key: self.listed(*key, fresh=True), shared))

    def _written_parent(self, target: Target) -> str | None:
        """The live parent a written object is now under: the one it was found under when
        the write kept it there (no read), else the one its backup names, resolved."""
        spec = target.kind.listing
        if spec is None:
            return None
        before = target.live.get(spec.parent) if isinstance(target.live, dict) else None
        if before not in (None, "") and before == target.backup.get(spec.parent) \
                and self.migration is None:
            return str(before) if self._worth_listing(target.kind, str(before), 1) else None
        try:
            return self.live_parent(target.kind, target.backup, planned=1)
        except LookerError:
            return None  # read back by id (and a failure there is the object's)

    def _verify(self, target: Target) -> None:
        handler = self.handlers[target.kind.handler]
        try:
            target.live = self.live(target.kind.name, target.live_id or target.id)
            if target.live is None:
                target.differs = ["(not found when read back)"]
            else:
                target.differs = handler.diff(target)
                kind = target.kind
                if kind.trash and bool(target.live.get(kind.trash)) != bool(
                        target.backup.get(kind.trash)):
                    target.differs.append(kind.trash)
        except Exception as exc:  # what cannot be read back is not verified
            target.differs = [f"(cannot read back: {exc})"]
        self._record(target)

    def _record(self, target: Target) -> None:
        if self.run_id is None:
            return
        if self.migration is not None:
            self.migration.remember(self, target)
        self.records.record(self.run_id, target.kind.name, target.id, target.action,
                            target.status, target.live_id, target.error or target.reason,
                            {"changes": target.changes, "differs": target.differs})

    def remember(self, target: Target, new_id: str) -> None:
        """A created object's id: into the plan and, at once, into the store's id map."""
        target.live_id = new_id
        if self.run_id is not None:
            self.records.map_id(target.kind.name, target.id, new_id, self.run_id)

    def remember_child(self, type_: str, old_id: str, new_id: str) -> None:
        if self.run_id is not None:
            self.records.map_id(type_, old_id, new_id, self.run_id)


def _unexpected(exc: Exception) -> str:
    """An error the restore did not foresee (Looker sent a shape it does not know), said
    plainly; logged with its traceback for a bug report."""
    log.exception("restore: unexpected error")
    return f"unexpected {type(exc).__name__}: {exc} (please report it, with the log)"


def summary(results: list[dict[str, Any]]) -> dict[str, int]:
    """How many objects ended in each action."""
    return {action: sum(1 for r in results if r["action"] == action) for action in ACTIONS}


def problems(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The objects that failed, then those written but not verified."""
    return ([r for r in results if r["action"] == "failed"]
            + [r for r in results if r["action"] != "failed" and r["differs"]])
