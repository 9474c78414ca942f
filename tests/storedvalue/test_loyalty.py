"""Loyalty points end to end through the API: earned on what the customer paid with money (Dr
4000 / Cr 2320), redeemed as a tender (Dr 2320), taken back pro rata by refunds (Dr 2320 /
Cr 4000) — never below zero — and by voids, with the ledger and `manage.py reconcile`."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.models import Store
from customers.models import Customer
from ledger.models import JournalEntry
from orders.reconciliation import reconcile_store_day, store_today
from storedvalue.models import LoyaltyMovement
from tests.orders.test_exchanges import exchange
from tests.storedvalue.conftest import (
    account_lines,
    assert_books_hold_the_credit,
    assert_books_hold_the_points,
    give_credit,
    key,
    refund,
    sale,
)

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def loyalty(store: Store) -> Store:
    """1 point per 1.00 paid, a point worth 0.01."""
    Store.objects.filter(pk=store.pk).update(
        loyalty_points_per_unit=D("1"), loyalty_point_value=D("0.01")
    )
    store.refresh_from_db()
    return store


def _points(customer: Customer) -> int:
    customer.refresh_from_db()
    return customer.loyalty_points


def _reconciles(store: Store) -> None:
    result = reconcile_store_day(store=store, date=store_today(store))
    assert result.ok, [c.as_dict() for c in result.differences]


def test_a_sale_with_a_customer_earns_points_and_recognises_their_value(
    cashier_client, register, open_shift, product, customer, loyalty
) -> None:
    response = sale(
        cashier_client,
        register,
        product,
        "2",
        [{"method": "cash", "amount": "10.80"}],
        customer=customer.pk,
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["points_earned"] == 10  # floor(10.80 × 1)
    assert _points(customer) == 10
    earn = LoyaltyMovement.objects.get()
    assert (earn.kind, earn.points, earn.value, earn.order_id) == (
        "earn",
        10,
        D("0.10"),
        body["id"],
    )
    entry = JournalEntry.objects.get(source="sale", source_id=body["id"])
    assert account_lines(entry.pk, "2320") == (D("0"), D("0.10"))
    assert account_lines(entry.pk, "4000") == (D("0.10"), D("9.98"))
    assert_books_hold_the_points(loyalty)
    _reconciles(loyalty)


def test_no_customer_or_loyalty_off_earns_nothing(
    cashier_client, register, open_shift, product, customer, store
) -> None:
    off = sale(
        cashier_client,
        register,
        product,
        "1",
        [{"method": "cash", "amount": "5.40"}],
        customer=customer.pk,
    )
    assert off.json()["points_earned"] == 0
    Store.objects.filter(pk=store.pk).update(
        loyalty_points_per_unit=D("1"), loyalty_point_value=D("0.01")
    )
    anonymous = sale(cashier_client, register, product, "1", [{"method": "cash", "amount": "5.40"}])
    assert anonymous.json()["points_earned"] == 0
    assert not LoyaltyMovement.objects.exists()


def test_what_store_credit_paid_earns_no_points(
    manager_client, cashier_client, register, open_shift, product, customer, loyalty
) -> None:
    give_credit(manager_client, register, product, customer, "1")

    response = sale(
        cashier_client,
        register,
        product,
        "2",
        [{"method": "store_credit", "amount": "5.40"}, {"method": "cash", "amount": "5.40"}],
        customer=customer.pk,
    )

    assert response.status_code == 201, response.content
    assert response.json()["points_earned"] == 5  # floor((10.80 − 5.40) × 1)
    assert_books_hold_the_credit(loyalty)
    assert_books_hold_the_points(loyalty)
    _reconciles(loyalty)


def test_points_pay_at_their_value_and_debit_2320(
    cashier_client, register, open_shift, product, customer, loyalty
) -> None:
    Store.objects.filter(pk=loyalty.pk).update(loyalty_points_per_unit=D("100"))
    sale(
        cashier_client,
        register,
        product,
        "2",
        [{"method": "cash", "amount": "10.80"}],
        customer=customer.pk,
    )
    assert _points(customer) == 1080

    response = sale(
        cashier_client,
        register,
        product,
        "1",
        [{"method": "points", "points": 540}],
        customer=customer.pk,
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert [(p["method"], p["amount"], p["points"]) for p in body["payments"]] == [
        ("points", "5.40", 540)
    ]
    assert body["points_earned"] == 0  # nothing paid with money
    assert _points(customer) == 540
    receipt = cashier_client.get(f"/api/v1/orders/{body['id']}/receipt/")
    assert receipt.status_code == 200
    assert "Loyalty points (540)" in receipt.content.decode()
    entry = JournalEntry.objects.get(source="sale", source_id=body["id"])
    assert account_lines(entry.pk, "2320") == (D("5.40"), D("0"))
    assert_books_hold_the_points(loyalty)
    _reconciles(loyalty)


def test_not_enough_points_is_409_and_points_need_a_customer(
    cashier_client, register, open_shift, product, customer, loyalty
) -> None:
    short = sale(
        cashier_client,
        register,
        product,
        "1",
        [{"method": "points", "points": 540}],
        customer=customer.pk,
    )
    assert short.status_code == 409
    assert short.json()["code"] == "insufficient_balance"
    assert "payments.0.points" in short.json()["errors"]

    nobody = sale(cashier_client, register, product, "1", [{"method": "points", "points": 540}])
    assert nobody.status_code == 400
    assert "payments.0.method" in nobody.json()["errors"]

    wrong = sale(
        cashier_client,
        register,
        product,
        "1",
        [{"method": "points", "points": 540, "amount": "5.00"}],
        customer=customer.pk,
    )
    assert wrong.status_code == 400
    assert "payments.0.amount" in wrong.json()["errors"]
    assert not LoyaltyMovement.objects.exists()


def test_refunds_take_back_the_points_pro_rata_and_the_last_takes_the_rest(
    cashier_client, manager_client, register, open_shift, product, customer, loyalty
) -> None:
    order = sale(
        cashier_client,
        register,
        product,
        "3",
        [{"method": "cash", "amount": "16.21"}],
        customer=customer.pk,
    ).json()
    assert order["points_earned"] == 16

    taken = []
    for _ in range(3):
        response = refund(manager_client, order, "1")
        assert response.status_code == 201, response.content
        entry = JournalEntry.objects.get(source="refund", source_id=response.json()["id"])
        taken.append(account_lines(entry.pk, "2320")[0])

    assert taken == [D("0.05"), D("0.05"), D("0.06")]
    assert _points(customer) == 0
    backs = LoyaltyMovement.objects.filter(kind="take_back").order_by("id")
    assert [m.points for m in backs] == [-5, -5, -6]
    assert_books_hold_the_points(loyalty)
    _reconciles(loyalty)


def test_points_already_spent_are_taken_back_as_far_as_they_go(
    cashier_client, manager_client, register, open_shift, product, customer, loyalty
) -> None:
    Store.objects.filter(pk=loyalty.pk).update(loyalty_points_per_unit=D("100"))
    order = sale(
        cashier_client,
        register,
        product,
        "1",
        [{"method": "cash", "amount": "5.40"}],
        customer=customer.pk,
    ).json()
    assert order["points_earned"] == 540
    spent = sale(
        cashier_client,
        register,
        product,
        "1",
        [{"method": "points", "points": 500}, {"method": "cash", "amount": "0.40"}],
        customer=customer.pk,
    )
    assert spent.status_code == 201, spent.content
    # Earned 40 more on the 0.40 paid in cash: 80 left.
    assert _points(customer) == 80

    response = refund(manager_client, order, "1")

    assert response.status_code == 201, response.content
    back = LoyaltyMovement.objects.get(kind="take_back")
    assert (back.points, back.shortfall, back.points_after) == (-80, 460, 0)
    assert back.value == D("-0.80")
    assert _points(customer) == 0
    assert_books_hold_the_points(loyalty)
    _reconciles(loyalty)


def test_a_refund_of_a_points_payment_gives_the_points_back(
    cashier_client, manager_client, register, open_shift, product, customer, loyalty
) -> None:
    Store.objects.filter(pk=loyalty.pk).update(loyalty_points_per_unit=D("100"))
    sale(
        cashier_client,
        register,
        product,
        "2",
        [{"method": "cash", "amount": "10.80"}],
        customer=customer.pk,
    )
    order = sale(
        cashier_client,
        register,
        product,
        "1",
        [{"method": "points", "points": 540}],
        customer=customer.pk,
    ).json()
    assert _points(customer) == 540

    response = refund(manager_client, order, "1")

    assert response.status_code == 201, response.content
    assert [(p["method"], p["amount"]) for p in response.json()["payments"]] == [("points", "5.40")]
    assert _points(customer) == 1080
    entry = JournalEntry.objects.get(source="refund", source_id=response.json()["id"])
    assert account_lines(entry.pk, "2320") == (D("0"), D("5.40"))
    assert_books_hold_the_points(loyalty)
    _reconciles(loyalty)


def test_a_void_takes_the_earned_points_back_and_gives_the_redeemed_back(
    cashier_client, manager_client, register, open_shift, product, customer, loyalty
) -> None:
    Store.objects.filter(pk=loyalty.pk).update(loyalty_points_per_unit=D("100"))
    sale(
        cashier_client,
        register,
        product,
        "1",
        [{"method": "cash", "amount": "5.40"}],
        customer=customer.pk,
    )
    order = sale(
        cashier_client,
        register,
        product,
        "1",
        [{"method": "points", "points": 100}, {"method": "cash", "amount": "4.40"}],
        customer=customer.pk,
    ).json()
    assert order["points_earned"] == 440
    assert _points(customer) == 540 - 100 + 440

    void = manager_client.post(
        f"/api/v1/orders/{order['id']}/void/", {"reason": "wrong"}, format="json", **key()
    )

    assert void.status_code == 200, void.content
    assert _points(customer) == 540
    assert_books_hold_the_points(loyalty)
    _reconciles(loyalty)


def test_a_void_whose_points_were_spent_is_refused(
    cashier_client, manager_client, register, open_shift, product, customer, loyalty
) -> None:
    Store.objects.filter(pk=loyalty.pk).update(loyalty_points_per_unit=D("100"))
    order = sale(
        cashier_client,
        register,
        product,
        "1",
        [{"method": "cash", "amount": "5.40"}],
        customer=customer.pk,
    ).json()
    sale(
        cashier_client,
        register,
        product,
        "1",
        [{"method": "points", "points": 540}],
        customer=customer.pk,
    )

    void = manager_client.post(
        f"/api/v1/orders/{order['id']}/void/", {"reason": "wrong"}, format="json", **key()
    )

    assert void.status_code == 409
    assert void.json()["code"] == "insufficient_balance"
    assert_books_hold_the_points(loyalty)


def test_an_exchange_takes_back_the_returned_goods_points(
    cashier_client, manager_client, register, open_shift, product, customer, loyalty
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
        [{"method": "cash", "amount": "-5.40"}],
        customer=customer.pk,
    )

    assert response.status_code == 201, response.content
    assert response.json()["points_earned"] == 0  # the returned goods paid it all
    assert _points(customer) == 0
    assert_books_hold_the_points(loyalty)
    _reconciles(loyalty)


def test_a_store_point_value_finer_than_the_currency_is_refused(admin_client, store) -> None:
    response = admin_client.patch(
        f"/api/v1/stores/{store.pk}/",
        {"loyalty_points_per_unit": "1", "loyalty_point_value": "0.005"},
        format="json",
    )

    assert response.status_code == 400
    assert "loyalty_point_value" in response.json()["errors"]
    ok = admin_client.patch(
        f"/api/v1/stores/{store.pk}/",
        {"loyalty_points_per_unit": "2.5", "loyalty_point_value": "0.01"},
        format="json",
    )
    assert ok.status_code == 200, ok.content
    assert ok.json()["loyalty_points_per_unit"] == "2.500"
