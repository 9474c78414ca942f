"""Store credit end to end through the API: given by a return or a refund, spent at the counter,
given back by refunds, voids and exchanges, with the ledger (2310 = Σ balances = Σ movements,
every entry balanced), the audit trail and `manage.py reconcile`."""

from __future__ import annotations

from decimal import Decimal

import pytest

from audit.models import AuditEvent
from customers.models import Customer
from ledger.models import JournalEntry
from orders.models import Order, Payment
from orders.reconciliation import reconcile_store_day, store_today
from storedvalue.models import StoreCreditMovement
from tests.customers.factories import CustomerFactory
from tests.factories import CashierFactory, ManagerFactory, RegisterFactory, StoreFactory
from tests.orders.factories import open_shift_on
from tests.orders.selling import entry_lines
from tests.orders.test_exchanges import exchange
from tests.storedvalue.conftest import (
    assert_books_hold_the_credit,
    give_credit,
    key,
    refund,
    sale,
)

D = Decimal
pytestmark = pytest.mark.django_db


def _credit(customer: Customer) -> Decimal:
    customer.refresh_from_db()
    return customer.store_credit


def test_a_return_onto_store_credit_raises_the_balance_and_credits_2310(
    manager_client, register, open_shift, product, customer, store
) -> None:
    response = give_credit(manager_client, register, product, customer, "2")

    assert [(p["method"], p["amount"]) for p in response.json()["tenders"]] == [
        ("store_credit", "10.80")
    ]
    assert _credit(customer) == D("10.80")
    assert customer.store_credit_currency == store.currency
    movement = StoreCreditMovement.objects.get()
    assert (movement.kind, movement.amount, movement.balance_after) == (
        "refund",
        D("10.80"),
        D("10.80"),
    )
    assert movement.return_doc_id == response.json()["id"]
    entry = JournalEntry.objects.get(source="return")
    assert entry_lines(entry)["2310"] == (D("0"), D("10.80"))
    event = AuditEvent.objects.get(action="customer.balances_changed")
    assert event.object_id == str(customer.pk)
    assert event.changes["store_credit"]["balance"] == "10.80"
    assert_books_hold_the_credit(store)


def test_a_return_onto_store_credit_needs_a_customer(
    manager_client, register, open_shift, product
) -> None:
    response = manager_client.post(
        "/api/v1/returns/",
        {
            "register": register.pk,
            "lines": [{"product": product.pk, "quantity": "1"}],
            "tenders": [{"method": "store_credit", "amount": "5.40"}],
        },
        format="json",
        **key(),
    )

    assert response.status_code == 400
    assert "tenders.0.method" in response.json()["errors"]
    assert not StoreCreditMovement.objects.exists()


