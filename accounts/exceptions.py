"""Domain errors of accounts and auth; one DRF exception handler maps them to problem+json.

The 401s are `NotAuthenticated` domain errors rather than DRF's `AuthenticationFailed` on purpose:
DRF turns an `AuthenticationFailed` raised by a view without authenticators (the public token
endpoints) into a 403, and the contract says 401.
"""

from __future__ import annotations

from domain.errors import Forbidden, NotAuthenticated


class InvalidCredentials(NotAuthenticated):
    code = "authentication_failed"
    default_detail = "Invalid username or password."


class TokenNotValid(NotAuthenticated):
    code = "token_not_valid"
    default_detail = "Token is invalid, expired or revoked."


class UserManagementForbidden(Forbidden):
    """The actor may not make this change to this user (own role or stores, a role above what
    they may grant, stores that are not theirs)."""
