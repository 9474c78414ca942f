"""Fixtures for the security tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:
    """Users are created in almost every test here; the production hasher's cost is not what
    these tests measure (lockout counts attempts, not time)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
