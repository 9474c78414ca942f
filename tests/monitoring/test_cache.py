"""`monitoring.cache.cached_get`: hits and misses are counted, and a down or hung cache costs a
load from the source, never an error."""

from __future__ import annotations

import time

import pytest

from monitoring.cache import cache_delete, cache_set, cached_get
from tests.monitoring.conftest import redis_caches
from tests.monitoring.helpers import sample


def counts(name: str) -> tuple[float, float, float]:
    return tuple(  # type: ignore[return-value]
        sample("pos_cache_requests_total", cache=name, result=result)
        for result in ("hit", "miss", "error")
    )


def test_miss_then_hit_is_counted() -> None:
    loads = []

    def loader() -> dict[str, str]:
        loads.append(1)
        return {"name": "Coffee"}

    hit0, miss0, _ = counts("product-test")
    assert cached_get("product:1", loader, 60, "product-test") == {"name": "Coffee"}
    assert cached_get("product:1", loader, 60, "product-test") == {"name": "Coffee"}
    assert len(loads) == 1
    hit1, miss1, _ = counts("product-test")
    assert (hit1 - hit0, miss1 - miss0) == (1, 1)


def test_delete_invalidates() -> None:
    values = iter(["first", "second"])
    assert cached_get("k:del", lambda: next(values), 60, "del-test") == "first"
    assert cache_delete("k:del")
    assert cached_get("k:del", lambda: next(values), 60, "del-test") == "second"


def test_none_is_not_cached() -> None:
    loads = []
    for _ in range(2):
        assert cached_get("k:none", lambda: loads.append(1), 60, "none-test") is None
    assert len(loads) == 2


@pytest.mark.parametrize("listener", ["dead_port", "hung_port"])
def test_down_or_hung_redis_falls_back_to_the_loader(settings, request, listener) -> None:
    settings.CACHES = redis_caches(request.getfixturevalue(listener))
    started = time.monotonic()
    assert cached_get("k:redis", lambda: "from-db", 60, "redis-down-test") == "from-db"
    assert cache_set("k:other", "v")  # swallowed by django-redis: no exception either way
    assert cache_delete("k:other") in (True, False)
    assert time.monotonic() - started < 3.0
    _, misses, _ = counts("redis-down-test")
    assert misses >= 1


def test_a_backend_that_raises_is_counted_as_error(settings) -> None:
    settings.CACHES = {"default": {"BACKEND": "tests.monitoring.test_cache.ExplodingCache"}}
    _, _, errors0 = counts("exploding-test")
    assert cached_get("k", lambda: 42, 60, "exploding-test") == 42
    assert cache_set("k", 1) is False
    assert cache_delete("k") is False
    _, _, errors1 = counts("exploding-test")
    assert errors1 - errors0 == 1


from django.core.cache.backends.base import BaseCache  # noqa: E402


class ExplodingCache(BaseCache):
    """A cache backend whose every call fails (what django-redis does without
    IGNORE_EXCEPTIONS)."""

    def __init__(self, location: str = "", params: dict | None = None) -> None:
        super().__init__(params or {})

    def get(self, *args, **kwargs):
        raise ConnectionError("cache down")

    set = delete_many = get
