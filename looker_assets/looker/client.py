"""A thin client over the official looker-sdk that returns Looker's JSON exactly as sent.

The SDK does the auth (login form, token expiry), settings (LOOKERSDK_* variables, looker.ini)
and query encoding, over a transport of its `Transport` interface (looker/transport.py: urllib3,
not the SDK's default requests). What it does not do, this module adds:
- raw JSON: requests go through the SDK's transport and come back as the bytes Looker sent,
  skipping the SDK's models (which drop unknown keys) and its error parsing (which fetches
  error docs from the internet);
- writes (POST/PATCH/PUT/DELETE) with a JSON body, a POST never re-sent blindly;
- status codes: the SDK's errors carry none, so the transport hands each answer's status and
  Retry-After to the thread that made the request;
- retries in layers: urllib3 at the transport (connect errors; 502/503/504 except for
  POST), tenacity at the application (429 honouring Retry-After, 5xx, bounded), one re-login
  on 401;
- a connection pool as large as the detail fan-out;
- errors that say what to fix and never carry a secret.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import looker_sdk
import msgspec
from looker_sdk import error as sdk_error
from looker_sdk.rtl import api_settings, auth_session, auth_token, serialize, transport
from looker_sdk.sdk.api40 import methods as methods40
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential_jitter,
)
from urllib3.util.retry import Retry

from looker_assets.looker.budget import RequestBudget
from looker_assets.looker.errors import (
    LookerAuthError,
    LookerConnectionError,
    LookerError,
    LookerNotFound,
    LookerResponseError,
    LookerRetryableError,
)
from looker_assets.looker.throttle import RequestGate
from looker_assets.looker.transport import ProxyError, Urllib3Transport

log = logging.getLogger(__name__)

CREDENTIAL_HINT = (
    "check LOOKERSDK_BASE_URL, LOOKERSDK_CLIENT_ID and LOOKERSDK_CLIENT_SECRET "
    "(or the looker.ini file / the resource config)"
)


@dataclass(frozen=True)
class ClientConfig:
    """How to reach Looker. None means: take it from LOOKERSDK_* variables or looker.ini."""

    base_url: str | None = None
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    verify_ssl: bool | None = None
    timeout: int | None = None
    ini_file: str = "looker.ini"
    max_concurrency: int = 8
    # Optional cap shared by every thread of the client (a step); None = no cap.
    requests_per_second: float | None = None
    # Application-level retries (429, 5xx, malformed bodies): attempts and a total time bound.
    max_attempts: int = 6
    max_retry_seconds: float = 120.0
    retry_initial_delay: float = 0.5
    retry_max_delay: float = 30.0
    # Transport-level retries (connect errors, 502/503/504) inside one attempt.
    transport_retries: int = 2


class _Settings(api_settings.ApiSettings):
    """ApiSettings whose explicit values win over looker.ini and the LOOKERSDK_* variables.

    The SDK reads credentials through read_config() at every login, so the secret lives here
    and nowhere else: not in logs, run config or the database.
    """

    def __init__(self, config: ClientConfig) -> None:
        self._explicit = {
            "base_url": config.base_url,
            "client_id": config.client_id,
            "client_secret": config.client_secret,
            "verify_ssl": None if config.verify_ssl is None else str(config.verify_ssl),
            "timeout": None if config.timeout is None else str(config.timeout),
        }
        super().__init__(filename=config.ini_file, env_prefix="LOOKERSDK",
                         sdk_version=looker_sdk.__version__ if hasattr(looker_sdk, "__version__")
                         else "")
        # The SDK joins paths onto base_url; a trailing slash would give `//api/4.0/login`.
        self.base_url = (self.base_url or "").rstrip("/")

    def read_config(self) -> api_settings.SettingsConfig:
        data = dict(super().read_config())
        for key, value in self._explicit.items():
            if value is not None:
                data[key] = value
        return data  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"_Settings(base_url={self.base_url!r})"


@dataclass
class _LastResponse:
    path: str = ""
    status: int | None = None
    retry_after: float | None = None


# What a request is for, so that a run's cost can be read by kind: a listing page, one object's
# detail, a change signal (what tells whether a stored copy is current), a pre-flight check, a
# write, a login.
REQUEST_KINDS = ("list", "detail", "signal", "check", "write", "login")


@dataclass
class ClientStats:
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    relogins: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, int]:
        counts = {k: v for k, v in self.__dict__.items() if k != "by_kind"}
        counts.update({f"requests_{kind}": self.by_kind.get(kind, 0) for kind in REQUEST_KINDS})
        return counts


@dataclass
class RunShare:
    """What the steps of one run share in a process: its request budget, and what is read once
    per run (the pre-flight, a change signal's answers) whichever step needs it first."""

    budget: RequestBudget | None = None
    memo: dict[str, Any] = field(default_factory=dict)
    # Reentrant: what is made once may itself ask for something made once.
    lock: threading.RLock = field(default_factory=threading.RLock)

    def once(self, key: str, make: Callable[[], Any]) -> Any:
        """`make()` the first time `key` is asked for in this run, its answer after that."""
        with self.lock:
            if key not in self.memo:
                self.memo[key] = make()
            return self.memo[key]


class ClientScope:
    """One consumer's view of a shared client (one content type's sync): the same session,
    login and request gate, with counts of its own and, optionally, what it shares with the
    other steps of its run (the request budget among them)."""

    def __init__(self, client: LookerClient, run: RunShare | None = None) -> None:
        self.client = client
        self.run = run
        self.stats = ClientStats()

    @property
    def budget(self) -> RequestBudget | None:
        return None if self.run is None else self.run.budget

    @property
    def base_url(self) -> str:
        return self.client.base_url

    @property
    def gate(self) -> RequestGate:
        return self.client.gate

    @property
    def last_body_size(self) -> int:
        return self.client.last_body_size

    def get_json(self, path: str, params: Mapping[str, Any] | None = None, *,
                 kind: str = "detail") -> Any:
        return self.client.get_json(path, params, kind=kind, scope=self)

    def get_json_array(self, path: str, params: Mapping[str, Any] | None = None, *,
                       kind: str = "list") -> list[msgspec.Raw]:
        return self.client.get_json_array(path, params, kind=kind, scope=self)

    def close(self) -> None:
        """The client is shared: it outlives this scope."""


class LookerClient:
    """Raw-JSON GETs against Looker API 4.0, safe to share between threads."""

    def __init__(self, config: ClientConfig) -> None:
        self.config = config
        try:
            settings = _Settings(config)
        except FileNotFoundError as exc:
            raise LookerError(f"Looker settings: {exc}") from None
        if not settings.base_url:
            raise LookerAuthError(f"no Looker base URL configured; {CREDENTIAL_HINT}")
        if not urlsplit(settings.base_url).scheme:
            raise LookerAuthError(
                f"Looker base URL {settings.base_url!r} has no scheme; use https://host:port"
            )
        self.base_url = settings.base_url
        self._local = threading.local()
        self._stats_lock = threading.Lock()
        self._login_lock = threading.Lock()
        self.stats = ClientStats()
        self.gate = RequestGate(config.max_concurrency, config.requests_per_second)
        # One Retrying for all threads: tenacity keeps each call's state thread-local.
        self._retrying = Retrying(
            retry=retry_if_exception_type(LookerRetryableError),
            stop=stop_after_attempt(config.max_attempts)
            | stop_after_delay(config.max_retry_seconds),
            wait=self._wait,
            reraise=True,
            before_sleep=self._before_retry,
        )
        try:
            self.sdk = self._sdk(settings)
        except ProxyError as exc:
            raise LookerConnectionError(str(exc)) from None

    # -- the SDK and its transport ---------------------------------------------------------

    def _sdk(self, settings: _Settings) -> methods40.Looker40SDK:
        """looker-sdk's API 4.0 object, as looker_sdk.init40 builds it, on our transport."""
        http = Urllib3Transport(settings, gate=self.gate, retries=self._transport_retry(),
                                pool_size=max(10, self.config.max_concurrency + 2),
                                on_answer=self._on_answer)
        return methods40.Looker40SDK(
            auth_session.AuthSession(settings, http, serialize.deserialize40, "4.0"),
            serialize.deserialize40, serialize.serialize40, http, "4.0")

    def _transport_retry(self) -> Retry:
        retry = _TransportRetry(
            total=self.config.transport_retries,
            connect=self.config.transport_retries,
            read=0,
            status=self.config.transport_retries,
            status_forcelist=(502, 503, 504),
            # Every method but POST: a POST that got a 502-504 may have been carried out, and
            # sent again it would make a second object (connect errors, where nothing was
            # sent, are retried for every method).
            allowed_methods=frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"}),
            backoff_factor=0.3,
            # Retry-After (and so 429, which is not in the forcelist) is the application
            # layer's: bounded there, seen by the counters and the adaptive concurrency, and
            # no sleeping here while holding a slot of the concurrency gate.
            respect_retry_after_header=False,
            raise_on_status=False,
        )
        retry.on_attempt = self._on_transport_attempt
        return retry

    def _each_stats(self) -> list[ClientStats]:
        """The counters a request of this thread adds to: the client's and its scope's."""
        scope: ClientScope | None = getattr(self._local, "scope", None)
        return [self.stats] if scope is None else [self.stats, scope.stats]

    def _spend(self, kind: str) -> None:
        scope: ClientScope | None = getattr(self._local, "scope", None)
        with self._stats_lock:
            for stats in self._each_stats():
                stats.requests += 1
                stats.by_kind[kind] = stats.by_kind.get(kind, 0) + 1
        if scope is not None and scope.budget is not None:
            scope.budget.spend()

    def _on_transport_attempt(self, retried: bool) -> None:
        self._spend(getattr(self._local, "kind", "detail"))
        if retried:
            with self._stats_lock:
                for stats in self._each_stats():
                    stats.retries += 1

    def _on_answer(self, url: str, status: int, retry_after: str | None) -> None:
        last = _LastResponse(path=urlsplit(url).path, status=status,
                             retry_after=_parse_retry_after(retry_after))
        login = last.path.endswith("/login")
        if login:
            # The SDK logs in by itself inside a GET when its token is about to expire: keep
            # that response apart, so a GET that then gets no answer is not read as a login.
            self._local.login = last
        else:
            self._local.last = last
        self._spend("login" if login else getattr(self._local, "kind", "detail"))
        if status == 429:
            self._count("rate_limited")

    def _count(self, attr: str) -> None:
        with self._stats_lock:
            for stats in self._each_stats():
                setattr(stats, attr, getattr(stats, attr) + 1)

    # -- auth ------------------------------------------------------------------------------

    def _ensure_login(self) -> None:
        """Log in once for all threads, so an expired token does not cause a login storm."""
        if self.sdk.auth.is_authenticated:
            return
        with self._login_lock:
            if self.sdk.auth.is_authenticated:
                return
            self._local.login = None
            try:
                self.sdk.auth.authenticate({})
            except sdk_error.SDKError as exc:
                raise self._login_error(_message(exc)) from None

    def _login_error(self, message: str) -> LookerError:
        last: _LastResponse | None = getattr(self._local, "login", None)
        if last is None or last.status is None:
            return self._connection_error("POST /api/4.0/login", message)
        if last.status == 429 or last.status >= 500:
            return LookerRetryableError(
                f"Looker login answered HTTP {last.status}", retry_after=last.retry_after,
                status=last.status)
        if 300 <= last.status < 400:
            return LookerConnectionError(
                f"Looker login (POST {self.base_url}/api/4.0/login) answered HTTP "
                f"{last.status}, {_redact(message)[:300]}", status=last.status)
        if "credentials not found" in message.lower():
            return LookerAuthError(f"no Looker API credentials configured; {CREDENTIAL_HINT}")
        return LookerAuthError(
            f"Looker rejected the API credentials (HTTP {last.status} from POST "
            f"{self.base_url}/api/4.0/login); {CREDENTIAL_HINT}", status=last.status)

    def _relogin(self, refused: auth_token.AuthToken) -> None:
        """Drop the refused token, unless another thread has already replaced it."""
        with self._login_lock:
            if self.sdk.auth.token is refused:
                self.sdk.auth.token = auth_token.AuthToken()
                self._count("relogins")
        self._ensure_login()

    # -- requests --------------------------------------------------------------------------

    def get_json(self, path: str, params: Mapping[str, Any] | None = None, *,
                 kind: str = "detail", scope: ClientScope | None = None) -> Any:
        """GET `path` (relative to /api/4.0) and decode its JSON (every key, every null, in the
        server's order), retrying what is worth retrying. `kind` says what the request is for
        (REQUEST_KINDS); `scope`, whose counts and budget it adds to."""
        with self._calling(kind, scope):
            return self._retrying(self._get_decoded, path, params, _decode_any)

    def get_json_array(self, path: str, params: Mapping[str, Any] | None = None, *,
                       kind: str = "list", scope: ClientScope | None = None,
                       ) -> list[msgspec.Raw]:
        """GET a JSON array and return its elements undecoded (checked well-formed), so the
        caller decodes one row at a time: a 5,000-row list is not all Python objects at once.
        """
        with self._calling(kind, scope):
            return self._retrying(self._get_decoded, path, params, _decode_array)

    def scoped(self, run: RunShare | None = None) -> ClientScope:
        """A view of this client with counts of its own, sharing `run` with its run's steps."""
        return ClientScope(self, run)

    @contextlib.contextmanager
    def _calling(self, kind: str, scope: ClientScope | None) -> Iterator[None]:
        # Thread-local: the response hook and the retry callbacks run in this thread.
        before = getattr(self._local, "kind", None), getattr(self._local, "scope", None)
        self._local.kind, self._local.scope = kind, scope
        try:
            yield
        finally:
            self._local.kind, self._local.scope = before

    def write_json(self, method: str, path: str, body: Any = None,
                   params: Mapping[str, Any] | None = None, *, resend: bool = True) -> Any:
        """POST/PATCH/PUT/DELETE `path` (relative to /api/4.0) with a JSON body; the decoded
        answer, or None when Looker sends no body.

        resend=False is for creates: a request that timed out or got a 5xx may have landed, so
        only a 429 (refused before any work) is sent again; other failures go back to the
        caller, who checks whether the object exists before trying again."""
        payload = None if body is None else msgspec.json.encode(body)
        retrying = self._retrying if resend else self._retrying.copy(
            retry=retry_if_exception_type(LookerRetryableError)
            & _retry_if_status(429))
        with self._calling("write", None):
            answer = retrying(self._send_once, method, path, params, payload)
        return msgspec.json.decode(answer) if answer.strip() else None

    @property
    def last_body_size(self) -> int:
        """Length of the body the calling thread received last (0 before any)."""
        return getattr(self._local, "body_size", 0)

    def _get_decoded(self, path: str, params: Mapping[str, Any] | None,
                     decode: Callable[[bytes | str], Any]) -> Any:
        body = self._send_once("GET", path, params, None)
        self._local.body_size = len(body)
        try:
            return decode(body)
        except msgspec.ValidationError as exc:
            raise LookerResponseError(f"GET {path}: {exc}; expected a JSON array") from None
        except msgspec.DecodeError as exc:
            # A truncated body or an HTML page with 200: worth another try, then a clear error.
            raise LookerRetryableError(
                f"Looker sent a body that is not JSON for GET {path}: {exc}; "
                f"starts with {body[:60]!r}") from None

    def _send_once(self, method: str, path: str, params: Mapping[str, Any] | None,
                   payload: bytes | None) -> bytes:
        """One request, with one fresh login if the token was refused; the body as bytes.

        Through the SDK's transport (its auth and settings), not sdk.get/post: on
        an error those parse the body into SDKError and then fetch error docs from Looker's
        CDN, a request to the internet without a time limit, whenever documentation_url names
        one (as Looker's own 404s do)."""
        endpoint = f"{method} {path}"
        scope: ClientScope | None = getattr(self._local, "scope", None)
        if scope is not None and scope.budget is not None:
            scope.budget.check()
        self._ensure_login()
        url = self.sdk._path(path)
        query = self.sdk._convert_query_params(dict(params)) if params else None
        for attempt in range(2):
            self._local.last = None
            self._local.login = None
            token = self.sdk.auth.token
            try:
                # The request gate is taken in the transport, around the request alone.
                response = self.sdk.transport.request(
                    transport.HttpMethod[method], url, query_params=query,
                    body=payload, authenticator=self.sdk.auth.authenticate)
            except sdk_error.SDKError as exc:  # the SDK's own login, inside the request
                error = self._classify(endpoint, _message(exc), [])
            else:
                if response.ok:
                    self.gate.on_success()
                    return response.value
                error = self._classify(endpoint, *_error_body(response.value))
            if isinstance(error, LookerRetryableError) and error.status == 429:
                self.gate.on_rate_limited()
            if isinstance(error, _Unauthorized) and attempt == 0:
                # Tokens expire or get revoked mid-run: one fresh login, then give up.
                self._relogin(token)
                continue
            if isinstance(error, _Unauthorized):
                # The fresh token was refused too (revoked again meanwhile, or the user was
                # just disabled): back off and try again, bounded like any retry.
                raise LookerRetryableError(
                    f"Looker refused a fresh token for {endpoint} (HTTP 401); "
                    f"{CREDENTIAL_HINT}", status=401)
            raise error
        raise AssertionError("unreachable")

    def _classify(self, endpoint: str, message: str,
                  details: list[dict[str, Any]]) -> Exception:
        """What a failed request means: retry it, log in again, or give up saying why."""
        last: _LastResponse | None = getattr(self._local, "last", None)
        login: _LastResponse | None = getattr(self._local, "login", None)
        if last is None and login is not None and login.status != 200:
            return self._login_error(message)
        if last is None or last.status is None:
            return self._connection_error(endpoint, message)
        status = last.status
        if status == 401:
            return _Unauthorized()
        if status == 404:
            return LookerNotFound(f"{endpoint}: not found (HTTP 404)", status=404)
        if status == 429:
            return LookerRetryableError(f"{endpoint}: rate limited (HTTP 429)", status=429,
                                        retry_after=last.retry_after)
        if status >= 500:
            return LookerRetryableError(f"{endpoint}: Looker answered HTTP {status}",
                                        status=status, retry_after=last.retry_after)
        if status == 403:
            return LookerAuthError(
                f"{endpoint}: permission denied (HTTP 403); the API user needs the "
                f"permission for this content type (e.g. see_users, see_lookml, "
                f"see_schedules, admin)", status=403)
        # A 422 names each field Looker refused and why: a failed restore says so.
        parts = [f"{_field_name(d.get('field'))} {d.get('code') or ''}: "
                 f"{d.get('message') or ''}" for d in details]
        text = f"{endpoint}: Looker answered HTTP {status}: {message}" + (
            f" ({'; '.join(parts)})" if parts else "")
        return LookerResponseError(_redact(text)[:600], status=status, details=details)

    def _connection_error(self, endpoint: str, message: str) -> LookerError:
        text = _redact(message)
        if "timed out" in text.lower():
            return LookerRetryableError(f"{endpoint}: timed out talking to {self.base_url}")
        return LookerConnectionError(
            f"cannot reach Looker at {self.base_url} ({endpoint}): {text[:300]}")

    # -- retry plumbing --------------------------------------------------------------------

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        backoff = wait_exponential_jitter(
            multiplier=self.config.retry_initial_delay, max=self.config.retry_max_delay,
            jitter=self.config.retry_initial_delay
        )(state)
        if isinstance(exc, LookerRetryableError) and exc.retry_after is not None:
            # Honour Retry-After in full, within what is left of the retry time budget.
            left = self.config.max_retry_seconds - (state.seconds_since_start or 0.0)
            return min(max(exc.retry_after, 0.0), max(left, 0.0))
        return backoff

    def _before_retry(self, state: RetryCallState) -> None:
        self._count("retries")
        exc = state.outcome.exception() if state.outcome else None
        log.debug("retrying after %s (attempt %d)", exc, state.attempt_number)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.sdk.transport.close()  # type: ignore[attr-defined]


def _retry_if_status(status: int) -> Any:
    return retry_if_exception(lambda exc: getattr(exc, "status", None) == status)


def _error_body(body: bytes) -> tuple[str, list[dict[str, Any]]]:
    """Looker's error answer: its message and, for a 422, its `errors` entries."""
    try:
        answer = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return body.decode("utf-8", "replace")[:300], []
    if not isinstance(answer, dict):
        return str(answer)[:300], []
    details = [d for d in answer.get("errors") or [] if isinstance(d, dict)]
    return str(answer.get("message") or ""), details


def _field_name(field: Any) -> str:
    return ", ".join(map(str, field)) if isinstance(field, list) else str(field or "")


def _decode_any(body: bytes | str) -> Any:
    return msgspec.json.decode(body)


def _decode_array(body: bytes | str) -> list[msgspec.Raw]:
    return msgspec.json.decode(body, type=list[msgspec.Raw])


class _Unauthorized(Exception):
    pass


class _TransportRetry(Retry):
    """urllib3 Retry that reports each attempt it ends, so the counters see every request:
    `on_attempt(True)` for one sent again, `on_attempt(False)` for a last one that got no
    answer (a last answer, say a 503 after the retries, reaches the transport's on_answer)."""

    on_attempt: Callable[[bool], None] | None = None

    def new(self, **kw: Any) -> _TransportRetry:
        retry = super().new(**kw)
        retry.on_attempt = self.on_attempt
        return retry

    def increment(self, method: str | None = None, url: str | None = None, response: Any = None,
                  error: Exception | None = None, _pool: Any = None,
                  _stacktrace: Any = None) -> Retry:
        try:
            retry = super().increment(method, url, response, error, _pool, _stacktrace)
        except Exception:
            if response is None and self.on_attempt is not None:
                self.on_attempt(False)
            raise
        if self.on_attempt is not None:
            self.on_attempt(True)
        return retry


def _message(exc: sdk_error.SDKError) -> str:
    message = getattr(exc, "message", None)
    if message:
        return str(message)
    return str(exc.args[0]) if exc.args else ""


_TOKENISH = re.compile(r"(access_token|client_secret|token)([\"'=:\s]+)[^\s\"'&,}]+", re.I)


def _redact(text: str) -> str:
    """Defence in depth: no token or secret value survives into an error message."""
    return _TOKENISH.sub(r"\1\2***", text)


def _parse_retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
