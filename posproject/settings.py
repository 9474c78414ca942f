"""One environment-driven settings module (12-factor).

Every difference between a laptop and production comes from environment variables (or a `.env`
file beside `manage.py`), never from a copy of this file. PostgreSQL is the only database: with
nothing set, the project runs on the embedded PostgreSQL that `make run` and `make test` start
(`localdb`), an in-process cache and Celery without an external broker.
"""

from __future__ import annotations

import contextlib
import copy
import logging
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import environ
from django.core.exceptions import ImproperlyConfigured

import localdb

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
_env_file = BASE_DIR / ".env"
if _env_file.is_file():
    environ.Env.read_env(str(_env_file), overwrite=False)

# --- Core ---------------------------------------------------------------------------------------

DEBUG: bool = env.bool("DJANGO_DEBUG", default=False)

_INSECURE_KEY = "django-insecure-local-development-only"
SECRET_KEY: str = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY or SECRET_KEY == _INSECURE_KEY or SECRET_KEY.startswith("change-me"):
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is missing or is a placeholder. Set it in the environment or in "
            ".env (`make run` writes a random one for local use), or set DJANGO_DEBUG=true."
        )
    SECRET_KEY = _INSECURE_KEY

ALLOWED_HOSTS: list[str] = env.list(
    "DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"]
)
CSRF_TRUSTED_ORIGINS: list[str] = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "posproject.apps.AdminConfig",  # django.contrib.admin with the audited sign-in
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Index expressions with operator classes (the customers' trigram search indexes).
    "django.contrib.postgres",
    # Third party
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "csp",
    "django_prometheus",
    "django_celery_beat",
    "import_export",
    # Domain apps (dependency direction: see STYLE and .importlinter in pyproject.toml)
    "accounts",
    "audit",
    "catalog",
    "pricebook",
    "customers",
    "ledger",
    "orders",
    "giftcards",
    "storedvalue",
    "sync",
    "monitoring",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "apitools.middleware.RequestIDMiddleware",
    "monitoring.middleware.AccessLogMiddleware",
    # Outside the body-size limit, so that its 413 carries `Cache-Control: no-store` too.
    "apitools.middleware.ApiResponseHeadersMiddleware",
    "apitools.middleware.BodySizeLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "posproject.urls"
WSGI_APPLICATION = "posproject.wsgi.application"
ASGI_APPLICATION = "posproject.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "posproject" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------

DB_CONNECT_TIMEOUT: int = env.int("DB_CONNECT_TIMEOUT", default=3)
DB_STATEMENT_TIMEOUT_MS: int = env.int("DB_STATEMENT_TIMEOUT_MS", default=5000)
DB_LOCK_TIMEOUT_MS: int = env.int("DB_LOCK_TIMEOUT_MS", default=3000)
DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: int = env.int("DB_IDLE_IN_TRANSACTION_TIMEOUT_MS", default=30000)
# `pgbouncer` when DATABASE_URL points at PgBouncer in transaction mode (docs/operations.md,
# "PgBouncer"): a server connection then belongs to a client for one transaction only, so nothing
# may rely on session state. Empty: a direct connection to PostgreSQL.
DB_POOLER: str = env.str("DB_POOLER", default="").strip().lower()
if DB_POOLER not in ("", "pgbouncer"):
    raise ImproperlyConfigured(f"DB_POOLER must be empty or 'pgbouncer', not {DB_POOLER!r}")
DB_TIMEOUTS_MS: dict[str, int] = {
    "statement_timeout": DB_STATEMENT_TIMEOUT_MS,
    "lock_timeout": DB_LOCK_TIMEOUT_MS,
    "idle_in_transaction_session_timeout": DB_IDLE_IN_TRANSACTION_TIMEOUT_MS,
}


def _postgres(variable: str, config: dict[str, Any]) -> dict[str, Any]:
    """A database URL's config, refused unless it names PostgreSQL. A Unix socket directory given
    as a percent-encoded host (`postgres://user@%2Fpath%2Fto%2Fdir/db`, the form libpq documents)
    reaches libpq decoded."""
    if config["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured(
            f"{variable} must name a PostgreSQL database (postgres://…), not {config['ENGINE']}: "
            "PostgreSQL is the only database this project runs on."
        )
    config["HOST"] = unquote(config.get("HOST") or "")
    return config


# PostgreSQL only. Without DATABASE_URL: the embedded server's `pos` database on its Unix socket
# (`python -m localdb start`, run by `make run` / `make test`).
DATABASES = {
    "default": _postgres("DATABASE_URL", env.db_url("DATABASE_URL", default=localdb.database_url()))
}
_db = DATABASES["default"]
# Persistent connections plus short timeouts: a hung database costs a request seconds, not a
# worker. Directly connected, the timeouts are set per session through libpq's `options`;
# PgBouncer does not pass `options` on, so behind it they are role settings instead
# (`manage.py db_role_settings`). Persistent client connections are fine behind PgBouncer: the
# client keeps its PgBouncer connection, the server connection is lent per transaction.
_db.setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", default=60))
_db["CONN_HEALTH_CHECKS"] = True
_db.setdefault("OPTIONS", {})
_db["OPTIONS"].setdefault("connect_timeout", DB_CONNECT_TIMEOUT)
if DB_POOLER == "pgbouncer":
    _db["OPTIONS"].pop("options", None)
    # `.iterator()` would DECLARE a cursor WITH HOLD that outlives its transaction, on a server
    # connection the next transaction may not get. Without it `.iterator()` receives the whole
    # result at once (libpq) and only builds the objects in chunks.
    _db["DISABLE_SERVER_SIDE_CURSORS"] = True
    # None: psycopg never prepares (a statement prepared on one server connection does not exist
    # on the next one). Django's default client-side binding never prepares either; this keeps
    # it so should `server_side_binding` be turned on.
    _db["OPTIONS"]["prepare_threshold"] = None
else:
    _db["OPTIONS"].setdefault(
        "options", " ".join(f"-c {name}={ms}" for name, ms in DB_TIMEOUTS_MS.items())
    )
# A vanished server or a network partition: TCP keepalives and an unacknowledged-data limit make
# the socket fail instead of waiting for the kernel's default (~15 minutes).
_db["OPTIONS"].setdefault("keepalives", 1)
_db["OPTIONS"].setdefault("keepalives_idle", 30)
_db["OPTIONS"].setdefault("keepalives_interval", 10)
_db["OPTIONS"].setdefault("keepalives_count", 3)
_db["OPTIONS"].setdefault("tcp_user_timeout", env.int("DB_TCP_USER_TIMEOUT_MS", default=10000))
_db["ATOMIC_REQUESTS"] = False
_db.setdefault("TEST", {})
# Lets concurrent test runs on one server use separate test databases (`make test` sets it).
if env.str("DJANGO_TEST_DB_NAME", default=""):
    _db["TEST"]["NAME"] = env.str("DJANGO_TEST_DB_NAME")

# --- Read replica (reports) ----------------------------------------------------------------------
# REPLICA_DATABASE_URL adds the `replica` alias: a streaming hot standby that reports, exports, the
# dashboard and `reconcile` read from (`posproject.replica.reporting_db()`, explicit `.using()`;
# no router). It is a copy of the final default config (pool/timeouts/keepalives included) with
# the URL's host, port, name, user, password and query options, so whatever the default
# connection does the replica's does too. Sales, refunds and anything that reads its own writes
# never use it.
REPLICA_DATABASE_URL: str = env.str("REPLICA_DATABASE_URL", default="")
REPLICA_MAX_LAG_SECONDS: float = env.float("REPLICA_MAX_LAG_SECONDS", default=30.0)
REPLICA_CHECK_INTERVAL_SECONDS: float = env.float("REPLICA_CHECK_INTERVAL_SECONDS", default=5.0)
if REPLICA_DATABASE_URL:
    _replica_url = _postgres("REPLICA_DATABASE_URL", env.db_url_config(REPLICA_DATABASE_URL))
    _replica = copy.deepcopy(DATABASES["default"])
    for _key in ("NAME", "USER", "PASSWORD", "HOST", "PORT"):
        _replica[_key] = _replica_url.get(_key, "")
    # The replica URL's own query options (`?sslmode=verify-full&sslrootcert=…`) win over the
    # copied ones: a standby elsewhere on the network may need TLS the primary does not.
    _replica["OPTIONS"].update(_replica_url.get("OPTIONS", {}))
    # The standby serves the default's test database (it is a copy of the whole primary): the
    # test runner must neither create nor flush a second one on a read-only server.
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES["replica"] = _replica

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# --- Cache (and rate-limit storage) ------------------------------------------------------------

REDIS_URL: str = env.str("REDIS_URL", default="")
REDIS_SOCKET_TIMEOUT: float = env.float("REDIS_SOCKET_TIMEOUT", default=0.5)
if REDIS_URL:
    CACHES = {
        "default": {
            # django-redis plus django-prometheus' get/hit/miss/failure counters.
            "BACKEND": "django_prometheus.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="pos"),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": REDIS_SOCKET_TIMEOUT,
                "SOCKET_TIMEOUT": REDIS_SOCKET_TIMEOUT,
                # A down or hung Redis degrades to cache misses, never to a 500: selling goes on.
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    DJANGO_REDIS_IGNORE_EXCEPTIONS = True
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    CACHES = {
        "default": {
            "BACKEND": "django_prometheus.cache.backends.locmem.LocMemCache",
            "LOCATION": "pos-default",
        }
    }

# With DEBUG off, a web server or worker refuses to start on the in-process cache (no REDIS_URL)
# or the file broker (no CELERY_BROKER_URL), which would silently make rate limits, lock-outs and
# the cache per process and tasks per machine (monitoring/checks.py). `make run`, the test
# harnesses and the benchmark allow them explicitly.
ALLOW_LOCAL_SERVICES: bool = env.bool("DJANGO_ALLOW_LOCAL_SERVICES", default=False)

# --- Auth ---------------------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=30)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_CLAIM": "user_id",
}

# Seconds an authenticated user's row is cached for JWT authentication (no query per request).
# Every change through `save()` or to the user's stores invalidates it at once; a change behind
# the ORM's back (`QuerySet.update()`, SQL) takes effect within this time. 0 turns it off.
AUTH_USER_CACHE_SECONDS: int = env.int("AUTH_USER_CACHE_SECONDS", default=30)

# Login throttling (django-ratelimit on the default cache). Rates are "count/period".
LOGIN_RATE_PER_USERNAME: str = env.str("LOGIN_RATE_PER_USERNAME", default="5/5m")
LOGIN_RATE_PER_IP: str = env.str("LOGIN_RATE_PER_IP", default="60/5m")
# Gift cards (giftcards.throttling): failed codes (lookups and sales) per user and per address.
GIFT_CARD_CODE_RATE_PER_USER: str = env.str("GIFT_CARD_CODE_RATE_PER_USER", default="10/5m")
GIFT_CARD_CODE_RATE_PER_IP: str = env.str("GIFT_CARD_CODE_RATE_PER_IP", default="30/5m")
# How long an issued gift card is valid, in days (0: it never expires).
GIFT_CARD_VALIDITY_DAYS: int = env.int("GIFT_CARD_VALIDITY_DAYS", default=3 * 365)
RATELIMIT_USE_CACHE = "default"
RATELIMIT_EXCEPTION_CLASS = "domain.errors.Throttled"
# A down cache must not stop logins at the registers: fail open, and count it (see accounts).
RATELIMIT_FAIL_OPEN = True

# --- Internationalisation -----------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Serve straight from the apps' static folders when collectstatic has not run (local, tests).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- API ----------------------------------------------------------------------------------------

API_MAX_BODY_BYTES: int = env.int("API_MAX_BODY_BYTES", default=1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = max(API_MAX_BODY_BYTES, 2_621_440)
API_MAX_ORDER_LINES: int = env.int("API_MAX_ORDER_LINES", default=500)
# Sanity bound on a cash payment's `tendered` (in the store currency): above it the sale is
# refused with 400 `tendered_out_of_range` (a mistyped "2000" for "20.00" would otherwise book
# the change as paid out of the drawer).
try:
    CASH_TENDERED_MAX: Decimal = Decimal(env.str("CASH_TENDERED_MAX", default="100000.00"))
except ArithmeticError:
    CASH_TENDERED_MAX = Decimal("NaN")
if not (CASH_TENDERED_MAX.is_finite() and CASH_TENDERED_MAX > 0):
    raise ImproperlyConfigured("CASH_TENDERED_MAX must be a positive decimal amount.")
# The same bound for the currencies where 100000 is pocket money (`CODE=amount,…`, in that
# currency); a currency not listed takes CASH_TENDERED_MAX.
CASH_TENDERED_MAX_BY_CURRENCY: dict[str, Decimal] = {}
for _item in env.list(
    "CASH_TENDERED_MAX_BY_CURRENCY",
    default=["JPY=10000000", "KRW=100000000", "VND=2000000000", "IDR=1000000000", "CLP=50000000"],
):
    _code, _, _amount = _item.partition("=")
    try:
        _bound = Decimal(_amount.strip())
    except ArithmeticError:
        _bound = Decimal("NaN")
    if not (_bound.is_finite() and _bound > 0 and len(_code.strip()) == 3):
        raise ImproperlyConfigured(
            f"CASH_TENDERED_MAX_BY_CURRENCY: {_item!r} is not CODE=<positive amount>."
        )
    CASH_TENDERED_MAX_BY_CURRENCY[_code.strip().upper()] = _bound
IDEMPOTENCY_KEY_TTL_HOURS: int = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=96)
# Monthly partitions of the history tables are created this many months ahead (dbtools.partitions;
# the daily beat task `partitions-ensure`). A row for a month without a partition is refused.
PARTITION_MONTHS_AHEAD: int = env.int("PARTITION_MONTHS_AHEAD", default=3)
if PARTITION_MONTHS_AHEAD < 1:
    # With 0 the next month's partition appears only when the daily task runs on the 1st: every
    # sale between midnight UTC and then would be refused.
    raise ImproperlyConfigured("PARTITION_MONTHS_AHEAD must be 1 or more.")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ("accounts.authentication.JWTAuthentication",),
    "DEFAULT_PERMISSION_CLASSES": ("apitools.permissions.IsAuthenticatedWithRole",),
    "DEFAULT_PAGINATION_CLASS": "apitools.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ("django_filters.rest_framework.DjangoFilterBackend",),
    "DEFAULT_RENDERER_CLASSES": ("rest_framework.renderers.JSONRenderer",),
    "DEFAULT_PARSER_CLASSES": ("apitools.parsers.JSONParser",),
    "DEFAULT_SCHEMA_CLASS": "apitools.schema.AutoSchema",
    "EXCEPTION_HANDLER": "apitools.errors.problem_exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "DATETIME_FORMAT": "iso-8601",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"] = (
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    )

SPECTACULAR_SETTINGS = {
    "TITLE": "POS backend API",
    "DESCRIPTION": (
        "REST contract v1 for registers, scripts and tests. The contract, with the rules behind "
        "each endpoint, is `docs/API.md` in the repository.\n\n"
        "Money is a string with exactly the minor units of the store's currency (ISO 4217: "
        '`"12.50"` USD, `"100"` JPY, `"1.250"` KWD); a request may write more zeros (`"100.00"` '
        "in a JPY store) but no more significant decimals (`400`). Catalog prices, which belong "
        "to no store, have two decimals, or three when the third is significant."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        # Two choice sets share the field name `method`: the payment methods keep the name they
        # always had; a refund's `tenders[].method` (plus `store_credit`) gets its own.
        "MethodEnum": "orders.models.PaymentMethod",
        "RefundTenderMethodEnum": "orders.serializers.refunds.REFUND_TENDER_METHODS",
        "GiftCardStatusEnum": "giftcards.models.GiftCardStatus",
        "GiftCardIssueMethodEnum": "giftcards.services.ISSUE_TENDERS",
        # A promotion's `kind` beside a cash movement's: the cash movement keeps its name.
        "KindEnum": "orders.models.CashMovementKind",
        "PromotionKindEnum": "pricebook.models.PromotionKind",
    },
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "GET_MOCK_REQUEST": "apitools.schema.build_mock_request",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apitools.schema.add_problem_responses",
        "apitools.schema.decimal_inputs_accept_numbers",
    ],
}

