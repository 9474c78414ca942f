"""Store credit fixtures: the selling fixtures (a taxed product with stock, an open shift), a
customer, and helpers that sell and refund through the API."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Register, Store
from catalog.models import Product
from customers.models import Customer
from ledger.models import JournalLine
from ledger.selectors import account_balances
from storedvalue.models import LoyaltyMovement, StoreCreditMovement
from tests.customers.factories import CustomerFactory
from tests.orders.conftest import loose_product, open_shift, product, tax_rate, zero_rate  # noqa: F401

D = Decimal


@pytest.fixture
def customer(db: None) -> Customer:
    return CustomerFactory()


def key() -> dict[str, str]:
    return {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}


def sale(
    client: APIClient,
    register: Register,
    item: Product,
    quantity: str,
    payments: list[dict[str, Any]],
    **extra: Any,
) -> Any:
    return client.post(
        "/api/v1/orders/",
        {
            "register": register.pk,
            "lines": [{"product": item.pk, "quantity": quantity}],
            "payments": payments,
            **extra,
        },
        format="json",
        **key(),
    )


def refund(client: APIClient, order: dict[str, Any], quantity: str, **extra: Any) -> Any:
    return client.post(
        f"/api/v1/orders/{order['id']}/refunds/",
        {"lines": [{"line": order["lines"][0]["id"], "quantity": quantity}], **extra},
        format="json",
        **key(),
    )


def give_credit(
    client: APIClient, register: Register, item: Product, customer: Customer, quantity: str
) -> Any:
    """Store credit the way a merchant gives it: goods returned without a receipt, paid back
    onto the customer's store credit (4.99 + 8.25 % tax = 5.40 a piece)."""
    total = (D("5.40") * D(quantity)).quantize(D("0.01"))
    response = client.post(
        "/api/v1/returns/",
        {
            "register": register.pk,
            "lines": [{"product": item.pk, "quantity": quantity}],
            "tenders": [{"method": "store_credit", "amount": str(total)}],
            "customer": customer.pk,
        },
        format="json",
        **key(),
    )
    assert response.status_code == 201, response.content
    return response


def assert_books_hold_the_credit(*stores: Store) -> None:
    """Every store's entries balance; each store's 2310 is Σ its movements; over the stores,
    2310 is Σ the customers' balances, and each balance is Σ the customer's movements."""
    ledger_total = D("0")
    for store in stores:
        lines = JournalLine.objects.filter(entry__store=store)
        assert sum(x.debit for x in lines) == sum(x.credit for x in lines)
        held = -account_balances(store_id=store.pk, codes=["2310"])["2310"]
        moved = sum((m.amount for m in StoreCreditMovement.objects.filter(store=store)), D("0"))
        assert held == moved
        ledger_total += held
    assert ledger_total == sum((c.store_credit for c in Customer.objects.all()), D("0"))
    for person in Customer.objects.all():
        movements = list(person.store_credit_movements.order_by("id"))
        assert sum((m.amount for m in movements), D("0")) == person.store_credit
        if movements:
            assert movements[-1].balance_after == person.store_credit


def assert_books_hold_the_points(*stores: Store) -> None:
    """Every store's entries balance; each store's 2320 is Σ its loyalty movements' values; each
    customer's points are Σ their movements."""
    for store in stores:
        lines = JournalLine.objects.filter(entry__store=store)
        assert sum(x.debit for x in lines) == sum(x.credit for x in lines)
        held = -account_balances(store_id=store.pk, codes=["2320"])["2320"]
        moved = sum((m.value for m in LoyaltyMovement.objects.filter(store=store)), D("0"))
        assert held == moved
    for person in Customer.objects.all():
        movements = list(person.loyalty_movements.order_by("id"))
        assert sum(m.points for m in movements) == person.loyalty_points
        if movements:
            assert movements[-1].points_after == person.loyalty_points


def account_lines(entry_id: int, code: str) -> tuple[Decimal, Decimal]:
    """Σ debit and Σ credit of an entry on one account (a sale earning points has two 4000
    lines)."""
    lines = JournalLine.objects.filter(entry_id=entry_id, account__code=code)
    return sum((x.debit for x in lines), D("0")), sum((x.credit for x in lines), D("0"))
