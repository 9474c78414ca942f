"""Admin filter sidebars name only the user's stores (issue 14, item 6): a manager of one store
must not learn the codes and names of every other store from a changelist's "By store" filter.
Admins (and superusers) see every store."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from accounts.models import Store, User
from tests.factories import AdminFactory, ManagerFactory, StoreFactory

pytestmark = pytest.mark.django_db

# Every changelist a manager may open that has a filter on a store (directly or through a shift).
CHANGELISTS = [
    "/admin/accounts/user/",
    "/admin/accounts/register/",
    "/admin/catalog/stocklevel/",
    "/admin/catalog/stockmovement/",
    "/admin/ledger/journalentry/",
    "/admin/orders/order/",
    "/admin/orders/refund/",
    "/admin/orders/shift/",
    "/admin/orders/cashmovement/",
    "/admin/orders/dailyreport/",
]


@pytest.fixture
def hidden_store(db: None) -> Store:
    return StoreFactory(code="HIDDEN-B", name="Branch Nobody Should Name")


@pytest.fixture
def own_store(db: None) -> Store:
    return StoreFactory(code="OWN-A", name="Branch Of The Manager")


def _admin_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def manager(own_store: Store) -> User:
    user = ManagerFactory(stores=[own_store])
    user.groups.add(Group.objects.get(name="manager"))
    return user


@pytest.mark.parametrize("url", CHANGELISTS)
def test_a_managers_filters_list_only_their_stores(
    url: str, manager: User, own_store: Store, hidden_store: Store
) -> None:
    response = _admin_client(manager).get(url)
    assert response.status_code == 200
    content = response.content.decode()
    assert hidden_store.code not in content
    assert hidden_store.name not in content


@pytest.mark.parametrize(
    "url",
    [
        "/admin/accounts/user/",
        "/admin/accounts/register/",
        "/admin/catalog/stocklevel/",
        "/admin/catalog/stockmovement/",
        "/admin/ledger/journalentry/",
    ],
)
def test_the_store_filter_offers_the_managers_own_stores(
    url: str, manager: User, own_store: Store, hidden_store: Store
) -> None:
    # (With one store only, Django hides a filter with a single choice.)
    second = StoreFactory(code="OWN-A2", name="Second Branch Of The Manager")
    manager.stores.add(second)
    content = _admin_client(manager).get(url).content.decode()
    assert str(own_store) in content
    assert str(second) in content
    assert hidden_store.name not in content


@pytest.mark.parametrize(
    "url",
    [
        "/admin/accounts/register/",
        "/admin/catalog/stocklevel/",
        "/admin/ledger/journalentry/",
    ],
)
def test_admins_filter_by_every_store(url: str, own_store: Store, hidden_store: Store) -> None:
    content = _admin_client(AdminFactory(is_superuser=True)).get(url).content.decode()
    assert str(hidden_store) in content
    assert str(own_store) in content
