"""RFC 9457 problem details for every error the project answers with.

Domain apps raise subclasses of `domain.errors.DomainError` (in their own `exceptions.py`), which
know nothing of HTTP: their status comes from `ERROR_STATUS` here, the only place that maps them.
DRF's exceptions and Django's own error paths (404, 500, 413, CSRF, bad hosts) are mapped here to
the same shape:
`{"type", "title", "status", "detail", "code", "request_id"}` plus `"errors"` for validation.
`code` is the stable snake_case value clients branch on.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from apitools.idempotency import IdempotencyKeyReused
from domain.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotAuthenticated,
    ObjectNotFound,
    Throttled,
)
from request_context import get_context

logger = logging.getLogger("posproject.errors")

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "https://pos.example/problems/"

_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Permission denied",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Server error",
    503: "Service unavailable",
}


# The one place a domain error meets HTTP: the status each kind of error answers with. A
# subclass answers as its nearest listed ancestor (`InsufficientStock` → `Conflict` → 409).
ERROR_STATUS: dict[type[DomainError], int] = {
    DomainError: status.HTTP_400_BAD_REQUEST,
    InvalidInput: status.HTTP_400_BAD_REQUEST,
    NotAuthenticated: status.HTTP_401_UNAUTHORIZED,
    Forbidden: status.HTTP_403_FORBIDDEN,
    ObjectNotFound: status.HTTP_404_NOT_FOUND,
    Conflict: status.HTTP_409_CONFLICT,
    IdempotencyKeyReused: status.HTTP_422_UNPROCESSABLE_ENTITY,
    Throttled: status.HTTP_429_TOO_MANY_REQUESTS,
}


def status_for(exc: DomainError) -> int:
    """The HTTP status of a domain error (see `ERROR_STATUS`)."""
    for klass in type(exc).__mro__:
        found = ERROR_STATUS.get(klass)
        if found is not None:
            return found
    return status.HTTP_400_BAD_REQUEST


def problem_body(
    *,
    status_code: int,
    code: str,
    detail: str,
    title: str | None = None,
    errors: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": TYPE_BASE + code,
        "title": title or _TITLES.get(status_code, "Error"),
        "status": status_code,
        "detail": detail,
        "code": code,
        "request_id": get_context().request_id,
    }
    if errors is not None:
        body["errors"] = errors
    if extra:
        for key, value in extra.items():
            body.setdefault(key, value)
    return body


def problem_response(status_code: int, code: str, detail: str, **kwargs: Any) -> HttpResponse:
    """A plain Django response (outside DRF: middleware, handler404/500, CSRF failure)."""
    body = problem_body(status_code=status_code, code=code, detail=detail, **kwargs)
    return HttpResponse(json.dumps(body), status=status_code, content_type=PROBLEM_CONTENT_TYPE)


def _flatten_errors(data: Any) -> dict[str, list[str]]:
    """DRF's nested error dicts → `{field: [messages]}` with dotted paths for nested fields
    (`lines.0.quantity`)."""
    out: dict[str, list[str]] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), sub)
        elif isinstance(value, list):
            if all(not isinstance(v, (dict, list)) for v in value):
                if value:
                    out.setdefault(prefix or "non_field_errors", []).extend(str(v) for v in value)
            else:
                for index, sub in enumerate(value):
                    if sub:
                        walk(f"{prefix}.{index}" if prefix else str(index), sub)
        else:
            out.setdefault(prefix or "non_field_errors", []).append(str(value))

    walk("", data)
    return out


_DRF_CODES: dict[type[Exception], str] = {
    drf_exceptions.ParseError: "validation_error",
    drf_exceptions.ValidationError: "validation_error",
    drf_exceptions.NotAuthenticated: "not_authenticated",
    drf_exceptions.AuthenticationFailed: "authentication_failed",
    drf_exceptions.PermissionDenied: "permission_denied",
    drf_exceptions.NotFound: "not_found",
    drf_exceptions.MethodNotAllowed: "method_not_allowed",
    drf_exceptions.NotAcceptable: "not_acceptable",
    drf_exceptions.UnsupportedMediaType: "unsupported_media_type",
    drf_exceptions.Throttled: "throttled",
}


def _drf_code(exc: drf_exceptions.APIException) -> str:
    # simplejwt's InvalidToken carries `code = "token_not_valid"`; keep such specific codes.
    contract_codes = {"token_not_valid", "authentication_failed", "not_authenticated"}
    detail = exc.detail
    # (`detail.get("code")` may also be a field named `code` with a list of messages.)
    if isinstance(detail, dict) and str(detail.get("code")) in contract_codes:
        return str(detail["code"])
    specific = getattr(exc, "default_code", None)
    if specific in contract_codes:
        return str(specific)
    for klass in type(exc).__mro__:
        if klass in _DRF_CODES:
            return _DRF_CODES[klass]
    return "server_error" if exc.status_code >= 500 else "error"


def _detail_text(detail: Any) -> str:
    if isinstance(detail, dict):
        if "detail" in detail:
            return str(detail["detail"])
        return "Invalid input."
    if isinstance(detail, list):
        return str(detail[0]) if detail else "Invalid input."
    return str(detail)


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF `EXCEPTION_HANDLER`: every error becomes problem+json."""
    headers: dict[str, str] = {}

    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = drf_exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )

    if isinstance(exc, DomainError):
        set_rollback()
        if isinstance(exc, Throttled):
            headers["Retry-After"] = str(max(1, int(exc.retry_after)))
            _count_throttled(exc, context)
        status_code = status_for(exc)
        body = problem_body(
            status_code=status_code,
            code=exc.code,
            detail=exc.detail,
            errors=exc.errors,
            extra=exc.extra,
        )
        return _problem(body, status_code, headers)

    if isinstance(exc, drf_exceptions.APIException):
        set_rollback()
        code = _drf_code(exc)
        status_code = exc.status_code
        errors: dict[str, list[str]] | None = None
        if isinstance(exc, (drf_exceptions.ValidationError, drf_exceptions.ParseError)):
            status_code = 400
            code = "validation_error"
            if isinstance(exc, drf_exceptions.ParseError):
                errors = {"non_field_errors": [str(exc.detail)]}
                detail = "Malformed request body."
            else:
                errors = _flatten_errors(exc.detail)
                detail = "Invalid input."
        else:
            detail = _detail_text(exc.detail)
        if isinstance(exc, drf_exceptions.Throttled):
            headers["Retry-After"] = str(int(getattr(exc, "wait", None) or 1))
            _count_throttled(exc, context)
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header  # type: ignore[attr-defined]
        body = problem_body(status_code=status_code, code=code, detail=detail, errors=errors)
        return _problem(body, status_code, headers)

    # Anything else is a bug: log it with the request id and answer a bare 500.
    logger.exception("Unhandled error in API view")
    set_rollback()
    body = problem_body(status_code=500, code="server_error", detail="Internal server error.")
    return _problem(body, 500, headers)


def _count_throttled(exc: Exception, context: dict[str, Any]) -> None:
    """Every 429 passes here once: count it (`pos_throttled_requests_total{scope}`)."""
    from monitoring.metrics import THROTTLED

    view = context.get("view")
    scope = getattr(exc, "scope", None) or getattr(view, "throttle_scope", None)
    THROTTLED.labels(scope=str(scope or type(view).__name__)).inc()


def _problem(body: dict[str, Any], status_code: int, headers: dict[str, str]) -> Response:
    response = Response(body, status=status_code, headers=headers)
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


# --- Django-level handlers (wired in posproject/urls.py) ----------------------------------------


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_response(400, "validation_error", "Bad request.")


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_response(403, "permission_denied", "Permission denied.")


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_response(404, "not_found", "Not found.")


def handler500(request: HttpRequest) -> HttpResponse:
    return problem_response(500, "server_error", "Internal server error.")
