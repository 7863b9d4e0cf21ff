"""LookML deploys in the emulator: current_workspace's git_head, the manifest, and the admin
mutations that move a project's deployed commit (all over real HTTP)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from looker_assets.emulator import LookerEmulator
from looker_assets.emulator import spec as emu_spec
from looker_assets_tests.test_emulator import Http, _conform, _error_body, make_sdk

SHA = re.compile(r"[0-9a-f]{40}")


def _mutate(http: Http, **body: str) -> tuple[int, Any]:
    status, _, out = http.call("POST", "/_emulator/mutate", json.dumps(body).encode(), auth=False)
    return status, json.loads(out)


def _heads(http: Http, emu: LookerEmulator) -> dict[str, str]:
    return {p: http.json(f"/api/4.0/projects/{p}/current_workspace")["git_head"]
            for p in emu.objects("projects")}


def _owner(emu: LookerEmulator, explore: str) -> str:
    """The project an explore belongs to: its model's project_name."""
    return emu.objects("lookml_models")[explore.split("::", 1)[0]]["project_name"]


def test_current_workspace_matches_spec(emulator: LookerEmulator) -> None:
    http = Http(emulator)
    projects = emulator.objects("projects")
    assert len(projects) >= 2
    problems: list[str] = []
    for pid, project in projects.items():
        ws = http.json(f"/api/4.0/projects/{pid}/current_workspace")
        assert list(ws) == list(emu_spec.properties("ProjectWorkspace"))
        assert list(ws["git_branch"]) == list(emu_spec.properties("GitBranch"))
        _conform(ws, {"$ref": "#/components/schemas/ProjectWorkspace"}, pid, problems)
        assert ws["project_id"] == pid and ws["workspace_id"] == "production"
        assert SHA.fullmatch(ws["git_head"]) and ws["lookml_type"] == "lookml"
        assert ws["dependency_status"] in ("lock_optional", "lock_required", "lock_error",
                                           "install_none")
        branch = ws["git_branch"]
        assert branch["name"] == branch["remote_name"] == project["git_production_branch_name"]
        assert branch["ref"] == branch["remote_ref"] == ws["git_head"]
        assert branch["is_production"] and branch["is_local"] and branch["is_remote"]
        assert not branch["readonly"] and not branch["personal"]
        assert branch["ahead_count"] == branch["behind_count"] == 0
        assert isinstance(branch["commit_at"], int) and branch["remote"] == "origin"
        assert branch["error"] is branch["message"] is branch["owner_name"] is None
        assert isinstance(ws["can"], dict)
    assert not problems, problems
    # Every project has its own commit.
    assert len(set(_heads(http, emulator).values())) == len(projects)


def test_manifest_matches_spec(emulator: LookerEmulator) -> None:
    http = Http(emulator)
    problems: list[str] = []
    for pid in emulator.objects("projects"):
        manifest = http.json(f"/api/4.0/projects/{pid}/manifest")
        assert list(manifest) == list(emu_spec.properties("Manifest"))
        assert list(manifest["localization_settings"]) == list(
            emu_spec.properties("LocalizationSettings"))
        _conform(manifest, {"$ref": "#/components/schemas/Manifest"}, pid, problems)
        assert manifest["name"] == pid
        # Two projects here: imports only appear from three on.
        assert manifest["imports"] == []
    assert not problems, problems


