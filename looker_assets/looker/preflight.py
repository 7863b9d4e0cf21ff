"""Before a sync: which Looker this is, who the API user is, and what it may see.

A backup made by a user without, say, see_users is silently incomplete on real Looker (the
listings just return less), so the missing permissions are named with the content types they
leave incomplete.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from looker_assets.looker.client import ClientScope, LookerClient
from looker_assets.looker.errors import LookerAuthError, LookerError, LookerResponseError

ADMIN = "administer"


@dataclass
class Preflight:
    looker_release: str | None = None
    api_user_id: str | None = None
    api_user_email: str | None = None
    all_access: bool = False
    permissions: set[str] = field(default_factory=set)
    problems: list[str] = field(default_factory=list)
    known: bool = True

    def missing(self, required: tuple[str, ...]) -> list[str]:
        if self.all_access or not self.known:
            return []
        return [p for p in required if p not in self.permissions]

    def metadata(self) -> dict[str, Any]:
        return {"looker_release": self.looker_release or "unknown",
                "api_user": f"{self.api_user_id} {self.api_user_email or ''}".strip(),
                "api_user_all_access": self.all_access,
                "preflight_problems": "; ".join(self.problems) or "none"}


def preflight_once(client: LookerClient | ClientScope) -> Preflight:
    """The pre-flight of the client's Looker, made once per run: the steps of a run share its
    answer (who the API user is does not change mid-run)."""
    run = client.run if isinstance(client, ClientScope) else None
    if run is None:
        return run_preflight(client)
    return run.once("preflight", lambda: run_preflight(client))


def run_preflight(client: LookerClient | ClientScope) -> Preflight:
    """Three cheap requests: versions, the API user, its roles' permission sets."""
    result = Preflight()
    try:
        versions = client.get_json("/versions", kind="check")
        result.looker_release = (versions or {}).get("looker_release_version")
    except LookerError as exc:
        result.problems.append(f"versions: {exc}")
    me = client.get_json("/user", {"fields": "id,email,role_ids"}, kind="check")
    result.api_user_id = None if me.get("id") is None else str(me["id"])
    result.api_user_email = me.get("email")
    role_ids = [str(r) for r in me.get("role_ids") or []]
    if not role_ids:
        return result
    try:
        roles = client.get_json("/roles", {"ids": ",".join(role_ids),
                                           "fields": "id,permission_set(all_access,permissions)"},
                                kind="check")
    except (LookerAuthError, LookerResponseError) as exc:
        # A non-admin may not read roles: then the permissions are unknown, not missing.
        result.problems.append(f"could not read the API user's roles: {exc}")
        result.known = False
        return result
    for role in roles or []:
        pset = role.get("permission_set") or {}
        result.all_access |= bool(pset.get("all_access"))
        result.permissions.update(pset.get("permissions") or [])
    return result