CORS_ALLOWED_ORIGINS: list[str] = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"
CORS_EXPOSE_HEADERS = ["X-Request-ID", "X-Catalog-Version", "Idempotent-Replayed", "Retry-After"]

# --- Security (production values come from the environment; see SECURITY.md) ------------------

# Rotating DJANGO_SECRET_KEY without signing the admins out: the old key goes here for one session
# lifetime (Django verifies sessions, CSRF and password-reset tokens with these too).
SECRET_KEY_FALLBACKS: list[str] = env.list("DJANGO_SECRET_KEY_FALLBACKS", default=[])
# Secure by default: with DEBUG off, HTTP is redirected to HTTPS, HSTS is sent (a year, with
# subdomains, preload-ready) and both cookies are HTTPS-only. A plain-HTTP deployment (a local
# test, or behind a TLS proxy that does the redirect and HSTS itself) turns each off explicitly:
# DJANGO_SECURE_SSL_REDIRECT=0, DJANGO_SECURE_HSTS_SECONDS=0, DJANGO_SESSION_COOKIE_SECURE=0,
# DJANGO_CSRF_COOKIE_SECURE=0 (SECURITY.md, "Plain HTTP behind a proxy").
_HTTPS_BY_DEFAULT = not DEBUG
# The header the TLS-terminating proxy sets, as it is sent (`X-Forwarded-Proto`), and its value
# for HTTPS; empty when nothing in front sets (and strips) it, so a client cannot forge it.
_PROXY_SSL_HEADER: str = env.str("DJANGO_SECURE_PROXY_SSL_HEADER", default="X-Forwarded-Proto")
SECURE_PROXY_SSL_HEADER: tuple[str, str] | None = (
    (
        "HTTP_" + _PROXY_SSL_HEADER.strip().upper().replace("-", "_"),
        env.str("DJANGO_SECURE_PROXY_SSL_HEADER_VALUE", default="https"),
    )
    if _PROXY_SSL_HEADER.strip()
    else None
)
SECURE_SSL_REDIRECT: bool = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=_HTTPS_BY_DEFAULT)
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics$"]
SECURE_HSTS_SECONDS: int = env.int(
    "DJANGO_SECURE_HSTS_SECONDS", default=31536000 if _HTTPS_BY_DEFAULT else 0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS: bool = env.bool(
    "DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True
)
# The header's consent only: a domain is preloaded once someone submits it to hstspreload.org.
SECURE_HSTS_PRELOAD: bool = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=_HTTPS_BY_DEFAULT)
SESSION_COOKIE_SECURE: bool = env.bool("DJANGO_SESSION_COOKIE_SECURE", default=_HTTPS_BY_DEFAULT)
CSRF_COOKIE_SECURE: bool = env.bool("DJANGO_CSRF_COOKIE_SECURE", default=_HTTPS_BY_DEFAULT)
SESSION_COOKIE_HTTPONLY = True
# A CSRF failure is problem+json (`403 csrf_failed`) like every other error; the admin keeps
# Django's page.
CSRF_FAILURE_VIEW = "monitoring.views.csrf_failure"
# Sessions exist only for the Django admin (the API is JWT-only): a short idle timeout, renewed
# on every admin request, and gone when the browser closes.
SESSION_COOKIE_AGE: int = env.int("DJANGO_SESSION_COOKIE_AGE", default=3600)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# django-csp 4.0 (dict format; the `csp` app registers its checks). No inline or eval'd script
# anywhere: the admin is CSP-clean, Swagger UI is served split (`SpectacularSwaggerSplitView`,
# its init script is a separate same-origin file), and the one inline handler in
# django-import-export's export page is allowed by its hash alone. Inline styles stay allowed
# (the admin, Swagger UI and the HTML receipt use style attributes).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": [
            "'self'",
            "'unsafe-hashes'",
            "'sha256-wid4zL8fR53ZYy1ljOepzR77Dn6vWUUxuNnnWWBP3I8='",  # onSelectToggleChange(event)
        ],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- Celery -------------------------------------------------------------------------------------

