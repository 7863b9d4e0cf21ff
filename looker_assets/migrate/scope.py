"""What a migration takes from the backup, and where its root lands in the target."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from looker_assets import content_types
from looker_assets.looker.client import LookerClient
from looker_assets.looker.errors import LookerError
from looker_assets.migrate.identity import MigrationError
from looker_assets.restore import kinds as K
from looker_assets.restore.selection import in_folder, objects_at
from looker_assets.storage.store import ContentStore

# What `migrate TYPE ID...` takes: content, and connections (a new instance needs them before
# its LookML can be deployed; one the target has is never changed).
BY_ID = ("folders", "looks", "dashboards", "boards", "connections")


def select(store: ContentStore, folders: list[str], type_name: str | None, ids: list[str],
           at: str | None) -> list[tuple[str, str]]:
    """(type, source id) pairs: each folder's whole subtree (subfolders, looks, dashboards;
    their tiles, filters, tabs, merges and alerts come with them, their access is pulled in)
    and the named objects, plus the schedules of every look and dashboard taken."""
    items: list[tuple[str, str]] = []
    for folder in folders:
        try:
            items += in_folder(store, folder, at)
        except ValueError as exc:
            raise MigrationError(str(exc)) from None
    if type_name is not None:
        kind = K.get(content_types.get(type_name).name)
        if kind is None or kind.name not in BY_ID:
            raise MigrationError(f"{type_name} are not migrated by id: name folders, looks, "
                                 f"dashboards, boards (what they need comes with them) or "
                                 f"connections")
        if not ids:
            raise MigrationError(f"name the ids of the {type_name} to migrate")
        known = objects_at(store, kind.name, at)
        missing = [i for i in ids if i not in known]
        if missing:
            raise MigrationError(f"the backup holds no {kind.name} {', '.join(missing)}"
                                 + (f" as of {at}" if at else ""))
        items += [(kind.name, i) for i in ids]
    if not items:
        raise MigrationError("nothing selected: name --folder ID, or a type and ids")
    dashboards = {i for t, i in items if t == "dashboards"}
    looks = {i for t, i in items if t == "looks"}
    for id_, plan in objects_at(store, "scheduled_plans", at).items():
        if str(plan.get("dashboard_id")) in dashboards or str(plan.get("look_id")) in looks:
            items.append(("scheduled_plans", id_))
    return list(dict.fromkeys(items))


def _walk(path: str, what: str, holder: str,
          children: Callable[[str | None, str], list[str]]) -> str:
    """The id of the folder at PATH ("Shared/Sales/EMEA", from a root's name), one name at a
    time: `children(parent, name)` gives the ids of that parent's folders of that name (the
    roots' for None). Exactly one must answer at each step."""
    names = [p for p in path.strip("/").split("/") if p]
    if not names:
        raise MigrationError(f"{what} names no folder")
    parent: str | None = None
    for depth, name in enumerate(names):
        hits = children(parent, name)
        if len(hits) != 1:
            where = "/".join(names[:depth + 1])
            raise MigrationError(f"{what}: {holder} has "
                                 f"{'no' if not hits else len(hits)} folder(s) {where!r}")
        parent = hits[0]
    assert parent is not None
    return parent


def _under(folder: dict[str, Any], parent: str | None) -> bool:
    return str(folder.get("parent_id")) == parent if parent else not folder.get("parent_id")


def target_folder(client: LookerClient, path: str, what: str) -> str:
    """The id of the target's folder at PATH."""
    def children(parent: str | None, name: str) -> list[str]:
        try:
            rows = client.get_json("/folders/search", {"name": name, **(
                {"parent_id": parent} if parent else {})}) or []
        except LookerError as exc:
            raise MigrationError(f"{what}: {exc}") from None
        return [str(r["id"]) for r in rows if r.get("name") == name and _under(r, parent)]

    return _walk(path, what, "the target", children)


def source_folder(folders: dict[str, dict[str, Any]], path: str, what: str) -> str:
    """The backed-up id of the source's folder at PATH."""
    return _walk(path, what, "the backup", lambda parent, name: [
        i for i, f in folders.items() if f.get("name") == name and _under(f, parent)])


def folder_overrides(store: ContentStore, client: LookerClient, folders: list[str],
                     into: str | None, paths: dict[str, str], at: str | None,
                     ) -> dict[tuple[str, str], str]:
    """(folders, source id) -> target id fixed before planning:
    - --into PATH: each selected folder's parent stands for the target's folder at PATH;
    - [folders] of --map: the source's folder at each path stands for the target's folder at
      the path it maps to.
    Every target path must exist (nothing is created to place content)."""
    backed = objects_at(store, "folders", at)
    overrides = {}
    for source, target in paths.items():
        what = f"--map [folders] {source!r}"
        overrides[("folders", source_folder(backed, source, what))] = target_folder(
            client, target, what)
    if into is not None:
        parent = target_folder(client, into, f"--into {into}")
        for folder in folders:
            source_parent = (backed.get(folder) or {}).get("parent_id")
            if source_parent in (None, ""):
                raise MigrationError(f"--into: folder {folder} is a root; migrate its "
                                     f"subfolders")
            overrides[("folders", str(source_parent))] = parent
    return overrides
