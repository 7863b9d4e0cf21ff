"""Bad input gets a clear, fast error, leaks no secret and loses nothing."""

from __future__ import annotations

import base64
import datetime
import http.server
import ipaddress
import socket
import ssl
import threading
import time
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import urllib3

from looker_assets import content_types
from looker_assets.assets import IO_MANAGER_KEY, build_content_asset
from looker_assets.emulator import LookerEmulator
from looker_assets.io_manager import LookerContentIOManager
from looker_assets.looker.client import ClientConfig, LookerClient
from looker_assets.looker.errors import LookerConnectionError, LookerError
from looker_assets.looker.resource import LookerResource
from looker_assets.storage.store import ContentStore
from looker_assets_tests.conftest import PARTITION, looker_resource

USERS = content_types.get("users")


def _failure_text(result: dg.ExecuteInProcessResult) -> str:
    texts = []
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            error = event.step_failure_data.error
            texts.append(error.to_string())
    assert texts, "the run should have failed with a step failure"
    return "\n".join(texts)


def _run(resource: LookerResource, db: Path, retry: bool = True) -> dg.ExecuteInProcessResult:
    asset = build_content_asset(USERS) if retry else build_content_asset(USERS, None)
    return dg.materialize(
        [asset], partition_key=PARTITION, raise_on_error=False,
        resources={"looker": resource, IO_MANAGER_KEY: LookerContentIOManager(path=str(db))},
    )


def _requests(emu: LookerEmulator) -> int:
    return int(emu.stats["requests"])


