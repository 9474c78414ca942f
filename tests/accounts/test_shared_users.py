"""A manager of store A cannot take over a user shared with store B (issue 14, item 2): the
password, the username and the active flag of a user are a manager's to change only when every
store of that user is the manager's — in the services, the API and the Django admin. (Users have
no PIN.)"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts import services
from accounts.exceptions import UserManagementForbidden
from accounts.models import Role, Store, User
from audit.models import AuditEvent
from tests.accounts.conftest import ME_URL, assert_problem
from tests.factories import DEFAULT_PASSWORD, CashierFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "taken-over-pass-61"
USER_ADMIN = "/admin/accounts/user/"
USERS = "/api/v1/users/"


@pytest.fixture
def floor_manager(store: Store) -> User:
    """A manager of store A only, made through the service (admin group membership)."""
    return services.user_create(
        actor=None, username="floor", password=DEFAULT_PASSWORD, role=Role.MANAGER, stores=[store]
    )


@pytest.fixture
def shared(store: Store, other_store: Store) -> User:
    """A cashier of store A and store B."""
    return CashierFactory(stores=[store, other_store])


def _admin(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- Services -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"password": NEW_PASSWORD},
        {"username": "renamed"},
        {"is_active": False},
    ],
    ids=["password", "username", "is_active"],
)
def test_manager_cannot_change_the_credentials_of_a_shared_user(
    floor_manager: User, shared: User, change: dict[str, Any]
) -> None:
    with pytest.raises(UserManagementForbidden):
        services.user_update(actor=floor_manager, user=shared, **change)
    shared.refresh_from_db()
    assert shared.check_password(DEFAULT_PASSWORD)
    assert shared.username != "renamed"
    assert shared.is_active
    assert not AuditEvent.objects.filter(action__in=["user.updated", "auth.password_changed"])


def test_manager_cannot_set_or_disable_the_password_of_a_shared_user(
    floor_manager: User, shared: User
) -> None:
    for password in (NEW_PASSWORD, None):
        with pytest.raises(UserManagementForbidden):
            services.user_set_password(actor=floor_manager, user=shared, password=password)
    shared.refresh_from_db()
    assert shared.check_password(DEFAULT_PASSWORD)


def test_manager_still_edits_the_rest_of_a_shared_user(
    floor_manager: User, shared: User, store: Store, other_store: Store
) -> None:
    services.user_update(
        actor=floor_manager, user=shared, first_name="Tilly", stores=[store, other_store]
    )
    shared.refresh_from_db()
    assert shared.first_name == "Tilly"
    assert set(shared.stores.all()) == {store, other_store}


def test_manager_changes_the_credentials_of_a_user_of_their_stores_only(
    floor_manager: User, cashier: User
) -> None:
    services.user_update(
        actor=floor_manager, user=cashier, username="renamed", password=NEW_PASSWORD
    )
    services.user_update(actor=floor_manager, user=cashier, is_active=False)
    cashier.refresh_from_db()
    assert (cashier.username, cashier.is_active) == ("renamed", False)
    assert cashier.check_password(NEW_PASSWORD)


def test_a_manager_of_every_store_of_the_user_may(
    floor_manager: User, shared: User, other_store: Store
) -> None:
    floor_manager.stores.add(other_store)
    manager = User.objects.get(pk=floor_manager.pk)  # fresh: no cached store ids
    services.user_set_password(actor=manager, user=shared, password=NEW_PASSWORD)
    shared.refresh_from_db()
    assert shared.check_password(NEW_PASSWORD)


# --- API ------------------------------------------------------------------------------------------


def test_api_refuses_a_manager_changing_a_shared_user(
    client_for: Any, floor_manager: User, shared: User
) -> None:
    api = client_for(floor_manager)
    for change in ({"password": NEW_PASSWORD}, {"username": "renamed"}, {"is_active": False}):
        assert_problem(
            api.patch(f"{USERS}{shared.pk}/", change, format="json"), 403, "permission_denied"
        )
    shared.refresh_from_db()
    assert shared.check_password(DEFAULT_PASSWORD)
    assert shared.is_active


# --- Django admin ---------------------------------------------------------------------------------


def test_admin_refuses_a_managers_password_change_of_a_shared_user(
    floor_manager: User, shared: User, client_for: Any
) -> None:
    """The attack of the audit: a 302 here, then signed in as the cashier, store B's drawer."""
    api = client_for(shared)
    client = _admin(floor_manager)
    url = f"{USER_ADMIN}{shared.pk}/password/"

    assert client.get(url).status_code == 403
    response = client.post(
        url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"}
    )

    assert response.status_code == 403
    shared.refresh_from_db()
    assert shared.check_password(DEFAULT_PASSWORD)
    assert api.get(ME_URL).status_code == 200  # the cashier's tokens were not revoked
    assert not AuditEvent.objects.filter(action="auth.password_changed").exists()


def test_admin_change_form_keeps_a_shared_users_username_and_active_flag(
    floor_manager: User, shared: User, store: Store
) -> None:
    client = _admin(floor_manager)
    url = f"{USER_ADMIN}{shared.pk}/change/"
    form = client.get(url).context["adminform"].form
    assert not {"username", "is_active"} & set(form.fields)  # shown read-only

    response = client.post(
        url,
        {
            "username": "renamed",
            "first_name": "Tilly",
            "last_name": "",
            "email": "",
            "stores": [store.pk],
        },  # is_active left out: unticked
    )

    assert response.status_code == 302
    shared.refresh_from_db()
    assert shared.username != "renamed"
    assert shared.is_active
    assert shared.first_name == "Tilly"


def test_admin_lets_a_manager_change_the_password_of_a_cashier_of_their_stores(
    floor_manager: User, cashier: User
) -> None:
    response = _admin(floor_manager).post(
        f"{USER_ADMIN}{cashier.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302
    cashier.refresh_from_db()
    assert cashier.check_password(NEW_PASSWORD)
