"""The errors a business rule raises, known to every app and free of HTTP.

A `DomainError` says *what* was refused: a stable snake_case `code` that clients branch on, a
human `detail`, optional per-field `errors` and `extra` fields for the answer (e.g.
`{"products": [17, 21]}`). Each app's `exceptions.py` derives its errors from one of the generic
kinds below; which HTTP status a kind answers with is decided in one place only, the API's
exception handler (its status table), never here.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "Conflict",
    "DomainError",
    "Forbidden",
    "InvalidInput",
    "NotAuthenticated",
    "ObjectNotFound",
    "Throttled",
]


class DomainError(Exception):
    """A business rule refused the request. Subclasses set `code` and a default `detail`."""

    code: str = "validation_error"
    default_detail: str = "The request could not be processed."

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: dict[str, list[str]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.detail = detail or self.default_detail
        self.errors = errors
        self.extra = extra or {}
        super().__init__(self.detail)


class InvalidInput(DomainError):
    """A business-level validation failure (payment mismatch, unknown product …)."""


class NotAuthenticated(DomainError):
    """The caller could not be identified (bad credentials, a revoked token)."""

    code = "not_authenticated"
    default_detail = "Authentication credentials were not provided or are not valid."


class Forbidden(DomainError):
    """The caller is known but may not do this."""

    code = "permission_denied"
    default_detail = "You do not have permission to perform this action."


class ObjectNotFound(DomainError):
    """The object does not exist, or is outside what the caller may see."""

    code = "not_found"
    default_detail = "Not found."


class Conflict(DomainError):
    """The request is well formed but the current state refuses it (stock, an open shift …)."""

    code = "conflict"
    default_detail = "The request conflicts with the current state."


class Throttled(DomainError):
    """Too many attempts, or contention on a row: nothing was done, retry after `retry_after`
    seconds. Raised by django-ratelimit (`RATELIMIT_EXCEPTION_CLASS`) and by our own limiters."""

    code = "throttled"
    default_detail = "Too many requests. Try again later."

    def __init__(self, detail: str | None = None, *, retry_after: int = 60, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.retry_after = retry_after
