"""Objects that are mostly their edges: groups, users and roles with their memberships, the
per-parent edge types (role users, group values, content access), and boards with their
sections and items."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from looker_assets.restore.handlers_base import Plain

if TYPE_CHECKING:
    from looker_assets.restore.engine import Target


class Role(Plain):
    """A role names its sets through write-only ids; GET shows the nested sets instead."""

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


HANDLERS: dict[str, type[Plain]] = {"role": Role, "group": Plain, "user": Plain,
                                    "board": Plain, "role_users": Plain,
                                    "group_values": Plain, "content_metadata": Plain,
                                    "content_access": Plain}
