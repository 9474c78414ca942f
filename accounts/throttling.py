"""Login throttling with django-ratelimit on the default cache (Redis in production).

Two counters, each a fixed window of the configured rate (`"count/period"`, e.g. `5/5m`):

* per username (`LOGIN_RATE_PER_USERNAME`): counts *failed* logins (and failed `old_password`
  checks) for one username, whoever sends them. Once the count reaches the limit, every attempt
  for that username — right password or not, the password is not even checked — answers
  `429 throttled` until the window ends. Usernames are compared case-insensitively here so that
  `Cashier` and `cashier` share one counter.
* per client address (`LOGIN_RATE_PER_IP`): counts *every* login attempt from one address. A
  store's registers often sit behind one address, so this limit is much higher.

The `429` carries `Retry-After`: the seconds until the window that tripped ends (the cool-off);
after that the counter starts again from zero.

When the cache is down or hangs (Redis unreachable), throttling **fails open**: django-redis
ignores the error (`IGNORE_EXCEPTIONS`), django-ratelimit sees no count and, with
`RATELIMIT_FAIL_OPEN=True`, does not limit; any other cache error is caught here and logged. Logins
go on unthrottled (never a `500`) because a store that cannot sign in cannot sell; the outage is
visible in the logs and in the readiness check (`cache: degraded`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import get_usage

from apitools.middleware import client_ip
from domain.errors import Throttled
from monitoring.metrics import THROTTLE_UNAVAILABLE

logger = logging.getLogger("accounts.throttling")

USERNAME_GROUP = "accounts.login.username"
IP_GROUP = "accounts.login.ip"


@dataclass(frozen=True, slots=True)
class _Usage:
    count: int
    limit: int
    seconds_left: int


def _normalise(username: str) -> str:
    return username.strip().casefold()[:150]


def _usage(
    request: HttpRequest, *, group: str, value: str, rate: str, increment: bool
) -> _Usage | None:
    """The counter's state, or None when the cache could not be read (fail open)."""
    try:
        usage: dict[str, Any] | None = get_usage(
            request,
            group=group,
            key=lambda _group, _request: value,
            rate=rate,
            increment=increment,
        )
    except Exception:  # a broken cache must never turn a login into a 500
        logger.warning("login throttle unavailable (cache error); failing open", exc_info=True)
        THROTTLE_UNAVAILABLE.labels(group=group).inc()
        return None
    if usage is None:
        if getattr(settings, "RATELIMIT_ENABLE", True):
            # django-ratelimit answers None (fail open, `RATELIMIT_FAIL_OPEN`) when the cache
            # swallowed an error (django-redis' IGNORE_EXCEPTIONS) and the count was lost: say so,
            # or a Redis that times out under load would silently stop every lock-out.
            logger.warning("login throttle unavailable (count lost); failing open")
            THROTTLE_UNAVAILABLE.labels(group=group).inc()
        return None
    return _Usage(
        count=int(usage["count"]), limit=int(usage["limit"]), seconds_left=int(usage["time_left"])
    )


def _refuse(scope: str, seconds_left: int) -> Throttled:
    """The 429. The problem handler counts it in `monitoring.metrics.THROTTLED` under `scope`
    (`login_username` or `login_ip`)."""
    logger.warning("login throttled", extra={"scope": scope})
    exc = Throttled("Too many login attempts. Try again later.", retry_after=max(1, seconds_left))
    exc.scope = scope  # type: ignore[attr-defined]
    return exc


def login_attempt_check(request: HttpRequest, username: str) -> None:
    """Count this attempt against the client address and refuse it (raise `Throttled`) when the
    address or the username is over its limit. Call before checking the password."""
    address = client_ip(request) or "unknown"
    by_ip = _usage(
        request, group=IP_GROUP, value=address, rate=settings.LOGIN_RATE_PER_IP, increment=True
    )
    if by_ip is not None and by_ip.count > by_ip.limit:
        raise _refuse("login_ip", by_ip.seconds_left)
    username_failures_check(request, username)


def username_failures_check(request: HttpRequest, username: str) -> None:
    """Refuse when `username` has used up its failures in the current window."""
    by_username = _usage(
        request,
        group=USERNAME_GROUP,
        value=_normalise(username),
        rate=settings.LOGIN_RATE_PER_USERNAME,
        increment=False,
    )
    if by_username is not None and by_username.count >= by_username.limit:
        raise _refuse("login_username", by_username.seconds_left)


def login_failure_register(request: HttpRequest, username: str) -> None:
    """Count one failed password check for `username`."""
    _usage(
        request,
        group=USERNAME_GROUP,
        value=_normalise(username),
        rate=settings.LOGIN_RATE_PER_USERNAME,
        increment=True,
    )
