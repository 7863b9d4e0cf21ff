"""The HTTP side: a threaded HTTP/1.1 server, auth checks, fault injection, stats, the
`/_emulator` admin routes, the `LookerEmulator` object and the command line entry point.
"""

from __future__ import annotations

import argparse
import contextlib
import http.server
import signal
import socket
import sys
import threading
import time
import traceback
import urllib.parse
from http import HTTPStatus
from typing import Any

import msgspec

from .api import API, Api, Reply, Request, error
from .auth import TokenStore, token_from
from .faults import Faults
from .kinds import KIND_NAMES
from .stats import Stats, StatsSnapshot
from .store import Store

ADMIN = "/_emulator"
_encode = msgspec.json.Encoder().encode
_REASONS = {s.value: s.phrase for s in HTTPStatus}
HTML_ERROR = (
    b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
    b"</h1></center><hr><center>nginx</center></body></html>\n"
)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "LookerEmulator/1.0"
    # Responses go out in one write; without this, Nagle + delayed ACK stall keep-alive peers.
    disable_nagle_algorithm = True
    emulator: LookerEmulator  # set on the per-server subclass

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        self.emulator._track(self.connection, True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.emulator._track(self.connection, False)

    def parse_request(self) -> bool:
        # The request line has just been read: the request has arrived (its headers are
        # parsed next, on the emulator's time, which the latency already counts).
        self.arrived = time.monotonic()
        return super().parse_request()

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _read_body(self) -> bytes:
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            n = int(length)
        except ValueError:
            return b""
        return self.rfile.read(n) if n > 0 else b""

    def _send(self, reply: Reply) -> None:
        body = reply.body if self.command != "HEAD" else b""
        lines = [
            f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Unknown')}",
            f"Content-Length: {len(reply.body)}",
        ]
        if reply.content_type:
            lines.append(f"Content-Type: {reply.content_type}")
        lines.extend(f"{k}: {v}" for k, v in reply.headers)
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head + body)

    def _serve(self) -> None:
        emu = self.emulator
        raw_path, _, raw_query = self.path.partition("?")
        if raw_path.startswith("//"):
            # base_url with a trailing slash makes the SDK ask for //api/4.0/login
            raw_path = "/" + raw_path.lstrip("/")
        body = self._read_body()
        query = {
            k: v[-1] for k, v in urllib.parse.parse_qs(raw_query, keep_blank_values=True).items()
        }
        if raw_path.startswith(ADMIN):
            self._send(emu._admin(self.command, raw_path, query, body))
            return
        delay = 0.0
        try:
            reply, template, login, delay = emu._handle(
                self.command, raw_path, query, body, self.headers)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            reply, template, login = (
                error(500, "Internal Server Error", self.command, raw_path),
                "(error)",
                False,
            )
        # Latency is the server's time to answer, its own work included: a real Looker
        # renders on its own hardware while the request is in flight, so only what is left
        # of the latency is slept (a render longer than the latency answers late).
        left = self.arrived + delay - time.monotonic()
        if left > 0:
            time.sleep(left)
        emu._stats.record(self.command, template, reply.status, login)
        self._send(reply)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients that hang up mid-response (timeouts, killed workers) are routine here.
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


DEFAULT_CLIENT_ID = "emulator-client"
DEFAULT_CLIENT_SECRET = "emulator-secret"


def looker_env(url: str, client_id: str, client_secret: str) -> dict[str, str]:
    """The LOOKERSDK_* variables that point looker-sdk (and looker_assets) at an emulator."""
    return {"LOOKERSDK_BASE_URL": url, "LOOKERSDK_CLIENT_ID": client_id,
            "LOOKERSDK_CLIENT_SECRET": client_secret, "LOOKERSDK_VERIFY_SSL": "false"}


