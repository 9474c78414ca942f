"""`/api/v1/users/`: who may see, create and change whom; self-promotion refused."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group

from accounts import services
from accounts.exceptions import UserManagementForbidden
from accounts.models import Role, Store, User
from audit.models import AuditEvent
from tests.accounts.conftest import ME_URL, assert_problem, bearer
from tests.factories import AdminFactory, CashierFactory, ManagerFactory

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "plenty-long-enough-88"
USERS = "/api/v1/users/"


def _ids(response) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


# --- Admins -------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "manager", "cashier"])
def test_admin_creates_any_role(admin_client, store: Store, role: str) -> None:
    response = admin_client.post(
        USERS,
        {"username": f"new-{role}", "password": GOOD_PASSWORD, "role": role, "stores": [store.pk]},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "username", "role", "stores", "is_active"}
    assert body["role"] == role
    assert body["stores"] == [store.pk]
    assert body["is_active"] is True
    user = User.objects.get(pk=body["id"])
    assert user.check_password(GOOD_PASSWORD)
    assert list(user.groups.values_list("name", flat=True)) == [role]
    assert user.is_staff == (role != "cashier")

    event = AuditEvent.objects.get(action="user.created", object_id=str(user.pk))
    assert event.changes["role"] == role
    assert GOOD_PASSWORD not in json.dumps(event.changes)


def test_password_is_write_only_and_validated(admin_client) -> None:
    weak = admin_client.post(USERS, {"username": "weakling", "password": "123"})
    body = assert_problem(weak, 400, "validation_error")
    assert "password" in body["errors"]
    similar = admin_client.post(USERS, {"username": "robert-smith", "password": "robert-smith"})
    assert "password" in assert_problem(similar, 400, "validation_error")["errors"]
    missing = admin_client.post(USERS, {"username": "nopass"})
    assert "password" in assert_problem(missing, 400, "validation_error")["errors"]
    listed = admin_client.get(USERS)
    assert all("password" not in row for row in listed.json()["results"])


def test_duplicate_username_and_unknown_store_are_400(admin_client, cashier: User) -> None:
    dup = admin_client.post(USERS, {"username": cashier.username, "password": GOOD_PASSWORD})
    assert "username" in assert_problem(dup, 400, "validation_error")["errors"]
    bad_store = admin_client.post(
        USERS, {"username": "x1", "password": GOOD_PASSWORD, "stores": [999999]}
    )
    assert "stores" in assert_problem(bad_store, 400, "validation_error")["errors"]


def test_admin_changes_a_role_audited_and_groups_follow(
    admin_client, admin_user: User, cashier: User
) -> None:
    response = admin_client.patch(f"{USERS}{cashier.pk}/", {"role": "manager"})
    assert response.status_code == 200
    assert response.json()["role"] == "manager"
    cashier.refresh_from_db()
    assert cashier.role == Role.MANAGER
    assert cashier.is_staff
    assert list(cashier.groups.values_list("name", flat=True)) == ["manager"]
    event = AuditEvent.objects.get(action="user.role_changed")
    assert event.actor_id == admin_user.pk
    assert event.object_id == str(cashier.pk)
    assert event.changes == {"role": ["cashier", "manager"]}


def test_admin_sets_a_password_and_that_revokes_the_users_tokens(
    admin_client, cashier: User, client_for
) -> None:
    victim = client_for(cashier)
    response = admin_client.patch(f"{USERS}{cashier.pk}/", {"password": GOOD_PASSWORD})
    assert response.status_code == 200
    assert "password" not in response.json()
    assert_problem(victim.get(ME_URL), 401, "token_not_valid")
    cashier.refresh_from_db()
    assert cashier.check_password(GOOD_PASSWORD)


def test_delete_deactivates_and_revokes(admin_client, cashier: User, client_for) -> None:
    victim = client_for(cashier)
    assert admin_client.delete(f"{USERS}{cashier.pk}/").status_code == 204
    cashier.refresh_from_db()
    assert cashier.is_active is False
    assert_problem(victim.get(ME_URL), 401, "token_not_valid")
    assert admin_client.get(f"{USERS}{cashier.pk}/").json()["is_active"] is False


def test_admin_sees_everyone(admin_client, admin_user, manager, cashier) -> None:
    other = CashierFactory()
    assert set(_ids(admin_client.get(USERS))) >= {admin_user.pk, manager.pk, cashier.pk, other.pk}


# --- Self-promotion and self-service limits -----------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [{"role": "manager"}, {"stores": []}, {"is_active": False}],
    ids=["role", "stores", "is_active"],
)
def test_admin_cannot_change_own_role_stores_or_active_flag(
    admin_client, admin_user: User, store: Store, change: dict
) -> None:
    admin_user.stores.set([store])
    response = admin_client.patch(f"{USERS}{admin_user.pk}/", change)
    assert_problem(response, 403, "permission_denied")
    admin_user.refresh_from_db()
    assert admin_user.role == Role.ADMIN
    assert admin_user.is_active
    assert list(admin_user.stores.all()) == [store]


def test_admin_may_resend_own_unchanged_role_and_rename_self(admin_client, admin_user) -> None:
    response = admin_client.patch(
        f"{USERS}{admin_user.pk}/", {"role": "admin", "username": "chief"}
    )
    assert response.status_code == 200
    assert response.json()["username"] == "chief"


def test_manager_cannot_promote_self_through_the_api(manager_client, manager: User) -> None:
    for change in ({"role": "admin"}, {"stores": []}):
        response = manager_client.patch(f"{USERS}{manager.pk}/", change)
        assert_problem(response, 403, "permission_denied")
    manager.refresh_from_db()
    assert manager.role == Role.MANAGER


def test_nobody_promotes_themselves_through_the_service(store: Store) -> None:
    for user in (CashierFactory(stores=[store]), ManagerFactory(stores=[store])):
        for role in {Role.MANAGER, Role.ADMIN} - {user.role}:
            with pytest.raises(UserManagementForbidden):
                services.user_update(actor=user, user=user, role=role)
        with pytest.raises(UserManagementForbidden):
            services.user_update(actor=user, user=user, stores=[])
        before = user.role
        user.refresh_from_db()
        assert user.role == before
        assert list(user.stores.all()) == [store]


def test_cashier_cannot_use_the_users_routes(cashier_client, cashier: User) -> None:
    assert_problem(cashier_client.get(USERS), 403, "permission_denied")
    assert_problem(
        cashier_client.post(USERS, {"username": "x", "password": GOOD_PASSWORD}),
        403,
        "permission_denied",
    )
    assert_problem(
        cashier_client.patch(f"{USERS}{cashier.pk}/", {"role": "admin"}), 403, "permission_denied"
    )


# --- Managers: cashiers of their own stores only --------------------------------------------------


def test_manager_lists_only_cashiers_of_their_stores(
    manager_client, manager: User, cashier: User, store: Store, other_store: Store
) -> None:
    both = CashierFactory(stores=[store, other_store])
    elsewhere = CashierFactory(stores=[other_store])
    storeless = CashierFactory()
    fellow_manager = ManagerFactory(stores=[store])
    admin = AdminFactory(stores=[store])

    ids = _ids(manager_client.get(USERS))
    assert ids == sorted([cashier.pk, both.pk])
    for hidden in (elsewhere, storeless, fellow_manager, admin, manager):
        assert_problem(manager_client.get(f"{USERS}{hidden.pk}/"), 404, "not_found")
    assert manager_client.get(f"{USERS}{cashier.pk}/").status_code == 200


def test_manager_creates_a_cashier_of_their_store(manager_client, manager: User, store: Store):
    response = manager_client.post(
        USERS,
        {
            "username": "till-kid",
            "password": GOOD_PASSWORD,
            "stores": [store.pk],
            "is_active": False,
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["role"] == "cashier"
    assert body["stores"] == [store.pk]
    assert body["is_active"] is True  # not the manager's to set
    event = AuditEvent.objects.get(action="user.created", object_id=str(body["id"]))
    assert event.actor_id == manager.pk


def test_manager_created_cashier_defaults_to_the_managers_stores(
    manager_client, manager: User, store: Store, other_store: Store
) -> None:
    third = Store.objects.create(code="THIRD", name="Third")
    manager.stores.add(third)
    response = manager_client.post(USERS, {"username": "floater", "password": GOOD_PASSWORD})
    assert response.status_code == 201
    assert response.json()["stores"] == sorted([store.pk, third.pk])


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_manager_cannot_create_managers_or_admins(manager_client, store: Store, role: str):
    response = manager_client.post(
        USERS,
        {"username": "boss", "password": GOOD_PASSWORD, "role": role, "stores": [store.pk]},
    )
    assert_problem(response, 403, "permission_denied")
    assert not User.objects.filter(username="boss").exists()


def test_manager_cannot_assign_a_store_they_do_not_have(
    manager_client, store: Store, other_store: Store
) -> None:
    for stores in ([other_store.pk], [store.pk, other_store.pk]):
        response = manager_client.post(
            USERS, {"username": "sneaky", "password": GOOD_PASSWORD, "stores": stores}
        )
        assert_problem(response, 403, "permission_denied")
    assert not User.objects.filter(username="sneaky").exists()


def test_manager_cannot_change_users(manager_client, cashier: User) -> None:
    for change in ({"role": "manager"}, {"is_active": False}, {"password": GOOD_PASSWORD}):
        assert_problem(
            manager_client.patch(f"{USERS}{cashier.pk}/", change), 403, "permission_denied"
        )
    assert_problem(manager_client.delete(f"{USERS}{cashier.pk}/"), 403, "permission_denied")
    cashier.refresh_from_db()
    assert cashier.role == Role.CASHIER
    assert cashier.is_active


def test_manager_service_rules_for_their_cashiers(
    manager: User, cashier: User, store: Store, other_store: Store
) -> None:
    """What the admin lets a manager do goes through the same service rules."""
    cashier.stores.add(other_store)
    # May deactivate and move their cashier between their own stores; other stores are kept.
    services.user_update(actor=manager, user=cashier, is_active=False)
    with pytest.raises(UserManagementForbidden):
        services.user_update(actor=manager, user=cashier, stores=[store])  # drops other_store
    with pytest.raises(UserManagementForbidden):
        services.user_update(actor=manager, user=cashier, role=Role.MANAGER)
    # A cashier of another store is invisible.
    stranger = CashierFactory(stores=[other_store])
    from domain.errors import ObjectNotFound

    with pytest.raises(ObjectNotFound):
        services.user_update(actor=manager, user=stranger, is_active=False)


def test_role_groups_follow_role_changes(admin_user: User, store: Store) -> None:
    user = services.user_create(
        actor=admin_user, username="g", password=GOOD_PASSWORD, role=Role.CASHIER, stores=[store]
    )
    assert list(user.groups.values_list("name", flat=True)) == ["cashier"]
    services.user_update(actor=admin_user, user=user, role=Role.ADMIN)
    assert list(user.groups.values_list("name", flat=True)) == ["admin"]
    assert Group.objects.filter(name__in=["admin", "manager", "cashier"]).count() == 3


def test_me_lists_the_users_own_stores(client_for, store: Store, other_store: Store) -> None:
    user = CashierFactory(stores=[other_store, store])
    body = client_for(user).get(ME_URL).json()
    assert body["stores"] == sorted([store.pk, other_store.pk])


def test_me_refuses_a_tampered_token(cashier: User, client_for) -> None:
    assert bearer("x.y.z").get(ME_URL).status_code == 401
