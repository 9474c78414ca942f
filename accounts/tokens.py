"""Token helpers: every token carries `ver`, the user's `token_version` when it was issued.

Refresh tokens are recorded in simplejwt's `OutstandingToken` table (by `jti`) so that they can be
blacklisted on rotation and logout. simplejwt stores the whole token string in that row; we store
only its SHA-256 fingerprint instead — a database dump must never hand out working credentials.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

TOKEN_VERSION_CLAIM = "ver"  # noqa: S105 - a claim name, not a secret


def token_fingerprint(raw: str) -> str:
    return "sha256:" + hashlib.sha256(raw.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class TokenPair:
    access: str
    refresh: str

    def as_dict(self) -> dict[str, str]:
        return {"access": self.access, "refresh": self.refresh}


def tokens_for(user: Any) -> RefreshToken:
    """A new refresh token for `user` (recorded as outstanding); `.access_token` derives the
    access token, which inherits the `ver` claim."""
    # `RefreshToken()` (not `for_user`, which would store the raw token) builds exp/iat/jti.
    refresh = RefreshToken()
    refresh[api_settings.USER_ID_CLAIM] = str(getattr(user, api_settings.USER_ID_FIELD))
    refresh[TOKEN_VERSION_CLAIM] = user.token_version
    OutstandingToken.objects.create(
        user=user,
        jti=refresh[api_settings.JTI_CLAIM],
        token=token_fingerprint(str(refresh)),
        created_at=refresh.current_time,
        expires_at=datetime_from_epoch(refresh["exp"]),
    )
    return refresh


def token_pair_for(user: Any) -> TokenPair:
    refresh = tokens_for(user)
    return TokenPair(access=str(refresh.access_token), refresh=str(refresh))
