"""Access tokens: issued by /login, expiring after `ttl` seconds, revoked by /logout."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Mapping


class TokenStore:
    def __init__(self, ttl: float) -> None:
        self.ttl = float(ttl)
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self) -> str:
        token = secrets.token_urlsafe(30)
        now = time.monotonic()
        with self._lock:
            if len(self._tokens) > 1000:  # drop expired ones so long runs don't accumulate
                self._tokens = {t: exp for t, exp in self._tokens.items() if exp > now}
            self._tokens[token] = now + self.ttl
        return token

    def valid(self, token: str | None) -> bool:
        if not token:
            return False
        expires = self._tokens.get(token)
        if expires is None:
            return False
        if expires <= time.monotonic():
            with self._lock:
                self._tokens.pop(token, None)
            return False
        return True

    def revoke(self, token: str | None) -> bool:
        with self._lock:
            return self._tokens.pop(token or "", None) is not None

    def expire_all(self) -> None:
        """Forget every token (as if the server restarted)."""
        with self._lock:
            self._tokens.clear()


def token_from(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """The access token of a request: `Authorization: Bearer X`, `Authorization: token X`
    (the form Looker's docs show), or `?access_token=X`."""
    auth = headers.get("Authorization") or headers.get("authorization")
    if auth:
        scheme, _, value = auth.strip().partition(" ")
        if scheme.lower() in ("bearer", "token") and value.strip():
            return value.strip()
    return query.get("access_token") or None
