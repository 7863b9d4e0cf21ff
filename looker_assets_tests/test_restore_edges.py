"""Restoring the objects that are mostly their edges (restore/edges.py): groups, users,
roles, role users, user-attribute group values, folder and board access, and boards.

Each test: a real sync (Dagster, the content types involved) of the emulator into a store,
damage through Looker's own HTTP API, a sync that captures the damage, then a restore as of
the moment before it. The restored state is read back over HTTP and compared with what the
backup recorded (ids mapped to the re-created objects), then the same restore runs again and
must find everything unchanged and send no write; a dry run must send none either.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from looker_assets.assets import CONTENT_ASSETS, IO_MANAGER_KEY
from looker_assets.emulator import LookerEmulator
from looker_assets.io_manager import LookerContentIOManager
from looker_assets.looker.client import ClientConfig, LookerClient
from looker_assets.restore.engine import Request, Restore, Target
from looker_assets.storage import codec
from looker_assets.storage.store import ContentStore
from looker_assets_tests.conftest import PARTITION, looker_resource

# What these restores read from the backup (dashboards and looks stay out: board items
# point at live ones, and leaving them out keeps a sync near a second).
TYPES = frozenset({"users", "groups", "roles", "permission_sets", "model_sets", "role_users",
                   "user_attributes", "user_attribute_group_values", "folders", "boards",
                   "content_metadata", "content_access"})
WRITES = ("POST", "PUT", "PATCH", "DELETE")
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dataclass
class World:
    """One emulator, its store, and a client acting as the admin (damage and checks)."""

    emu: LookerEmulator
    db: Path
    client: LookerClient

    def sync(self) -> None:
        result = dg.materialize(
            [a for a in CONTENT_ASSETS if a.key.path[-1] in TYPES], partition_key=PARTITION,
            resources={"looker": looker_resource(self.emu, max_concurrency=4),
                       IO_MANAGER_KEY: LookerContentIOManager(path=str(self.db))},
            run_config=QUIET)
        assert result.success

    def get(self, path: str, **params: str) -> Any:
        return self.client.get_json(path, params or None)

    def __call__(self, method: str, path: str, body: Any = None) -> Any:
        return self.client.write_json(method, path, body)

    def writes(self) -> int:
        return sum(n for (method, template), n in self.emu.stats.by_route.items()
                   if method in WRITES and not template.endswith("/login"))

    def restore(self, items: list[tuple[str, str]], at: str, dry_run: bool = False
                ) -> dict[tuple[str, str], Target]:
        self.emu.reset_stats()
        with ContentStore(str(self.db)) as store:
            targets = Restore(store, self.client, Request(items, at=at, dry_run=dry_run)).run()
        return {t.key: t for t in targets}

    def restore_checked(self, items: list[tuple[str, str]], at: str
                        ) -> dict[tuple[str, str], Target]:
        """Dry run (no write), the restore (nothing failed, everything verified), and the
        same restore again (everything unchanged, no write)."""
        dry = self.restore(items, at, dry_run=True)
        assert self.writes() == 0
        assert all(t.status in ("planned", "skipped") for t in dry.values())
        done = self.restore(items, at)
        assert self.writes() > 0
        bad = {k: (t.status, t.error, t.differs) for k, t in done.items()
               if t.status == "failed" or t.differs}
        assert not bad, bad
        again = self.restore(items, at)
        changed = {k: (t.action, t.changes) for k, t in again.items() if t.action != "unchanged"}
        assert not changed, changed
        assert self.writes() == 0
        return done

    def ids(self, path: str, **params: str) -> list[str]:
        return [str(row["id"]) for row in self.get(path, fields="id", **params)]


@pytest.fixture
def world(fresh_emulator: LookerEmulator, dagster_home: Path, tmp_path: Path
          ) -> Iterator[World]:
    emu = fresh_emulator
    client = LookerClient(ClientConfig(base_url=emu.url, client_id=emu.client_id,
                                       client_secret=emu.client_secret, verify_ssl=False))
    yield World(emu, tmp_path / "store.sqlite", client)


def _hierarchy(w: World, gid: str) -> dict[str, Any]:
    return next(g for g in w.get("/groups/search/with_hierarchy", id=gid) if g["id"] == gid)


def _values(w: World, aid: str) -> list[tuple[str, Any]]:
    rows = sorted(w.get(f"/user_attributes/{aid}/group_values"), key=lambda v: v["rank"])
    return [(v["group_id"], v["value"]) for v in rows]


def _access(w: World, cm: str) -> set[tuple[Any, Any, str]]:
    return {(e["group_id"], e["user_id"], e["permission_type"])
            for e in w.get("/content_metadata_access", content_metadata_id=cm)}


def _cms(w: World) -> list[str]:
    return [str(f["content_metadata_id"]) for f in w.get("/folders/search", fields=
            "content_metadata_id") if f.get("content_metadata_id")]


def test_a_deleted_group_comes_back_with_every_edge(world: World) -> None:
    """Its parent, child groups, roles, members, attribute values and access entries: all
    of them wherever Looker keeps them, though Looker dropped each with the group."""
    w = world
    groups = {g["id"]: g for g in w.get("/groups/search/with_hierarchy")}
    gid = next(k for k, g in groups.items() if not g["externally_managed"]
               and not g["include_by_default"] and g["role_ids"]
               and w.ids(f"/groups/{k}/users") and w.ids(f"/groups/{k}/groups"))
    parent = next(k for k, g in groups.items() if k != gid and not g["externally_managed"]
                  and not g["include_by_default"] and gid not in g["parent_group_ids"]
                  and k not in w.ids(f"/groups/{gid}/groups"))
    w("POST", f"/groups/{parent}/groups", {"group_id": gid})  # so that it has a parent too
    w.sync()
    at = codec.now_utc()
    before = _hierarchy(w, gid)
    members = set(w.ids(f"/groups/{gid}/users"))
    children = set(w.ids(f"/groups/{gid}/groups"))
    values = {a["id"]: _values(w, a["id"]) for a in w.get("/user_attributes")}
    access = {cm: _access(w, cm) for cm in _cms(w)}
    assert any(g == gid for v in values.values() for g, _ in v)
    assert any(e[0] == gid for entries in access.values() for e in entries)

    w("DELETE", f"/groups/{gid}")
    w.sync()
    done = w.restore_checked([("groups", gid)], at)

    new = done[("groups", gid)].live_id
    assert done[("groups", gid)].action == "create" and new not in (None, gid)
    after = _hierarchy(w, new)
    assert after["name"] == before["name"]
    assert after["parent_group_ids"] == [parent]
    assert set(after["role_ids"]) == set(before["role_ids"])
    assert set(w.ids(f"/groups/{new}/users")) == members
    assert set(w.ids(f"/groups/{new}/groups")) == children

    def mapped(g: str) -> str:
        return new if g == gid else g

    # Its values keep their rank among the others; its access entries are back.
    assert {a: _values(w, a) for a in values} == {
        a: [(mapped(g), v) for g, v in vs] for a, vs in values.items()}
    assert {cm: _access(w, cm) for cm in access} == {
        cm: {(mapped(g) if g else g, u, p) for g, u, p in es} for cm, es in access.items()}


def test_wiped_memberships_and_changed_role_groups_are_put_back(world: World) -> None:
    """A live group: its members and roles are reconciled in place (extras removed), and
    the plan names the edges it will change."""
    w = world
    groups = {g["id"]: g for g in w.get("/groups/search/with_hierarchy")}
    gid = next(k for k, g in groups.items() if not g["externally_managed"]
               and not g["include_by_default"] and len(w.ids(f"/groups/{k}/users")) >= 2)
    roles = [r["id"] for r in w.get("/roles") if r["name"] != "Admin"]
    w.sync()
    at = codec.now_utc()
    members = set(w.ids(f"/groups/{gid}/users"))
    role_ids = set(groups[gid]["role_ids"])
    stranger = next(u for u in w.ids("/users") if u not in members)
    extra_role = next(r for r in roles if r not in role_ids)
    for uid in members:
        w("DELETE", f"/groups/{gid}/users/{uid}")
    w("POST", f"/groups/{gid}/users", {"user_id": stranger})
    w("PUT", f"/roles/{extra_role}/groups", [*w.ids(f"/roles/{extra_role}/groups"), gid])
    for rid in role_ids:
        w("PUT", f"/roles/{rid}/groups", [g for g in w.ids(f"/roles/{rid}/groups") if g != gid])
    w.sync()

    plan = w.restore([("groups", gid)], at, dry_run=True)[("groups", gid)]
    assert plan.action == "update"
    assert any(c.startswith("members (") and f"-user {stranger}" in c for c in plan.changes)
    assert any(c.startswith("roles (") and f"-role {extra_role}" in c for c in plan.changes)
    w.restore_checked([("groups", gid)], at)
    assert set(w.ids(f"/groups/{gid}/users")) == members
    assert set(_hierarchy(w, gid)["role_ids"]) == role_ids
    assert gid not in w.ids(f"/roles/{extra_role}/groups")

    # An externally managed group's membership belongs to its identity provider: a member
    # it lost is reported, not written back.
    external = next(k for k, g in groups.items() if g["externally_managed"]
                    and w.ids(f"/groups/{k}/users"))
    target = w.restore([("groups", external)], at)[("groups", external)]
    assert target.action == "unchanged" and "externally managed" in (target.reason or "")
    assert w.writes() == 0


def test_user_role_and_attribute(world: World) -> None:
    """A deleted user comes back with its account fields, email credentials, groups and
    only its direct roles; a role gets its groups and direct users back (the re-created
    user among them, under its new id); a deleted attribute comes back with its values."""
    w = world
    groups = {g["id"]: g for g in w.get("/groups/search/with_hierarchy")}
    ours = {k for k, g in groups.items() if not g["externally_managed"]
            and not g["include_by_default"]}
    roles = {r["id"]: r for r in w.get("/roles")}
    direct = {rid: set(w.ids(f"/roles/{rid}/users", direct_association_only="true"))
              for rid in roles}
    user = next(u for u in w.get("/users") if u["id"] != "1" and len(set(u["group_ids"]) & ours)
                >= 2 and any(u["id"] in us and roles[r]["name"] != "Admin"
                             for r, us in direct.items()))
    uid = user["id"]
    role = next(r for r, us in direct.items() if uid in us)
    attribute = next(a for a in w.get("/user_attributes") if not a["is_system"]
                     and len(_values(w, a["id"])) >= 2)
    w.sync()
    at = codec.now_utc()
    role_groups = set(w.ids(f"/roles/{role}/groups"))
    values = _values(w, attribute["id"])

    w("DELETE", f"/users/{uid}")
    w("PUT", f"/roles/{role}/groups", [g for g in ours if g not in role_groups][:1])
    w("DELETE", f"/user_attributes/{attribute['id']}")
    w.sync()
    items = [("users", uid), ("roles", role), ("user_attributes", attribute["id"]),
             ("users", "1")]
    done = w.restore_checked(items, at)

    new = done[("users", uid)].live_id
    assert new not in (None, uid)
    back = w.get(f"/users/{new}")
    for field in ("first_name", "last_name", "locale", "is_disabled"):
        assert back[field] == user[field], field
    assert back["credentials_email"]["email"] == user["credentials_email"]["email"]
    assert set(back["group_ids"]) & ours == set(user["group_ids"]) & ours
    # Direct roles only: what role_users recorded, not what came through groups.
    assert set(w.ids(f"/users/{new}/roles", direct_association_only="true")) == {
        r for r, us in direct.items() if uid in us}
    assert "password" in (done[("users", uid)].reason or "")
    assert set(w.ids(f"/roles/{role}/groups")) == role_groups
    assert set(w.ids(f"/roles/{role}/users", direct_association_only="true")) == {
        new if u == uid else u for u in direct[role]}
    new_attr = done[("user_attributes", attribute["id"])].live_id
    assert new_attr != attribute["id"] and _values(w, new_attr or "") == values
    # The API user is unchanged; its API3 keys are named as not restorable.
    api_user = done[("users", "1")]
    assert api_user.action == "unchanged" and "api3" in (api_user.reason or "")


def test_role_users_and_group_values_restored_as_their_own_objects(world: World) -> None:
    """role_users and user_attribute_group_values restored directly; hidden values are
    reported and left alone (Looker never returns them)."""
    w = world
    role = next(r["id"] for r in w.get("/roles") if r["name"] != "Admin"
                and len(w.ids(f"/roles/{r['id']}/users", direct_association_only="true")) >= 2)
    attribute = next(a["id"] for a in w.get("/user_attributes") if not a["is_system"]
                     and len(_values(w, a["id"])) >= 2)
    hidden = w("POST", "/user_attributes", {
        "name": "secret_region", "label": "Secret region", "type": "string",
        "value_is_hidden": True, "user_can_view": False,
        "hidden_value_domain_whitelist": "https://*.acme.test/*"})["id"]
    w("POST", f"/user_attributes/{hidden}/group_values", [{"group_id": "2", "value": "x"}])
    w.sync()
    at = codec.now_utc()
    users = set(w.ids(f"/roles/{role}/users", direct_association_only="true"))
    values = _values(w, attribute)

    w("PUT", f"/roles/{role}/users", [])
    w("POST", f"/user_attributes/{attribute}/group_values", list(reversed(
        [{"group_id": g, "value": v} for g, v in values]))[:-1])
    w("POST", f"/user_attributes/{hidden}/group_values", [])
    w.sync()
    items = [("role_users", role), ("user_attribute_group_values", attribute)]
    done = w.restore_checked(items, at)
    assert {k: t.action for k, t in done.items()} == {k: "update" for k in items}
    assert set(w.ids(f"/roles/{role}/users", direct_association_only="true")) == users
    assert _values(w, attribute) == values

    w.emu.reset_stats()
    hidden_plan = w.restore([("user_attribute_group_values", hidden)], at)
    target = hidden_plan[("user_attribute_group_values", hidden)]
    assert target.action == "unchanged" and "hidden" in (target.reason or "")
    assert w.writes() == 0 and _values(w, hidden) == []


def test_folder_access_and_inheritance(world: World) -> None:
    """A deleted folder pulls in its content metadata and access (a new content_metadata_id,
    mapped through the folder); live access entries and inheritance are reconciled."""
    w = world
    folders = {f["id"]: f for f in w.get("/folders/search")}
    root = next(f for f in folders.values() if f.get("is_shared_root"))
    leaf = next(f for f in folders.values() if f["parent_id"] in folders
                and not f.get("is_personal") and not f.get("is_personal_descendant")
                and not any(c["parent_id"] == f["id"] for c in folders.values()))
    flipped = next(f for k, f in folders.items() if k not in (root["id"], leaf["id"])
                   and not f.get("is_personal") and not f.get("is_personal_descendant")
                   and f["parent_id"] in folders)
    groups = [g["id"] for g in w.get("/groups") if not g["externally_managed"]]
    cm = leaf["content_metadata_id"]
    w("PATCH", f"/content_metadata/{cm}", {"inherits": False})
    w("POST", "/content_metadata_access", {"content_metadata_id": cm, "permission_type": "edit",
                                           "group_id": groups[1]})
    w("POST", "/content_metadata_access", {"content_metadata_id": cm, "permission_type": "view",
                                           "user_id": "5"})
    w.sync()
    at = codec.now_utc()
    leaf_access = _access(w, cm)
    root_cm = root["content_metadata_id"]
    root_access = _access(w, root_cm)
    assert root_access and len(leaf_access) == 2

    w("DELETE", f"/folders/{leaf['id']}")
    entries = w.get("/content_metadata_access", content_metadata_id=root_cm)
    w("PUT", f"/content_metadata_access/{entries[0]['id']}", {
        "content_metadata_id": root_cm, "group_id": entries[0]["group_id"],
        "user_id": entries[0]["user_id"],
        "permission_type": "view" if entries[0]["permission_type"] == "edit" else "edit"})
    for e in entries[1:]:
        w("DELETE", f"/content_metadata_access/{e['id']}")
    w("POST", "/content_metadata_access", {"content_metadata_id": root_cm,
                                           "permission_type": "view", "group_id": groups[-1]})
    w("PATCH", f"/content_metadata/{flipped['content_metadata_id']}", {"inherits": False})
    w.sync()
    items = [("folders", leaf["id"]), ("content_access", root_cm),
             ("content_metadata", flipped["content_metadata_id"])]
    done = w.restore_checked(items, at)

    new = done[("folders", leaf["id"])].live_id
    new_cm = str(w.get(f"/folders/{new}")["content_metadata_id"])
    assert new_cm != cm
    assert done[("content_metadata", cm)].live_id == new_cm  # pulled in and mapped
    assert done[("content_access", cm)].live_id == new_cm
    assert w.get(f"/content_metadata/{new_cm}")["inherits"] is False
    assert _access(w, new_cm) == leaf_access
    assert _access(w, root_cm) == root_access
    assert w.get(f"/content_metadata/{flipped['content_metadata_id']}")["inherits"] is True


def _board(w: World, bid: str) -> dict[str, Any]:
    """A board as a restore can reproduce it: sections in section_order, each with its
    items in item_order (what they show, their custom fields)."""
    board = w.get(f"/boards/{bid}")
    sections = {s["id"]: s for s in board["board_sections"]}
    keys = ("dashboard_id", "look_id", "order", "custom_title", "custom_description",
            "custom_url", "use_custom_title", "use_custom_description", "use_custom_url")
    out = []
    for sid in board["section_order"]:
        s = sections[sid]
        items = {i["id"]: i for i in s["board_items"]}
        out.append((s["title"], s["description"],
                    [tuple(items[i][k] for k in keys) for i in s["item_order"]]))
    return {"title": board["title"], "description": board["description"],
            "user_id": board["user_id"], "trashed": board["deleted_at"] is not None,
            "sections": out}


def test_boards_deleted_damaged_and_trashed(world: World) -> None:
    w = world
    boards = [b["id"] for b in w.get("/boards")]
    two = [b for b in boards if len(w.get(f"/boards/{b}")["board_sections"]) >= 2]
    gone, damaged = two[:2]
    trashed = next(b for b in boards if b not in (gone, damaged))
    w.sync()
    at = codec.now_utc()
    want = {b: _board(w, b) for b in (gone, damaged, trashed)}
    gone_cm = w.get(f"/boards/{gone}")["content_metadata_id"]
    gone_access = (w.get(f"/content_metadata/{gone_cm}")["inherits"], _access(w, gone_cm))
    assert gone_access[1]  # a board sets its own access (it has no parent to inherit)

    w("DELETE", f"/boards/{gone}")
    board = w.get(f"/boards/{damaged}")
    first, second = board["board_sections"][:2]
    w("DELETE", f"/board_items/{first['board_items'][0]['id']}")
    w("POST", "/board_items", {"board_section_id": first["id"], "look_id": "1", "order": 9})
    w("PATCH", f"/board_items/{first['board_items'][1]['id']}", {"custom_title": "Stray",
                                                                 "use_custom_title": True})
    w("PATCH", f"/board_sections/{second['id']}", {"title": "Renamed"})
    w("PATCH", f"/boards/{damaged}", {"section_order": list(reversed(board["section_order"])),
                                      "title": "Retitled"})
    w("PATCH", f"/boards/{trashed}", {"deleted_at": codec.now_utc()})
    w.sync()
    done = w.restore_checked([("boards", b) for b in (gone, damaged, trashed)], at)

    assert {b: done[("boards", b)].action for b in (gone, damaged, trashed)} == {
        gone: "create", damaged: "update", trashed: "undelete"}
    new = done[("boards", gone)].live_id or ""
    assert new != gone
    # Its access came back with it, on the new board's content_metadata_id.
    new_cm = w.get(f"/boards/{new}")["content_metadata_id"]
    assert new_cm != gone_cm and done[("content_access", gone_cm)].live_id == new_cm
    assert (w.get(f"/content_metadata/{new_cm}")["inherits"], _access(w, new_cm)) == gone_access
    assert {b: _board(w, done[("boards", b)].live_id or b) for b in want} == want
