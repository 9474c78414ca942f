"""One structured access-log line per request.

Fields: `request_id`, `user_id`, `store` (when the view bound one, or the request named it in
`?store=`), `method`, `path` (never the query string), `status`, `duration_ms`, `ip`. Never a
body, a header or a query string: those are where passwords, tokens and card numbers travel.
Requests slower than `SLOW_REQUEST_MS` are logged at WARNING with `slow: true`; server errors at
WARNING too (the exception itself is logged by Django at ERROR). Probe and scrape requests
(`/health/…`, `/metrics`) that succeed quickly go to DEBUG: they arrive every few seconds.

Place it right after `RequestIDMiddleware` so the request context (request id, and the user
bound by authentication) is still set when the line is written.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from monitoring import context
from request_context import get_context

logger = logging.getLogger("monitoring.access")

_QUIET_PREFIXES = ("/health/", "/metrics")


def _user_id(request: HttpRequest) -> int | None:
    user_id = get_context().user_id
    if user_id is not None:
        return user_id
    # A session user (admin pages): only if authentication already loaded it — never query.
    user = request.__dict__.get("user")
    wrapped = getattr(user, "_wrapped", None)
    if wrapped is not None and getattr(wrapped, "is_authenticated", False):
        return getattr(wrapped, "pk", None)
    return None


def _store(request: HttpRequest) -> int | None:
    bound = context.bound_store()
    if bound is not None:
        return bound
    raw = request.GET.get("store", "")
    return int(raw) if raw.isdigit() and len(raw) < 12 else None


class AccessLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        token = context.clear()
        try:
            response = self.get_response(request)
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            self._log(request, response.status_code, duration_ms)
        finally:
            context.restore(token)
        return response

    @staticmethod
    def _log(request: HttpRequest, status: int, duration_ms: float) -> None:
        slow = duration_ms >= settings.SLOW_REQUEST_MS
        if slow or status >= 500:
            level = logging.WARNING
        elif request.path.startswith(_QUIET_PREFIXES) and status < 400:
            level = logging.DEBUG
        else:
            level = logging.INFO
        if not logger.isEnabledFor(level):
            return
        fields: dict[str, object] = {
            "request_id": getattr(request, "request_id", None) or get_context().request_id,
            "user_id": _user_id(request),
            "method": request.method,
            "path": request.path,
            "status": status,
            "duration_ms": duration_ms,
            "ip": request.META.get("REMOTE_ADDR"),
        }
        store = _store(request)
        if store is not None:
            fields["store"] = store
        if slow:
            fields["slow"] = True
        message = "slow request" if slow else "request"
        logger.log(
            level,
            "%s %s %s %s %sms",
            message,
            request.method,
            request.path,
            status,
            duration_ms,
            extra=fields,
        )