# Embedded default: with no CELERY_BROKER_URL, kombu's `filesystem://` transport queues tasks as
# files under .celery/ (or CELERY_FILESYSTEM_BROKER_DIR); `make run` starts a worker with beat
# beside the web server. Publishing is a local file write, so a request never waits on a broker.
CELERY_BROKER_URL: str = env.str("CELERY_BROKER_URL", default="") or "filesystem://localhost/"
CELERY_FILESYSTEM_BROKER_DIR = Path(
    env.str("CELERY_FILESYSTEM_BROKER_DIR", default=str(BASE_DIR / ".celery"))
)
# Tests force eager mode (tests/conftest.py); anywhere else it is an explicit choice.
CELERY_TASK_ALWAYS_EAGER: bool = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_RESULT_BACKEND: str | None = env.str("CELERY_RESULT_BACKEND", default=None) or None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Keep the project's JSON logging in workers (Celery would otherwise replace the root handlers).
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=2.0)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
}
if CELERY_BROKER_URL.startswith("filesystem:"):
    _queue_dir = CELERY_FILESYSTEM_BROKER_DIR / "queue"
    CELERY_BROKER_TRANSPORT_OPTIONS.update(
        data_folder_in=str(_queue_dir),
        data_folder_out=str(_queue_dir),
        control_folder=str(CELERY_FILESYSTEM_BROKER_DIR / "control"),
        processed_folder=str(CELERY_FILESYSTEM_BROKER_DIR / "processed"),
        store_processed=False,
    )
    # kombu needs the folders to exist; on a read-only tree publishing fails later, loudly.
    with contextlib.suppress(OSError):
        _queue_dir.mkdir(parents=True, exist_ok=True)
        (CELERY_FILESYSTEM_BROKER_DIR / "control").mkdir(exist_ok=True)
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5}

