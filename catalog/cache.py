"""Read-through caching of the catalog's hottest reads: barcode lookups, the category tree and
the tax rates, in the Django cache (Redis in production).

Invalidation is by generation: every cached entry holds the generation of its group it was
loaded under, and a write replaces the group's generation after commit. A reader that loaded a
value just before a write committed can only store it with the old generation, which no longer
matches, so a lookup never serves data older than the last committed write for longer than a
cache outage. A hit is one round trip (`MGET` of the generation and the entry). Entries also
expire (`ENTRY_TTL`) as a last resort against a lost invalidation.

With the cache down (django-redis `IGNORE_EXCEPTIONS`), every read is a miss served from the
database: slower, never wrong. Hits and misses are counted in
`monitoring.metrics.CACHE_REQUESTS` under the group name.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from django.core.cache import cache
from django.db import transaction

from monitoring.metrics import CACHE_REQUESTS

BARCODE = "barcode"
CATEGORIES = "categories"
TAX_RATES = "tax_rates"
GROUPS = (BARCODE, CATEGORIES, TAX_RATES)

ENTRY_TTL = 600  # seconds
_GENERATION_KEY = "catalog:gen:{group}"
_MISSING = object()

logger = logging.getLogger("catalog.cache")

T = TypeVar("T")


def _generation(group: str) -> str | None:
    """The group's current generation, created on first use; `None` when the cache is down."""
    key = _GENERATION_KEY.format(group=group)
    generation = cache.get(key)
    if generation is None:
        cache.add(key, uuid.uuid4().hex, timeout=None)
        generation = cache.get(key)
    return generation


def _safely(call: Callable[[], T], fallback: T) -> T:
    """django-redis already turns connection errors into misses (`IGNORE_EXCEPTIONS`); this
    covers whatever else a backend may raise, so a broken cache never fails a request."""
    try:
        return call()
    except Exception:
        logger.warning("catalog cache unavailable; serving from the database", exc_info=True)
        return fallback


def _entry_key(group: str, name: str) -> str:
    digest = hashlib.sha256(name.encode()).hexdigest()[:40]
    return f"catalog:{group}:entry:{digest}"


def cached(group: str, name: str, load: Callable[[], T]) -> T:
    """Return the cached value of `name` in `group`, or `load()` it and cache it.

    A hit is one round trip (`MGET` of the group's generation and of the entry, which holds the
    generation it was loaded under); an entry of an older generation is a miss.
    `load` must return picklable plain data (serializer output), never model instances.
    """
    gen_key, entry_key = _GENERATION_KEY.format(group=group), _entry_key(group, name)
    found = _safely(lambda: cache.get_many([gen_key, entry_key]), None)
    generation = found.get(gen_key) if found is not None else None
    if found is not None and generation is None:
        generation = _safely(lambda: _generation(group), None)  # first use: create it
    if generation is None:
        CACHE_REQUESTS.labels(cache=group, result="miss").inc()
        return load()
    entry = found.get(entry_key) if found is not None else None
    if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == generation:
        CACHE_REQUESTS.labels(cache=group, result="hit").inc()
        return entry[1]  # type: ignore[no-any-return]
    CACHE_REQUESTS.labels(cache=group, result="miss").inc()
    value = load()
    # Stored with the generation read *before* loading: should a write commit in between, its
    # new generation makes this entry a miss for everyone.
    _safely(lambda: cache.set(entry_key, (generation, value), timeout=ENTRY_TTL), None)
    return value


def invalidate(*groups: str) -> None:
    """Start a new generation of each group once the current transaction commits (at once
    outside a transaction)."""
    names: Iterable[str] = tuple(dict.fromkeys(groups))

    def bump() -> None:
        _safely(
            lambda: cache.set_many(
                {_GENERATION_KEY.format(group=g): uuid.uuid4().hex for g in names}, timeout=None
            ),
            None,
        )

    transaction.on_commit(bump)


def barcode_entry_name(barcode: str, store_id: int | None = None) -> str:
    """A lookup's entry: per store when a store reads it (scale barcodes, store prices)."""
    if store_id is None:
        return f"barcode={barcode}"
    return f"barcode={barcode};store={store_id}"


def barcode_lookups_follow_store(*, store: Any) -> None:
    """A store was created or changed how its scale labels read: drop the cached lookups."""
    invalidate(BARCODE)


def lookup(group: str, name: str) -> Any:
    """Peek without loading (tests and diagnostics): the cached value or `None`."""
    generation = _safely(lambda: _generation(group), None)
    if generation is None:
        return None
    entry = _safely(lambda: cache.get(_entry_key(group, name)), None)
    if isinstance(entry, tuple) and len(entry) == 2 and entry[0] == generation:
        return entry[1]
    return None