class LookerEmulator:
    """A Looker API 4.0 server on 127.0.0.1 with deterministic content.

    `with LookerEmulator(scale=1000) as emu:` starts it (on a free port) and stops it.

    `instance=k` (k > 0) makes another Looker instance of the same company, for migration
    tests: the LookML (projects, connections, models, explores, LookML dashboards) of instance
    0 with the same seed at `base_scale` (default: `scale`), and content of its own at the same
    ids (dashboard 1 is another dashboard), users sharing an email with an instance-0 user at
    another id, users only it has, and top-level Shared folders and groups named like instance
    0's. `scale=0` gives a bare instance: roots, a few users, groups, roles and the LookML.
    The default (`instance=0`) is unchanged.
    """

    def __init__(
        self,
        scale: int = 1000,
        seed: int = 0,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        token_ttl: float = 3600.0,
        faults: Faults | None = None,
        instance: int = 0,
        base_scale: int | None = None,
    ) -> None:
        self.scale = scale
        self.seed = seed
        self.instance = instance
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_ttl = token_ttl
        self._faults = faults if faults is not None else Faults()
        self._stats = Stats()
        self._store = Store(scale, seed, client_id, instance=instance, base_scale=base_scale)
        self._tokens = TokenStore(token_ttl)
        self._api = Api(self._store, self._tokens, client_id, client_secret, lambda: self.url)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        self._url = ""

    # -- lifecycle ------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> LookerEmulator:
        if self._server is not None:
            return self
        handler = type("Handler", (_Handler,), {"emulator": self})
        server = _Server((host, port), handler)
        self._server = server
        self._url = f"http://{host}:{server.server_address[1]}"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.2},
            daemon=True,
            name=f"looker-emulator-{server.server_address[1]}",
        )
        self._thread.start()
        return self

    def looker_env(self) -> dict[str, str]:
        return looker_env(self.url, self.client_id, self.client_secret)

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._conns_lock:
            conns = list(self._conns)
        for conn in conns:  # idle keep-alive connections would otherwise linger
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> LookerEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._conns_lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    @property
    def url(self) -> str:
        """Base URL without trailing slash, e.g. http://127.0.0.1:8123 ("" before start())."""
        return self._url

    @property
    def port(self) -> int:
        return self._server.server_address[1] if self._server else 0

    # -- content --------------------------------------------------------------------------

    def kinds(self) -> list[str]:
        return list(KIND_NAMES)

    def objects(self, kind: str, schema: str | None = None) -> dict[str, dict[str, Any]]:
        """Every object of `kind` as its detail endpoint returns it (or as rows of `schema`, a
        list operation's), keyed by id (by name for lookml_models and connections,
        "model::explore" for explores)."""
        return self._store.objects(kind, schema)

    def api_get(self, path: str, **query: str) -> Any:
        """What GET /api/4.0`path` answers now (decoded JSON), without HTTP or auth; None on
        an error status. For tests that need what an endpoint returns beyond objects()."""
        route, params, _ = self._api.resolve("GET", API + path)
        if route is None:
            raise KeyError(f"no route GET {path}")
        reply = self._api.dispatch(route, Request("GET", API + path, dict(query), params, b"",
                                                  None))
        return msgspec.json.decode(reply.body) if reply.status == 200 else None

    def api(self, method: str, path: str, body: Any = None, **query: str) -> tuple[int, Any]:
        """Any API call, writes included, without HTTP, auth or faults: (status, decoded body
        or None). For tests that damage content the way a user would, e.g.
        `emu.api("PATCH", "/dashboards/5", {"deleted": True})`."""
        method = method.upper()
        route, params, _ = self._api.resolve(method, API + path)
        if route is None:
            raise KeyError(f"no route {method} {path}")
        raw = b"" if body is None else msgspec.json.encode(body)
        reply = self._api.dispatch(route, Request(method, API + path, dict(query), params, raw,
                                                  None))
        return reply.status, (msgspec.json.decode(reply.body) if reply.body else None)

    def update(self, kind: str, id: str) -> None:
        self._store.update(kind, id)

    def delete(self, kind: str, id: str) -> None:
        self._store.delete(kind, id)

    def create(self, kind: str) -> str:
        return self._store.create(kind)

    def trash(self, kind: str, id: str) -> None:
        self._store.trash(kind, id)

    def restore(self, kind: str, id: str) -> None:
        self._store.restore(kind, id)

    def drop_field(self, explore: str, name: str) -> None:
        """Remove a field from an explore's LookML, deployed (a field the content may use)."""
        self._store.drop_field(explore, name)

    def deploy(self, project_id: str) -> str:
        """Deploy a project's LookML without changing any explore or model: only its
        current_workspace git_head moves. Returns the new head."""
        return self._store.deploy(project_id)

    # -- observability and faults ---------------------------------------------------------

    @property
    def stats(self) -> StatsSnapshot:
        return self._stats.snapshot()

    def reset_stats(self) -> None:
        self._stats.reset()

    @property
    def faults(self) -> Faults:
        return self._faults

    @faults.setter
    def faults(self, value: Faults) -> None:
        self._faults = value

    def expire_tokens(self) -> None:
        """Invalidate every issued token (clients then get 401 until they log in again)."""
        self._tokens.expire_all()

    # -- request handling (called from handler threads) -----------------------------------

    def _handle(
        self, method: str, path: str, query: dict[str, str], body: bytes, headers: Any
    ) -> tuple[Reply, str, bool, float]:
        """(reply, route template, whether a login, the latency in seconds: the least time
        the answer takes from the request's arrival)."""
        route, path_params, wrong = self._api.resolve(method, path)
        template = route.template if route else (wrong or "(unmatched)")
        login = bool(route and route.login)
        faults = self._faults
        delay, action = faults.before_request(path)
        if action is not None:
            reply = error(action.status, action.message, method, template)
            if action.retry_after is not None:
                reply.headers.append(("Retry-After", str(action.retry_after)))
            return reply, template, login, delay
        if route is None:
            if wrong is not None:
                reply = error(405, "Method Not Allowed", method, wrong)
                reply.headers.append(("Allow", ", ".join(sorted(self._api.paths[wrong]))))
                return reply, template, False, delay
            return error(404, "Not found", method, path), template, False, delay
        token = token_from(headers, query)
        if route.auth and not self._tokens.valid(token):
            reply = error(401, "Requires authentication.", method, template)
            return reply, template, login, delay
        reply = self._api.dispatch(route, Request(method, path, query, path_params, body, token))
        if not login and faults.response_lost(method, path):
            return error(504, "Gateway Timeout", method, template), template, login, delay
        if reply.content and reply.status == 200 and not login:
            left_out = faults.sparse(path)
            if left_out:
                reply = _sparse(reply, left_out)
            variant = faults.malformed_variant(path)
            if variant is not None:
                reply = _malformed(reply, variant)
        return reply, template, login, delay

    def _admin(self, method: str, path: str, query: dict[str, str], body: bytes) -> Reply:
        sub = path[len(ADMIN) :].rstrip("/")
        try:
            data = msgspec.json.decode(body) if body.strip() else {}
            if method == "GET" and sub == "/stats":
                return Reply(200, _encode(self.stats.to_dict()))
            if method == "POST" and sub == "/stats/reset":
                self.reset_stats()
                return Reply(200, _encode({"ok": True}))
            if method == "GET" and sub == "/faults":
                return Reply(200, _encode(self._faults.to_dict()))
            if method in ("PUT", "PATCH") and sub == "/faults":
                # Sets the given fields and keeps the others, like Faults.update(): a run
                # started with --latency-ms keeps its latency when errors are switched on.
                self._faults.update(data)
                return Reply(200, _encode(self._faults.to_dict()))
            if method == "POST" and sub == "/faults/reset":
                self._faults.update(Faults().to_dict())
                return Reply(200, _encode(self._faults.to_dict()))
            if method == "POST" and sub == "/mutate":
                return Reply(200, _encode(self._mutate(data)))
            if method == "POST" and sub == "/tokens/expire":
                self.expire_tokens()
                return Reply(200, _encode({"ok": True}))
            if method == "GET" and sub.startswith("/objects/"):
                return Reply(200, _encode(self.objects(urllib.parse.unquote(sub[9:]))))
            if method == "GET" and sub == "/info":
                info = {
                    "url": self.url,
                    "scale": self.scale,
                    "seed": self.seed,
                    "instance": self.instance,
                    "kinds": self.kinds(),
                }
                return Reply(200, _encode(info))
        except (KeyError, ValueError, TypeError, msgspec.DecodeError) as exc:
            return Reply(400, _encode({"message": str(exc), "documentation_url": ""}))
        return Reply(404, _encode({"message": "Not found", "documentation_url": ""}))

    def _mutate(self, data: dict[str, Any]) -> dict[str, Any]:
        op, kind, key = data.get("op"), data.get("kind"), data.get("id")
        if op == "create":
            return {"id": self.create(str(kind))}
        if op == "deploy":
            if kind not in (None, "projects"):
                raise ValueError('deploy takes kind "projects"')
            if key is None:
                raise ValueError("id is required")
            return {"id": str(key), "git_head": self.deploy(str(key))}
        if op not in ("update", "delete", "trash", "restore"):
            raise ValueError(f"unknown op {op!r}")
        if key is None:
            raise ValueError("id is required")
        getattr(self, str(op))(str(kind), str(key))
        return {"id": str(key)}


