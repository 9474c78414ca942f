"""Flexible refunds (API v1.1): the request may choose the register whose drawer pays out the
cash part (`register`) and the tenders the money goes back to (`tenders: [{method, amount}]`).
Without either, the v1 rules hold (tests/orders/test_refunds.py)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest

from accounts.models import Register
from audit.models import AuditEvent
from ledger.models import JournalEntry
from orders.models import Order, OrderLine, Payment, Refund
from orders.services.shifts import shift_close
from tests.catalog.factories import ProductFactory, TaxRateFactory
from tests.factories import (
    DEFAULT_PASSWORD,
    CashierFactory,
    ManagerFactory,
    RegisterFactory,
    StoreFactory,
)
from tests.orders.factories import open_shift_on
from tests.orders.selling import entry_lines, sell

D = Decimal
pytestmark = pytest.mark.django_db

APPROVALS = "/api/v1/approvals/"
PIN = "/api/v1/auth/pin/"


def flex_refund(
    client: Any,
    order: Order,
    lines: Sequence[tuple[OrderLine, str]],
    *,
    tenders: Sequence[tuple[str, str]] | None = None,
    register: Register | int | None = None,
    approval: str | None = None,
) -> Any:
    body: dict[str, Any] = {
        "lines": [{"line": line.pk, "quantity": quantity} for line, quantity in lines]
    }
    if tenders is not None:
        body["tenders"] = [{"method": m, "amount": a} for m, a in tenders]
    if register is not None:
        body["register"] = register if isinstance(register, int) else register.pk
    headers = {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}
    if approval:
        headers["HTTP_X_APPROVAL"] = approval
    return client.post(f"/api/v1/orders/{order.pk}/refunds/", body, format="json", **headers)


def assert_problem(response: Any, status: int, code: str, field: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code, body
    if field is not None:
        assert field in body["errors"], body
    return body


@pytest.fixture
def three_sold(open_shift, cashier, register, product) -> Order:
    """3 × 4.99 at 8.25 %: total 16.21, paid in cash."""
    return sell(cashier, register, [(product, "3")], [("cash", "16.21", "20.00")])


@pytest.fixture
def split(open_shift, cashier, register, product) -> Order:
    """4 × 4.99 + tax 1.65 = 21.61: cash 10.00, other 3.00, card 8.61."""
    return sell(
        cashier,
        register,
        [(product, "4")],
        [("cash", "10.00", "10.00"), ("other", "3.00"), ("card", "8.61")],
    )


@pytest.fixture
def till2(store, cashier) -> Register:
    return RegisterFactory(store=store, code="R2")


# --- tenders -------------------------------------------------------------------------------------


def test_card_chosen_for_a_cash_paid_order_is_400(manager_client, three_sold) -> None:
    line = three_sold.lines.get()

    response = flex_refund(manager_client, three_sold, [(line, "1")], tenders=[("card", "5.40")])

    body = assert_problem(response, 400, "validation_error", "tenders.0.method")
    assert "card" in body["errors"]["tenders.0.method"][0]
    assert not Refund.objects.exists()
    assert Payment.objects.get(order=three_sold).refunded_amount == D("0")


def test_a_split_order_refunded_to_card_up_to_what_card_paid(manager_client, split) -> None:
    line = split.lines.get()

    # v1 would take card first too; choose cash for the first unit to show the choice counts
    first = flex_refund(manager_client, split, [(line, "1")], tenders=[("cash", "5.40")])
    assert first.status_code == 201, first.content
    assert first.json()["payments"] == [{"method": "cash", "amount": "5.40"}]
    # 2 units = 10.81 all to card: more than card ever paid (8.61) → 400
    assert_problem(
        flex_refund(manager_client, split, [(line, "2")], tenders=[("card", "10.81")]),
        400,
        "validation_error",
        "tenders.0.amount",
    )
    second = flex_refund(manager_client, split, [(line, "1")], tenders=[("card", "5.40")])
    assert second.status_code == 201, second.content
    assert second.json()["payments"] == [{"method": "card", "amount": "5.40"}]
    # card has 3.21 left: another 5.40 to card is an over-refund of that tender (409)
    third = flex_refund(manager_client, split, [(line, "1")], tenders=[("card", "5.40")])
    assert_problem(third, 409, "refund_exceeds_sold")
    last = flex_refund(
        manager_client, split, [(line, "1")], tenders=[("card", "3.21"), ("other", "2.19")]
    )
    assert last.status_code == 201, last.content
    assert last.json()["payments"] == [
        {"method": "card", "amount": "3.21"},
        {"method": "other", "amount": "2.19"},
    ]

    refunded = {p.method: p.refunded_amount for p in Payment.objects.filter(order=split)}
    assert refunded == {"card": D("8.61"), "other": D("2.19"), "cash": D("5.40")}
    entry = JournalEntry.objects.get(source="refund", source_id=last.json()["id"])
    lines = entry_lines(entry)
    assert lines["1010"] == (D("0"), D("3.21"))
    assert lines["1020"] == (D("0"), D("2.19"))
    assert "1000" not in lines
    event = AuditEvent.objects.filter(action="order.refunded").latest("id")
    assert event.changes["tenders"] == {"card": "3.21", "other": "2.19"}
    assert event.changes["tenders_chosen"] is True


def test_tenders_must_add_up_to_the_refund(manager_client, split) -> None:
    line = split.lines.get()

    response = flex_refund(
        manager_client, split, [(line, "1")], tenders=[("card", "2.00"), ("cash", "3.00")]
    )

    body = assert_problem(response, 400, "validation_error", "tenders")
    assert "5.40" in body["errors"]["tenders"][0]
    assert not Refund.objects.exists()


def test_store_credit_of_an_order_without_a_customer_needs_one(manager_client, split) -> None:
    line = split.lines.get()

    response = flex_refund(manager_client, split, [(line, "1")], tenders=[("store_credit", "5.40")])

    body = assert_problem(response, 400, "validation_error", "tenders")
    assert "customer" in body["errors"]["tenders"][0]


@pytest.mark.parametrize(
    "tenders",
    [
        [{"method": "cheque", "amount": "5.40"}],
        [{"method": "cash"}],
        [{"amount": "5.40"}],
        [{"method": "cash", "amount": "abc"}],
        "cash",
    ],
)
def test_malformed_tenders_are_400(manager_client, split, tenders) -> None:
    line = split.lines.get()
    response = manager_client.post(
        f"/api/v1/orders/{split.pk}/refunds/",
        {"lines": [{"line": line.pk, "quantity": "1"}], "tenders": tenders},
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert_problem(response, 400, "validation_error")


def test_a_tender_finer_than_the_yen_is_400(client_for) -> None:
    store = StoreFactory(currency="JPY", allow_negative_stock=True)
    register = RegisterFactory(store=store, code="J1")
    cashier = CashierFactory(stores=[store])
    open_shift_on(register, cashier, opening_float="10000")
    product = ProductFactory(price=D("300"), cost=D("120"), tax_rate=TaxRateFactory(rate=D("10")))
    order = sell(cashier, register, [(product, "2")], [("cash", "330", "330"), ("card", "330")])
    client = client_for(ManagerFactory(stores=[store]))
    line = order.lines.get()

    fine = flex_refund(client, order, [(line, "1")], tenders=[("cash", "165.5"), ("card", "164.5")])
    assert_problem(fine, 400, "validation_error", "tenders.0.amount")

    whole = flex_refund(client, order, [(line, "1")], tenders=[("cash", "165"), ("card", "165")])
    assert whole.status_code == 201, whole.content
    assert whole.json()["payments"] == [
        {"method": "card", "amount": "165"},
        {"method": "cash", "amount": "165"},
    ]


# --- register -----------------------------------------------------------------------------------


def test_cash_refund_at_another_open_register_comes_out_of_its_drawer(
    manager_client, cashier, open_shift, till2, three_sold
) -> None:
    other_shift = open_shift_on(till2, cashier, opening_float="50.00")
    line = three_sold.lines.get()

    response = flex_refund(manager_client, three_sold, [(line, "1")], register=till2)

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["shift"] == other_shift.pk
    assert body["payments"] == [{"method": "cash", "amount": "5.40"}]
    # numbered in the order's register's sequence, as every refund of the order
    assert body["number"] == "R1-R000001"
    report = manager_client.get(f"/api/v1/shifts/{other_shift.pk}/report/").json()
    assert report["refunds"]["count"] == 1
    assert report["cash"]["cash_refunded"] == "5.40"
    assert shift_close(shift=other_shift, counted_cash=D("44.60"), user=cashier).expected_cash == D(
        "44.60"
    )
    own = manager_client.get(f"/api/v1/shifts/{open_shift.pk}/report/").json()
    assert own["refunds"]["count"] == 0
    assert shift_close(shift=open_shift, counted_cash=D("0"), user=cashier).expected_cash == D(
        "116.21"
    )
    event = AuditEvent.objects.get(action="order.refunded")
    assert event.changes["register"] == till2.pk


def test_cash_part_at_a_register_without_open_shift_is_409(
    manager_client, till2, three_sold
) -> None:
    line = three_sold.lines.get()

    response = flex_refund(manager_client, three_sold, [(line, "1")], register=till2)

    assert_problem(response, 409, "shift_not_open")
    assert not Refund.objects.exists()


def test_card_part_at_a_register_without_open_shift_needs_none(
    manager_client, till2, split
) -> None:
    line = split.lines.get()

    response = flex_refund(manager_client, split, [(line, "1")], register=till2)

    assert response.status_code == 201, response.content
    assert response.json()["shift"] is None
    assert response.json()["payments"] == [{"method": "card", "amount": "5.40"}]


def test_register_of_another_store_inactive_or_unknown_is_400(
    manager_client, cashier, other_store, store, three_sold
) -> None:
    foreign = RegisterFactory(store=other_store, code="F1")
    open_shift_on(foreign, cashier)
    closed_down = RegisterFactory(store=store, code="R9", is_active=False)
    line = three_sold.lines.get()

    answers = [
        flex_refund(manager_client, three_sold, [(line, "1")], register=register)
        for register in (foreign, closed_down, 999_999)
    ]

    bodies = [assert_problem(a, 400, "validation_error", "register") for a in answers]
    # the same words whichever it is: another store's register is not told apart
    assert len({str(b["errors"]["register"]) for b in bodies}) == 1
    assert not Refund.objects.exists()


def test_a_cashiers_approval_is_checked_on_the_register_that_pays_out(
    client_for, cashier, store, register, till2, three_sold
) -> None:
    open_shift_on(till2, cashier, opening_float="50.00")
    boss = ManagerFactory(stores=[store])
    pin = client_for(boss).post(PIN, {"password": DEFAULT_PASSWORD, "pin": "2468"}, format="json")
    assert pin.status_code == 204, pin.content
    cashier_client = client_for(cashier)

    def approve(on: Register) -> str:
        response = cashier_client.post(
            APPROVALS,
            {"username": boss.username, "pin": "2468", "action": "refund", "register": on.pk},
            format="json",
        )
        assert response.status_code == 201, response.content
        return response.json()["token"]

    line = three_sold.lines.get()
    refused = flex_refund(
        cashier_client, three_sold, [(line, "1")], register=till2, approval=approve(register)
    )
    assert_problem(refused, 403, "approval_required")

    approved = flex_refund(
        cashier_client, three_sold, [(line, "1")], register=till2, approval=approve(till2)
    )
    assert approved.status_code == 201, approved.content
    assert approved.json()["shift"] is not None
