"""Per-request context (request id, client address, user) carried in context variables, so that
logs and audit events can name the request without every service taking a `request` argument."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RequestContext:
    request_id: str = ""
    ip: str | None = None
    user_id: int | None = None
    method: str = ""
    path: str = ""


_EMPTY = RequestContext()  # frozen, so sharing it as the default is safe
_current: ContextVar[RequestContext] = ContextVar("request_context", default=_EMPTY)


def get_context() -> RequestContext:
    return _current.get()


def set_context(ctx: RequestContext) -> object:
    return _current.set(ctx)


def reset_context(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


def bind_user(user_id: int | None) -> None:
    """Record the authenticated user once DRF has resolved it (authentication is lazy)."""
    ctx = _current.get()
    _current.set(
        RequestContext(
            request_id=ctx.request_id, ip=ctx.ip, user_id=user_id, method=ctx.method, path=ctx.path
        )
    )
