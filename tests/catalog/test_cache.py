"""`catalog.cache.cached`: one cache round trip on a hit, and never a stale value after a write
committed while the value was being loaded."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache as django_cache

from catalog import cache

pytestmark = pytest.mark.django_db


class CountingCache:
    """Counts the calls `catalog.cache` makes to the cache backend (a backend's own inner calls,
    such as the in-process cache's `get_many` calling `get`, are not round trips)."""

    def __init__(self, monkeypatch: Any) -> None:
        self.calls: list[str] = []
        self.depth = 0
        for name in ("get", "get_many", "set", "add", "set_many"):
            original = getattr(django_cache, name)

            def wrapper(*args: Any, _name: str = name, _original: Any = original, **kw: Any):
                if not self.depth:
                    self.calls.append(_name)
                self.depth += 1
                try:
                    return _original(*args, **kw)
                finally:
                    self.depth -= 1

            monkeypatch.setattr(cache.cache, name, wrapper)


def test_a_hit_is_one_round_trip(monkeypatch: Any) -> None:
    loads: list[int] = []
    assert cache.cached(cache.BARCODE, "barcode=1", lambda: loads.append(1) or ["v"]) == ["v"]
    counting = CountingCache(monkeypatch)
    assert cache.cached(cache.BARCODE, "barcode=1", lambda: loads.append(1) or ["x"]) == ["v"]
    assert counting.calls == ["get_many"]
    assert loads == [1]


def test_a_value_loaded_while_a_write_commits_is_never_served(
    django_capture_on_commit_callbacks: Any,
) -> None:
    def load_racing_a_write() -> list[str]:
        # A product write commits (and bumps the generation) after this reader read the
        # generation but before it stores what it loaded from the database.
        with django_capture_on_commit_callbacks(execute=True):
            cache.invalidate(cache.BARCODE)
        return ["old"]

    assert cache.cached(cache.BARCODE, "barcode=2", load_racing_a_write) == ["old"]
    assert cache.cached(cache.BARCODE, "barcode=2", lambda: ["new"]) == ["new"]
    assert cache.cached(cache.BARCODE, "barcode=2", lambda: ["unused"]) == ["new"]
    assert cache.lookup(cache.BARCODE, "barcode=2") == ["new"]


def test_an_invalidated_group_misses_and_other_groups_keep_their_entries(
    django_capture_on_commit_callbacks: Any,
) -> None:
    cache.cached(cache.BARCODE, "barcode=3", lambda: ["b"])
    cache.cached(cache.TAX_RATES, "all", lambda: ["t"])
    with django_capture_on_commit_callbacks(execute=True):
        cache.invalidate(cache.BARCODE)
    assert cache.lookup(cache.BARCODE, "barcode=3") is None
    assert cache.lookup(cache.TAX_RATES, "all") == ["t"]


def test_without_a_cache_every_read_loads(settings: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}
    loads: list[int] = []
    for _ in range(2):
        assert cache.cached(cache.BARCODE, "barcode=4", lambda: loads.append(1) or ["v"]) == ["v"]
    assert loads == [1, 1]
