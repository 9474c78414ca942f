"""Roles mapped onto Django groups and model permissions.

The API authorises by `User.role` (see `apitools.permissions`); the Django admin authorises
by model permissions. One group per role carries the permissions below, and every user is a
member of exactly the group of their role (kept in sync by `accounts.services`), so the two views
of "what may a manager do" cannot drift apart.

The groups are created by a data migration and re-synced after every `migrate` (a post-migrate
hook, as Django itself does for permissions): permissions of models added later by other apps
join the right groups without another migration here, and a test-database flush restores them.
"""

from __future__ import annotations

from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

from accounts.models import Role

# app label → codename patterns. Admins get every permission. Nobody but admins deletes: sold
# products are deactivated, users deactivated, posted records never removed.
ROLE_PERMISSIONS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    Role.MANAGER: {
        "accounts": (
            "view_store",
            "view_register",
            "add_register",
            "change_register",
            "view_user",
            "add_user",
            "change_user",
        ),
        "catalog": (
            "view_*",
            "add_product",
            "change_product",
            "add_category",
            "change_category",
            "add_taxrate",
            "change_taxrate",
            "add_stockmovement",
            "add_modifiergroup",
            "change_modifiergroup",
            "add_modifier",
            "change_modifier",
        ),
        # Erasing a customer is not a deletion (the row stays): the API's `DELETE`, manager+.
        "customers": ("view_customer", "add_customer", "change_customer"),
        "orders": (
            "view_*",
            "add_order",
            "add_shift",
            "change_shift",
            "add_cashmovement",
            "add_refund",
        ),
        "ledger": ("view_account", "view_journalentry", "view_journalline"),
        "audit": ("view_auditevent",),
        # Items are edited as part of their list (the inline asks for `change_pricelist`).
        "pricebook": (
            "view_*",
            "add_pricelist",
            "change_pricelist",
            "add_promotion",
            "change_promotion",
        ),
    },
    Role.CASHIER: {
        "accounts": ("view_store", "view_register"),
        "catalog": (
            "view_product",
            "view_category",
            "view_taxrate",
            "view_stocklevel",
            "view_modifiergroup",
            "view_modifier",
        ),
        "customers": ("view_customer", "add_customer"),
        "pricebook": ("view_*",),
        "orders": (
            "view_order",
            "add_order",
            "view_shift",
            "add_shift",
            "change_shift",
            "view_cashmovement",
            "add_cashmovement",
        ),
    },
}


def group_name(role: str) -> str:
    return str(role)


def role_grants(role: str, app_label: str, codename: str) -> bool:
    if role == Role.ADMIN:
        return True
    patterns = ROLE_PERMISSIONS.get(role, {}).get(app_label, ())
    return any(fnmatchcase(codename, pattern) for pattern in patterns)


def sync_role_groups(*, group_model: Any, permission_model: Any) -> None:
    """Create the role groups if missing and give each exactly its permissions (idempotent).

    Takes the models as arguments so that the data migration can pass historical models."""
    permissions = list(permission_model.objects.select_related("content_type").order_by("id").all())
    for role in Role:
        group, _ = group_model.objects.get_or_create(name=group_name(role))
        wanted = [
            perm
            for perm in permissions
            if role_grants(role, perm.content_type.app_label, perm.codename)
        ]
        group.permissions.set(wanted)
