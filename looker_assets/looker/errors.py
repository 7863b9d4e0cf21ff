"""Errors from talking to Looker. Messages say what happened and what to fix, never a secret."""

from __future__ import annotations


class LookerError(RuntimeError):
    """Base class: a failure talking to Looker."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class LookerAuthError(LookerError):
    """Credentials or permissions are wrong: retrying cannot help."""


class LookerConnectionError(LookerError):
    """Looker could not be reached after the transport's bounded retries."""


class LookerNotFound(LookerError):
    """HTTP 404: on a detail, the object went away between listing and detail."""


class LookerResponseError(LookerError):
    """Looker answered with something we cannot use (400, 422, ...)."""

    def __init__(self, message: str, *, status: int | None = None,
                 details: list[dict[str, object]] | None = None) -> None:
        super().__init__(message, status=status)
        # A 422's `errors` entries ({field, code, message}), for callers that act on a code.
        self.details = details or []


class LookerRetryableError(LookerError):
    """429 or 5xx or a malformed body: worth retrying with back-off."""

    def __init__(self, message: str, *, status: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after
