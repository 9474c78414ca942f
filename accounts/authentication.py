"""JWT authentication that also refuses tokens issued before a password change or deactivation
(simplejwt alone keeps honouring them until they expire).

Every token carries `ver`, the user's `token_version` when it was issued; password changes and
deactivation bump the version (an `F()` update), so one comparison here revokes every access token
issued before. The refresh endpoint makes the same check (`accounts.services.auth_refresh`).

The user row behind a token is cached (the default cache, Redis in production) so that an
authenticated request costs no database query: one `MGET` of the user's cache generation and of
the cached row (every field but the password hash, which stays deferred, plus the user's store
ids). An entry is only valid under the generation it was read under, and every change to a user
— any `save()` (password, deactivation, role, profile) or change of their stores, through the
services, the admin or the ORM — starts a new generation at once and again after its commit
(`invalidate_user`, wired to `post_save`/`post_delete`/`m2m_changed` in `accounts.apps`). A
reader that loaded the row just before a change committed stores it under a generation nobody
reads any more, so a revocation takes effect immediately. Each process also remembers the
access tokens it has verified (signature and claims) by their exact text, re-checking expiry
on every use (`_VerifiedTokens`). A change that bypasses `save()`
(`QuerySet.update()`, raw SQL) is not seen by the signals: it takes effect when the entry
expires, at most `AUTH_USER_CACHE_SECONDS` (default 30) later. With the cache down every request
reads the database (slower, never stale); `AUTH_USER_CACHE_SECONDS=0` turns the cache off.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, transaction
from rest_framework_simplejwt.authentication import JWTAuthentication as _BaseJWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.utils import aware_utcnow

from accounts.tokens import TOKEN_VERSION_CLAIM
from request_context import bind_user

logger = logging.getLogger("accounts.authentication")

_GENERATION_KEY = "auth:user-gen:{}"
_ENTRY_KEY = "auth:user:{}"
#: Never cached: the password hash is loaded from the database only if something asks for it.
_NOT_CACHED = frozenset({"password"})


def _revoked() -> InvalidToken:
    return InvalidToken({"detail": "Token has been revoked.", "code": "token_not_valid"})


def _ttl() -> int:
    return int(getattr(settings, "AUTH_USER_CACHE_SECONDS", 30))


def _cached_field_names() -> list[str]:
    return [
        field.attname
        for field in get_user_model()._meta.concrete_fields
        if field.attname not in _NOT_CACHED
    ]


def invalidate_user(user_id: Any) -> None:
    """Start a new cache generation for this user now and once more after the current
    transaction commits (at once only, outside a transaction)."""
    if not user_id or _ttl() <= 0:
        return

    def bump() -> None:
        try:
            cache.set(_GENERATION_KEY.format(user_id), uuid.uuid4().hex, timeout=None)
        except Exception:
            logger.warning("auth user cache unavailable for invalidation", exc_info=True)

    bump()
    if transaction.get_connection().in_atomic_block:
        transaction.on_commit(bump)


def _load(user_id: Any) -> Any | None:
    user_model = get_user_model()
    return user_model.objects.defer(*_NOT_CACHED).filter(pk=user_id).first()


def _cached_user(user_id: Any) -> Any | None:
    """The user (password deferred) from the cache, or from the database and then cached."""
    ttl = _ttl()
    if ttl <= 0:
        return _load(user_id)
    gen_key, entry_key = _GENERATION_KEY.format(user_id), _ENTRY_KEY.format(user_id)
    try:
        found = cache.get_many([gen_key, entry_key])
    except Exception:
        logger.warning("auth user cache unavailable; reading the database", exc_info=True)
        return _load(user_id)
    generation, entry = found.get(gen_key), found.get(entry_key)
    names = _cached_field_names()
    if generation is not None and entry is not None and entry[0] == generation:
        _, values, store_ids = entry
        cached: Any = get_user_model().from_db(DEFAULT_DB_ALIAS, names, values)
        if store_ids is not None:
            cached._visible_store_ids = list(store_ids)  # see accounts.selectors
        return cached

    if generation is None:
        try:
            cache.add(gen_key, uuid.uuid4().hex, timeout=None)
            generation = cache.get(gen_key)
        except Exception:  # noqa: BLE001
            generation = None
    user = _load(user_id)
    if user is None or generation is None:
        return user
    # The store ids go with the row (store-scoped reads then cost no query for them either).
    from accounts.selectors import visible_store_ids

    store_ids = visible_store_ids(user)
    try:
        cache.set(
            entry_key,
            (generation, [getattr(user, name) for name in names], store_ids),
            timeout=ttl,
        )
    except Exception:
        logger.warning("auth user cache unavailable; not cached", exc_info=True)
    return user


class _VerifiedTokens:
    """The access tokens this process has verified lately (signature, type, claims), by their
    exact text: a register sends the same token for up to 15 minutes, and PyJWT's decoding and
    simplejwt's checks cost more Python than the rest of a cached barcode lookup. Expiry is
    checked again on every use; revocation (`ver`, deactivation) is checked per request in
    `get_user`, as for a token verified afresh. Bounded, least recently used first out."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.tokens: OrderedDict[bytes, Any] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, raw: bytes) -> Any | None:
        with self.lock:
            token = self.tokens.get(raw)
            if token is not None:
                self.tokens.move_to_end(raw)
            return token

    def put(self, raw: bytes, token: Any) -> None:
        with self.lock:
            self.tokens[raw] = token
            self.tokens.move_to_end(raw)
            while len(self.tokens) > self.size:
                self.tokens.popitem(last=False)

    def drop(self, raw: bytes) -> None:
        with self.lock:
            self.tokens.pop(raw, None)


_verified = _VerifiedTokens(size=4096)


class JWTAuthentication(_BaseJWTAuthentication):
    def get_validated_token(self, raw_token: bytes) -> Any:
        token = _verified.get(raw_token)
        if token is not None:
            try:
                token.check_exp(current_time=aware_utcnow())  # not the time it was verified
            except TokenError:
                _verified.drop(raw_token)  # expired since: the full check below says so
            else:
                return token
        token = super().get_validated_token(raw_token)
        _verified.put(raw_token, token)
        return token

    def get_user(self, validated_token: Any) -> Any:
        try:
            user_id = validated_token[api_settings.USER_ID_CLAIM]
        except KeyError as exc:
            raise _revoked() from exc
        try:
            user_pk = int(user_id)
        except (TypeError, ValueError):
            raise _revoked() from None
        if not 0 < user_pk < 2**63:
            raise _revoked()
        user = _cached_user(user_pk)
        # Unknown user, moved-on token version, or deactivated: all the same to the client.
        if user is None or not user.is_active:
            raise _revoked()
        if validated_token.get(TOKEN_VERSION_CLAIM) != user.token_version:
            raise _revoked()
        bind_user(user.pk)
        return user