def test_a_sale_paid_by_store_credit_draws_it_down_and_debits_2310(
    manager_client, cashier_client, register, open_shift, product, customer, store
) -> None:
    give_credit(manager_client, register, product, customer, "2")

    response = sale(
        cashier_client,
        register,
        product,
        "1",
        [{"method": "store_credit", "amount": "5.40"}],
        customer=customer.pk,
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert [(p["method"], p["amount"]) for p in body["payments"]] == [("store_credit", "5.40")]
    assert _credit(customer) == D("5.40")
    redeem = StoreCreditMovement.objects.get(kind="redeem")
    assert (redeem.amount, redeem.balance_after) == (D("-5.40"), D("5.40"))
    assert redeem.payment_id == Payment.objects.get(order_id=body["id"]).pk
    entry = JournalEntry.objects.get(source="sale", source_id=body["id"])
    assert entry_lines(entry)["2310"] == (D("5.40"), D("0"))
    assert_books_hold_the_credit(store)


def test_not_enough_store_credit_is_409_and_writes_nothing(
    manager_client, cashier_client, register, open_shift, product, customer
) -> None:
    give_credit(manager_client, register, product, customer, "1")

    response = sale(
        cashier_client,
        register,
        product,
        "2",
        [{"method": "store_credit", "amount": "10.80"}],
        customer=customer.pk,
    )

    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_balance"
    assert "payments.0.amount" in response.json()["errors"]
    assert _credit(customer) == D("5.40")
    assert not Order.objects.exists()
    assert StoreCreditMovement.objects.count() == 1


def test_store_credit_without_a_customer_is_400_naming_the_payment(
    cashier_client, register, open_shift, product
) -> None:
    response = sale(
        cashier_client, register, product, "1", [{"method": "store_credit", "amount": "5.40"}]
    )

    assert response.status_code == 400
    assert "payments.0.method" in response.json()["errors"]
    assert not Order.objects.exists()


def test_a_refund_of_a_store_credit_sale_goes_back_to_store_credit_by_default(
    manager_client, cashier_client, register, open_shift, product, customer, store
) -> None:
    give_credit(manager_client, register, product, customer, "1")
    order = sale(
        cashier_client,
        register,
        product,
        "2",
        [{"method": "store_credit", "amount": "5.40"}, {"method": "cash", "amount": "5.40"}],
        customer=customer.pk,
    ).json()
    assert _credit(customer) == D("0.00")

    first = refund(manager_client, order, "1")

    assert first.status_code == 201, first.content
    # Non-cash first: the store credit part goes back to store credit.
    assert [(p["method"], p["amount"]) for p in first.json()["payments"]] == [
        ("store_credit", "5.40")
    ]
    assert _credit(customer) == D("5.40")
    assert (
        StoreCreditMovement.objects.get(kind="refund", refund__isnull=False).refund_id
        == (first.json()["id"])
    )
    second = refund(manager_client, order, "1")
    assert [(p["method"], p["amount"]) for p in second.json()["payments"]] == [("cash", "5.40")]
    assert _credit(customer) == D("5.40")
    assert_books_hold_the_credit(store)


def test_a_refund_may_choose_store_credit_for_a_cash_sale(
    manager_client, cashier_client, register, open_shift, product, customer, store
) -> None:
    order = sale(
        cashier_client,
        register,
        product,
        "2",
        [{"method": "cash", "amount": "10.80"}],
        customer=customer.pk,
    ).json()

    response = refund(
        manager_client,
        order,
        "2",
        tenders=[
            {"method": "cash", "amount": "4.00"},
            {"method": "store_credit", "amount": "6.80"},
        ],
    )

    assert response.status_code == 201, response.content
    assert sorted((p["method"], p["amount"]) for p in response.json()["payments"]) == [
        ("cash", "4.00"),
        ("store_credit", "6.80"),
    ]
    assert _credit(customer) == D("6.80")
    # The cash payment gave all of its 10.80: 4.00 in cash, 6.80 as store credit.
    assert Payment.objects.get(order_id=order["id"]).refunded_amount == D("10.80")
    entry = JournalEntry.objects.get(source="refund")
    assert entry_lines(entry)["2310"] == (D("0"), D("6.80"))
    assert entry_lines(entry)["1000"] == (D("0"), D("4.00"))
    assert_books_hold_the_credit(store)


def test_a_refund_to_store_credit_of_an_order_without_customer_needs_one(
    manager_client, cashier_client, register, open_shift, product, customer, store
) -> None:
    order = sale(
        cashier_client, register, product, "1", [{"method": "cash", "amount": "5.40"}]
    ).json()
    tenders = [{"method": "store_credit", "amount": "5.40"}]

    nobody = refund(manager_client, order, "1", tenders=tenders)
    assert nobody.status_code == 400
    assert "tenders" in nobody.json()["errors"]

    named = refund(manager_client, order, "1", tenders=tenders, customer=customer.pk)
    assert named.status_code == 201, named.content
    assert _credit(customer) == D("5.40")
    assert_books_hold_the_credit(store)


def test_a_refund_may_not_credit_another_customer_than_the_orders(
    manager_client, cashier_client, register, open_shift, product, customer
) -> None:
    order = sale(
        cashier_client,
        register,
        product,
        "1",
        [{"method": "cash", "amount": "5.40"}],
        customer=customer.pk,
    ).json()
    other = CustomerFactory()

    response = refund(
        manager_client,
        order,
        "1",
        tenders=[{"method": "store_credit", "amount": "5.40"}],
        customer=other.pk,
    )

    assert response.status_code == 400
    assert "customer" in response.json()["errors"]
    assert _credit(other) == D("0.00")


def test_a_void_puts_the_store_credit_back(
    manager_client, cashier_client, register, open_shift, product, customer, store
) -> None:
    give_credit(manager_client, register, product, customer, "1")
    order = sale(
        cashier_client,
        register,
        product,
        "1",
        [{"method": "store_credit", "amount": "5.40"}],
        customer=customer.pk,
    ).json()

    void = manager_client.post(
        f"/api/v1/orders/{order['id']}/void/", {"reason": "wrong item"}, format="json", **key()
    )

    assert void.status_code == 200, void.content
    assert _credit(customer) == D("5.40")
    assert_books_hold_the_credit(store)


def test_an_exchange_may_pay_back_onto_store_credit(
    manager_client, cashier_client, register, open_shift, product, customer, store
) -> None:
    order = sale(
        cashier_client,
        register,
        product,
        "2",
        [{"method": "cash", "amount": "10.80"}],
        customer=customer.pk,
    ).json()

    response = exchange(
        manager_client,
        register,
        [(product, "1")],
        [{"line": order["lines"][0]["id"], "quantity": "2"}],
        [{"method": "store_credit", "amount": "-5.40"}],
        customer=customer.pk,
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert [(p["method"], p["amount"]) for p in body["payments"]] == [("store_credit", "-5.40")]
    assert _credit(customer) == D("5.40")
    movement = StoreCreditMovement.objects.get()
    assert (movement.kind, movement.amount) == ("refund", D("5.40"))
    entry = JournalEntry.objects.get(source="sale", source_id=body["id"])
    assert entry_lines(entry)["2310"] == (D("0"), D("5.40"))
    assert_books_hold_the_credit(store)


def test_an_exchange_payback_onto_store_credit_needs_a_customer(
    manager_client, cashier_client, register, open_shift, product
) -> None:
    order = sale(
        cashier_client, register, product, "2", [{"method": "cash", "amount": "10.80"}]
    ).json()

    response = manager_client.post(
        "/api/v1/orders/",
        {
            "register": register.pk,
            "lines": [{"product": product.pk, "quantity": "1"}],
            "returns": [{"line": order["lines"][0]["id"], "quantity": "2"}],
            "payments": [{"method": "store_credit", "amount": "-5.40"}],
        },
        format="json",
        **key(),
    )

    assert response.status_code == 400
    assert "payments.0.method" in response.json()["errors"]


def test_credit_given_in_one_store_and_spent_in_another_reconciles_per_store(
    manager_client, register, open_shift, product, customer, store, client_for
) -> None:
    give_credit(manager_client, register, product, customer, "2")
    branch = StoreFactory(code="BR2", currency=store.currency)
    till = RegisterFactory(store=branch, code="BR2-1")
    seller = CashierFactory(stores=[branch])
    open_shift_on(till, seller)
    from tests.catalog.factories import set_stock

    set_stock(branch, product, 10)

    spent = sale(
        client_for(seller),
        till,
        product,
        "1",
        [{"method": "store_credit", "amount": "5.40"}],
        customer=customer.pk,
    )

    assert spent.status_code == 201, spent.content
    assert _credit(customer) == D("5.40")
    assert_books_hold_the_credit(store, branch)
    here = {
        c.name: c for c in reconcile_store_day(store=store, date=store_today(store)).comparisons
    }
    there = {
        c.name: c for c in reconcile_store_day(store=branch, date=store_today(branch)).comparisons
    }
    assert here["store_credit"].ok
    assert here["store_credit"].expected == D("10.80")
    # Spent where it was not given: the branch's 2310 is in debit, and that is right.
    assert there["store_credit"].ok
    assert there["store_credit"].expected == D("-5.40")


def test_store_credit_in_another_currency_is_refused(
    manager_client, register, open_shift, product, customer, client_for
) -> None:
    give_credit(manager_client, register, product, customer, "1")
    abroad = StoreFactory(code="EU1", currency="EUR")
    till = RegisterFactory(store=abroad, code="EU1-1")
    seller = ManagerFactory(stores=[abroad])
    open_shift_on(till, seller)
    from tests.catalog.factories import set_stock

    set_stock(abroad, product, 10)

    response = sale(
        client_for(seller),
        till,
        product,
        "1",
        [{"method": "store_credit", "amount": "5.40"}],
        customer=customer.pk,
    )

    assert response.status_code == 400
    assert "payments.0.amount" in response.json()["errors"]
    assert _credit(customer) == D("5.40")


def test_a_customer_with_store_credit_cannot_be_erased(
    manager_client, register, open_shift, product, customer
) -> None:
    give_credit(manager_client, register, product, customer, "1")

    response = manager_client.delete(f"/api/v1/customers/{customer.pk}/")

    assert response.status_code == 409
    assert response.json()["code"] == "customer_has_balance"
    assert not Customer.objects.get(pk=customer.pk).is_erased


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE storedvalue_storecreditmovement SET amount = 1000 WHERE customer_id = %s",
        "DELETE FROM storedvalue_storecreditmovement WHERE customer_id = %s",
    ],
    ids=["update", "delete"],
)
def test_movements_are_immutable_in_the_database(
    manager_client, register, open_shift, product, customer, sql
) -> None:
    from django.db import IntegrityError, connection, transaction

    give_credit(manager_client, register, product, customer, "1")

    with (
        pytest.raises(IntegrityError, match="immutable"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [customer.pk])
    assert StoreCreditMovement.objects.get().amount == D("5.40")
