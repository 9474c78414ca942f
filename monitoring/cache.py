"""Read-through caching that counts hits and misses and survives a down cache.

    product = cached_get(f"barcode:{store_id}:{code}", lambda: load(code), ttl=300,
                         cache_name="barcode")

`cache_name` is the label on `pos_cache_requests_total{cache=…}` (one per kind of thing cached);
`alias` picks the Django cache (`CACHES`), `default` unless told otherwise.

A down or hung cache never fails the caller: django-redis already swallows connection errors
(`IGNORE_EXCEPTIONS`) and answers "miss" after its socket timeout; anything else a backend raises
is caught here, counted as `result="error"`, and the loader's value is returned. So a cache
outage costs database load and latency, never a wrong answer or a 500.

Values of `None` are not cached (django-redis cannot tell a stored `None` from a miss): wrap them
if "nothing" must be cached too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import caches

from monitoring.metrics import CACHE_REQUESTS

logger = logging.getLogger("monitoring.cache")

T = TypeVar("T")

HIT = "hit"
MISS = "miss"
ERROR = "error"

_MISSING = object()


def cached_get(
    key: str,
    loader: Callable[[], T],
    ttl: int | None = 300,
    cache_name: str = "default",
    *,
    alias: str = "default",
) -> T:
    """The cached value for `key`, or `loader()` (then stored for `ttl` seconds)."""
    try:
        cache = caches[alias]
        value = cache.get(key, _MISSING)
    except Exception:  # noqa: BLE001 - a broken cache must never fail the caller
        logger.warning("cache read failed; loading directly", extra={"cache": cache_name})
        CACHE_REQUESTS.labels(cache=cache_name, result=ERROR).inc()
        return loader()
    if value is not _MISSING and value is not None:
        CACHE_REQUESTS.labels(cache=cache_name, result=HIT).inc()
        return value  # type: ignore[no-any-return]
    CACHE_REQUESTS.labels(cache=cache_name, result=MISS).inc()
    loaded = loader()
    if loaded is not None:
        cache_set(key, loaded, ttl, alias=alias)
    return loaded


def cache_set(key: str, value: object, ttl: int | None = 300, *, alias: str = "default") -> bool:
    """Store a value; False (logged) when the cache refused, never an exception."""
    try:
        caches[alias].set(key, value, ttl)
    except Exception:
        logger.warning("cache write failed", exc_info=True)
        return False
    return True


def cache_delete(*keys: str, alias: str = "default") -> bool:
    """Invalidate keys; False (logged) when the cache could not be reached. Callers that rely on
    invalidation for correctness should also keep TTLs short (a missed delete expires anyway)."""
    try:
        caches[alias].delete_many(list(keys))
    except Exception:
        logger.warning("cache delete failed", exc_info=True)
        return False
    return True