def test_workspace_and_manifest_through_sdk(
    emulator: LookerEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    sdk = make_sdk(emulator, monkeypatch)
    pid = sdk.all_projects()[0].id
    ws = sdk.project_workspace(pid)
    assert ws.project_id == pid and ws.git_branch.ref == ws.git_head
    assert sdk.manifest(pid).name == pid


def test_workspace_fields(emulator: LookerEmulator) -> None:
    http = Http(emulator)
    pid = next(iter(emulator.objects("projects")))
    full = http.json(f"/api/4.0/projects/{pid}/current_workspace")
    ws = http.json(f"/api/4.0/projects/{pid}/current_workspace?fields=git_head,git_branch(ref)")
    assert ws == {"git_head": full["git_head"], "git_branch": {"ref": full["git_head"]}}
    ws = http.json(f"/api/4.0/projects/{pid}/current_workspace?fields=project_id,workspace_id")
    assert ws == {"project_id": pid, "workspace_id": "production"}
    status, _, _ = http.call("GET", f"/api/4.0/projects/{pid}/current_workspace?fields=git_branch(")
    assert status == 400


def test_unknown_project_404(emulator: LookerEmulator) -> None:
    http = Http(emulator)
    for sub in ("current_workspace", "manifest"):
        status, _, body = http.call("GET", f"/api/4.0/projects/no_such_project/{sub}")
        assert status == 404
        err = _error_body(body)
        assert err["message"] == "Not found" and err["documentation_url"].endswith(
            f"/404/get/projects/:project_id/{sub}")


def test_explore_changes_deploy_its_project(fresh_emulator: LookerEmulator) -> None:
    emu = fresh_emulator
    http = Http(emu)
    projects_before = {p: http.json(f"/api/4.0/projects/{p}") for p in emu.objects("projects")}
    # One explore of each project (a model's project, not the model's name, owns it).
    by_project: dict[str, str] = {}
    for key in emu.objects("explores"):
        by_project.setdefault(_owner(emu, key), key)
    assert len(by_project) >= 2
    for op in ("update", "delete"):
        for project, explore in by_project.items():
            before = _heads(http, emu)
            assert _mutate(http, op=op, kind="explores", id=explore) == (200, {"id": explore})
            after = _heads(http, emu)
            assert after[project] != before[project] and SHA.fullmatch(after[project])
            assert {p: h for p, h in after.items() if p != project} == {
                p: h for p, h in before.items() if p != project}
        by_project = {_owner(emu, k): k for k in emu.objects("explores")}
    before = _heads(http, emu)
    status, out = _mutate(http, op="create", kind="explores")
    assert status == 200
    project = _owner(emu, out["id"])
    after = _heads(http, emu)
    assert after[project] != before[project]
    assert {p for p in after if after[p] != before[p]} == {project}
    # Deploys leave the Project objects as they were: the spec has no commit on them.
    assert {p: http.json(f"/api/4.0/projects/{p}") for p in emu.objects("projects")} == \
        projects_before


def test_model_changes_deploy_its_project(fresh_emulator: LookerEmulator) -> None:
    emu = fresh_emulator
    http = Http(emu)
    models = emu.objects("lookml_models")
    # A model named unlike its project: the project named in project_name deploys.
    name, model = next((n, m) for n, m in models.items() if n != m["project_name"])
    before = _heads(http, emu)
    assert _mutate(http, op="update", kind="lookml_models", id=name)[0] == 200
    after = _heads(http, emu)
    assert {p for p in after if after[p] != before[p]} == {model["project_name"]}
    assert _mutate(http, op="delete", kind="lookml_models", id=name)[0] == 200
    assert {p for p, h in _heads(http, emu).items() if h != after[p]} == {model["project_name"]}


def test_deploy_op_moves_only_that_head(fresh_emulator: LookerEmulator) -> None:
    emu = fresh_emulator
    http = Http(emu)
    pid, other = list(emu.objects("projects"))[:2]
    path = f"/api/4.0/projects/{pid}"
    _, _, project_before = http.call("GET", path)
    ws_before = http.json(f"{path}/current_workspace")
    before = _heads(http, emu)
    explores_before = emu.objects("explores")
    models_before = emu.objects("lookml_models")
    status, out = _mutate(http, op="deploy", kind="projects", id=pid)
    assert status == 200 and out["id"] == pid and SHA.fullmatch(out["git_head"])
    ws = http.json(f"{path}/current_workspace")
    assert ws["git_head"] == out["git_head"] != ws_before["git_head"]
    assert ws["git_branch"]["ref"] == ws["git_branch"]["remote_ref"] == ws["git_head"]
    assert ws["git_branch"]["commit_at"] > ws_before["git_branch"]["commit_at"]
    assert http.json(f"/api/4.0/projects/{other}/current_workspace")["git_head"] == before[other]
    # Byte for byte: the Project object has no commit property, so a deploy leaves it be.
    assert http.call("GET", path)[2] == project_before
    assert emu.objects("explores") == explores_before
    assert emu.objects("lookml_models") == models_before
    # Each deploy is a new commit.
    second = _mutate(http, op="deploy", kind="projects", id=pid)[1]["git_head"]
    assert second not in (out["git_head"], ws_before["git_head"])
    assert _mutate(http, op="deploy", kind="projects", id="no_such_project")[0] == 400
    assert _mutate(http, op="deploy", kind="dashboards", id="1")[0] == 400
    assert _heads(http, emu)[other] == before[other]


def test_other_changes_leave_heads_alone(fresh_emulator: LookerEmulator) -> None:
    emu = fresh_emulator
    http = Http(emu)
    before = _heads(http, emu)
    pid = next(iter(before))
    conn = next(iter(emu.objects("connections")))
    for kind, key in (("projects", pid), ("dashboards", "3"), ("connections", conn)):
        assert _mutate(http, op="update", kind=kind, id=key)[0] == 200
    assert _heads(http, emu) == before


def test_last_project_imports_the_first(fresh_emulator: LookerEmulator) -> None:
    emu = fresh_emulator
    http = Http(emu)
    while len(emu.objects("projects")) < 3:
        status, out = _mutate(http, op="create", kind="projects")
        assert status == 200
        # A created project has a deployed commit from the start.
        assert SHA.fullmatch(http.json(f"/api/4.0/projects/{out['id']}/current_workspace")[
            "git_head"])
    ids = sorted(emu.objects("projects"))
    first, last = ids[0], ids[-1]
    manifest = http.json(f"/api/4.0/projects/{last}/manifest")
    assert manifest["imports"] == [{"name": first, "url": None, "ref": None, "is_remote": False}]
    assert list(manifest["imports"][0]) == list(emu_spec.properties("ImportedProject"))
    for pid in ids[:-1]:
        assert http.json(f"/api/4.0/projects/{pid}/manifest")["imports"] == []


def test_heads_are_deterministic() -> None:
    a, b, c = (LookerEmulator(scale=120, seed=s) for s in (1, 1, 2))

    def heads(emu: LookerEmulator) -> dict[str, str]:
        return {p: emu.api_get(f"/projects/{p}/current_workspace")["git_head"]
                for p in emu.objects("projects")}

    assert heads(a) == heads(b)
    assert set(heads(a).values()).isdisjoint(heads(c).values())
    pid = next(iter(heads(a)))
    assert a.deploy(pid) == b.deploy(pid)  # deploys too: chained from the old head
