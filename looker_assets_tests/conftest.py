"""Shared fixtures: the bundled emulator on 127.0.0.1 and a clean Dagster home."""

from __future__ import annotations

import json
import shutil
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from looker_assets.content_types import Reference
from looker_assets.emulator import Faults, LookerEmulator
from looker_assets.looker.resource import LookerResource
from looker_assets_tests.postgres_cluster import PostgresCluster

REPO = Path(__file__).resolve().parent.parent
# Today (UTC): a partition is that day's snapshot, and only a day that has not long ended can
# be captured.
PARTITION = datetime.now(UTC).strftime("%Y-%m-%d")


# Content types whose backup holds the rows of a list operation with a schema of its own, not
# the detail endpoint's (see the registry's listings).
LISTED_AS = {"groups": "GroupHierarchy"}


# Content types stored per parent object: the sub-collection request made for each parent
# (path template, query), as the registry's detail requests.
# (parent kinds, the parent's field that is the stored id (None: its key), path, query).
PER_PARENT = {
    "role_users": (("roles",), None, "/roles/{}/users",
                   {"direct_association_only": "true", "fields": "id,email"}),
    "user_attribute_group_values": (("user_attributes",), None,
                                    "/user_attributes/{}/group_values", {}),
    "content_metadata": (("folders", "boards"), "content_metadata_id", "/content_metadata/{}",
                         {}),
    "content_access": (("folders", "boards"), "content_metadata_id", "/content_metadata_access",
                       {"content_metadata_id": "{}"}),
}


# Content types reached only through ids that other objects hold: (the holders' type, where
# the ids are, as a registry Reference's field, the detail path of one).
REACHED_THROUGH = {
    "merge_queries": ("dashboards", "dashboard_elements.merge_result_id", "/merge_queries/{}"),
    "queries": ("merge_queries", "source_queries.query_id", "/queries/{}"),
}


def served(emu: LookerEmulator, name: str) -> dict[str, Any]:
    """The objects of a content type as the backup should hold them, from the emulator (for
    an immutable type, those reachable now; a backup also keeps those reachable before)."""
    if name in REACHED_THROUGH:
        holders, where, path = REACHED_THROUGH[name]
        ids = Reference(where, name)
        return {str(i): emu.api_get(path.format(i))
                for holder in served(emu, holders).values() for i in ids.values(holder)}
    if name in PER_PARENT:
        parents, field, path, query = PER_PARENT[name]
        ids = [key if field is None else obj.get(field)
               for kind in parents for key, obj in emu.objects(kind).items()]
        return {i: emu.api_get(path.format(i), **{k: v.format(i) for k, v in query.items()})
                for i in ids if i is not None}
    return emu.objects(name, LISTED_AS.get(name))


def _serve(scale: int, seed: int) -> Iterator[LookerEmulator]:
    emu = LookerEmulator(scale=scale, seed=seed, faults=Faults())
    emu.start(host="127.0.0.1", port=0)
    try:
        yield emu
    finally:
        emu.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long tests first (stable otherwise): started last, one would run alone at the end
    while the other workers idle."""
    items.sort(key=lambda item: item.get_closest_marker("long") is None)


@pytest.fixture(scope="session")
def emulator() -> Iterator[LookerEmulator]:
    """A small instance shared by the read-only tests (tests that mutate make their own)."""
    yield from _serve(600, 7)


@pytest.fixture
def fresh_emulator() -> Iterator[LookerEmulator]:
    """An instance of the test's own, free to mutate and to inject faults into."""
    yield from _serve(300, 11)


