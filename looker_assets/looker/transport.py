"""The HTTP transport under looker-sdk: urllib3, without requests.

looker-sdk sends every request through a `Transport` (its `rtl.transport` interface); its default
is built on requests, whose per-request machinery (merging session settings, cookie jars,
hooks, redirects at the session level) cost 1.3 ms of CPU per request where urllib3 alone costs
0.55 ms (bench/RESULTS.md, "the SDK's transport on urllib3"). On a sync that keeps 8 requests
in flight, that CPU is time every other thread waits for the GIL. This transport does what
RequestsTransport does (the SDK's agent header, its auth headers, per-request options, a
Response with the body as sent) on one urllib3 pool, and adds what the client needs:
- each request holds a slot of the request gate only from sending to its body read;
- the status and Retry-After of every answer go to `on_answer` (the SDK's errors carry none);
- urllib3 retries (connect errors, 502/503/504) inside one attempt, as configured;
- proxies and the CA bundle from the environment, as requests reads them, once.
"""

from __future__ import annotations

import os
from collections.abc import Callable, MutableMapping
from typing import Any
from urllib.parse import urlencode

import certifi
import urllib3
from looker_sdk.rtl import transport
from requests.utils import (
    get_auth_from_url,
    get_encoding_from_headers,
    get_environ_proxies,
    prepend_scheme_if_needed,
)

from looker_assets.looker.throttle import RequestGate

# (url, status, Retry-After header or None) of each answer, in the thread that asked.
OnAnswer = Callable[[str, int, str | None], None]

_DEFAULT_HEADERS = {"Accept": "*/*", "Accept-Encoding": "gzip, deflate",
                    "User-Agent": "looker-assets"}


class Urllib3Transport(transport.Transport):
    def __init__(self, settings: transport.PTransportSettings, *, gate: RequestGate,
                 retries: urllib3.Retry, pool_size: int, on_answer: OnAnswer) -> None:
        self.settings = settings
        self.gate = gate
        self.retries = retries
        self.on_answer = on_answer
        self.headers = {**_DEFAULT_HEADERS, transport.LOOKER_API_ID: settings.agent_tag,
                        **(settings.headers or {})}
        self.pool = _pool_manager(settings, pool_size)

    @classmethod
    def configure(cls, settings: transport.PTransportSettings) -> transport.Transport:
        raise NotImplementedError("built by LookerClient, with its gate and retries")

    def request(self, method: transport.HttpMethod, path: str,
                query_params: MutableMapping[str, str] | None = None,
                body: bytes | None = None, authenticator: transport.TAuthenticator = None,
                transport_options: transport.TransportOptions | None = None,
                ) -> transport.Response:
        headers = urllib3.HTTPHeaderDict(self.headers)
        timeout: float = self.settings.timeout
        if authenticator:
            headers.update(authenticator(transport_options or {}))
        if transport_options:
            headers.update(transport_options.get("headers") or {})
            timeout = transport_options.get("timeout") or timeout
        url = path
        if query_params:
            url += ("&" if "?" in url else "?") + urlencode(query_params, doseq=True)
        try:
            with self.gate.slot():
                # Redirects are not followed: the API does not redirect from the right base
                # URL, and a followed one would re-send a POST and spend a transport retry.
                answer = self.pool.urlopen(
                    method.name, url, body=body, headers=headers, retries=self.retries,
                    redirect=False, timeout=urllib3.Timeout(connect=timeout, read=timeout),
                    preload_content=True)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            # As RequestsTransport: a request that got no answer is a failed Response whose
            # value says why (the client tells timeouts from unreachable hosts by it).
            return transport.Response(False, str(exc).encode("utf-8"),
                                      transport.ResponseMode.STRING)
        self.on_answer(url, answer.status, answer.headers.get("Retry-After"))
        if 300 <= answer.status < 400:
            where = answer.headers.get("Location", "elsewhere")
            return transport.Response(False, f"redirected to {where}: set the base URL to where "
                                      f"the API answers".encode(), transport.ResponseMode.STRING)
        content_type = answer.headers.get("Content-Type")
        response = transport.Response(answer.status < 400, answer.data,
                                      transport.response_mode(content_type))
        encoding = get_encoding_from_headers({"content-type": content_type or ""})
        if encoding:
            response.encoding = encoding
        return response

    def close(self) -> None:
        self.pool.clear()


def _pool_manager(settings: transport.PTransportSettings,
                  size: int) -> urllib3.PoolManager:
    """One pool for the base URL, through the proxy the environment names for it (HTTP(S)_PROXY
    or ALL_PROXY unless NO_PROXY excludes the host, with its credentials), verifying TLS against
    REQUESTS_CA_BUNDLE or CURL_CA_BUNDLE (a file or a folder) if set, else certifi's bundle:
    what requests would do, read once."""
    options: dict[str, Any] = {"maxsize": size, "block": False}
    if settings.verify_ssl:
        options["cert_reqs"] = "CERT_REQUIRED"
        bundle = (os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
                  or certifi.where())
        options["ca_cert_dir" if os.path.isdir(bundle) else "ca_certs"] = bundle
    else:
        options["cert_reqs"] = "CERT_NONE"
    proxies = get_environ_proxies(settings.base_url)
    scheme = settings.base_url.split("://", 1)[0].lower()
    proxy = proxies.get(scheme) or proxies.get("all")
    if not proxy:
        return urllib3.PoolManager(num_pools=2, **options)
    proxy = prepend_scheme_if_needed(proxy, "http")
    url = urllib3.util.parse_url(proxy)
    if url.scheme not in ("http", "https"):
        raise ProxyError(f"the proxy for {settings.base_url} is {url.scheme}://, which this "
                         f"client cannot use: set HTTPS_PROXY (or NO_PROXY) to an http(s) proxy")
    user, password = get_auth_from_url(proxy)
    if user or password:
        options["proxy_headers"] = urllib3.make_headers(proxy_basic_auth=f"{user}:{password}")
        proxy = url._replace(auth=None).url
    return urllib3.ProxyManager(proxy, num_pools=2, **options)


class ProxyError(ValueError):
    """The environment names a proxy this transport cannot use."""