def _sparse(reply: Reply, keys: tuple[str, ...]) -> Reply:
    rows = msgspec.json.decode(reply.body)
    if not isinstance(rows, list):
        return reply
    rows = [{k: v for k, v in row.items() if k not in keys} if isinstance(row, dict) else row
            for row in rows]
    return Reply(200, msgspec.json.encode(rows), headers=reply.headers, content=True)


def _malformed(reply: Reply, variant: str) -> Reply:
    if variant == "truncated_json":
        return Reply(200, reply.body[: max(1, len(reply.body) // 2)], headers=reply.headers)
    if variant == "html_502":
        return Reply(502, HTML_ERROR, content_type="text/html")
    return Reply(200, HTML_ERROR, content_type="text/html")


# -- command line ---------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m looker_assets.emulator", description="Serve an emulated Looker API 4.0."
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8123, help="0 picks a free port")
    p.add_argument("--scale", type=int, default=10000,
                   help="about how many objects in total (0: a bare instance)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--instance", type=int, default=0,
                   help="another instance of the same company (1, 2, ...): the LookML of "
                        "instance 0, content, ids and users of its own (for migrations)")
    p.add_argument("--base-scale", type=int, default=None,
                   help="with --instance: the scale of the instance 0 whose LookML and names "
                        "it shares (default --scale)")
    p.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    p.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    p.add_argument("--token-ttl", type=float, default=3600.0, help="seconds")
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--latency-jitter-ms", type=float, default=0.0)
    p.add_argument("--error-rate", type=float, default=0.0)
    p.add_argument("--rate-limit-every", type=int, default=None)
    p.add_argument("--rate-limit-rps", type=float, default=None)
    p.add_argument("--retry-after-s", type=int, default=1)
    p.add_argument("--outage-after", type=int, default=None)
    p.add_argument("--malformed-every", type=int, default=None)
    p.add_argument("--only-paths", default=None, help="regex: faults only for matching paths")
    p.add_argument("--fault-seed", type=int, default=0)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run until SIGTERM/SIGINT; prints `LOOKER EMULATOR READY <url>` once listening."""
    args = build_parser().parse_args(argv)
    faults = Faults(
        latency_ms=args.latency_ms,
        latency_jitter_ms=args.latency_jitter_ms,
        error_rate=args.error_rate,
        rate_limit_every=args.rate_limit_every,
        rate_limit_rps=args.rate_limit_rps,
        retry_after_s=args.retry_after_s,
        outage_after=args.outage_after,
        malformed_every=args.malformed_every,
        only_paths=args.only_paths,
        seed=args.fault_seed,
    )
    emu = LookerEmulator(
        scale=args.scale,
        seed=args.seed,
        client_id=args.client_id,
        client_secret=args.client_secret,
        token_ttl=args.token_ttl,
        faults=faults,
        instance=args.instance,
        base_scale=args.base_scale,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    emu.start(args.host, args.port)
    print(f"LOOKER EMULATOR READY {emu.url}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        emu.stop()
    return 0


__all__ = ["API", "LookerEmulator", "main"]
