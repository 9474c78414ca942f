"""Extra request facts for the access log that only the view knows (the store a sale was for).

A view or service calls `bind_store(store_id)` once it has resolved the store; the access-log
middleware reads it when the response leaves. Nothing is looked up just to log it.
"""

from __future__ import annotations

from contextvars import ContextVar

_store_id: ContextVar[int | None] = ContextVar("access_log_store_id", default=None)


def bind_store(store_id: int | None) -> None:
    _store_id.set(store_id)


def bound_store() -> int | None:
    return _store_id.get()


def clear() -> object:
    return _store_id.set(None)


def restore(token: object) -> None:
    _store_id.reset(token)  # type: ignore[arg-type]
