"""The suite talks plain HTTP (the test client, the live server, gunicorn and Celery on loopback)
while it runs with DEBUG off, the production default. A plain-HTTP deployment turns the HTTPS
defaults off explicitly (SECURITY.md, "Plain HTTP behind a proxy"), and so does the suite: these
environment variables for the processes it starts, and the same values for its own settings
(read before any conftest runs, so they are set on the settings object)."""

from __future__ import annotations

from typing import Any

PLAIN_HTTP_ENV: dict[str, str] = {
    "DJANGO_SECURE_SSL_REDIRECT": "0",
    "DJANGO_SECURE_HSTS_SECONDS": "0",
    "DJANGO_SESSION_COOKIE_SECURE": "0",
    "DJANGO_CSRF_COOKIE_SECURE": "0",
}

PLAIN_HTTP_SETTINGS: dict[str, Any] = {
    "SECURE_SSL_REDIRECT": False,
    "SECURE_HSTS_SECONDS": 0,
    "SESSION_COOKIE_SECURE": False,
    "CSRF_COOKIE_SECURE": False,
}