def looker_resource(emu: LookerEmulator, **overrides: object) -> LookerResource:
    config: dict[str, object] = {"base_url": emu.url, "client_id": emu.client_id,
                                 "client_secret": emu.client_secret, "verify_ssl": False}
    config.update(overrides)
    return LookerResource(**config)  # type: ignore[arg-type]


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copyfile(REPO / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def _no_ambient_looker_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests never pick up a developer's LOOKERSDK_* variables or looker.ini."""
    for name in ("LOOKERSDK_BASE_URL", "LOOKERSDK_CLIENT_ID", "LOOKERSDK_CLIENT_SECRET",
                 "LOOKERSDK_VERIFY_SSL", "LOOKERSDK_TIMEOUT", "LOOKER_ASSETS_DB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """A throwaway PostgreSQL cluster for the whole session, stopped at the end."""
    with PostgresCluster() as cluster:
        yield cluster


@pytest.fixture(params=["sqlite", "postgresql"])
def store_location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A new, empty store of each backend: a SQLite file, or a PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "store.sqlite")
    cluster: PostgresCluster = request.getfixturevalue("postgres")
    return cluster.create_database(f"t_{uuid.uuid4().hex[:16]}")


# -- restores through the CLI -------------------------------------------------------------------

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def restore_env(emu: LookerEmulator, db: str | Path) -> dict[str, str]:
    """What `looker-assets restore` reads: the emulator's LOOKERSDK_* and the store."""
    return {**emu.looker_env(), "LOOKER_ASSETS_DB": str(db), "LOOKERSDK_VERIFY_SSL": "false"}


def run_restore(emu: LookerEmulator, db: str | Path, *args: str, code: int = 0,
                extra_env: dict[str, str] | None = None) -> dict[str, Any]:
    """`looker-assets restore ARGS --json` in process; its exit status must be `code`."""
    import json
    import os

    from typer.testing import CliRunner

    from looker_assets.cli import app

    env = {**restore_env(emu, db), **(extra_env or {})}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        result = CliRunner().invoke(app, ["restore", *args, "--json"])
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert result.exit_code == code, result.output
    return json.loads(result.stdout)


def write_requests(emu: LookerEmulator) -> int:
    """Writes the emulator answered since its counters were reset (logins aside)."""
    return sum(n for (method, template), n in emu.stats.by_route.items()
               if method in WRITE_METHODS and not template.endswith("/login"))


# -- two instances, for migrations ----------------------------------------------------------


def serve_instances(target_scale: int = 100, source_scale: int = 300, seed: int = 11
                    ) -> Iterator[tuple[LookerEmulator, LookerEmulator]]:
    """(source, target) on 127.0.0.1: instance 0 and another instance of the same company
    (instance 1: the source's LookML, its own ids, users and content; scale 0: bare)."""
    source = LookerEmulator(scale=source_scale, seed=seed, faults=Faults())
    target = LookerEmulator(scale=target_scale, seed=seed, faults=Faults(), instance=1,
                            base_scale=source_scale)
    source.start(host="127.0.0.1", port=0)
    try:
        target.start(host="127.0.0.1", port=0)
        try:
            yield source, target
        finally:
            target.stop()
    finally:
        source.stop()


@pytest.fixture
def two_instances() -> Iterator[tuple[LookerEmulator, LookerEmulator]]:
    """A source (scale 300) and a small, different target (scale 100) sharing only LookML,
    some user emails (at other ids) and some folder and group names; free to mutate."""
    yield from serve_instances()


@pytest.fixture
def bare_target_instances() -> Iterator[tuple[LookerEmulator, LookerEmulator]]:
    """A source (scale 300) and a bare target: roots, four users, groups, roles, LookML."""
    yield from serve_instances(target_scale=0)


def write_looker_ini(path: Path, section: str, emu: LookerEmulator) -> Path:
    """Add (or replace) a looker-sdk style section for `emu` in the ini file at `path`."""
    import configparser

    ini = configparser.ConfigParser()
    if path.exists():
        ini.read(path, encoding="utf-8")
    ini[section] = {"base_url": emu.url, "client_id": emu.client_id,
                    "client_secret": emu.client_secret, "verify_ssl": "False"}
    with path.open("w", encoding="utf-8") as fh:
        ini.write(fh)
    return path


def sync_every_type(emu: LookerEmulator, db: Path) -> None:
    """A sync of every content type of `emu` into the SQLite store `db`, as Dagster runs it."""
    import dagster as dg

    from looker_assets.assets import CONTENT_ASSETS, IO_MANAGER_KEY
    from looker_assets.io_manager import LookerContentIOManager

    result = dg.materialize(
        CONTENT_ASSETS, partition_key=PARTITION,
        resources={"looker": looker_resource(emu, max_concurrency=4),
                   IO_MANAGER_KEY: LookerContentIOManager(path=str(db))})
    assert result.success


class Http:
    """Plain JSON calls to an emulator, for the status codes and error bodies the SDK turns
    into exceptions."""

    def __init__(self, emu: LookerEmulator) -> None:
        self.url = emu.url + "/api/4.0"
        form = f"client_id={emu.client_id}&client_secret={emu.client_secret}".encode()
        _, body = self._send("POST", "/login", form, {})
        self.token = body["access_token"]

    def _send(self, method: str, path: str, data: bytes | None,
              headers: dict[str, str]) -> tuple[int, Any]:
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            return exc.code, json.loads(raw) if raw else None

    def __call__(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        return self._send(method, path, data, {"Authorization": f"Bearer {self.token}",
                                               "Content-Type": "application/json"})

    def get(self, path: str, **query: str) -> Any:
        """GET that must answer 200; its body."""
        status, body = self("GET", path + ("?" + urllib.parse.urlencode(query) if query else ""))
        assert status == 200, (path, status, body)
        return body
