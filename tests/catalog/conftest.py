"""Catalog test fixtures."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def cache_down(settings: Any) -> None:
    """The production cache configuration (django-redis, `IGNORE_EXCEPTIONS`) pointed at a port
    where nothing listens: every cache call fails fast and is swallowed."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 0.2,
                "SOCKET_TIMEOUT": 0.2,
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    settings.DJANGO_REDIS_IGNORE_EXCEPTIONS = True
