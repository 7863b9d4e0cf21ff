"""Change signals: cheap requests that tell whether stored copies are still current, for
content whose own listing carries no version.

A signal is made once per listing (`SIGNALS[name](client)`) and then gives, per listing row,
a string that changes whenever what the row's objects would return changes, or None when it
cannot tell (the objects are then fetched). Only what the spec promises is relied on.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import quote

import msgspec

from looker_assets.looker.errors import LookerAuthError, LookerNotFound, LookerResponseError

# A row's signal: what must be equal for its stored objects to be current (None: unknown).
RowSignal = Callable[[Any], "str | None"]


class JsonClient(Protocol):
    def get_json(self, path: str, params: Any = None, *, kind: str = "detail") -> Any: ...

    def get_json_array(self, path: str, params: Any = None, *,
                       kind: str = "list") -> list[msgspec.Raw]: ...


# What the signal may not see, and so answers "unknown" for: a project the API user may not
# read, or one that is not there.
_UNKNOWN = (LookerAuthError, LookerNotFound, LookerResponseError)


class _DeployReads:
    """What the deploy signals of one run have read: the same projects' heads serve the
    explores and the LookML dashboards, read once by whichever step asks first."""

    def __init__(self) -> None:
        self.heads: dict[str, str | None] = {}
        self.dialects: str | None = None
        self.model_projects: dict[str, str] | None = None
        # Reentrant: a project's head reads the heads of the projects it imports.
        self.lock = threading.RLock()


def _deploy_reads(client: JsonClient) -> _DeployReads:
    """The run's reads where the client shares a run (a ClientScope), else a stream's own."""
    run = getattr(client, "run", None)
    return _DeployReads() if run is None else run.once("lookml_deploys", _DeployReads)


class LookmlDeploys:
    """Explores are derived from LookML, and the LookML a production session sees changes only
    when a project is deployed. Per project: the commit its production workspace has checked
    out (`project_workspace`: workspace_id "production", `git_head`), joined with those of the
    projects it imports locally (`manifest`: an import with is_remote false follows that
    project's production; a remote import is pinned by its `ref`, or, without one, may change
    at any time). An explore also carries its connection's dialect, so the connections'
    dialects join the signal (one listing).

    Cost: two requests per project and one for the connections, per run (the steps of a run
    share what was read, see _DeployReads)."""

    def __init__(self, client: JsonClient) -> None:
        self.client = client
        self._reads = _deploy_reads(client)

    def __call__(self, model_row: Any) -> str | None:
        project = model_row.get("project_name") if isinstance(model_row, dict) else None
        if not project:
            return None
        head = self.deployed(str(project), ())
        if head is None:
            return None
        return f"{head}|{self.dialects()}"

    def dialects(self) -> str:
        with self._reads.lock:
            if self._reads.dialects is None:
                rows = [msgspec.json.decode(raw) for raw in self.client.get_json_array(
                    "/connections", {"fields": "name,dialect_name"}, kind="signal")]
                pairs = sorted((str(r.get("name")), str(r.get("dialect_name"))) for r in rows
                               if isinstance(r, dict))
                self._reads.dialects = ",".join(f"{n}={d}" for n, d in pairs)
            return self._reads.dialects

    def deployed(self, project: str, importing: tuple[str, ...]) -> str | None:
        """The production commit of `project` with those of its local imports, or None."""
        if project in importing:
            return "cycle"  # a project imported back by its import adds nothing new
        with self._reads.lock:
            heads = self._reads.heads
            if project not in heads:
                heads[project] = self._read(project, (*importing, project))
            return heads[project]

    def _read(self, project: str, chain: tuple[str, ...]) -> str | None:
        path = f"/projects/{quote(project, safe='')}"
        try:
            workspace = self.client.get_json(f"{path}/current_workspace",
                                             {"fields": "workspace_id,git_head"}, kind="signal")
        except _UNKNOWN:
            return None
        if not isinstance(workspace, dict) or workspace.get("workspace_id") != "production" \
                or not workspace.get("git_head"):
            # A development workspace, or a project without git: nothing says what it serves.
            return None
        parts = [f"{project}@{workspace['git_head']}"]
        try:
            manifest = self.client.get_json(f"{path}/manifest", kind="signal")
        except LookerNotFound:
            manifest = None  # no manifest file: no imports
        except _UNKNOWN:
            return None
        for imported in (manifest or {}).get("imports") or []:
            if not isinstance(imported, dict) or not imported.get("name"):
                continue
            if imported.get("is_remote"):
                if not imported.get("ref"):
                    return None  # follows a branch somewhere else: may change at any time
                parts.append(f"{imported['name']}:{imported.get('url')}@{imported['ref']}")
                continue
            head = self.deployed(str(imported["name"]), chain)
            if head is None:
                return None
            parts.append(head)
        return ";".join(parts)


class LookmlDashboardDeploys(LookmlDeploys):
    """LookML dashboards (`model::name`) are LookML too: defined in their model's project,
    they change only when it deploys. The model's project comes from the models' listing (one
    request per run); a row that is not a LookML dashboard has no signal (it is fetched)."""

    def __call__(self, row: Any) -> str | None:
        id_ = str(row.get("id") or "") if isinstance(row, dict) else ""
        model, sep, _ = id_.partition("::")
        if not sep:
            return None
        project = self.model_projects().get(model)
        return None if project is None else super().__call__({"project_name": project})

    def model_projects(self) -> dict[str, str]:
        with self._reads.lock:
            if self._reads.model_projects is None:
                rows = [msgspec.json.decode(raw) for raw in self.client.get_json_array(
                    "/lookml_models", {"fields": "name,project_name"}, kind="signal")]
                self._reads.model_projects = {
                    str(r.get("name")): str(r.get("project_name")) for r in rows
                    if isinstance(r, dict) and r.get("project_name")}
            return self._reads.model_projects


# Signals by the name a registry entry gives (ListCall.signal).
SIGNALS: dict[str, Callable[[JsonClient], RowSignal]] = {
    "lookml_deploy": LookmlDeploys,
    "lookml_dashboard_deploy": LookmlDashboardDeploys,
}
