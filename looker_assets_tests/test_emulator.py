"""The Looker API 4.0 emulator, exercised through the real looker-sdk and plain HTTP."""

from __future__ import annotations

import http.client as httplib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import looker_sdk
import pytest
from looker_sdk.error import SDKError

from looker_assets.emulator import Faults, LookerEmulator
from looker_assets.emulator import spec as emu_spec

SCALE = 400


@pytest.fixture(scope="module")
def emu() -> Iterator[LookerEmulator]:
    with LookerEmulator(scale=SCALE, seed=3) as e:
        yield e


@pytest.fixture
def fresh() -> Iterator[LookerEmulator]:
    with LookerEmulator(scale=150, seed=5) as e:
        yield e


def make_sdk(emu: LookerEmulator, monkeypatch: pytest.MonkeyPatch, secret: str | None = None):
    monkeypatch.setenv("LOOKERSDK_BASE_URL", emu.url)
    monkeypatch.setenv("LOOKERSDK_CLIENT_ID", emu.client_id)
    monkeypatch.setenv("LOOKERSDK_CLIENT_SECRET", secret or emu.client_secret)
    monkeypatch.setenv("LOOKERSDK_VERIFY_SSL", "false")
    monkeypatch.setenv("LOOKERSDK_TIMEOUT", "30")
    return looker_sdk.init40()


@pytest.fixture
def sdk(emu: LookerEmulator, monkeypatch: pytest.MonkeyPatch):
    return make_sdk(emu, monkeypatch)


