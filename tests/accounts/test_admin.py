"""The Django admin obeys the same rules as the API: managers manage only the cashiers of their
stores, never grant admin or manager, and nobody changes their own role or stores."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts import services
from accounts.models import Register, Role, Store, User
from audit.models import AuditEvent
from tests.accounts.conftest import ME_URL, assert_problem
from tests.factories import CashierFactory, RegisterFactory

pytestmark = pytest.mark.django_db

PASSWORD = "admin-screen-pass-51"
USER_ADMIN = "/admin/accounts/user/"


@pytest.fixture
def boss(store: Store) -> User:
    """A real admin, made through the service (so group membership is right)."""
    return services.user_create(
        actor=None, username="boss", password=PASSWORD, role=Role.ADMIN, stores=[store]
    )


@pytest.fixture
def floor_manager(store: Store) -> User:
    return services.user_create(
        actor=None, username="floor", password=PASSWORD, role=Role.MANAGER, stores=[store]
    )


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _change_data(user: User, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "role": user.role,
        "stores": [s.pk for s in user.stores.all()],
        "is_active": "on" if user.is_active else "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v != ""}


def test_manager_sees_only_cashiers_of_their_stores(
    floor_manager: User, boss: User, cashier: User, other_store: Store
) -> None:
    stranger = CashierFactory(stores=[other_store])
    page = _client(floor_manager).get(USER_ADMIN)
    assert page.status_code == 200
    shown = {u.pk for u in page.context["cl"].result_list}
    assert shown == {cashier.pk}
    for hidden in (stranger, boss, floor_manager):
        response = _client(floor_manager).get(f"{USER_ADMIN}{hidden.pk}/change/")
        assert response.status_code == 302  # the admin's "does not exist" redirect


def test_manager_add_form_offers_only_cashier_and_their_stores(
    floor_manager: User, store: Store, other_store: Store
) -> None:
    form = _client(floor_manager).get(f"{USER_ADMIN}add/").context["adminform"].form
    assert [value for value, _ in form.fields["role"].choices if value] == ["cashier"]
    assert list(form.fields["stores"].queryset) == [store]


def test_manager_adds_a_cashier_through_the_service(floor_manager: User, store: Store) -> None:
    response = _client(floor_manager).post(
        f"{USER_ADMIN}add/",
        {
            "username": "newtill",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "role": "cashier",
            "stores": [store.pk],
        },
    )
    assert response.status_code == 302, response.context and response.context["adminform"].errors
    user = User.objects.get(username="newtill")
    assert user.role == Role.CASHIER
    assert list(user.stores.all()) == [store]
    assert list(user.groups.values_list("name", flat=True)) == ["cashier"]
    assert AuditEvent.objects.get(action="user.created", object_id=str(user.pk)).actor_id == (
        floor_manager.pk
    )


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_manager_cannot_add_managers_or_admins(floor_manager: User, store: Store, role: str):
    response = _client(floor_manager).post(
        f"{USER_ADMIN}add/",
        {
            "username": "upstart",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "role": role,
            "stores": [store.pk],
        },
    )
    assert response.status_code == 200  # the form comes back with an error
    assert "role" in response.context["adminform"].form.errors
    assert not User.objects.filter(username="upstart").exists()


def test_manager_edits_a_cashier_but_not_their_role_and_keeps_other_stores(
    floor_manager: User, cashier: User, store: Store, other_store: Store
) -> None:
    cashier.stores.add(other_store)
    client = _client(floor_manager)
    page = client.get(f"{USER_ADMIN}{cashier.pk}/change/")
    assert "role" not in page.context["adminform"].form.fields  # read-only for managers
    response = client.post(
        f"{USER_ADMIN}{cashier.pk}/change/",
        _change_data(cashier, role="admin", stores=[store.pk], first_name="Tilly"),
    )
    assert response.status_code == 302
    cashier.refresh_from_db()
    assert cashier.role == Role.CASHIER
    assert cashier.first_name == "Tilly"
    assert set(cashier.stores.all()) == {store, other_store}


def test_admin_cannot_change_own_role_stores_or_active_flag(boss: User, other_store: Store):
    client = _client(boss)
    form = client.get(f"{USER_ADMIN}{boss.pk}/change/").context["adminform"].form
    assert not {"role", "stores", "is_active"} & set(form.fields)
    client.post(
        f"{USER_ADMIN}{boss.pk}/change/",
        _change_data(boss, role="cashier", stores=[other_store.pk], is_active=""),
    )
    boss.refresh_from_db()
    assert boss.role == Role.ADMIN
    assert boss.is_active
    assert other_store not in boss.stores.all()


def test_admin_changes_a_role_in_the_admin_audited(boss: User, cashier: User) -> None:
    response = _client(boss).post(
        f"{USER_ADMIN}{cashier.pk}/change/", _change_data(cashier, role="manager")
    )
    assert response.status_code == 302
    cashier.refresh_from_db()
    assert cashier.role == Role.MANAGER
    assert list(cashier.groups.values_list("name", flat=True)) == ["manager"]
    event = AuditEvent.objects.get(action="user.role_changed")
    assert event.actor_id == boss.pk


def test_admin_password_change_revokes_tokens_and_is_audited(
    boss: User, cashier: User, client_for
) -> None:
    api = client_for(cashier)
    response = _client(boss).post(
        f"{USER_ADMIN}{cashier.pk}/password/",
        {"password1": PASSWORD, "password2": PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302
    cashier.refresh_from_db()
    assert cashier.check_password(PASSWORD)
    assert_problem(api.get(ME_URL), 401, "token_not_valid")
    event = AuditEvent.objects.get(action="auth.password_changed")
    assert event.actor_id == boss.pk


def test_nobody_deletes_users_in_the_admin(boss: User, cashier: User) -> None:
    response = _client(boss).post(f"{USER_ADMIN}{cashier.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert User.objects.filter(pk=cashier.pk).exists()


def test_cashiers_have_no_admin(cashier: User) -> None:
    response = _client(cashier).get(USER_ADMIN)
    assert response.status_code == 302  # to the admin login


def test_manager_sees_own_stores_read_only_and_writes_own_registers(
    floor_manager: User, store: Store, other_store: Store
) -> None:
    client = _client(floor_manager)
    stores_page = client.get("/admin/accounts/store/")
    assert [s.pk for s in stores_page.context["cl"].result_list] == [store.pk]
    assert client.post(f"/admin/accounts/store/{store.pk}/change/", {"name": "x"}).status_code in (
        302,
        403,
    )
    store.refresh_from_db()
    assert store.name != "x"

    form = client.get("/admin/accounts/register/add/").context["adminform"].form
    assert list(form.fields["store"].queryset) == [store]
    response = client.post(
        "/admin/accounts/register/add/",
        {"store": store.pk, "code": "R8", "name": "Eight", "is_active": "on"},
    )
    assert response.status_code == 302
    assert Register.objects.filter(store=store, code="R8").exists()
    refused = client.post(
        "/admin/accounts/register/add/", {"store": other_store.pk, "code": "R9", "name": "Nine"}
    )
    assert refused.status_code == 200  # invalid choice
    assert not Register.objects.filter(code="R9").exists()
    elsewhere = RegisterFactory(store=other_store, code="RX")
    assert client.get(f"/admin/accounts/register/{elsewhere.pk}/change/").status_code == 302
