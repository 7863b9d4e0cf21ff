"""Which objects a restore takes: ids, a folder with everything in it, or everything deleted
since a moment — all read from the backup, as of the restore's moment."""

from __future__ import annotations

from looker_assets import content_types
from looker_assets.restore import kinds as K
from looker_assets.storage import codec
from looker_assets.storage.history import sync_cutoff, versions_at
from looker_assets.storage.store import ContentStore


def objects_at(store: ContentStore, type_: str, at: str | None) -> dict[str, dict]:
    """Every object of a type as of `at` (None: the latest version of each, gone or not)."""
    ct = content_types.get(type_)
    if at is None:
        return {row.id: codec.decode(row.content_data)
                for row in store.iter_items(ct.code, include_deleted=True)}
    cutoff = sync_cutoff(store, ct.code, at)
    if cutoff is None:
        return {}
    return {v.id: v.decoded() for v in versions_at(store, ct.code, cutoff)}


def in_folder(store: ContentStore, folder_id: str, at: str | None) -> list[tuple[str, str]]:
    """The folder, its subfolders (all levels), and the looks and dashboards in any of them."""
    folders = objects_at(store, "folders", at)
    if folder_id not in folders:
        raise ValueError(f"the backup holds no folder {folder_id}" +
                         (f" as of {at}" if at else ""))
    inside, frontier = {folder_id}, [folder_id]
    while frontier:
        parent = frontier.pop()
        for id_, folder in folders.items():
            if str(folder.get("parent_id")) == parent and id_ not in inside:
                inside.add(id_)
                frontier.append(id_)
    items = [("folders", f) for f in sorted(inside, key=lambda i: (len(i), i))]
    for type_ in ("looks", "dashboards"):
        items += [(type_, id_) for id_, obj in objects_at(store, type_, at).items()
                  if str(obj.get("folder_id")) in inside]
    return items


def deleted_since(store: ContentStore, since: str) -> list[tuple[str, str]]:
    """Objects of the restorable types that were gone from Looker, or moved to its trash,
    after `since` and are still gone: the objects as they were at `since`."""
    items: list[tuple[str, str]] = []
    for kind in K.KINDS.values():
        if kind.never:
            continue
        ct = content_types.get(kind.name)
        then = objects_at(store, kind.name, since)
        gone = {id_ for id_, deleted_at in store.db.execute(
            "SELECT id, deleted_at FROM content_items WHERE content_type = ? AND "
            "deleted_at IS NOT NULL AND deleted_at >= ?", (ct.code, since))}
        if kind.trash:
            for row in store.iter_items(ct.code, include_deleted=False):
                obj = codec.decode(row.content_data)
                if obj.get(kind.trash) and not (then.get(row.id) or {}).get(kind.trash):
                    gone.add(row.id)
        items += [(kind.name, id_) for id_ in sorted(gone) if id_ in then]
    return items


def select(store: ContentStore, type_name: str | None, ids: list[str], folder: str | None,
           since: str | None, at: str | None) -> list[tuple[str, str]]:
    """The (type, id) pairs a restore request names, in order, each once. ValueError: a
    selection that names nothing or something that cannot be restored."""
    items: list[tuple[str, str]] = []
    if type_name is not None:
        ct = content_types.get(type_name)
        if K.get(ct.name) is None:
            raise ValueError(f"{ct.name} cannot be restored")
        if not ids:
            raise ValueError(f"name the ids of the {ct.name} to restore")
        items += [(ct.name, i) for i in ids]
    if folder is not None:
        items += in_folder(store, folder, at)
    if since is not None:
        items += deleted_since(store, since)
    if not items:
        raise ValueError("nothing selected: name a type and ids, a folder, or deleted since")
    return list(dict.fromkeys(items))
