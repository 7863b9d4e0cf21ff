"""Offsite snapshots against real servers: moto's S3 server on 127.0.0.1, a local folder, and
the PostgreSQL store. No client is mocked; failures are injected only into our own reading."""

from __future__ import annotations

import filecmp
import json
import logging
import os
import sqlite3
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import boto3
import dagster as dg
import pytest
from pyrage import x25519
from typer.testing import CliRunner

from looker_assets import content_types
from looker_assets.cli import app
from looker_assets.io_manager import LookerContentIOManager
from looker_assets.snapshot_job import SnapshotResource, looker_snapshot
from looker_assets.snapshots import destination as destination_module
from looker_assets.snapshots import operations
from looker_assets.snapshots.retention import Candidate, plan
from looker_assets.storage import codec
from looker_assets.storage.rows import make_row
from looker_assets.storage.store import ContentStore

GROUPS = content_types.get("groups")
FOLDERS = content_types.get("folders")
TITLE = "Quarterly Revenue Zebra"  # must never be readable in an encrypted snapshot
AWS_NAMES = [n for n in os.environ if n.startswith(("AWS_", "GOOGLE_", "AZURE_"))]


# -- servers and stores ------------------------------------------------------------------------

@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def _no_ambient_cloud_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in [*AWS_NAMES, "LOOKER_ASSETS_SNAPSHOT_URL", "LOOKER_ASSETS_SNAPSHOT_RECIPIENT",
                 "LOOKER_ASSETS_SNAPSHOT_IDENTITY"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.aws, no gcloud credentials


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch, moto_endpoint: str) -> tuple[str, object, str]:
    """A new bucket on the moto server: (its snapshot URL, a boto3 client, the bucket)."""
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": moto_endpoint,
           "AWS_ALLOW_HTTP": "true"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    bucket = f"snap-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    return f"s3://{bucket}/nightly", client, bucket


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    path = tmp_path / "offsite"
    path.mkdir()
    return path


def _sync(store: ContentStore, ct: content_types.ContentType, partition: str, rows: list,
          seen: tuple[str, ...] = ()) -> None:
    store.start_sync(ct.code, partition, {}, owner="o")
    store.write_batch(ct.code, rows, codec.now_utc(), partition, seen, owner="o")
    store.complete_sync(ct.code, partition, {}, owner="o")
    time.sleep(0.002)  # distinct moments


def _group(i: int, name: str):
    return make_row(GROUPS, str(i), {"id": str(i), "name": name, "user_count": i})


def _folder(i: int, name: str):
    return make_row(FOLDERS, str(i), {"id": str(i), "name": name, "parent_id": None})


def build_store(location: str) -> None:
    """Three syncs of two types with renames, a delete and a revival."""
    with ContentStore(location) as store:
        _sync(store, GROUPS, "p1", [_group(i, f"{TITLE} {i}") for i in range(30)])
        _sync(store, FOLDERS, "p1", [_folder(i, f"Folder {i}") for i in range(10)])
        _sync(store, GROUPS, "p2", [_group(i, f"renamed {i}") for i in range(10)],
              seen=tuple(str(i) for i in range(10, 29)))  # 29 gone
        _sync(store, FOLDERS, "p2", [_folder(3, "Moved")],
              seen=tuple(str(i) for i in range(10) if i != 3))
        _sync(store, GROUPS, "p3", [_group(29, f"{TITLE} 29")],
              seen=tuple(str(i) for i in range(29)))  # 29 back


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Path:
    path = tmp_path / "live" / "store.sqlite"
    build_store(str(path))
    return path


def cli(*args: str, code: int | None = 0) -> object:
    result = CliRunner().invoke(app, list(args))
    if code is not None:
        assert result.exit_code == code, (result.output, result.exception)
    return result


