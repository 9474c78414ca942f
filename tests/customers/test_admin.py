"""Customers in the admin: a searchable list, saves through the services (normalised, audited
without personal data), balances read-only, and no way to delete a customer."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Group
from django.test import Client

from audit.models import AuditEvent
from customers.models import Customer
from tests.customers.factories import CustomerFactory
from tests.factories import ManagerFactory

pytestmark = pytest.mark.django_db

LIST = "/admin/customers/customer/"


@pytest.fixture
def manager_admin(store) -> Client:
    manager = ManagerFactory(stores=[store])
    manager.groups.add(Group.objects.get(name="manager"))
    client = Client()
    client.force_login(manager)
    return client


def _form(**overrides: str) -> dict[str, str]:
    data = {
        "code": "",
        "name": "Jane Roe",
        "email": "jane@Example.ORG",
        "phone": "+1 (555) 010-0199",
        "tax_exempt_id": "",
    }
    data.update(overrides)
    return data


def test_the_list_searches_and_shows_balances(manager_admin) -> None:
    CustomerFactory(name="Ada Lovelace", store_credit=Decimal("1500"), store_credit_currency="JPY")
    CustomerFactory(name="Grace Hopper")

    page = manager_admin.get(LIST, {"q": "lovelace"}).content.decode()

    assert "Ada Lovelace" in page
    assert "Grace Hopper" not in page
    assert "1500 JPY" in page


def test_adding_goes_through_the_service(manager_admin) -> None:
    response = manager_admin.post(f"{LIST}add/", _form())

    assert response.status_code == 302, response.content.decode()[:3000]
    customer = Customer.objects.get()
    assert customer.code.startswith("C")
    assert len(customer.code) == 9
    assert (customer.email, customer.phone) == ("jane@example.org", "+15550100199")
    assert AuditEvent.objects.filter(action="customer.created", object_id=str(customer.pk)).exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"phone": "call me"}, "phone"),
        ({"email": "nope"}, "email"),
        ({"tax_exempt": "on"}, "tax_exempt_id"),
        ({"code": "bad code"}, "code"),
    ],
)
def test_the_form_refuses_what_the_api_refuses(manager_admin, overrides, field) -> None:
    response = manager_admin.post(f"{LIST}add/", _form(**overrides))

    assert response.status_code == 200  # the form again, with its errors
    assert field in response.context["adminform"].form.errors
    assert not Customer.objects.exists()


def test_a_change_is_audited_without_values_and_balances_stay_read_only(manager_admin) -> None:
    customer = CustomerFactory(code="CARD-1", loyalty_points=40)

    page = manager_admin.get(f"{LIST}{customer.pk}/change/").content.decode()
    response = manager_admin.post(
        f"{LIST}{customer.pk}/change/",
        _form(code="CARD-1", name=customer.name, loyalty_points="999"),
    )

    assert 'name="loyalty_points"' not in page
    assert response.status_code == 302, response.content.decode()[:3000]
    customer.refresh_from_db()
    assert customer.loyalty_points == 40
    assert customer.phone == "+15550100199"
    [event] = AuditEvent.objects.filter(action="customer.updated")
    assert event.changes == {"changed": ["email", "phone"]}
    # The admin's own log and its audit event name the customer by code, never by name.
    entry = LogEntry.objects.get(object_id=str(customer.pk))
    assert entry.object_repr == "Customer CARD-1"
    admin_events = json.dumps(
        list(AuditEvent.objects.filter(action="admin.change").values_list("changes", flat=True))
    )
    assert customer.name not in admin_events


def test_nobody_deletes_a_customer_in_the_admin(manager_admin, admin_user) -> None:
    customer = CustomerFactory()
    superuser = Client()
    superuser.force_login(admin_user)

    for client in (manager_admin, superuser):
        assert client.get(f"{LIST}{customer.pk}/delete/").status_code == 403
    assert Customer.objects.filter(pk=customer.pk).exists()


def test_an_erased_customer_is_read_only(manager_admin, manager) -> None:
    from customers.services import customer_erase

    customer = customer_erase(customer=CustomerFactory(), user=manager)

    page = manager_admin.get(f"{LIST}{customer.pk}/change/").content.decode()

    assert 'name="name"' not in page
    assert "Erased customer" in page


def test_an_orders_admin_page_shows_its_customer_and_exemption(
    manager_admin, cashier, register, product, open_shift, exempt
) -> None:
    from orders.services.sales import PaymentRequest, SaleLineRequest, order_create

    order = order_create(
        user=cashier,
        register_id=register.pk,
        lines=[SaleLineRequest(product_id=product.pk, quantity=Decimal("1"))],
        payments=[PaymentRequest(method="cash", amount=Decimal("4.99"))],
        customer_id=exempt.pk,
    )

    page = manager_admin.get(f"/admin/orders/order/{order.pk}/change/").content.decode()

    assert f"Customer {exempt.code}" in page
    assert "EX-2041" in page