# --- Operations ---------------------------------------------------------------------------------

METRICS_ALLOWED_CIDRS: list[str] = env.list("METRICS_ALLOWED_CIDRS", default=[])
# Load balancers whose X-Forwarded-For is believed for the client address (rate limits, audit).
TRUSTED_PROXY_CIDRS: list[str] = env.list("TRUSTED_PROXY_CIDRS", default=[])
SLOW_REQUEST_MS: int = env.int("SLOW_REQUEST_MS", default=500)
# Readiness waits this long (seconds) for all its checks together; a hung dependency is `down`.
HEALTH_CHECK_TIMEOUT: float = env.float("HEALTH_CHECK_TIMEOUT", default=1.5)
# After a failed task publish, stop trying for this long (seconds): see monitoring/tasks.py.
CELERY_PUBLISH_BACKOFF_SECONDS: float = env.float("CELERY_PUBLISH_BACKOFF_SECONDS", default=10.0)
# django-prometheus' database wrapper: queries, errors and latency per alias on /metrics.
if env.bool("PROMETHEUS_DB_METRICS", default=True):
    _db["ENGINE"] = "django_prometheus.db.backends.postgresql"
SENTRY_DSN: str = env.str("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT: str = env.str("SENTRY_ENVIRONMENT", default="production")
SENTRY_TRACES_SAMPLE_RATE: float = env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0)
APP_RELEASE: str = env.str("APP_RELEASE", default="dev")
LOG_LEVEL: str = env.str("LOG_LEVEL", default="INFO")
LOG_JSON: bool = env.bool("LOG_JSON", default=not DEBUG)
# Python warnings (a library's UserWarning, a deprecation notice) become log records on the
# `py.warnings` logger, so they leave the process as JSON lines like everything else instead of
# raw text on stderr (a fresh checkout without collectstatic made WhiteNoise print one).
logging.captureWarnings(True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_context": {"()": "posproject.logging.RequestContextFilter"},
        "redact": {"()": "posproject.logging.RedactSecretsFilter"},
    },
    "formatters": {
        "json": {"()": "posproject.logging.JsonFormatter"},
        "plain": {
            "()": "posproject.logging.PlainFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_context", "redact"],
            "formatter": "json" if LOG_JSON else "plain",
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.request": {"level": "ERROR"},
        "django.server": {"level": "WARNING"},
        "django_redis": {"level": "WARNING"},
        # Never the SQL, even with DEBUG and LOG_LEVEL=DEBUG: Django logs each statement with its
        # values interpolated, and those are customers' emails and phone numbers.
        "django.db.backends": {"level": "INFO"},
        # One line per request (monitoring.middleware); probes and scrapes at DEBUG.
        "monitoring.access": {"level": env.str("ACCESS_LOG_LEVEL", default="INFO")},
        "celery": {"level": LOG_LEVEL},
    },
}

if SENTRY_DSN:
    from posproject.sentry import init_sentry

    init_sentry(
        dsn=SENTRY_DSN,
        environment=SENTRY_ENVIRONMENT,
        release=APP_RELEASE,
        traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
    )