def table_rows(location: str) -> dict[str, list[tuple]]:
    """Every row of every table of a store, in a stable order, as Python values."""
    if location.startswith("postgresql://"):
        import psycopg

        with psycopg.connect(location) as conn:
            tables = [r[0] for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()")]
            out = {t: sorted(tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                             for row in conn.execute(f'SELECT * FROM "{t}"'))
                   for t in tables}
        out["store_meta"] = [r for r in out["store_meta"]
                             if r[0] not in ("application", "schema_version")]
        return out
    with sqlite3.connect(location) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'table'")]
        return {t: sorted(conn.execute(f'SELECT * FROM "{t}"')) for t in tables}


def moments(location: str) -> list[str]:
    with ContentStore(location) as store:
        return [r[0] for r in store.db.execute(
            "SELECT DISTINCT completed_at FROM sync_history ORDER BY 1")]


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# -- round trips ---------------------------------------------------------------------------------

def test_push_list_pull_round_trip_on_s3(s3, sqlite_store: Path, tmp_path: Path) -> None:
    url, _, _ = s3
    pushed = json.loads(cli("snapshot", "push", url, "--db", str(sqlite_store),
                            "--json").stdout)
    assert pushed["bytes"] > 0 and len(pushed["sha256"]) == 64
    listed = json.loads(cli("snapshot", "list", url, "--json").stdout)["snapshots"]
    assert [s["name"] for s in listed] == [pushed["name"]]
    assert set(listed[0]) >= {"name", "created_at", "bytes", "sha256"}
    target = tmp_path / "restored" / "pulled.sqlite"
    target.parent.mkdir()
    cli("snapshot", "pull", url, "latest", "--db", str(target))
    assert files(target.parent) == ["pulled.sqlite"]
    assert table_rows(str(target)) == table_rows(str(sqlite_store))
    # Every moment of the history reads back the same, through the read commands.
    for index, at in enumerate(moments(str(sqlite_store))):
        a, b = tmp_path / f"a{index}", tmp_path / f"b{index}"
        cli("export", str(a), "--db", str(sqlite_store), "--at", at)
        cli("export", str(b), "--db", str(target), "--at", at)
        compared = filecmp.dircmp(a, b)
        assert not (compared.diff_files or compared.left_only or compared.right_only)
    cli("verify", "--db", str(target))


def test_commits_still_in_the_wal_are_in_the_snapshot(sqlite_store: Path, folder: Path,
                                                      tmp_path: Path) -> None:
    with ContentStore(sqlite_store) as writer:
        writer.db.execute("PRAGMA wal_autocheckpoint = 0")
        _sync(writer, GROUPS, "p4", [_group(77, "only in the WAL")],
              seen=tuple(str(i) for i in range(30)))
        # Committed, but only in the -wal: the database file itself does not hold it yet.
        assert b"only in the WAL" in Path(f"{sqlite_store}-wal").read_bytes()
        assert b"only in the WAL" not in sqlite_store.read_bytes()
        cli("snapshot", "push", str(folder), "--db", str(sqlite_store))
    target = tmp_path / "pulled.sqlite"
    cli("snapshot", "pull", str(folder), "latest", "--db", str(target))
    with ContentStore(target) as store:
        assert store.get(GROUPS.code, "77")["name"] == "only in the WAL"


def test_postgresql_store_pushed_and_pulled_equal(postgres, folder: Path, tmp_path: Path) -> None:
    url = postgres.create_database(f"snap_{uuid.uuid4().hex[:12]}")
    build_store(url)
    with ContentStore(url) as store:
        store.db.execute("INSERT INTO store_meta (key, value) VALUES ('looker_instance', "
                         "'https://example.looker.com')")
    pushed = json.loads(cli("snapshot", "push", str(folder), "--db", url, "--json").stdout)
    manifest = json.loads((folder / f"{pushed['name']}.json").read_text())
    assert manifest["source_kind"] == "postgresql"
    assert manifest["source_instance"] == "https://example.looker.com"
    assert postgres.password not in json.dumps(manifest)
    target = tmp_path / "from_pg.sqlite"
    cli("snapshot", "pull", str(folder), pushed["name"], "--db", str(target))
    assert table_rows(str(target)) == table_rows(url)
    for at in moments(url):
        a, b = tmp_path / f"pg{at}", tmp_path / f"sq{at}"
        cli("export", str(a), "--db", url, "--at", at)
        cli("export", str(b), "--db", str(target), "--at", at)
        assert not filecmp.dircmp(a, b).diff_files


# -- damage ------------------------------------------------------------------------------------

@pytest.mark.parametrize("where", ["s3", "folder"])
def test_a_flipped_byte_is_caught_and_never_pulled(where: str, request: pytest.FixtureRequest,
                                                   sqlite_store: Path, tmp_path: Path) -> None:
    if where == "s3":
        url, client, bucket = request.getfixturevalue("s3")
    else:
        url = str(request.getfixturevalue("folder"))
    name = json.loads(cli("snapshot", "push", url, "--db", str(sqlite_store),
                          "--json").stdout)["name"]
    key = f"{name}.lksnap"
    if where == "s3":
        data = bytearray(client.get_object(Bucket=bucket, Key=f"nightly/{key}")["Body"].read())
        data[len(data) // 2] ^= 0x01
        client.put_object(Bucket=bucket, Key=f"nightly/{key}", Body=bytes(data))
    else:
        path = Path(url) / key
        data = bytearray(path.read_bytes())
        data[len(data) // 2] ^= 0x01
        path.write_bytes(bytes(data))
    cli("snapshot", "verify", url)  # sizes still agree: only reading the data can tell
    bad = cli("snapshot", "verify", url, "--read-data", code=1)
    assert name in bad.output and "damaged or altered" in bad.output
    target_dir = tmp_path / "target"
    target_dir.mkdir()
    target = target_dir / "pulled.sqlite"
    refused = cli("snapshot", "pull", url, name, "--db", str(target), code=1)
    assert "not usable" in refused.output
    assert files(target_dir) == []
    target.write_bytes(b"the file that was there")
    cli("snapshot", "pull", url, name, "--db", str(target), "--force", code=1)
    assert target.read_bytes() == b"the file that was there"
    assert files(target_dir) == ["pulled.sqlite"]


def test_an_existing_file_is_not_replaced_without_force(sqlite_store: Path, folder: Path,
                                                        tmp_path: Path) -> None:
    cli("snapshot", "push", str(folder), "--db", str(sqlite_store))
    target = tmp_path / "there.sqlite"
    target.write_bytes(b"keep me")
    result = cli("snapshot", "pull", str(folder), "latest", "--db", str(target), code=1)
    assert "--force" in result.output and target.read_bytes() == b"keep me"
    cli("snapshot", "pull", str(folder), "latest", "--db", str(target), "--force")
    assert table_rows(str(target)) == table_rows(str(sqlite_store))


# -- encryption --------------------------------------------------------------------------------

def test_encrypted_snapshots_need_the_right_identity(s3, sqlite_store: Path,
                                                     tmp_path: Path) -> None:
    url, client, bucket = s3
    identity, wrong = x25519.Identity.generate(), x25519.Identity.generate()
    key_file, wrong_file = tmp_path / "key.txt", tmp_path / "wrong.txt"
    key_file.write_text(f"# created: today\n{identity}\n")
    wrong_file.write_text(f"{wrong}\n")
    pushed = json.loads(cli("snapshot", "push", url, "--db", str(sqlite_store), "--recipient",
                            str(identity.to_public()), "--json").stdout)
    stored = {o["Key"]: client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
              for o in client.list_objects_v2(Bucket=bucket)["Contents"]}
    assert len(stored) == 2
    for body in stored.values():
        assert TITLE.encode() not in body and b"Zebra" not in body
        assert str(identity).encode() not in body and b"AGE-SECRET-KEY" not in body
    manifest = json.loads(stored[f"nightly/{pushed['name']}.json"])
    assert manifest["encryption"]["recipients"] and manifest["plaintext"] is None
    target = tmp_path / "pulled.sqlite"
    no_key = cli("snapshot", "pull", url, "latest", "--db", str(target), code=1)
    assert "is encrypted" in no_key.output and "--identity" in no_key.output
    wrong_key = cli("snapshot", "pull", url, "latest", "--db", str(target), "--identity",
                    str(wrong_file), code=1)
    assert "does not match" in wrong_key.output and str(wrong) not in wrong_key.output
    assert not target.exists() and files(tmp_path).count("pulled.sqlite") == 0
    hashed = cli("snapshot", "verify", url, "latest", "--read-data")
    assert "hash checked only" in hashed.output
    cli("snapshot", "verify", url, "--read-data", "--identity", str(key_file))
    cli("snapshot", "pull", url, "latest", "--db", str(target), "--identity", str(key_file))
    assert table_rows(str(target)) == table_rows(str(sqlite_store))


# -- bad input ---------------------------------------------------------------------------------

def test_an_interrupted_upload_leaves_no_snapshot(s3, sqlite_store: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    url, client, bucket = s3

    def failing_reader(path: Path) -> Iterator[bytes]:
        yield b"\0" * (6 * 1024 * 1024)  # one whole part goes up: a real multipart upload
        raise OSError("read error (injected)")

    monkeypatch.setattr(operations, "SINGLE_PUT_LIMIT", 0)
    monkeypatch.setattr(destination_module, "file_chunks", failing_reader)
    result = cli("snapshot", "push", url, "--db", str(sqlite_store), code=1)
    assert "injected" in result.output
    assert json.loads(cli("snapshot", "list", url, "--json", "--all").stdout) == {
        "snapshots": [], "incomplete": []}
    assert client.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    assert not client.list_multipart_uploads(Bucket=bucket).get("Uploads")
    monkeypatch.undo()
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_ENDPOINT_URL": client.meta.endpoint_url,
                        "AWS_ALLOW_HTTP": "true"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(operations, "SINGLE_PUT_LIMIT", 0)  # the multipart path, unbroken
    cli("snapshot", "push", url, "--db", str(sqlite_store))
    assert len(json.loads(cli("snapshot", "list", url, "--json").stdout)["snapshots"]) == 1


def test_missing_bucket_is_not_a_missing_snapshot(s3, sqlite_store: Path) -> None:
    url, _, _ = s3
    gone = cli("snapshot", "list", "s3://no-such-bucket-here/x", code=1)
    assert "bucket of s3://no-such-bucket-here/x does not exist" in gone.output
    push = cli("snapshot", "push", "s3://no-such-bucket-here/x", "--db", str(sqlite_store),
               code=1)
    assert "does not exist" in push.output
    missing = cli("snapshot", "pull", url, "20200101T000000Z-00000000", "--db", "x.sqlite",
                  code=3)
    assert "no snapshot named" in missing.output
    folder = cli("snapshot", "list", "/no/such/folder", code=2)
    assert "does not exist" in folder.output


@pytest.mark.parametrize("url, expected", [
    ("s3://bucket/prefix", "AWS_ACCESS_KEY_ID"),
    ("gs://bucket/prefix", "GOOGLE_APPLICATION_CREDENTIALS"),
    ("az://account/container", "AZURE_STORAGE_ACCOUNT_KEY"),
])
def test_missing_credentials_fail_fast(url: str, expected: str) -> None:
    started = time.monotonic()
    result = cli("snapshot", "list", url, code=2)
    assert time.monotonic() - started < 5
    assert "no credentials" in result.output and expected in result.output


def test_no_url_and_plain_http_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "LOOKER_ASSETS_SNAPSHOT_URL" in cli("snapshot", "list", code=2).output
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "k")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    assert "AWS_ALLOW_HTTP" in cli("snapshot", "list", "s3://bucket/p", code=2).output


def test_a_newer_format_is_listed_refused_and_kept(sqlite_store: Path, folder: Path,
                                                   tmp_path: Path) -> None:
    cli("snapshot", "push", str(folder), "--db", str(sqlite_store))
    future = "20990101T000000Z-0123abcd"
    older = "20000101T000000Z-0123abcd"
    for name in (future, older):
        (folder / f"{name}.lksnap").write_bytes(b"payload of a later release")
        (folder / f"{name}.json").write_text(json.dumps({
            "format_version": 7, "name": name, "created_at": "2000-01-01T00:00:00Z",
            "tool_version": "9.0"}))
    listed = json.loads(cli("snapshot", "list", str(folder), "--json").stdout)["snapshots"]
    assert {s["name"]: "newer release" in s.get("problem", "") for s in listed}[older]
    target = tmp_path / "x.sqlite"
    refused = cli("snapshot", "pull", str(folder), older, "--db", str(target), code=1)
    assert "needs a newer release" in refused.output and not target.exists()
    assert older in cli("snapshot", "verify", str(folder), older, code=1).output
    cli("snapshot", "prune", str(folder), "--keep-last", "1")
    assert {f"{older}.json", f"{older}.lksnap"} <= set(files(folder))


# -- prune ---------------------------------------------------------------------------------------

NOW = datetime(2026, 3, 18, 12, 0, tzinfo=UTC)  # a Wednesday


def _at(text: str) -> Candidate:
    return Candidate(text, datetime.fromisoformat(text).replace(tzinfo=UTC))


# Snapshots (newest first once sorted): two on Mar 18, one each on Mar 17, 16 (Monday),
# 15 (Sunday), 10, Feb 28, Feb 1, Jan 31; and one dated in the future.
SNAPS = ["2026-03-18T10:00", "2026-03-18T02:00", "2026-03-17T02:00", "2026-03-16T02:00",
         "2026-03-15T02:00", "2026-03-10T02:00", "2026-02-28T02:00", "2026-02-01T02:00",
         "2026-01-31T02:00", "2026-04-01T00:00"]


@pytest.mark.parametrize("keep, kept", [
    ({"last": 3}, {"2026-03-18T10:00", "2026-03-18T02:00", "2026-03-17T02:00"}),
    # One per day, newest of the day; days without a snapshot do not count.
    ({"daily": 3}, {"2026-03-18T10:00", "2026-03-17T02:00", "2026-03-16T02:00"}),
    ({"daily": 7}, {"2026-03-18T10:00", "2026-03-17T02:00", "2026-03-16T02:00",
                    "2026-03-15T02:00", "2026-03-10T02:00", "2026-02-28T02:00",
                    "2026-02-01T02:00"}),
    # Weeks run Monday to Sunday: Mar 16-18 is one week, Sunday Mar 15 the week before.
    ({"weekly": 3}, {"2026-03-18T10:00", "2026-03-15T02:00", "2026-02-28T02:00"}),
    ({"monthly": 2}, {"2026-03-18T10:00", "2026-02-28T02:00"}),
    ({"monthly": 3}, {"2026-03-18T10:00", "2026-02-28T02:00", "2026-01-31T02:00"}),
    ({"last": 1, "monthly": 3}, {"2026-03-18T10:00", "2026-02-28T02:00", "2026-01-31T02:00"}),
    ({"daily": 2, "weekly": 2}, {"2026-03-18T10:00", "2026-03-17T02:00", "2026-03-15T02:00"}),
])
def test_prune_rules(keep: dict[str, int], kept: set[str]) -> None:
    decisions = plan([_at(s) for s in SNAPS], keep, NOW)
    assert [d.name for d in decisions][:2] == ["2026-04-01T00:00", "2026-03-18T10:00"]
    by_name = {d.name: d for d in decisions}
    assert by_name["2026-04-01T00:00"].keep and by_name["2026-04-01T00:00"].reasons == [
        "dated in the future"]
    assert {d.name for d in decisions if d.keep} == kept | {"2026-04-01T00:00"}
    assert all(d.reasons for d in decisions if d.keep)


def test_prune_never_removes_the_newest_and_needs_a_rule() -> None:
    only = plan([_at("2026-03-01T00:00"), _at("2026-02-01T00:00")], {"daily": 0, "last": 0,
                                                                       "weekly": 1}, NOW)
    assert [d.keep for d in only] == [True, False] and "newest" in only[0].reasons
    with pytest.raises(ValueError, match="no --keep"):
        plan([_at("2026-03-01T00:00")], {"last": 0}, NOW)
    future_only = plan([_at("2026-05-01T00:00"), _at("2026-03-01T00:00")], {"last": 1}, NOW)
    assert all(d.keep for d in future_only)


def test_prune_command(sqlite_store: Path, folder: Path) -> None:
    names = [json.loads(cli("snapshot", "push", str(folder), "--db", str(sqlite_store),
                            "--json").stdout)["name"] for _ in range(3)]
    assert "at least one" in cli("snapshot", "prune", str(folder), code=2).output
    dry = json.loads(cli("snapshot", "prune", str(folder), "--keep-last", "2", "--dry-run",
                         "--json").stdout)
    assert len(files(folder)) == 6 and [s["keep"] for s in dry["snapshots"]] == [
        True, True, False]
    report = cli("snapshot", "prune", str(folder), "--keep-last", "2").output
    assert "remove" in report and "no rule keeps it" in report
    left = [s["name"] for s in json.loads(cli("snapshot", "list", str(folder),
                                              "--json").stdout)["snapshots"]]
    assert len(left) == 2 and len(files(folder)) == 4 and set(left) < set(names)


# -- Dagster -----------------------------------------------------------------------------------

def test_the_snapshot_asset(sqlite_store: Path, folder: Path, tmp_path: Path) -> None:
    resources = {"looker_io_manager": LookerContentIOManager(path=str(sqlite_store))}
    with dg.instance_for_test() as instance:
        result = dg.materialize([looker_snapshot], instance=instance, resources={
            **resources, "looker_snapshots": SnapshotResource(url=str(folder))})
        assert result.success
        metadata = result.asset_materializations_for_node("looker_snapshot")[0].metadata
        assert {"name", "bytes", "sha256", "seconds"} <= set(metadata)
        name = metadata["name"].value
        assert files(folder) == [f"{name}.json", f"{name}.lksnap"]
        # A destination that cannot take it fails the run; nothing is listed.
        failed = dg.materialize([looker_snapshot], instance=instance, raise_on_error=False,
                                resources={**resources, "looker_snapshots": SnapshotResource(
                                    url=str(tmp_path / "unmounted"))})
        assert not failed.success
        # No destination configured: skipped, not failed (`materialize --select '*'`).
        skipped = dg.materialize([looker_snapshot], instance=instance, resources={
            **resources, "looker_snapshots": SnapshotResource()})
        assert skipped.success
        assert not skipped.asset_materializations_for_node("looker_snapshot")
