"""Looker API 4.0 routes: auth, versions, `me`, and the list/search/detail operations of every
content kind. Transport concerns (HTTP, faults, stats) live in server.py.
"""

from __future__ import annotations

import functools
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec

from . import spec, validation
from .fields import FieldsError, parse_fields, project
from .generate import API_USER_ID
from .kinds import KINDS, KindInfo, ListRoute
from .listing import Lister, ParamError, page_bounds
from .writes import OPERATIONS, READS, ApiError, Writer, clean_body

if TYPE_CHECKING:
    from .auth import TokenStore
    from .store import Store

API = "/api/4.0"
_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode


@dataclass(slots=True)
class Reply:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)
    content: bool = False  # a successful content body (malformed-response faults may hit it)


@dataclass(slots=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    path_params: dict[str, str]
    body: bytes
    token: str | None


Handler = Callable[[Request], Reply]


@dataclass(slots=True)
class Route:
    method: str
    template: str  # e.g. /api/4.0/dashboards/{dashboard_id}
    handler: Handler
    auth: bool = True
    login: bool = False


def doc_url(status: int, method: str, template: str) -> str:
    # The docs.cloud.google.com form: the SDK only fetches error docs for docs.looker.com and
    # cloud.google.com/looker/docs URLs, which would mean internet access from tests.
    path = re.sub(r"\{(\w+)\}", r":\1", template.removeprefix(API).removeprefix("/api"))
    return f"https://docs.cloud.google.com/looker/docs/r/err/4.0/{status}/{method.lower()}{path}"


def error(status: int, message: str, method: str, template: str, **extra: Any) -> Reply:
    body = {"message": message, "documentation_url": doc_url(status, method, template), **extra}
    return Reply(status, _encode(body))


class Api:
    def __init__(
        self,
        store: Store,
        tokens: TokenStore,
        client_id: str,
        client_secret: str,
        base_url: Callable[[], str],
    ) -> None:
        self.store = store
        self.tokens = tokens
        self.client_id = client_id
        self.client_secret = client_secret
        self.base_url = base_url
        self.lister = Lister(store)
        self.writer = Writer(store)
        self.static: dict[tuple[str, str], Route] = {}
        self.dynamic: list[tuple[re.Pattern[str], Route]] = []
        self.paths: dict[str, set[str]] = {}
        self._build()

    # -- routing --------------------------------------------------------------------------

    def _add(self, route: Route) -> None:
        self.paths.setdefault(route.template, set()).add(route.method)
        if "{" not in route.template:
            self.static[(route.method, route.template)] = route
            return
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(route.template))
        self.dynamic.append((re.compile(pattern + "$"), route))

    def _build(self) -> None:
        self._add(Route("POST", f"{API}/login", self.login, auth=False, login=True))
        self._add(Route("DELETE", f"{API}/logout", self.logout))
        self._add(Route("DELETE", "/api/logout", self.logout))  # where the SDK's auth.logout() goes
        self._add(Route("GET", "/api/versions", self.versions, auth=False))
        self._add(Route("GET", f"{API}/versions", self.versions, auth=False))
        self._add(Route("GET", f"{API}/user", self.me))
        for info in KINDS.values():
            for lr in info.lists:
                self._add(Route("GET", API + lr.path, self._list_handler(info, lr)))
            self._add(Route("GET", API + info.detail_path, self._detail_handler(info)))
        self._add(Route("GET", f"{API}/roles/{{role_id}}/users", self.role_users))
        self._add(Route("GET", f"{API}/content_metadata/{{content_metadata_id}}",
                        self.content_metadata))
        self._add(Route("GET", f"{API}/content_metadata_access", self.content_metadata_access))
        self._add(Route("GET", f"{API}/user_attributes/{{user_attribute_id}}/group_values",
                        self.group_values))
        self._add(Route("GET", f"{API}/queries/{{query_id}}", self.query))
        ops = spec.operations_by_id()
        for op_id in READS:
            method, path = ops[op_id]
            self._add(Route(method, API + path, self._read_handler(op_id, path)))
        for op_id in OPERATIONS:
            method, path = ops[op_id]
            self._add(Route(method, API + path, self._write_handler(op_id, method, path)))
        self._add(Route("GET", f"{API}/merge_queries/{{merge_query_id}}", self.merge_query))
        self._add(Route("GET", f"{API}/content_validation", self.content_validation))

    def resolve(self, method: str, path: str) -> tuple[Route | None, dict[str, str], str | None]:
        """(route, decoded path parameters, template of the path if only the method is wrong)."""
        route = self.static.get((method, path))
        if route is not None:
            return route, {}, None
        for other in ("GET", "POST", "PUT", "PATCH", "DELETE"):
            if (other, path) in self.static:
                return None, {}, self.static[(other, path)].template
        # static paths such as /dashboards/search win over /dashboards/{dashboard_id}
        wrong_method: str | None = None
        for rx, route in self.dynamic:
            m = rx.match(path)
            if m is None:
                continue
            if route.method != method:
                wrong_method = route.template
                continue
            params = {k: urllib.parse.unquote(v) for k, v in m.groupdict().items()}
            return route, params, None
        return None, {}, wrong_method

    # -- auth and meta --------------------------------------------------------------------

    def login(self, req: Request) -> Reply:
        form = {
            k: v[-1] for k, v in urllib.parse.parse_qs(req.body.decode("utf-8", "replace")).items()
        }
        client_id = form.get("client_id") or req.query.get("client_id")
        secret = form.get("client_secret") or req.query.get("client_secret")
        if client_id != self.client_id or secret != self.client_secret:
            # Real Looker answers bad credentials with 404, not 401.
            return error(404, "Not found", "POST", f"{API}/login")
        token = self.tokens.issue()
        body = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": int(self.tokens.ttl),
            "refresh_token": None,
        }
        return Reply(200, _encode(body))

    def logout(self, req: Request) -> Reply:
        self.tokens.revoke(req.token)
        return Reply(204, b"", content_type="")

    def versions(self, req: Request) -> Reply:
        base = self.base_url()
        current = {
            "version": "4.0",
            "full_version": spec.full_version(),
            "status": "current",
            "swagger_url": f"{base}/api/4.0/swagger.json",
        }
        body = {
            "looker_release_version": spec.release_version(),
            "current_version": current,
            "supported_versions": [current],
            "api_server_url": base,
            "web_server_url": base,
        }
        return self._projected(body, req, spec.operation("GET", "/versions"))

    def me(self, req: Request) -> Reply:
        op = spec.operation("GET", "/user")
        return self._detail(KINDS["users"], op, API_USER_ID, req)

    # -- content --------------------------------------------------------------------------

    def _projected(self, obj: Any, req: Request, op: spec.Operation) -> Reply:
        if op.accepts("fields"):
            tree = parse_fields(req.query.get("fields", ""))
            obj = project(obj, tree)
        return Reply(200, _encode(obj), content=True)

    def _detail_handler(self, info: KindInfo) -> Handler:
        op = spec.operation("GET", info.detail_path)

        def handler(req: Request) -> Reply:
            if info.name == "explores":
                key = f"{req.path_params['lookml_model_name']}::{req.path_params['explore_name']}"
            else:
                key = next(iter(req.path_params.values()))
            return self._detail(info, op, key, req)

        return handler

    def _answer(self, req: Request, path: str, value: Any) -> Reply:
        """A sub-collection's answer: `value` projected by `fields`, or 404 when its parent
        is unknown (None)."""
        op = spec.operation("GET", path)
        if value is None:
            return error(404, "Not found", req.method, API + op.path)
        return self._projected(value, req, op)

    def role_users(self, req: Request) -> Reply:
        """role_users: the role's users (User objects), all or only direct holders."""
        direct = req.query.get("direct_association_only", "false").lower() == "true"
        keys = self.store.role_users(req.path_params["role_id"], direct)
        users = None if keys is None else [
            u for u in (self.store.detail_dict("users", k) for k in keys) if u is not None]
        return self._answer(req, "/roles/{role_id}/users", users)

    def content_metadata(self, req: Request) -> Reply:
        return self._answer(req, "/content_metadata/{content_metadata_id}",
                            self.store.content_meta(req.path_params["content_metadata_id"]))

    def content_metadata_access(self, req: Request) -> Reply:
        """all_content_metadata_accesses: content_metadata_id is required."""
        cm_id = req.query.get("content_metadata_id")
        if not cm_id:
            return error(400, "content_metadata_id is required", req.method,
                         f"{API}/content_metadata_access")
        return self._answer(req, "/content_metadata_access", self.store.content_access(cm_id))

    def group_values(self, req: Request) -> Reply:
        """all_user_attribute_group_values."""
        return self._answer(req, "/user_attributes/{user_attribute_id}/group_values",
                            self.store.group_values(req.path_params["user_attribute_id"]))

    def _read_handler(self, op_id: str, path: str) -> Handler:
        read = READS[op_id]

        def handler(req: Request) -> Reply:
            return self._answer(req, path, read(self.store, req.path_params, req.query))

        return handler

    def _write_handler(self, op_id: str, method: str, path: str) -> Handler:
        """A write operation: JSON body read as its schema says, the writer's rules applied,
        the answer rendered as the op's response schema (and projected by `fields`)."""
        op = spec.operation(method, path)
        schema, is_array = spec.request_body(method, path)
        status = spec.success_status(method, path)
        template = API + path

        def handler(req: Request) -> Reply:
            try:
                raw = _decode(req.body) if req.body.strip() else None
            except msgspec.DecodeError:
                return error(400, "The body is not valid JSON", req.method, template)
            try:
                body = clean_body(raw, schema, is_array)
                result = self.writer.run(op_id, body, raw, req.path_params, req.query)
            except ApiError as exc:
                extra = {} if exc.errors is None else {"errors": exc.errors}
                return error(exc.status, exc.message, req.method, template, **extra)
            if result is None:
                return Reply(status, b"", content_type="")
            if op.accepts("fields"):
                result = project(result, parse_fields(req.query.get("fields", "")))
            return Reply(200, _encode(result), content=True)

        return handler

    def query(self, req: Request) -> Reply:
        return self._answer(req, "/queries/{query_id}",
                            self.store.query_dict(req.path_params["query_id"]))

    def content_validation(self, req: Request) -> Reply:
        """content_validation: looks and tiles whose queries the LookML no longer serves."""
        return self._answer(req, "/content_validation",
                            validation.content_validation(self.store, req.query))

    def merge_query(self, req: Request) -> Reply:
        return self._answer(req, "/merge_queries/{merge_query_id}",
                            self.store.merge_query_dict(req.path_params["merge_query_id"]))

    def _detail(self, info: KindInfo, op: spec.Operation, key: str, req: Request) -> Reply:
        store = self.store
        body = store.detail_bytes(info.name, key)
        if body is None:
            return error(404, "Not found", req.method, API + op.path)
        tree = parse_fields(req.query.get("fields", "")) if op.accepts("fields") else None
        if tree is not None:
            # Without heavy properties the cheap top-level render has all that is asked for.
            obj = _decode(body) if tree.keys() & info.heavy else store.top(info.name, key)
            body = _encode(project(obj, tree))
        return Reply(200, body, content=True)

    def _list_handler(self, info: KindInfo, lr: ListRoute) -> Handler:
        op = spec.operation("GET", lr.path)
        row_schema = op.response_schema or info.schema
        same = row_schema == info.schema

        def handler(req: Request) -> Reply:
            store = self.store
            q = req.query
            keys = self.lister.select(info.name, op, q, lr.search)
            offset, limit, paged = page_bounds(op, q)
            page = keys[offset : offset + limit] if limit is not None else keys[offset:]
            tree = parse_fields(q.get("fields", "")) if op.accepts("fields") else None
            if tree is None:
                if same:
                    parts = [store.detail_bytes(info.name, k) for k in page]
                else:
                    parts = [store.row_bytes(info.name, k, row_schema) for k in page]
                body = b"[" + b",".join(p for p in parts if p is not None) + b"]"
            elif (flat := self._flat_columns(info, row_schema, tree)) is not None:
                body = _encode([{name: col[k] for name, col in flat} for k in page])
            else:
                heavy = same and bool(tree.keys() & info.heavy)

                def projected(k: str) -> bytes | None:
                    if not same:
                        obj = store.row(info.name, k, row_schema)
                    elif heavy:
                        obj = store.detail_to_read(info.name, k)
                    else:
                        obj = store.top(info.name, k)
                    return None if obj is None else _encode(project(obj, tree))

                # Kept per object and `fields` until the next mutation: projecting 500
                # dashboards decodes each whole (60 ms a page), time a real server spends on
                # cores of its own, and here on the client's.
                fields = q.get("fields", "")
                parts = [store.memo_bytes((info.name, k, row_schema, fields),
                                          functools.partial(projected, k)) for k in page]
                body = b"[" + b",".join(p for p in parts if p is not None) + b"]"
            headers = [("X-Total-Count", str(len(keys)))] if paged else []
            return Reply(200, body, headers=headers, content=True)

        return handler

    def _flat_columns(
        self, info: KindInfo, row_schema: str, tree: dict[str, Any]
    ) -> list[tuple[str, dict[str, Any]]] | None:
        """For selections like `id,updated_at` (flat, cheap properties): the columns to read
        rows from, in schema order; None when the selection needs real objects."""
        if any(sub is not None for sub in tree.values()) or len(tree) > 6:
            return None
        props = spec.properties(row_schema)
        if not tree.keys() <= set(props):
            return None  # unknown names: let projection decide per object
        sample = next(iter(self.store.records(info.name).values()), None)
        if sample is None or not tree.keys() <= sample.fields.keys():
            return None  # derived properties: building whole columns would cost more
        return [(p, self.store.column(info.name, p)) for p in props if p in tree]

    def dispatch(self, route: Route, req: Request) -> Reply:
        try:
            return route.handler(req)
        except (ParamError, FieldsError) as exc:
            return error(400, str(exc), req.method, route.template)
