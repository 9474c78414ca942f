"""The ceiling for a Django + DRF JSON endpoint on this machine: `make bench` serves this module
under the project's own gunicorn configuration (`posproject/gunicorn.conf.py`, same workers) and
loads `GET /bare/` at concurrency 1 and 8.

Deliberately bare: one `APIView` answering `{"ok": true}` through DRF's request/response cycle
and JSONRenderer, with no middleware, no authentication, no permission, no database and no
cache. Whatever the real API costs above this is ours (middleware, JWT, queries, serializers);
below it, only Django, DRF and gunicorn.
"""

from __future__ import annotations

import os

DEBUG = False
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or os.urandom(32).hex()
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = ["rest_framework"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.bare_urls"
DATABASES: dict[str, dict[str, str]] = {}
USE_TZ = True
LOGGING_CONFIG = None
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
}