def test_wrong_credentials_fail_at_once_without_the_secret(
        fresh_emulator: LookerEmulator, tmp_path: Path) -> None:
    secret = "s3cret-that-must-not-leak-42"
    fresh_emulator.reset_stats()
    started = time.monotonic()
    # The asset keeps its RetryPolicy: an auth failure must not be retried by the step either.
    result = _run(looker_resource(fresh_emulator, client_secret=secret), tmp_path / "db.sqlite")
    elapsed = time.monotonic() - started
    assert not result.success
    text = _failure_text(result)
    assert "LOOKERSDK_CLIENT_ID" in text and "LOOKERSDK_CLIENT_SECRET" in text
    assert "rejected" in text
    assert secret not in text
    assert elapsed < 10, f"took {elapsed:.1f}s: credentials errors must not be retried"
    assert _requests(fresh_emulator) <= 2, "one login attempt, no retry storm"
    for event in result.all_events:
        assert secret not in str(event), "the secret reached Dagster's event log"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_host_fails_after_bounded_retries_naming_the_url(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    resource = LookerResource(base_url=url, client_id="id", client_secret="secret-x",
                              verify_ssl=False)
    started = time.monotonic()
    result = _run(resource, tmp_path / "db.sqlite", retry=False)
    elapsed = time.monotonic() - started
    assert not result.success
    text = _failure_text(result)
    assert url in text and "cannot reach Looker" in text
    assert "secret-x" not in text
    assert elapsed < 15, f"took {elapsed:.1f}s"


def test_unwritable_database_fails_before_any_api_call(
        fresh_emulator: LookerEmulator, tmp_path: Path) -> None:
    (tmp_path / "not_a_dir").write_text("x")
    db = tmp_path / "not_a_dir" / "looker.sqlite"
    fresh_emulator.reset_stats()
    result = _run(looker_resource(fresh_emulator), db)
    assert not result.success
    assert str(db) in _failure_text(result)
    assert _requests(fresh_emulator) == 0


def test_failed_sync_deletes_nothing(fresh_emulator: LookerEmulator, tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    assert _run(looker_resource(fresh_emulator), db).success
    with ContentStore(db) as store:
        before = store.counts()[USERS.code]
    # Looker fails part way through the paged listing: pages of 5, an outage from the 4th
    # request on (login, pre-flight, then pages). What was not listed must not be deleted.
    fresh_emulator.faults.outage_after = 6
    try:
        result = _run(looker_resource(fresh_emulator, page_size=5, max_attempts=2,
                                      max_retry_seconds=5), db, retry=False)
    finally:
        fresh_emulator.faults.outage_after = None
    assert not result.success
    assert "503" in _failure_text(result)
    with ContentStore(db) as store:
        assert 0 < len(store.progress_ids(USERS.code, PARTITION)) < before["active"]
        assert store.counts()[USERS.code] == before


def test_object_skipped_by_the_listing_is_confirmed_not_deleted(
        fresh_emulator: LookerEmulator, tmp_path: Path) -> None:
    """Offset paging over a live instance can skip a row; a skipped row is not gone."""
    from looker_assets.looker.extract import ContentStream
    from looker_assets.sync import run_sync

    db = tmp_path / "db.sqlite"
    assert _run(looker_resource(fresh_emulator), db).success
    victim = sorted(fresh_emulator.objects("users"))[3]

    class SkippingListing(ContentStream):
        """The listing loses one row, as a page boundary shifted by a concurrent delete does."""

        def _first_sighting(self, id_: str) -> bool:
            return id_ != victim and super()._first_sighting(id_)

    with ContentStore(db) as store:
        # A row for an object that really is gone from Looker (404 on its lookup).
        store.conn.execute("UPDATE content_items SET id = 'ghost-1' WHERE content_type = ? "
                           "AND id = ?", (USERS.code, sorted(fresh_emulator.objects("users"))[4]))
        client = looker_resource(fresh_emulator).get_client()
        result = run_sync(SkippingListing(client, USERS), store, "2026-11-28")
        active = store.active_ids(USERS.code)
    assert result.kept == 1, "the skipped user was looked up and found alive"
    assert result.deleted == 1, "only the row Looker answers 404 for is soft-deleted"
    assert victim in active and "ghost-1" not in active
    assert active == set(fresh_emulator.objects("users"))


@pytest.mark.parametrize("name", ["nope", "dashboard"])
def test_unknown_content_type_lists_valid_names(name: str) -> None:
    with pytest.raises(content_types.UnknownContentType) as info:
        content_types.get(name)
    assert "dashboards" in str(info.value) and "scheduled_plans" in str(info.value)


def test_preflight_names_missing_permissions(fresh_emulator: LookerEmulator,
                                             tmp_path: Path) -> None:
    from looker_assets.looker.preflight import run_preflight

    client = looker_resource(fresh_emulator).get_client()
    checked = run_preflight(client)
    assert checked.looker_release and checked.api_user_id
    assert checked.all_access and checked.missing(USERS.permissions) == []
    # The same user without an admin role: what a non-admin backup would miss is named.
    checked.all_access = False
    checked.permissions.discard("see_users")
    assert checked.missing(USERS.permissions) == ["see_users"]
    result = _run(looker_resource(fresh_emulator), tmp_path / "db.sqlite")
    meta = result.get_asset_materialization_events()[0].materialization.metadata
    assert meta["looker_release"].value == checked.looker_release
    assert meta["missing_permissions"].value == "none"


_PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                    "ALL_PROXY", "no_proxy", "NO_PROXY")


def _unset(monkeypatch: pytest.MonkeyPatch, *more: str) -> None:
    """No proxy (nor `more`) from the machine's environment reaches the client under test."""
    for name in (*_PROXY_VARIABLES, *more):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("bypass", [False, True])
def test_proxy_environment_is_honoured(emulator: LookerEmulator, monkeypatch: pytest.MonkeyPatch,
                                       bypass: bool) -> None:
    """The client reads HTTP(S)_PROXY / NO_PROXY once, not per request; it still obeys them."""
    _unset(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{_closed_port()}")
    if bypass:
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    client = LookerClient(ClientConfig(base_url=emulator.url, client_id=emulator.client_id,
                                       client_secret=emulator.client_secret, verify_ssl=False,
                                       max_attempts=1, transport_retries=0))
    try:
        if bypass:
            assert client.get_json("/user", {"fields": "id"})["id"]
        else:
            with pytest.raises(LookerConnectionError, match="cannot reach Looker"):
                client.get_json("/user", {"fields": "id"})
    finally:
        client.close()


class _Recorder(http.server.ThreadingHTTPServer):
    """A server on 127.0.0.1 that records each request's line and headers, and answers with
    `answer(handler)`: a forwarding proxy or a redirect, for the transport's edge cases."""

    daemon_threads = True

    def __init__(self, answer: Any) -> None:
        self.seen: list[tuple[str, Any]] = []  # (request line, headers: case-insensitive)
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                recorder.seen.append((self.requestline, self.headers))
                answer(self)

            do_POST = do_GET

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"


def _forward(handler: http.server.BaseHTTPRequestHandler) -> None:
    """A plain HTTP proxy: the request line carries the whole URL."""
    length = int(handler.headers.get("Content-Length") or 0)
    body = handler.rfile.read(length) if length else None
    headers = {k: v for k, v in handler.headers.items()
               if k.lower() not in ("proxy-authorization", "host", "connection")}
    answer = urllib3.request(handler.command, handler.path, body=body, headers=headers,
                             redirect=False, retries=False)
    handler.send_response(answer.status)
    handler.send_header("Content-Type", answer.headers.get("Content-Type", "application/json"))
    handler.send_header("Content-Length", str(len(answer.data)))
    handler.end_headers()
    handler.wfile.write(answer.data)


def _client(url: str, **config: Any) -> LookerClient:
    return LookerClient(ClientConfig(base_url=url, client_id="id", client_secret="secret-x",
                                     verify_ssl=False, max_attempts=1, **config))


@pytest.mark.parametrize("form", ["credentials", "no scheme"])
def test_a_proxy_from_the_environment_is_used_with_its_credentials(
        emulator: LookerEmulator, monkeypatch: pytest.MonkeyPatch, form: str) -> None:
    """HTTP_PROXY's user and password reach the proxy (Proxy-Authorization), and a proxy given
    without a scheme is taken as http://, as requests did: neither is silently dropped."""
    proxy = _Recorder(_forward)
    try:
        _unset(monkeypatch)
        monkeypatch.setenv("HTTP_PROXY", f"http://ops:p%40ss@{proxy.address}"
                           if form == "credentials" else proxy.address)
        client = LookerClient(ClientConfig(
            base_url=emulator.url, client_id=emulator.client_id,
            client_secret=emulator.client_secret, verify_ssl=False, max_attempts=1))
        try:
            assert client.get_json("/user", {"fields": "id"})["id"]
        finally:
            client.close()
        lines = [line for line, _ in proxy.seen]
        assert any(line.startswith(f"POST {emulator.url}/api/4.0/login") for line in lines)
        assert any(line.startswith(f"GET {emulator.url}/api/4.0/user") for line in lines)
        auth = {headers.get("Proxy-Authorization") for _, headers in proxy.seen}
        expected = "Basic " + base64.b64encode(b"ops:p@ss").decode()
        assert auth == ({expected} if form == "credentials" else {None})
    finally:
        proxy.shutdown()


def test_a_proxy_of_another_kind_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    _unset(monkeypatch)
    monkeypatch.setenv("ALL_PROXY", f"socks5://127.0.0.1:{_closed_port()}")
    with pytest.raises(LookerConnectionError, match=r"socks5://.*HTTPS_PROXY"):
        _client(f"http://127.0.0.1:{_closed_port()}")


def test_a_redirect_is_not_followed_and_says_where_it_points(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A base URL Looker redirects from fails at once, naming where it points: a followed
    redirect would re-send a POST and spend a transport retry."""
    _unset(monkeypatch)

    def redirect(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.send_response(301)
        handler.send_header("Location", "https://looker.example.com/api/4.0/login")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    server = _Recorder(redirect)
    try:
        client = _client(f"http://{server.address}")
        with pytest.raises(LookerError, match=r"redirected to https://looker\.example\.com"):
            client.get_json("/user")
        assert len(server.seen) == 1  # the login, sent once
        assert client.stats.retries == 0
    finally:
        server.shutdown()


def test_transport_retries_count_each_attempt_once() -> None:
    """Against a closed port with 2 transport retries: 3 attempts, 2 of them retries."""
    client = _client(f"http://127.0.0.1:{_closed_port()}", transport_retries=2)
    with pytest.raises(LookerConnectionError):
        client.get_json("/user")
    assert (client.stats.requests, client.stats.retries) == (3, 2)


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, made here (PEM files)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "looker-assets test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
@pytest.mark.parametrize("case", ["bundle", "no bundle", "verify off"])
def test_tls_is_verified_against_the_ca_bundle_the_environment_names(
        emulator: LookerEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        case: str) -> None:
    """Looker over HTTPS (a TLS front for the emulator with a certificate made here): with
    verify_ssl the client trusts REQUESTS_CA_BUNDLE, and refuses the certificate without it
    (certifi's bundle); with verify_ssl off it connects either way."""
    cert, key = _self_signed(tmp_path)

    def reverse(handler: http.server.BaseHTTPRequestHandler) -> None:
        handler.path = emulator.url + handler.path
        _forward(handler)

    front = _Recorder(reverse)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    front.socket = context.wrap_socket(front.socket, server_side=True)
    try:
        _unset(monkeypatch, "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
        if case == "bundle":
            monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
        client = LookerClient(ClientConfig(
            base_url=f"https://{front.address}", client_id=emulator.client_id,
            client_secret=emulator.client_secret, verify_ssl=case != "verify off",
            max_attempts=1, transport_retries=0))
        try:
            if case == "no bundle":
                with pytest.raises(LookerConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
                    client.get_json("/user", {"fields": "id"})
                assert front.seen == []  # the handshake failed: nothing was sent
            else:
                assert client.get_json("/user", {"fields": "id"})["id"]
                assert any(line.startswith("GET /api/4.0/user") for line, _ in front.seen)
        finally:
            client.close()
    finally:
        front.shutdown()


@pytest.mark.parametrize("name", ["groups", "content_access"])
def test_a_skipped_object_is_kept_in_the_form_the_type_stores(
        fresh_emulator: LookerEmulator, tmp_path: Path, name: str) -> None:
    """A row the listing skipped is looked up, then stored as the listing (groups: with their
    parents and roles) or the detail (access entries, not the metadata lookup) gives it."""
    import json

    from looker_assets.looker.extract import ContentStream
    from looker_assets.sync import run_sync
    from looker_assets_tests.conftest import served

    ct = content_types.get(name)
    expected = served(fresh_emulator, name)
    victim = sorted(expected)[2]

    class SkippingListing(ContentStream):
        def _first_sighting(self, id_: str) -> bool:
            return id_ != victim and super()._first_sighting(id_)

    looker = looker_resource(fresh_emulator)
    with ContentStore(tmp_path / "db.sqlite") as store:
        run_sync(looker.stream(ct), store, "2026-11-27")
        result = run_sync(SkippingListing(looker.get_client(), ct), store, "2026-11-28")
        assert result.kept == 1 and result.deleted == 0
        assert json.dumps(store.get(ct.code, victim), sort_keys=True) == json.dumps(
            expected[victim], sort_keys=True)
