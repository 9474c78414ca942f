"""Django groups mirror the roles, so the admin's model permissions agree with the API's roles."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission

pytestmark = pytest.mark.django_db


def _codenames(group: str) -> set[str]:
    return set(
        Group.objects.get(name=group).permissions.values_list("content_type__app_label", "codename")
    )


def test_the_three_role_groups_exist_with_their_permissions() -> None:
    admin, manager, cashier = _codenames("admin"), _codenames("manager"), _codenames("cashier")
    assert admin == set(Permission.objects.values_list("content_type__app_label", "codename"))
    assert {
        ("catalog", "change_product"),
        ("catalog", "view_stockmovement"),
        ("accounts", "add_user"),
        ("accounts", "change_register"),
        ("audit", "view_auditevent"),
        ("ledger", "view_journalentry"),
    } <= manager
    assert {("catalog", "view_product"), ("orders", "add_order"), ("accounts", "view_store")} <= (
        cashier
    )
    # Nobody but admins deletes anything; cashiers see no ledger, audit or users.
    assert not {codename for _, codename in manager | cashier if codename.startswith("delete_")}
    assert not any(app in ("ledger", "audit") for app, _ in cashier)
    assert ("accounts", "view_user") not in cashier
    assert ("accounts", "change_store") not in manager


@pytest.mark.django_db(transaction=True)
def test_groups_survive_a_database_flush() -> None:
    """The post-migrate hook restores them (a test flush, or a model added by another app)."""
    assert Group.objects.filter(name__in=["admin", "manager", "cashier"]).count() == 3
    assert _codenames("cashier")
