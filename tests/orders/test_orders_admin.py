"""The selling admin: view only for everyone, managers limited to their stores, searchable by
number, filterable by store/date/cashier/status."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from orders.models import CashMovement, Order, Refund, Shift
from orders.services.refunds import RefundLineRequest, refund_create
from orders.services.shifts import cash_movement_create, shift_open
from tests.catalog.factories import set_stock
from tests.factories import CashierFactory, ManagerFactory, RegisterFactory
from tests.orders.selling import sell

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def two_stores(store, other_store, cashier, manager, product):
    """An order, refund, shift and cash movement in each store."""
    set_stock(other_store, product, 100)
    rows = {}
    for shop, seller in ((store, cashier), (other_store, CashierFactory(stores=[other_store]))):
        register = RegisterFactory(store=shop, code=f"T{shop.pk}")
        shift = shift_open(register=register, opening_float=D("10.00"), user=seller)
        cash_movement_create(shift=shift, kind="in", amount=D("5.00"), reason="coins", user=seller)
        order = sell(seller, register, [(product, "2")], [("cash", "10.80")])
        refund = refund_create(
            order=order,
            lines=[RefundLineRequest(line_id=order.lines.get().pk, quantity=D("1"))],
            restock=True,
            reason="",
            user=ManagerFactory(stores=[shop]),
        )
        rows[shop.pk] = {"order": order, "refund": refund, "shift": shift}
    return rows


@pytest.fixture(autouse=True)
def _role_groups(manager, admin_user) -> None:
    """The admin authorises by model permissions, which users get through their role's group
    (the user services keep that membership; factories bypass them)."""
    for user in (manager, admin_user):
        user.groups.set([Group.objects.get(name=user.role)])


def changelist(model) -> str:
    return reverse(f"admin:orders_{model._meta.model_name}_changelist")


def change(obj) -> str:
    return reverse(f"admin:orders_{obj._meta.model_name}_change", args=[obj.pk])


@pytest.mark.parametrize("model", [Order, Refund, Shift, CashMovement])
def test_manager_sees_only_their_stores_rows(
    client, manager, store, other_store, two_stores, model
):
    client.force_login(manager)

    response = client.get(changelist(model))

    assert response.status_code == 200
    shown = {obj.pk for obj in response.context["cl"].result_list}
    expected = set(
        model.objects.filter(
            **({"shift__store": store} if model is CashMovement else {"store": store})
        ).values_list("pk", flat=True)
    )
    assert shown == expected
    assert shown


def test_admin_sees_every_store(client, admin_user, two_stores) -> None:
    client.force_login(admin_user)
    response = client.get(changelist(Order))
    assert response.context["cl"].result_count == 2


def test_other_stores_order_is_not_found_for_a_manager(client, manager, other_store, two_stores):
    client.force_login(manager)
    foreign = two_stores[other_store.pk]["order"]
    response = client.get(change(foreign))
    # the admin redirects to its index with "doesn't exist" for rows outside the queryset
    assert response.status_code == 302
    assert foreign.number.encode() not in client.get(response.url).content


def test_order_page_is_read_only_with_lines_payments_and_refunds(
    client, manager, store, two_stores
) -> None:
    client.force_login(manager)
    order = two_stores[store.pk]["order"]

    response = client.get(change(order))

    assert response.status_code == 200
    page = response.content.decode()
    assert order.number in page
    assert two_stores[store.pk]["refund"].number in page
    assert order.lines.get().sku in page
    assert 'name="_save"' not in page
    assert response.context["has_change_permission"] is False


@pytest.mark.parametrize("model", [Order, Refund, Shift, CashMovement])
def test_nobody_adds_changes_or_deletes(client, admin_user, store, two_stores, model) -> None:
    client.force_login(admin_user)
    obj = model.objects.first()
    add = reverse(f"admin:orders_{model._meta.model_name}_add")
    delete = reverse(f"admin:orders_{model._meta.model_name}_delete", args=[obj.pk])

    assert client.get(add).status_code == 403
    assert client.get(delete).status_code == 403
    assert client.post(change(obj), {}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


def test_search_by_number_and_filters(client, manager, store, cashier, two_stores) -> None:
    client.force_login(manager)
    order = two_stores[store.pk]["order"]
    refund = two_stores[store.pk]["refund"]

    found = client.get(changelist(Order), {"q": order.number})
    assert [o.pk for o in found.context["cl"].result_list] == [order.pk]
    assert client.get(changelist(Order), {"q": "no-such"}).context["cl"].result_count == 0
    by_refund = client.get(changelist(Refund), {"q": refund.number})
    assert [r.pk for r in by_refund.context["cl"].result_list] == [refund.pk]
    for params in (
        {"status__exact": "partially_refunded"},
        {"cashier__id__exact": cashier.pk},
        {"store__id__exact": store.pk},
        {"created_at__year": str(timezone.localtime(order.created_at).year)},
    ):
        response = client.get(changelist(Order), params)
        assert response.status_code == 200
        assert [o.pk for o in response.context["cl"].result_list] == [order.pk], params
    assert (
        client.get(changelist(Order), {"status__exact": "refunded"}).context["cl"].result_count == 0
    )


def test_store_filter_offers_only_visible_stores(client, manager, store, other_store, two_stores):
    client.force_login(manager)
    response = client.get(changelist(Order))
    page = response.content.decode()
    assert store.name in page
    assert other_store.name not in page


def test_cashiers_have_no_admin(client, cashier, two_stores) -> None:
    client.force_login(cashier)
    response = client.get(changelist(Order))
    assert response.status_code == 302
    assert "/login/" in response.url
