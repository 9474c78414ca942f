"""The register snapshot: built once per (store, catalog version, cost visibility), gzipped once,
kept in the cache and served as those bytes to every register that asks.

Single flight: the first request for a key it does not find takes a lock key (`cache.add`, with
a timeout) and builds; the others poll the cache until the bytes appear. If the builder dies,
its lock expires after `SYNC_SNAPSHOT_LOCK_SECONDS` and the next waiter to try takes it over.
"""

from __future__ import annotations

import gzip
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.db import transaction
from django.utils import timezone

from monitoring.metrics import SYNC_SNAPSHOT_BUILDS
from sync import selectors


@dataclass(frozen=True, slots=True)
class Snapshot:
    store_id: int
    version: int
    show_cost: bool
    body: bytes  # gzip of the NDJSON text

    @property
    def etag(self) -> str:
        return snapshot_etag(self.store_id, self.version, self.show_cost)


def snapshot_etag(store_id: int, version: int, show_cost: bool) -> str:
    return f'"s{store_id}-v{version}-{"c" if show_cost else "n"}"'


def _cache():  # type: ignore[no-untyped-def]
    return caches[getattr(settings, "SYNC_SNAPSHOT_CACHE", "default")]


def _ttl() -> int:
    return int(getattr(settings, "SYNC_SNAPSHOT_TTL", 3600))


def _lock_seconds() -> float:
    return float(getattr(settings, "SYNC_SNAPSHOT_LOCK_SECONDS", 30))


def _key(store_id: int, version: int, show_cost: bool) -> str:
    return f"sync:snapshot:{store_id}:{version}:{int(show_cost)}"


def snapshot_build(*, store_id: int, currency: str, show_cost: bool) -> Snapshot:
    """Read the store's register data at one catalog version (one statement) and gzip it as
    NDJSON: a first line `{"store": id, "version": V}`, then one line per object."""
    SYNC_SNAPSHOT_BUILDS.inc()
    with transaction.atomic():  # one statement; the transaction keeps any re-read consistent
        selectors.jit_off()
        version, lines = selectors.snapshot_lines(
            store_id=store_id,
            show_cost=show_cost,
            places=selectors.store_places(currency),
            at=timezone.now(),
        )
    head = f'{{"store": {store_id}, "version": {version}}}'
    text = "\n".join([head, *lines]) + "\n"
    body = gzip.compress(text.encode(), compresslevel=6, mtime=0)
    return Snapshot(store_id=store_id, version=version, show_cost=show_cost, body=body)


def snapshot_cached(*, store_id: int, version: int, show_cost: bool) -> Snapshot | None:
    found = _cache().get(_key(store_id, version, show_cost))
    if found is None:
        return None
    built_version, body = found
    return Snapshot(store_id=store_id, version=built_version, show_cost=show_cost, body=body)


def snapshot_get(
    *, store_id: int, currency: str, version: int, show_cost: bool
) -> tuple[Snapshot, bool]:
    """The snapshot for the store at catalog version `version` (or a later one, when writes
    committed while it was built), and whether this call built it. Built by one caller at a
    time per key (single flight)."""
    cache = _cache()
    key = _key(store_id, version, show_cost)
    lock = f"{key}:lock"
    deadline = None
    while True:
        found = snapshot_cached(store_id=store_id, version=version, show_cost=show_cost)
        if found is not None:
            return found, False
        if cache.add(lock, 1, timeout=_lock_seconds()):
            try:
                # Someone may have finished between our miss and our lock.
                found = snapshot_cached(store_id=store_id, version=version, show_cost=show_cost)
                if found is not None:
                    return found, False
                built = snapshot_build(store_id=store_id, currency=currency, show_cost=show_cost)
                value = (built.version, built.body)
                cache.set(_key(store_id, built.version, show_cost), value, timeout=_ttl())
                if built.version != version:
                    # Newer than asked for: the waiters on `version` take it too.
                    cache.set(key, value, timeout=_ttl())
                return built, True
            finally:
                cache.delete(lock)
        # Someone else builds: wait for the bytes (or for their lock to expire).
        if deadline is None:
            deadline = time.monotonic() + _lock_seconds() * 2
        if time.monotonic() > deadline:
            raise TimeoutError("snapshot build did not finish")
        time.sleep(0.02)
