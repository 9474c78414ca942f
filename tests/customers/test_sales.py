"""Customers on sales, quotes, held orders and returns: named by id (unknown or erased → 400,
nothing written), and a tax-exempt customer buys without tax — every line at 0 %, the order
keeping the exemption id, the books balanced."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Register, Store
from audit.models import AuditEvent
from catalog.models import Product
from customers.models import Customer
from customers.services import customer_erase
from ledger.models import JournalEntry
from ledger.selectors import trial_balance
from orders.models import HeldOrder, Order, Return
from tests.customers.factories import CustomerFactory
from tests.orders.factories import ORDERS_URL, QUOTE_URL, post_sale, sale_body
from tests.orders.selling import entry_lines

pytestmark = pytest.mark.django_db

D = Decimal
SALES_TAX = "2100"


def _sell(client: APIClient, register: Register, product: Product, **extra: Any) -> Any:
    return post_sale(client, sale_body(register, [(product, 2)], **extra))


def _balanced(store: Store) -> bool:
    balance = trial_balance(store_id=store.pk, date_to=None)
    assert balance is not None
    return balance.total_debit == balance.total_credit


# --- sales --------------------------------------------------------------------------------------


def test_a_tax_exempt_customers_sale_has_no_tax_and_keeps_the_exemption_id(
    cashier_client, register, store, product, open_shift, exempt
) -> None:
    response = _sell(cashier_client, register, product, customer=exempt.pk)

    assert response.status_code == 201, response.content
    order = response.json()
    assert (order["customer"], order["tax_exempt_id"]) == (exempt.pk, "EX-2041")
    [line] = order["lines"]
    assert (line["tax_rate"], line["tax"], line["net"], line["total"]) == (
        "0.000",
        "0.00",
        "9.98",
        "9.98",
    )
    assert (order["tax_total"], order["total"]) == ("0.00", "9.98")
    stored = Order.objects.get(pk=order["id"])
    assert (stored.customer_id, stored.tax_exempt_id) == (exempt.pk, "EX-2041")
    # The books: no sales tax payable, revenue the whole total, and balanced.
    lines = entry_lines(JournalEntry.objects.get(source="sale", source_id=order["id"]))
    assert lines.get(SALES_TAX, (D("0"), D("0"))) == (D("0"), D("0"))
    assert lines["4000"] == (D("0"), D("9.98"))
    assert lines["1000"] == (D("9.98"), D("0"))
    assert _balanced(store)
    event = AuditEvent.objects.get(action="order.created", object_id=str(order["id"]))
    assert event.changes["customer"] == exempt.pk


def test_in_a_tax_inclusive_store_the_exempt_line_costs_the_shelf_price_all_net(
    cashier_client, register, store, product, open_shift, exempt
) -> None:
    store.prices_include_tax = True
    store.save(update_fields=["prices_include_tax"])

    taxed = _sell(cashier_client, register, product).json()
    free = _sell(cashier_client, register, product, customer=exempt.pk).json()

    assert (taxed["lines"][0]["total"], taxed["lines"][0]["tax"]) == ("9.98", "0.76")
    assert (free["lines"][0]["total"], free["lines"][0]["tax"]) == ("9.98", "0.00")
    assert free["lines"][0]["net"] == "9.98"
    assert _balanced(store)


def test_a_customer_who_is_not_exempt_pays_tax_and_is_named(
    cashier_client, register, product, open_shift, taxed
) -> None:
    order = _sell(cashier_client, register, product, customer=taxed.pk).json()

    assert (order["customer"], order["tax_exempt_id"]) == (taxed.pk, None)
    assert order["tax_total"] == "0.82"
    plain = _sell(cashier_client, register, product).json()
    assert (plain["customer"], plain["tax_exempt_id"]) == (None, None)


@pytest.mark.parametrize("kind", ["unknown", "erased"])
def test_an_unknown_or_erased_customer_is_400_naming_customer(
    cashier_client, manager, register, product, open_shift, kind
) -> None:
    customer_id = 999_999
    if kind == "erased":
        customer_id = customer_erase(customer=CustomerFactory(), user=manager).pk
    body = sale_body(
        register, [(product, 1)], payments=[{"method": "cash", "amount": "5.40"}], customer=None
    )

    sale = post_sale(cashier_client, {**body, "customer": customer_id})
    quote = cashier_client.post(QUOTE_URL, {**body, "customer": customer_id}, format="json")

    for response in (sale, quote):
        assert response.status_code == 400, response.content
        assert response.json()["code"] == "validation_error"
        assert list(response.json()["errors"]) == ["customer"]
    assert not Order.objects.exists()
    assert not JournalEntry.objects.filter(source="sale").exists()


def test_a_quote_names_the_customer_and_prices_like_the_sale(
    cashier_client, register, product, open_shift, exempt
) -> None:
    body = sale_body(register, [(product, 2)], customer=exempt.pk)

    quote = cashier_client.post(QUOTE_URL, body, format="json")
    sale = post_sale(cashier_client, {**body, "payments": [{"method": "cash", "amount": "9.98"}]})

    assert quote.status_code == 200, quote.content
    assert (quote.json()["customer"], quote.json()["tax_exempt_id"]) == (exempt.pk, "EX-2041")
    assert (quote.json()["tax_total"], quote.json()["total"]) == ("0.00", "9.98")
    assert sale.status_code == 201
    assert sale.json()["lines"][0]["total"] == quote.json()["lines"][0]["total"]


def test_a_refund_of_an_exempt_sale_gives_back_no_tax(
    cashier_client, manager_client, register, store, product, open_shift, exempt
) -> None:
    order = Order.objects.get(
        pk=_sell(cashier_client, register, product, customer=exempt.pk).json()["id"]
    )

    refund = manager_client.post(
        f"{ORDERS_URL}{order.pk}/refunds/",
        {"lines": [{"line": order.lines.get().pk, "quantity": "1"}]},
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )

    assert refund.status_code == 201, refund.content
    assert (refund.json()["tax_total"], refund.json()["total"]) == ("0.00", "4.99")
    assert _balanced(store)


def test_erasing_the_customer_keeps_their_orders_and_the_exemption_id(
    cashier_client, manager_client, register, product, open_shift, exempt
) -> None:
    order_id = _sell(cashier_client, register, product, customer=exempt.pk).json()["id"]

    assert manager_client.delete(f"/api/v1/customers/{exempt.pk}/").status_code == 204

    order = cashier_client.get(f"{ORDERS_URL}{order_id}/").json()
    assert (order["customer"], order["tax_exempt_id"]) == (exempt.pk, "EX-2041")
    exempt.refresh_from_db()
    assert exempt.is_erased
    assert exempt.tax_exempt_id == ""
    assert list(Customer.objects.get(pk=exempt.pk).orders.values_list("pk", flat=True)) == [
        order_id
    ]


def test_a_batch_uploaded_sale_names_its_customer(
    cashier_client, register, product, open_shift, exempt
) -> None:
    batch = {
        "register": register.pk,
        "sales": [
            {
                "idempotency_key": str(uuid.uuid4()),
                "order": {
                    "lines": [{"product": product.pk, "quantity": "1"}],
                    "payments": [{"method": "cash", "amount": "4.99"}],
                    "customer": exempt.pk,
                },
            }
        ],
    }

    response = cashier_client.post("/api/v1/sync/sales/", batch, format="json")

    [result] = response.json()["results"]
    assert result["status"] == 201, result
    assert (result["order"]["customer"], result["order"]["tax_total"]) == (exempt.pk, "0.00")


# --- held orders --------------------------------------------------------------------------------


def test_a_held_order_names_its_customer_and_the_completing_sale_inherits_it(
    cashier_client, register, product, open_shift, exempt, taxed
) -> None:
    held = cashier_client.post(
        "/api/v1/held-orders/",
        sale_body(register, [(product, 2)], customer=exempt.pk),
        format="json",
    )
    assert held.status_code == 201, held.content
    assert (held.json()["customer"], held.json()["tax_total"]) == (exempt.pk, "0.00")
    assert HeldOrder.objects.get().customer_id == exempt.pk

    completed = post_sale(
        cashier_client,
        {
            "register": register.pk,
            "held_order": held.json()["id"],
            "payments": [{"method": "cash", "amount": "9.98"}],
        },
    )

    assert completed.status_code == 201, completed.content
    assert (completed.json()["customer"], completed.json()["tax_exempt_id"]) == (
        exempt.pk,
        "EX-2041",
    )
    # A held order's customer may be replaced (re-priced with tax for a taxed customer).
    other = cashier_client.post(
        "/api/v1/held-orders/",
        sale_body(register, [(product, 1)], customer=exempt.pk),
        format="json",
    ).json()
    replaced = cashier_client.put(
        f"/api/v1/held-orders/{other['id']}/",
        sale_body(register, [(product, 1)], customer=taxed.pk),
        format="json",
    )
    assert (replaced.json()["customer"], replaced.json()["tax_total"]) == (taxed.pk, "0.41")


# --- returns ------------------------------------------------------------------------------------


def test_a_tax_exempt_customers_return_gives_back_no_tax(
    manager_client, register, store, product, open_shift, exempt
) -> None:
    response = manager_client.post(
        "/api/v1/returns/",
        {
            "register": register.pk,
            "lines": [{"product": product.pk, "quantity": "2"}],
            "customer": exempt.pk,
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["customer"], body["tax_total"], body["total"]) == (exempt.pk, "0.00", "9.98")
    assert Return.objects.get().customer_id == exempt.pk
    assert _balanced(store)
    event = AuditEvent.objects.get(action="return.created")
    assert event.changes["customer"] == exempt.pk