class Http:
    """Plain urllib client: status codes and headers the SDK hides."""

    def __init__(self, emu: LookerEmulator) -> None:
        self.emu = emu
        self.token: str | None = None

    def call(
        self, method: str, path: str, body: bytes | None = None, auth: bool = True, **hdrs: str
    ) -> tuple[int, dict[str, str], bytes]:
        headers = dict(hdrs)
        if auth:
            if self.token is None:
                self.token = self.login()
            headers.setdefault("Authorization", f"Bearer {self.token}")
        req = urllib.request.Request(self.emu.url + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def login(self) -> str:
        form = f"client_id={self.emu.client_id}&client_secret={self.emu.client_secret}".encode()
        status, _, body = self.call("POST", "/api/4.0/login", form, auth=False)
        assert status == 200, body
        return json.loads(body)["access_token"]

    def json(self, path: str) -> Any:
        status, _, body = self.call("GET", path)
        assert status == 200, (path, status, body[:300])
        return json.loads(body)


# -- typed SDK parses every endpoint ---------------------------------------------------------


def test_sdk_parses_every_endpoint(sdk, emu: LookerEmulator) -> None:
    lookml_id = next(k for k in emu.objects("dashboards") if "::" in k)
    model = sdk.all_lookml_models()[0]
    explore = model.explores[0].name
    conn = sdk.all_connections()[0].name
    calls = {
        "all_dashboards": lambda: sdk.all_dashboards(),
        "search_dashboards": lambda: sdk.search_dashboards(limit=30),
        "dashboard": lambda: sdk.dashboard("5"),
        "lookml_dashboard": lambda: sdk.dashboard(lookml_id),
        "all_looks": lambda: sdk.all_looks(),
        "search_looks": lambda: sdk.search_looks(limit=30),
        "look": lambda: sdk.look("1"),
        "all_lookml_models": lambda: sdk.all_lookml_models(limit=2, offset=1),
        "lookml_model": lambda: sdk.lookml_model(model.name),
        "lookml_model_explore": lambda: sdk.lookml_model_explore(model.name, explore),
        "all_users": lambda: sdk.all_users(limit=20),
        "search_users": lambda: sdk.search_users(limit=20),
        "user": lambda: sdk.user("2"),
        "me": lambda: sdk.me(),
        "all_roles": lambda: sdk.all_roles(),
        "search_roles": lambda: sdk.search_roles(),
        "role": lambda: sdk.role("1"),
        "all_groups": lambda: sdk.all_groups(limit=5),
        "search_groups": lambda: sdk.search_groups(),
        "group": lambda: sdk.group("1"),
        "all_permission_sets": lambda: sdk.all_permission_sets(),
        "search_permission_sets": lambda: sdk.search_permission_sets(),
        "permission_set": lambda: sdk.permission_set("1"),
        "all_model_sets": lambda: sdk.all_model_sets(),
        "search_model_sets": lambda: sdk.search_model_sets(),
        "model_set": lambda: sdk.model_set("1"),
        "all_folders": lambda: sdk.all_folders(),
        "search_folders": lambda: sdk.search_folders(limit=50),
        "folder": lambda: sdk.folder("1"),
        "lookml_folder": lambda: sdk.folder("lookml"),
        "all_boards": lambda: sdk.all_boards(),
        "search_boards": lambda: sdk.search_boards(),
        "board": lambda: sdk.board("1"),
        "all_scheduled_plans": lambda: sdk.all_scheduled_plans(all_users=True),
        "search_scheduled_plans": lambda: sdk.search_scheduled_plans(all_users=True),
        "scheduled_plan": lambda: sdk.scheduled_plan("1"),
        "search_alerts": lambda: sdk.search_alerts(all_owners=True),
        "get_alert": lambda: sdk.get_alert("1"),
        "all_user_attributes": lambda: sdk.all_user_attributes(),
        "user_attribute": lambda: sdk.user_attribute("1"),
        "all_connections": lambda: sdk.all_connections(),
        "connection": lambda: sdk.connection(conn),
        "all_projects": lambda: sdk.all_projects(),
        "project": lambda: sdk.project(sdk.all_projects()[0].id),
        "all_themes": lambda: sdk.all_themes(),
        "search_themes": lambda: sdk.search_themes(),
        "theme": lambda: sdk.theme("1"),
        "versions": lambda: sdk.versions(),
    }
    for name, call in calls.items():
        result = call()
        assert result, name
    me = sdk.me()
    assert me.id == "1" and me.credentials_api3[0].client_id == emu.client_id
    role = sdk.role(me.role_ids[0])
    assert role.permission_set.all_access and role.model_set.all_access
    explore_obj = sdk.lookml_model_explore(model.name, explore)
    assert explore_obj.id == f"{model.name}::{explore}"
    assert explore_obj.fields.dimensions and explore_obj.fields.measures
    assert {e.name for e in sdk.lookml_model(model.name).explores} == {
        k.split("::")[1] for k in emu.objects("explores") if k.startswith(model.name + "::")
    }


DETAIL_SCHEMAS = {
    "dashboards": "Dashboard",
    "looks": "LookWithQuery",
    "explores": "LookmlModelExplore",
    "lookml_models": "LookmlModel",
    "users": "User",
    "roles": "Role",
    "groups": "Group",
    "permission_sets": "PermissionSet",
    "model_sets": "ModelSet",
    "folders": "Folder",
    "boards": "Board",
    "scheduled_plans": "ScheduledPlan",
    "alerts": "Alert",
    "user_attributes": "UserAttribute",
    "connections": "DBConnection",
    "projects": "Project",
    "themes": "Theme",
    "color_collections": "ColorCollection",
}


def test_every_schema_property_present(emu: LookerEmulator) -> None:
    for kind in emu.kinds():
        schema = DETAIL_SCHEMAS[kind]
        props = set(emu_spec.properties(schema))
        objs = emu.objects(kind)
        assert len(objs) >= 2, kind
        for key, obj in objs.items():
            assert props <= obj.keys(), (kind, key, props - obj.keys())


def _conform(value: Any, node: dict[str, Any], path: str, problems: list[str]) -> None:
    """Check a value against a spec node: types, nullability, enums, nested schemas."""
    ref = emu_spec.ref_name(node)
    if ref is not None:
        if value is None:
            return  # Looker answers absent sub-objects (credentials, folder, ...) with null
        if not isinstance(value, dict):
            problems.append(f"{path}: {value!r} is not an object")
            return
        for prop, sub in emu_spec.schemas()[ref].get("properties", {}).items():
            if prop in value:
                _conform(value[prop], sub, f"{ref}.{prop}", problems)
        return
    kind = node.get("type")
    if value is None:
        if not node.get("nullable"):
            problems.append(f"{path}: null but not nullable")
        return
    ok = {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "array": isinstance(value, list),
        "object": isinstance(value, dict),
    }.get(kind, True)
    if not ok:
        problems.append(f"{path}: {value!r} is not {kind}")
        return
    enum = node.get("enum")
    for item in value if kind == "array" else [value]:
        if enum and item not in enum:
            problems.append(f"{path}: {item!r} not in enum")
    if kind == "array":
        for item in value:
            _conform(item, node.get("items", {}), f"{path}[]", problems)


def test_objects_conform_to_spec_types(emu: LookerEmulator) -> None:
    problems: list[str] = []
    for kind in emu.kinds():
        node = {"$ref": f"#/components/schemas/{DETAIL_SCHEMAS[kind]}"}
        for obj in emu.objects(kind).values():
            _conform(obj, node, kind, problems)
    assert not problems, sorted(set(problems))[:20]


def test_kinds_and_keys(emu: LookerEmulator) -> None:
    assert emu.kinds() == [
        "dashboards", "looks", "lookml_models", "explores", "users", "roles", "groups",
        "permission_sets", "model_sets", "folders", "boards", "scheduled_plans", "alerts",
        "user_attributes", "connections", "projects", "themes", "color_collections",
    ]  # fmt: skip
    for kind in emu.kinds():
        prop = "name" if kind in ("lookml_models", "connections") else "id"
        for key, obj in emu.objects(kind).items():
            assert obj[prop] == key
    assert all("::" in k for k in emu.objects("explores"))


def test_raw_json_keeps_unknown_keys(sdk, emu: LookerEmulator) -> None:
    unknown_top = unknown_nested = 0
    for kind, schema in (("dashboards", "Dashboard"), ("looks", "LookWithQuery")):
        props = set(emu_spec.properties(schema))
        for obj in emu.objects(kind).values():
            unknown_top += bool(obj.keys() - props)
            for el in obj.get("dashboard_elements") or ():
                unknown_nested += bool(el.keys() - set(emu_spec.properties("DashboardElement")))
    assert unknown_top and unknown_nested
    raw = json.loads(sdk.get("/dashboards/search", structure=str, query_params={"limit": 500}))
    assert any(obj.keys() - set(emu_spec.properties("Dashboard")) for obj in raw)
    sdk.search_dashboards(limit=500)  # the typed parse drops them without complaint


def test_realistic_content(emu: LookerEmulator) -> None:
    dashboards = emu.objects("dashboards")
    assert max(len(d["dashboard_elements"]) for d in dashboards.values()) >= 150
    titles = [d["title"] or "" for d in dashboards.values()]
    assert any(any(ord(c) > 0x1F000 for c in t) for t in titles), "emoji titles"
    assert any(d["user_id"] is None for d in dashboards.values())
    assert any(d["description"] is None for d in dashboards.values())
    users = emu.objects("users")
    folders = emu.objects("folders")
    for d in dashboards.values():
        assert d["user_id"] is None or d["user_id"] in users
        assert d["folder_id"] in folders and d["folder"]["name"]
        assert d["created_at"] is None or d["created_at"].endswith("+00:00")
    plans = emu.objects("scheduled_plans").values()
    assert all(
        p["dashboard_id"] in dashboards
        or p["look_id"] in emu.objects("looks")
        or p["lookml_dashboard_id"] in dashboards
        for p in plans
    )
    psets, msets = emu.objects("permission_sets"), emu.objects("model_sets")
    assert all(
        r["permission_set_id"] in psets and r["model_set_id"] in msets
        for r in emu.objects("roles").values()
    )


# -- auth ---------------------------------------------------------------------------------


def test_wrong_secret_fails(emu: LookerEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    bad = make_sdk(emu, monkeypatch, secret="nope")
    with pytest.raises(SDKError):
        bad.me()
    form = f"client_id={emu.client_id}&client_secret=nope".encode()
    status, _, body = Http(emu).call("POST", "/api/4.0/login", form, auth=False)
    err = json.loads(body)
    assert status == 404 and err["message"] == "Not found"
    assert err["documentation_url"].startswith("https://docs.cloud.google.com/looker/docs/r/err/")


def test_auth_forms_and_logout(emu: LookerEmulator) -> None:
    http = Http(emu)
    token = http.login()
    assert http.call("GET", "/api/4.0/user", auth=False)[0] == 401
    assert http.call("GET", "/api/4.0/user", Authorization=f"token {token}")[0] == 200
    assert http.call("GET", f"/api/4.0/user?access_token={token}", auth=False)[0] == 200
    q = f"/api/4.0/login?client_id={emu.client_id}&client_secret={emu.client_secret}"
    status, _, body = http.call("POST", q, b"", auth=False)
    assert status == 200 and json.loads(body)["token_type"] == "Bearer"
    assert json.loads(body)["expires_in"] == 3600 and json.loads(body)["refresh_token"] is None
    for path in ("/api/4.0/logout", "/api/logout"):
        tok = http.login()
        assert http.call("DELETE", path, Authorization=f"Bearer {tok}")[0] == 204
        assert http.call("GET", "/api/4.0/user", Authorization=f"Bearer {tok}")[0] == 401
    for path in ("/api/versions", "/api/4.0/versions"):
        status, _, body = http.call("GET", path, auth=False)
        assert status == 200 and json.loads(body)["current_version"]["version"] == "4.0"
    # a base_url with a trailing slash makes the SDK post to //api/4.0/login
    conn = httplib.HTTPConnection("127.0.0.1", int(emu.url.rsplit(":", 1)[1]), timeout=10)
    conn.request(
        "POST",
        "//api/4.0/login",
        body=f"client_id={emu.client_id}&client_secret={emu.client_secret}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert conn.getresponse().status == 200
    conn.close()


def test_token_expiry_causes_relogin(monkeypatch: pytest.MonkeyPatch) -> None:
    with LookerEmulator(scale=50, token_ttl=0.5) as e:
        http = Http(e)
        token = http.login()
        assert http.call("GET", "/api/4.0/user", Authorization=f"Bearer {token}")[0] == 200
        time.sleep(0.6)
        status, _, body = http.call("GET", "/api/4.0/user", Authorization=f"Bearer {token}")
        assert status == 401 and json.loads(body)["message"] == "Requires authentication."
        sdk = make_sdk(e, monkeypatch)
        e.reset_stats()
        for _ in range(3):
            sdk.me()
        # expires_in (0) is under the SDK's 10 s lag, so it logs in before every call
        assert e.stats.logins == 3


# -- listing semantics --------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, kind, extra",
    [
        ("/dashboards/search", "dashboards", ""),
        ("/looks/search", "looks", ""),
        ("/users", "users", ""),
        ("/users/search", "users", ""),
        ("/groups", "groups", ""),
        ("/folders/search", "folders", ""),
        ("/lookml_models", "lookml_models", ""),
        ("/scheduled_plans/search", "scheduled_plans", "&all_users=true"),
        ("/alerts/search", "alerts", "&all_owners=true"),
        ("/roles/search", "roles", ""),
        ("/themes/search", "themes", ""),
        ("/boards/search", "boards", ""),
    ],
)
def test_paging_covers_all_ids_once(emu: LookerEmulator, path: str, kind: str, extra: str) -> None:
    http = Http(emu)
    objs = emu.objects(kind)
    key = "name" if kind == "lookml_models" else "id"
    expected = {
        k
        for k, o in objs.items()
        if not o.get("deleted") and not (kind == "dashboards" and "::" in k)
    }
    seen: list[str] = []
    limit = 7 if kind not in ("dashboards", "looks") else 37
    offset = 0
    while True:
        sort = "" if kind in ("lookml_models", "alerts") else "&sorts=id"
        q = f"/api/4.0{path}?limit={limit}&fields={key}{sort}{extra}"
        status, headers, body = http.call("GET", q if offset == 0 else f"{q}&offset={offset}")
        assert status == 200
        assert int(headers["X-Total-Count"]) == len(expected)
        rows = json.loads(body)
        seen += [r[key] for r in rows]
        if len(rows) < limit:
            break
        offset += limit
    assert sorted(seen) == sorted(expected) and len(seen) == len(set(seen))
    if "sorts=id" in q:
        assert seen == sorted(seen, key=lambda k: (not k.isdigit(), int(k) if k.isdigit() else k))


def test_sorts(sdk, emu: LookerEmulator) -> None:
    ids = [d.id for d in sdk.search_dashboards(fields="id", sorts="id desc")]
    assert ids == sorted(ids, key=int, reverse=True)
    titles = [u.first_name for u in sdk.search_users(fields="id,first_name", sorts="first_name")]
    assert titles == sorted(titles, key=str.casefold)
    desc = sdk.search_looks(fields="id,updated_at", sorts="updated_at desc")
    assert [x.updated_at for x in desc] == sorted((x.updated_at for x in desc), reverse=True)


def test_search_filters(sdk, emu: LookerEmulator) -> None:
    dashboards = emu.objects("dashboards")
    some = next(
        d for d in dashboards.values() if d["user_id"] and not d["deleted"] and d["id"].isdigit()
    )
    by_user = sdk.search_dashboards(user_id=some["user_id"], fields="id,user_id")
    assert {d.id for d in by_user} == {
        k
        for k, d in dashboards.items()
        if d["user_id"] == some["user_id"] and not d["deleted"] and "::" not in k
    }
    assert [d.id for d in sdk.search_dashboards(id=some["id"])] == [some["id"]]
    in_folder = sdk.search_looks(folder_id="1", fields="id")
    assert all(emu.objects("looks")[x.id]["folder_id"] == "1" for x in in_folder)
    title = some["title"]
    assert some["id"] in {d.id for d in sdk.search_dashboards(title=title.upper(), fields="id")}
    prefix = title[:3].replace("%", "").replace("_", "")
    like = sdk.search_dashboards(title=f"{prefix}%", fields="id,title")
    assert some["id"] in {d.id for d in like} and all(
        d.title.lower().startswith(prefix.lower()) for d in like
    )
    two = sdk.all_users(ids=looker_sdk.models40.DelimSequence(["2", "3"]), fields="id")
    assert sorted(u.id for u in two) == ["2", "3"]


def test_trash(fresh: LookerEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    sdk = make_sdk(fresh, monkeypatch)
    trashed = {k for k, d in fresh.objects("dashboards").items() if d["deleted"]}
    assert trashed, "the generated data includes trashed dashboards"
    assert not trashed & {d.id for d in sdk.all_dashboards(fields="id")}
    assert not trashed & {d.id for d in sdk.search_dashboards(fields="id")}
    assert trashed == {d.id for d in sdk.search_dashboards(fields="id", deleted="true")}
    one = sorted(trashed)[0]
    detail = sdk.dashboard(one)
    assert detail.deleted and detail.deleted_at is not None
    fresh.restore("dashboards", one)
    assert one in {d.id for d in sdk.all_dashboards(fields="id")}
    fresh.trash("looks", "2")
    assert "2" not in {x.id for x in sdk.all_looks(fields="id")}
    assert "2" not in {x.id for x in sdk.search_looks(fields="id")}
    assert "2" in {x.id for x in sdk.search_looks(fields="id", deleted=True)}
    look = sdk.look("2")
    assert look.deleted and look.deleted_at


def test_lookml_dashboards(sdk, emu: LookerEmulator) -> None:
    listed = {d.id for d in sdk.all_dashboards(fields="id")}
    lookml = {k for k in listed if "::" in k}
    assert "thelook::business_pulse" in lookml and len(lookml) >= 3
    assert not lookml & {d.id for d in sdk.search_dashboards(fields="id")}
    d = sdk.dashboard("thelook::business_pulse")
    assert d.id == "thelook::business_pulse" and d.dashboard_elements and d.folder.name
    status, _, body = Http(emu).call("GET", "/api/4.0/dashboards/thelook%3A%3Abusiness_pulse")
    assert status == 200 and json.loads(body)["id"] == "thelook::business_pulse"


def test_all_dashboards_is_dashboard_base(sdk, emu: LookerEmulator) -> None:
    rows = json.loads(sdk.get("/dashboards", structure=str))
    base = set(emu_spec.properties("DashboardBase"))
    assert rows and all(set(r) == base for r in rows)
    folders = json.loads(sdk.get("/folders", structure=str))
    assert all(set(r) == set(emu_spec.properties("FolderBase")) for r in folders)
    looks = json.loads(sdk.get("/looks", structure=str))
    assert all(
        set(r)
        <= set(emu_spec.properties("Look"))
        | {"zz_future_flag", "experimental_settings", "x_release_notes", "x_rank"}
        for r in looks
    )
    assert all("query" not in r for r in looks)


def test_fields_projection(emu: LookerEmulator) -> None:
    http = Http(emu)
    d = http.json(
        "/api/4.0/dashboards/5?fields=id,title,folder(id,name),dashboard_elements(id,query(model,view))"
    )
    assert set(d) == {"id", "title", "folder", "dashboard_elements"}
    assert set(d["folder"]) == {"id", "name"}
    for el in d["dashboard_elements"]:
        assert set(el) == {"id", "query"}
        assert el["query"] is None or set(el["query"]) == {"model", "view"}
    rows = http.json("/api/4.0/dashboards/search?fields=id,folder(name)&limit=3")
    assert all(set(r) == {"id", "folder"} and set(r["folder"]) == {"name"} for r in rows)
    rows = http.json("/api/4.0/dashboards?fields=id,created_at")  # created_at: not DashboardBase
    assert all(set(r) == {"id"} for r in rows)
    full = emu.objects("dashboards")["5"]
    assert d["title"] == full["title"]
    status, _, _ = http.call("GET", "/api/4.0/dashboards/5?fields=id,folder(name")
    assert status == 400


def test_list_rows_equal_detail(emu: LookerEmulator) -> None:
    http = Http(emu)
    same = {
        "/users/search?limit=5": ("/users/{}", "id"),
        "/users?limit=5": ("/users/{}", "id"),
        "/roles": ("/roles/{}", "id"),
        "/groups/search?limit=5": ("/groups/{}", "id"),
        "/permission_sets": ("/permission_sets/{}", "id"),
        "/model_sets/search": ("/model_sets/{}", "id"),
        "/folders/search?limit=5": ("/folders/{}", "id"),
        "/boards": ("/boards/{}", "id"),
        "/scheduled_plans?all_users=true": ("/scheduled_plans/{}", "id"),
        "/alerts/search?all_owners=true&limit=5": ("/alerts/{}", "id"),
        "/user_attributes": ("/user_attributes/{}", "id"),
        "/connections": ("/connections/{}", "name"),
        "/projects": ("/projects/{}", "id"),
        "/themes/search": ("/themes/{}", "id"),
        "/lookml_models": ("/lookml_models/{}", "name"),
        "/dashboards/search?limit=5": ("/dashboards/{}", "id"),
    }
    for list_path, (detail, key) in same.items():
        _, _, body = http.call("GET", "/api/4.0" + list_path)
        for row in json.loads(body):
            _, _, detail_body = http.call("GET", "/api/4.0" + detail.format(row[key]))
            assert row == json.loads(detail_body), list_path
            # byte-identical, too
            assert json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode() in body


def test_schedules_and_alerts_scoping(sdk, emu: LookerEmulator) -> None:
    plans = emu.objects("scheduled_plans")
    mine = {k for k, p in plans.items() if p["user_id"] == "1"}
    assert mine and len(mine) < len(plans)
    assert {p.id for p in sdk.all_scheduled_plans()} == mine
    assert {p.id for p in sdk.all_scheduled_plans(all_users=True)} == set(plans)
    other = next(p["user_id"] for p in plans.values() if p["user_id"] != "1")
    assert {p.id for p in sdk.all_scheduled_plans(user_id=other)} == {
        k for k, p in plans.items() if p["user_id"] == other
    }
    alerts = emu.objects("alerts")
    assert {a.id for a in sdk.search_alerts(all_owners=True)} == set(alerts)
    assert {a.id for a in sdk.search_alerts()} == {
        k for k, a in alerts.items() if a["owner_id"] == "1"
    }


def test_not_found(emu: LookerEmulator) -> None:
    http = Http(emu)
    for path in (
        "/api/4.0/dashboards/999999",
        "/api/4.0/looks/abc",
        "/api/4.0/nope",
        "/api/4.0/lookml_models/thelook/explores/missing",
        "/api/4.0/connections/x",
    ):
        status, _, body = http.call("GET", path)
        err = json.loads(body)
        assert status == 404 and isinstance(err["message"], str)
        assert isinstance(err["documentation_url"], str)
    assert http.call("GET", "/api/4.0/dashboards/search?limit=x")[0] == 400


# -- determinism and mutations ------------------------------------------------------------


def test_determinism() -> None:
    a, b, c = (LookerEmulator(scale=120, seed=s) for s in (1, 1, 2))
    for kind in a.kinds():
        assert a.objects(kind) == b.objects(kind), kind
    assert a.objects("dashboards") != c.objects("dashboards")


def test_mutations(fresh: LookerEmulator) -> None:
    http = Http(fresh)
    before = fresh.objects("dashboards")["3"]
    fresh.update("dashboards", "3")
    after = http.json("/api/4.0/dashboards/3")
    assert after["updated_at"] > (before["updated_at"] or "") and after["title"] != before["title"]
    new_id = fresh.create("looks")
    assert new_id in {x["id"] for x in http.json("/api/4.0/looks?fields=id")}
    assert http.json(f"/api/4.0/looks/{new_id}")["query"]["model"]
    fresh.delete("looks", new_id)
    assert http.call("GET", f"/api/4.0/looks/{new_id}")[0] == 404
    assert fresh.create("looks") != new_id, "ids are not reused"
    fresh.update("users", "2")
    assert http.json("/api/4.0/users/2")["first_name"].endswith("✎1")
    new_explore = fresh.create("explores")
    model, name = new_explore.split("::")
    assert name in {e["name"] for e in http.json(f"/api/4.0/lookml_models/{model}")["explores"]}
    assert http.json(f"/api/4.0/lookml_models/{model}/explores/{name}")["id"] == new_explore
    for kind in fresh.kinds():  # every kind can be created and updated
        key = fresh.create(kind)
        fresh.update(kind, key)
        assert key in fresh.objects(kind)


def test_admin_routes(fresh: LookerEmulator) -> None:
    http = Http(fresh)
    http.json("/api/4.0/user")
    status, _, body = http.call("GET", "/_emulator/stats", auth=False)
    stats = json.loads(body)
    assert status == 200 and stats["requests"] >= 2 and stats["logins"] == 1
    assert stats["by_route"]["GET /api/4.0/user"] == 1 and stats["by_status"]["200"] >= 2
    assert http.call("POST", "/_emulator/stats/reset", b"", auth=False)[0] == 200
    assert fresh.stats.requests == 0
    body = json.dumps({"op": "trash", "kind": "dashboards", "id": "4"}).encode()
    status, _, out = http.call("POST", "/_emulator/mutate", body, auth=False)
    assert status == 200 and json.loads(out) == {"id": "4"}
    assert fresh.objects("dashboards")["4"]["deleted"] is True
    status, _, out = http.call(
        "POST",
        "/_emulator/mutate",
        json.dumps({"op": "create", "kind": "users"}).encode(),
        auth=False,
    )
    assert json.loads(out)["id"] in fresh.objects("users")
    body = json.dumps({"outage_after": 1, "only_paths": "^/api/4\\.0/looks"}).encode()
    assert http.call("PUT", "/_emulator/faults", body, auth=False)[0] == 200
    assert fresh.faults.outage_after == 1
    assert http.call("GET", "/api/4.0/looks/1")[0] == 503
    assert http.call("GET", "/api/4.0/users/1")[0] == 200
    assert http.call("GET", "/_emulator/stats", auth=False)[0] == 200  # never faulted
    body = json.dumps({"latency_ms": 1}).encode()
    assert http.call("PUT", "/_emulator/faults", body, auth=False)[0] == 200
    assert fresh.faults.outage_after == 1 and fresh.faults.latency_ms == 1  # merged
    assert http.call("POST", "/_emulator/faults/reset", b"", auth=False)[0] == 200
    assert fresh.faults.outage_after is None and fresh.faults.latency_ms == 0
    assert http.call("GET", "/api/4.0/looks/1")[0] == 200
    assert http.call("PUT", "/_emulator/faults", b'{"bogus": 1}', auth=False)[0] == 400
    status, _, out = http.call("GET", "/_emulator/objects/themes", auth=False)
    assert json.loads(out) == fresh.objects("themes")


# -- faults -------------------------------------------------------------------------------


def _error_body(body: bytes) -> dict[str, Any]:
    err = json.loads(body)
    assert isinstance(err["message"], str) and isinstance(err["documentation_url"], str)
    assert "docs.looker.com" not in err["documentation_url"]
    assert not err["documentation_url"].startswith("https://cloud.google.com/looker/docs/r/err")
    return err


def test_fault_latency(fresh: LookerEmulator) -> None:
    http = Http(fresh)
    http.token = http.login()
    fresh.faults.latency_ms = 120
    t = time.perf_counter()
    assert http.call("GET", "/api/4.0/users/1")[0] == 200
    assert time.perf_counter() - t >= 0.12
    fresh.faults.latency_ms = 0


def test_fault_error_rate(fresh: LookerEmulator) -> None:
    http = Http(fresh)
    http.token = http.login()
    fresh.faults.error_rate = 1.0
    statuses = set()
    for _ in range(30):
        status, _, body = http.call("GET", "/api/4.0/users/1")
        _error_body(body)
        statuses.add(status)
    assert statuses <= {500, 502, 503, 504} and len(statuses) >= 2
    fresh.faults.error_rate = 0.0
    assert http.call("GET", "/api/4.0/users/1")[0] == 200


def test_fault_rate_limit_every(fresh: LookerEmulator) -> None:
    http = Http(fresh)
    http.token = http.login()
    fresh.faults.update({"rate_limit_every": 3, "retry_after_s": 2})
    got = [http.call("GET", "/api/4.0/users/1") for _ in range(6)]
    assert [g[0] for g in got] == [200, 200, 429, 200, 200, 429]
    assert (
        got[2][1]["Retry-After"] == "2" and _error_body(got[2][2])["message"] == "Too Many Requests"
    )
    fresh.faults.update({"rate_limit_every": None, "retry_after_s": 0.2})
    fresh.faults.rate_limit_every = 1
    assert http.call("GET", "/api/4.0/users/1")[1]["Retry-After"] == "1"  # integer, rounded up
    fresh.faults.rate_limit_every = None


def test_fault_rate_limit_rps(fresh: LookerEmulator) -> None:
    http = Http(fresh)
    http.token = http.login()
    fresh.faults.rate_limit_rps = 3
    statuses = [http.call("GET", "/api/4.0/users/1")[0] for _ in range(10)]
    assert statuses[:3] == [200, 200, 200] and 429 in statuses
    fresh.faults.rate_limit_rps = None


def test_fault_outage_and_login(fresh: LookerEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    http = Http(fresh)
    http.token = http.login()
    fresh.faults.outage_after = 3
    statuses = [http.call("GET", "/api/4.0/users/1")[0] for _ in range(5)]
    assert statuses == [200, 200, 503, 503, 503]
    form = f"client_id={fresh.client_id}&client_secret={fresh.client_secret}".encode()
    status, _, body = http.call("POST", "/api/4.0/login", form, auth=False)
    assert status == 503 and _error_body(body)
    sdk = make_sdk(fresh, monkeypatch)
    with pytest.raises(SDKError):
        sdk.me()
    fresh.faults.outage_after = None
    assert sdk.me().id == "1"


def test_fault_malformed(fresh: LookerEmulator, sdk_fresh=None) -> None:
    http = Http(fresh)
    http.token = http.login()
    fresh.faults.malformed_every = 2
    results = [http.call("GET", "/api/4.0/users/1") for _ in range(6)]
    good = [r for i, r in enumerate(results) if i % 2 == 0]
    bad = [r for i, r in enumerate(results) if i % 2 == 1]
    assert all(r[0] == 200 and json.loads(r[2])["id"] == "1" for r in good)
    statuses = [r[0] for r in bad]
    assert statuses == [200, 502, 200]
    with pytest.raises(ValueError):
        json.loads(bad[0][2])  # truncated JSON
    assert bad[1][2].startswith(b"<html>") and bad[2][2].startswith(b"<html>")
    assert bad[0][1]["Content-Length"] == str(len(bad[0][2]))
    fresh.faults.malformed_every = 1
    form = f"client_id={fresh.client_id}&client_secret={fresh.client_secret}".encode()
    status, _, body = http.call("POST", "/api/4.0/login", form, auth=False)
    assert status == 200 and json.loads(body)["access_token"], "login is never malformed"
    fresh.faults.malformed_every = None


def test_fault_only_paths_and_constructor(monkeypatch: pytest.MonkeyPatch) -> None:
    faults = Faults(error_rate=1.0, only_paths=r"^/api/4\.0/looks")
    with LookerEmulator(scale=60, faults=faults) as e:
        http = Http(e)
        assert http.call("GET", "/api/4.0/users/1")[0] == 200
        assert http.call("GET", "/api/4.0/looks/1")[0] in (500, 502, 503, 504)
        assert e.faults is faults
        assert e.stats.by_status.get(200, 0) >= 2
        assert e.stats.route("GET", "/api/4.0/looks/{look_id}") == 1
        assert e.stats.route("GET", "/looks/{look_id}") == 1  # spec-style template
        assert e.stats.requests == 3 and e.stats.logins == 1
