"""Throttling of gift card codes, so codes cannot be guessed (django-ratelimit on the default
cache, like the logins' `accounts.throttling`).

Two counters of *failed* codes (unknown, expired, another store's — a lookup's or a sale's), each
a fixed window: per user (`GIFT_CARD_CODE_RATE_PER_USER`, default `10/5m`) and per client address
(`GIFT_CARD_CODE_RATE_PER_IP`, default `30/5m`: a store's registers often share one). Once either
reaches its limit, every code from that user or address — right or wrong, it is not even looked
up — answers `429 throttled` (with `Retry-After`) until the window ends. A good code costs
nothing: a busy counter is never throttled for its real cards.

The cache down: fails open (as logins do), logged.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import get_usage

from apitools.middleware import client_ip
from domain.errors import Throttled

logger = logging.getLogger("giftcards.throttling")

USER_GROUP = "giftcards.code.user"
IP_GROUP = "giftcards.code.ip"


def _counters(request: HttpRequest) -> list[tuple[str, str, str, str]]:
    """(scope, group, value, rate) of the two counters."""
    user_id = getattr(request.user, "pk", None)
    return [
        ("gift_card_user", USER_GROUP, str(user_id), settings.GIFT_CARD_CODE_RATE_PER_USER),
        (
            "gift_card_ip",
            IP_GROUP,
            client_ip(request) or "unknown",
            settings.GIFT_CARD_CODE_RATE_PER_IP,
        ),
    ]


def _usage(request: HttpRequest, group: str, value: str, rate: str, increment: bool) -> Any:
    try:
        return get_usage(
            request, group=group, key=lambda _g, _r: value, rate=rate, increment=increment
        )
    except Exception:  # a broken cache must never turn a sale into a 500
        logger.warning("gift card throttle unavailable (cache error); failing open", exc_info=True)
        return None


def gift_card_code_check(request: HttpRequest) -> None:
    """Refuse (`Throttled`) when the user or the address has used up its failed codes. Call
    before looking a code up."""
    for scope, group, value, rate in _counters(request):
        usage = _usage(request, group, value, rate, increment=False)
        if usage is not None and int(usage["count"]) >= int(usage["limit"]):
            logger.warning("gift card codes throttled", extra={"scope": scope})
            exc = Throttled(
                "Too many wrong gift card codes. Try again later.",
                retry_after=max(1, int(usage["time_left"])),
            )
            exc.scope = scope  # type: ignore[attr-defined]
            raise exc


def gift_card_code_failure_register(request: HttpRequest) -> None:
    """Count one failed code against the user and the address."""
    for _scope, group, value, rate in _counters(request):
        _usage(request, group, value, rate, increment=True)
