"""Cross-cutting HTTP middleware: request ids, body-size limit, API response headers."""

from __future__ import annotations

import functools
import ipaddress
import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from apitools.errors import problem_response
from request_context import RequestContext, reset_context, set_context

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$")


def _trusted_proxy(address: str) -> bool:
    networks = _trusted_networks(tuple(settings.TRUSTED_PROXY_CIDRS))
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


@functools.lru_cache(maxsize=8)
def _trusted_networks(
    cidrs: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, for rate limits and the audit trail.

    Gunicorn does not rewrite `REMOTE_ADDR` from `X-Forwarded-For`, so behind a load balancer every
    register would share the balancer's address (and one store's lockout would lock out all).
    When the direct peer is in `TRUSTED_PROXY_CIDRS`, walk `X-Forwarded-For` from the right and
    take the first address that is not itself a trusted proxy; a client cannot spoof it, because
    only what the trusted proxies appended is believed. With no trusted proxies (the default) the
    header is ignored."""
    remote = request.META.get("REMOTE_ADDR") or None
    if not remote or not settings.TRUSTED_PROXY_CIDRS or not _trusted_proxy(remote):
        return remote
    forwarded = request.headers.get("x-forwarded-for", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return remote  # a malformed chain: fall back to the proxy's own address
        if not _trusted_proxy(hop):
            return hop
    return remote


class RequestIDMiddleware:
    """Echo a sane `X-Request-ID` or generate one; bind it (with the client address) to the
    request context so that logs, audit events and problem bodies can name the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        request_id = incoming if _SANE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = set_context(
            RequestContext(
                request_id=request_id,
                ip=client_ip(request),
                method=request.method or "",
                path=request.path,
            )
        )
        try:
            response = self.get_response(request)
        finally:
            reset_context(token)
        response[REQUEST_ID_HEADER] = request_id
        return response


class BodySizeLimitMiddleware:
    """Refuse bodies over `API_MAX_BODY_BYTES` with `413 payload_too_large` before they are read."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            try:
                length = int(request.headers.get("content-length") or 0)
            except ValueError:
                length = 0
            if length > settings.API_MAX_BODY_BYTES:
                return problem_response(
                    413,
                    "payload_too_large",
                    f"Request body exceeds {settings.API_MAX_BODY_BYTES} bytes.",
                )
        return self.get_response(request)


class ApiResponseHeadersMiddleware:
    """`Cache-Control: no-store` on API responses and on anything answered to an authenticated
    user: receipts, orders and tokens must never sit in a shared cache."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = getattr(request, "user", None)
        authenticated = bool(user is not None and user.is_authenticated)
        if (
            request.path.startswith("/api/v1/")
            or authenticated
            or "authorization" in request.headers
        ):
            response["Cache-Control"] = "no-store"
        return response
