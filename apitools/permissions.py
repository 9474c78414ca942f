"""Role permissions. Deny by default: a view answers a role only if it names that role.

A view declares `allowed_roles`, either one set for every action or a dict from action name
(`list`, `retrieve`, `create`, `update`, `partial_update`, `destroy`, custom `@action` names) to
a set of roles; `"*"` in the dict is the fallback. A view that declares nothing answers nobody.
Roles are the strings `admin`, `manager`, `cashier` (see `accounts.models.Role`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from rest_framework.permissions import BasePermission

if TYPE_CHECKING:
    from rest_framework.request import Request
    from rest_framework.views import APIView

ADMIN = "admin"
MANAGER = "manager"
CASHIER = "cashier"
ALL_ROLES = frozenset({ADMIN, MANAGER, CASHIER})
STAFF_ROLES = frozenset({ADMIN, MANAGER})
ADMIN_ONLY = frozenset({ADMIN})


def roles_for(view: APIView, request: Request) -> frozenset[str]:
    declared = getattr(view, "allowed_roles", None)
    if declared is None:
        return frozenset()
    if isinstance(declared, Mapping):
        action = getattr(view, "action", None) or (request.method or "").lower()
        roles: Iterable[str] | None = declared.get(action, declared.get("*"))
        return frozenset(roles or ())
    return frozenset(declared)


class IsAuthenticatedWithRole(BasePermission):
    """Authenticated, active, and holding a role the view names for this action."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        return getattr(user, "role", None) in roles_for(view, request)
