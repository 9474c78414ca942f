"""Late offline sales (API.md, Version 1.1, "Register flows"): an `offline: true` sale whose
register has no open shift goes onto the register's last shift, marked `late`; when that shift
is closed its counted cash already held the sale's cash, so the sale also posts Dr 6900 /
Cr 1000 for its cash part, and the shift's report lists it under `late_sales`.

Measured before: such a sale was refused with 409 `shift_not_open`, and the only way through
booked the closed drawer's cash into the next shift."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Register, Store, User
from catalog.models import Product
from ledger.models import JournalLine
from orders.models import Order
from orders.reconciliation import reconcile_store_day
from orders.services.shifts import shift_close, shift_open
from tests.factories import ManagerFactory
from tests.orders.factories import post_sale, sale_body

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

D = Decimal


def _balance(store: Store, code: str) -> Decimal:
    sums = JournalLine.objects.filter(entry__store=store, account__code=code).aggregate(
        debit=Sum("debit"), credit=Sum("credit")
    )
    return (sums["debit"] or D(0)) - (sums["credit"] or D(0))


@pytest.fixture
def closed_shift(register: Register, cashier: User):
    shift = shift_open(register=register, opening_float=D("50.00"), user=cashier)
    # The drawer was counted with the (not yet synced) offline sale's 10.80 in it.
    return shift_close(shift=shift, counted_cash=D("60.80"), user=cashier)


def test_an_offline_sale_after_the_close_goes_onto_the_closed_shift_and_corrects_the_cash(
    cashier_client: APIClient,
    register: Register,
    store: Store,
    product: Product,
    closed_shift,
    client_for,
) -> None:
    assert _balance(store, "6900") == D("-10.80")  # the close booked the sale's cash as over

    response = post_sale(
        cashier_client,
        sale_body(
            register,
            [(product, 2)],
            offline=True,
            client_created_at=(timezone.now() - dt.timedelta(hours=1)).isoformat(),
        ),
    )

    assert response.status_code == 201, response.content
    order = response.json()
    assert order["late"] is True
    assert order["shift"] == closed_shift.pk
    assert order["total"] == "10.80"
    # 6900 is back to zero, 1000 holds exactly what was counted less the float.
    assert _balance(store, "6900") == D("0")
    assert _balance(store, "1000") == D("10.80")
    report = client_for(ManagerFactory(stores=[store])).get(
        f"/api/v1/shifts/{closed_shift.pk}/report/"
    )
    body = report.json()
    assert [sale["number"] for sale in body["late_sales"]] == [order["number"]]
    assert body["late_sales"][0]["total"] == "10.80"
    # The drawer figures are what was in it at the close.
    assert body["expected_cash"] == "50.00"
    assert body["cash"]["cash_sales"] == "0.00"
    result = reconcile_store_day(store=store, date=timezone.localdate(timezone=store.tzinfo))
    # (The fixture's stock was set without a ledger entry: only the cash is compared here.)
    [cash] = [c for c in result.comparisons if c.name == "cash"]
    assert cash.ok, cash.as_dict()


def test_a_card_paid_late_sale_needs_no_cash_correction(
    cashier_client: APIClient, register: Register, store: Store, product: Product, closed_shift
) -> None:
    response = post_sale(
        cashier_client,
        sale_body(
            register,
            [(product, 2)],
            offline=True,
            payments=[{"method": "card", "amount": "10.80"}],
        ),
    )
    assert response.status_code == 201, response.content
    assert response.json()["late"] is True
    assert _balance(store, "6900") == D("-10.80")  # the close's over stays: no cash came in


def test_an_online_sale_without_an_open_shift_is_still_refused(
    cashier_client: APIClient, register: Register, product: Product, closed_shift
) -> None:
    response = post_sale(cashier_client, sale_body(register, [(product, 1)]))
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "shift_not_open"
    assert not Order.objects.exists()


def test_an_offline_sale_on_a_register_that_never_had_a_shift_is_refused(
    cashier_client: APIClient, register: Register, product: Product
) -> None:
    response = post_sale(cashier_client, sale_body(register, [(product, 1)], offline=True))
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "shift_not_open"


def test_an_offline_sale_with_an_open_shift_is_not_late(
    cashier_client: APIClient, register: Register, product: Product, cashier: User
) -> None:
    shift_open(register=register, opening_float=D("0"), user=cashier)
    response = post_sale(cashier_client, sale_body(register, [(product, 1)], offline=True))
    assert response.status_code == 201, response.content
    assert response.json()["late"] is False
