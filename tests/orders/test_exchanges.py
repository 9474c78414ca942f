"""Exchanges (API v1.1): a sale that carries `returns` — lines of earlier orders of the store
given back in the sale's transaction, refunded exactly as a refund would be (a refund linked to
both orders) — and whose payments cover `total − returned_total`, or are the cash that goes
back when that is negative."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from accounts.models import Register, Store, User
from audit.models import AuditEvent
from catalog.models import Product, StockLevel, StockMovement
from ledger.models import JournalEntry
from ledger.selectors import account_balances, trial_balance
from orders.models import Order, OrderStatus, Payment, Refund, Shift
from orders.selectors.shifts import shift_cash_summary
from tests.catalog.factories import set_stock
from tests.factories import DEFAULT_PASSWORD, ManagerFactory, RegisterFactory, StoreFactory
from tests.orders.factories import open_shift_on
from tests.orders.selling import entry_lines, idem, sell

D = Decimal
pytestmark = pytest.mark.django_db

ORDERS = "/api/v1/orders/"
APPROVALS = "/api/v1/approvals/"


def exchange(
    client: Any,
    register: Register,
    lines: list[tuple[Product, str]],
    returns: list[dict[str, Any]],
    payments: list[dict[str, Any]],
    *,
    key: str | None = None,
    approval: str | None = None,
    **extra: Any,
) -> Any:
    headers = idem(key or str(uuid.uuid4()))
    if approval is not None:
        headers["HTTP_X_APPROVAL"] = approval
    return client.post(
        ORDERS,
        {
            "register": register.pk,
            "lines": [{"product": p.pk, "quantity": q} for p, q in lines],
            "returns": returns,
            "payments": payments,
            **extra,
        },
        format="json",
        **headers,
    )


def level(store: Store, product: Product) -> Decimal:
    return StockLevel.objects.get(store=store, product=product).quantity


def assert_books_balance(store: Store) -> None:
    balance = trial_balance(store_id=store.pk, date_to=None)
    assert balance is not None
    assert balance.total_debit == balance.total_credit
    # The clearing account of exchanges is zero after every commit.
    assert account_balances(store_id=store.pk, codes=["1090"])["1090"] == 0


@pytest.fixture
def two_sold(cashier: User, register: Register, product: Product, open_shift: Shift) -> Order:
    """2 × 4.99 at 8.25 %: net 9.98, tax 0.82, total 10.80, paid in cash."""
    return sell(cashier, register, [(product, "2")], [("cash", "10.80")])


def test_an_exchange_pays_the_difference_and_refunds_the_returned_goods(
    manager_client, manager, store, register, product, loose_product, two_sold, open_shift
) -> None:
    line = two_sold.lines.get()
    before = (level(store, product), level(store, loose_product))

    # One back (net 4.99, tax 0.41: 5.40), 4 kg of the loose product taken (10.00 at 0 %).
    response = exchange(
        manager_client,
        register,
        [(loose_product, "4")],
        [{"line": line.pk, "quantity": "1"}],
        [{"method": "card", "amount": "4.60", "card_last4": "4242"}],
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["total"], body["returned_total"], body["total_due"], body["paid_total"]) == (
        "10.00",
        "5.40",
        "4.60",
        "4.60",
    )
    assert [(p["method"], p["amount"]) for p in body["payments"]] == [("card", "4.60")]
    order = Order.objects.get(pk=body["id"])
    # The exchange row is stored (a later refund can give it back) but not shown.
    assert sorted(order.payments.values_list("method", "amount")) == [
        ("card", D("4.600")),
        ("exchange", D("5.400")),
    ]
    refund = Refund.objects.get(order=two_sold)
    assert (refund.exchange_order_id, refund.total, refund.restock) == (order.pk, D("5.40"), True)
    assert refund.shift_id == open_shift.pk
    assert list(refund.payments.values_list("method", "amount")) == [("exchange", D("5.400"))]
    line.refresh_from_db()
    two_sold.refresh_from_db()
    assert (line.refunded_quantity, line.refunded_total) == (D("1"), D("5.40"))
    assert (two_sold.status, two_sold.refunded_total) == (OrderStatus.PARTIALLY_REFUNDED, D("5.40"))
    # Original tenders give nothing back: the returned goods paid for the new sale.
    assert two_sold.payments.get().refunded_amount == 0
    assert (level(store, product), level(store, loose_product)) == (before[0] + 1, before[1] - 4)

    refund_entry = JournalEntry.objects.get(source="refund", source_id=refund.pk)
    assert entry_lines(refund_entry) == {
        "4900": (D("4.99"), D("0")),
        "2100": (D("0.41"), D("0")),
        "1090": (D("0"), D("5.40")),
        "1200": (D("2.00"), D("0")),
        "5000": (D("0"), D("2.00")),
    }
    sale_entry = JournalEntry.objects.get(source="sale", source_id=order.pk)
    assert entry_lines(sale_entry)["1090"] == (D("5.40"), D("0"))
    assert entry_lines(sale_entry)["1010"] == (D("4.60"), D("0"))
    assert_books_balance(store)

    created = AuditEvent.objects.get(action="order.created", object_id=str(order.pk))
    assert created.changes["returned_total"] == "5.40"
    assert created.changes["refunds"] == [refund.pk]
    refunded = AuditEvent.objects.get(action="order.refunded", object_id=str(two_sold.pk))
    assert refunded.changes["exchange_order"] == order.pk

    # Readable from both sides.
    listed = manager_client.get(f"/api/v1/refunds/?exchange_order={order.pk}").json()
    assert [r["id"] for r in listed["results"]] == [refund.pk]
    assert listed["results"][0]["exchange_order"] == order.pk


def test_returned_goods_worth_more_give_cash_back_as_a_negative_payment(
    manager_client, store, register, product, two_sold, open_shift
) -> None:
    line = two_sold.lines.get()
    drawer_before = shift_cash_summary(shift=open_shift).expected_cash

    # Both back (10.80), one taken (5.40): 5.40 goes back in cash.
    response = exchange(
        manager_client,
        register,
        [(product, "1")],
        [{"line": line.pk, "quantity": "2"}],
        [{"method": "cash", "amount": "-5.40"}],
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["total"], body["returned_total"], body["total_due"]) == ("5.40", "10.80", "-5.40")
    assert [(p["method"], p["amount"]) for p in body["payments"]] == [("cash", "-5.40")]
    two_sold.refresh_from_db()
    assert two_sold.status == OrderStatus.REFUNDED
    assert shift_cash_summary(shift=open_shift).expected_cash == drawer_before - D("5.40")
    sale_entry = JournalEntry.objects.get(source="sale", source_id=body["id"])
    assert entry_lines(sale_entry)["1000"] == (D("0"), D("5.40"))
    assert_books_balance(store)


def test_an_even_exchange_needs_no_payment(
    manager_client, store, register, product, two_sold
) -> None:
    line = two_sold.lines.get()
    response = exchange(
        manager_client, register, [(product, "1")], [{"line": line.pk, "quantity": "1"}], []
    )
    assert response.status_code == 201, response.content
    assert (response.json()["total_due"], response.json()["payments"]) == ("0.00", [])
    assert_books_balance(store)


def test_cash_rounding_applies_to_the_cash_that_goes_back(
    manager_client, store, register, product, loose_product, cashier, open_shift
) -> None:
    store.cash_rounding = D("0.05")
    store.save()
    order = sell(cashier, register, [(product, "2")], [("card", "10.80")])
    # 10.80 back, 2.50 taken: 8.30 due back, already on the 0.05 step; 1 kg 2.52? use 1.01 kg:
    # 2.53 (1.01 × 2.50 = 2.525 → 2.53) taken: 8.27 back, rounded to 8.25.
    response = exchange(
        manager_client,
        register,
        [(loose_product, "1.01")],
        [{"line": order.lines.get().pk, "quantity": "2"}],
        [{"method": "cash", "amount": "-8.25"}],
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["total"], body["rounding"], body["total_due"]) == ("2.53", "0.02", "-8.25")
    assert_books_balance(store)


@pytest.mark.parametrize(
    ("payments", "field"),
    [
        ([{"method": "card", "amount": "-5.40"}], "payments.0.method"),
        ([{"method": "cash", "amount": "5.40"}], "payments.0.amount"),
        ([{"method": "cash", "amount": "-5.40", "tendered": "0.00"}], "payments.0.amount"),
        ([{"method": "cash", "amount": "-5.00"}], "payments"),
    ],
)
def test_what_goes_back_must_be_negative_cash_adding_up(
    manager_client, store, register, product, two_sold, payments, field
) -> None:
    response = exchange(
        manager_client,
        register,
        [(product, "1")],
        [{"line": two_sold.lines.get().pk, "quantity": "2"}],
        payments,
    )
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert Refund.objects.count() == 0
    assert Order.objects.count() == 1


def test_a_negative_payment_without_returns_is_refused(
    manager_client, register, product, open_shift
) -> None:
    response = exchange(
        manager_client, register, [(product, "1")], [], [{"method": "cash", "amount": "-1.00"}]
    )
    assert response.status_code == 400
    assert "payments.0.amount" in response.json()["errors"]


def test_returns_of_another_store_listed_twice_or_bad_are_400_and_write_nothing(
    manager_client, client_for, store, register, product, two_sold
) -> None:
    elsewhere = StoreFactory()
    their_register = RegisterFactory(store=elsewhere)
    their_cashier = ManagerFactory(stores=[elsewhere])
    open_shift_on(their_register, their_cashier)
    set_stock(elsewhere, product, 10)
    theirs = sell(their_cashier, their_register, [(product, "1")], [("cash", "5.40")])
    line = two_sold.lines.get()

    for returns, field in [
        ([{"line": theirs.lines.get().pk, "quantity": "1"}], "returns.0.line"),
        ([{"line": 10**12, "quantity": "1"}], "returns.0.line"),
        (
            [{"line": line.pk, "quantity": "1"}, {"line": line.pk, "quantity": "1"}],
            "returns.1.line",
        ),
        ([{"line": line.pk, "quantity": "0.0001"}], "returns.0.quantity"),
    ]:
        response = exchange(
            manager_client, register, [(product, "1")], returns, [{"method": "cash", "amount": "0"}]
        )
        assert response.status_code == 400, response.content
        assert field in response.json()["errors"], response.json()
    assert Refund.objects.count() == 0
    line.refresh_from_db()
    assert line.refunded_quantity == 0


def test_more_than_is_left_is_409_and_an_offline_exchange_400(
    manager_client, register, product, two_sold
) -> None:
    line = two_sold.lines.get()
    over = exchange(
        manager_client, register, [(product, "1")], [{"line": line.pk, "quantity": "3"}], []
    )
    assert over.status_code == 409
    assert over.json()["code"] == "refund_exceeds_sold"
    offline = exchange(
        manager_client,
        register,
        [(product, "1")],
        [{"line": line.pk, "quantity": "1"}],
        [],
        offline=True,
    )
    assert offline.status_code == 400
    assert "returns" in offline.json()["errors"]
    assert Refund.objects.count() == 0


def test_a_voided_order_cannot_be_exchanged_and_an_exchange_cannot_be_voided(
    manager_client, register, product, cashier, two_sold
) -> None:
    voided = sell(cashier, register, [(product, "1")], [("cash", "5.40")])
    assert (
        manager_client.post(
            f"{ORDERS}{voided.pk}/void/", {"reason": "typo"}, format="json", **idem("v1")
        ).status_code
        == 200
    )
    refused = exchange(
        manager_client,
        register,
        [(product, "1")],
        [{"line": voided.lines.get().pk, "quantity": "1"}],
        [],
    )
    assert refused.status_code == 409, refused.content

    made = exchange(
        manager_client,
        register,
        [(product, "1")],
        [{"line": two_sold.lines.get().pk, "quantity": "1"}],
        [],
    )
    assert made.status_code == 201
    void = manager_client.post(
        f"{ORDERS}{made.json()['id']}/void/", {"reason": "no"}, format="json", **idem("v2")
    )
    assert void.status_code == 409
    assert void.json()["code"] == "void_not_allowed"


def test_restock_false_leaves_the_goods_off_the_shelf_and_their_cost_in_5000(
    manager_client, store, register, product, loose_product, two_sold
) -> None:
    before = level(store, product)
    response = exchange(
        manager_client,
        register,
        [(loose_product, "1")],
        [{"line": two_sold.lines.get().pk, "quantity": "1", "restock": False}],
        [{"method": "cash", "amount": "-2.90"}],
    )
    assert response.status_code == 201, response.content
    assert level(store, product) == before
    refund = Refund.objects.get()
    assert refund.restock is False
    assert "1200" not in entry_lines(JournalEntry.objects.get(source="refund", source_id=refund.pk))
    assert_books_balance(store)


def test_lines_of_two_orders_make_two_refunds(
    manager_client, store, register, product, loose_product, cashier, two_sold
) -> None:
    other = sell(cashier, register, [(loose_product, "2")], [("cash", "5.00")])
    response = exchange(
        manager_client,
        register,
        [(product, "2")],
        [
            {"line": two_sold.lines.get().pk, "quantity": "1"},
            {"line": other.lines.get().pk, "quantity": "2"},
        ],
        # 10.80 − 5.40 − 5.00
        [{"method": "card", "amount": "0.40"}],
    )
    assert response.status_code == 201, response.content
    refunds = Refund.objects.order_by("order_id")
    assert [(r.order_id, r.total) for r in refunds] == [
        (two_sold.pk, D("5.40")),
        (other.pk, D("5.00")),
    ]
    assert {r.exchange_order_id for r in refunds} == {response.json()["id"]}
    other.refresh_from_db()
    assert other.status == OrderStatus.REFUNDED
    assert_books_balance(store)


def test_a_later_refund_of_an_exchange_gives_the_exchanged_part_back_in_cash(
    manager_client, store, register, loose_product, product, two_sold, open_shift
) -> None:
    made = exchange(
        manager_client,
        register,
        [(loose_product, "4")],
        [{"line": two_sold.lines.get().pk, "quantity": "1"}],
        [{"method": "card", "amount": "4.60"}],
    ).json()
    drawer_before = shift_cash_summary(shift=open_shift).expected_cash

    response = manager_client.post(
        f"{ORDERS}{made['id']}/refunds/",
        {"lines": [{"line": made["lines"][0]["id"], "quantity": "4"}]},
        format="json",
        **idem("back"),
    )

    assert response.status_code == 201, response.content
    refund = Refund.objects.get(pk=response.json()["id"])
    assert sorted(refund.payments.values_list("method", "amount")) == [
        ("card", D("4.600")),
        ("cash", D("5.400")),
    ]
    exchanged = Payment.objects.get(order_id=made["id"], method="exchange")
    assert exchanged.refunded_amount == D("5.40")
    assert shift_cash_summary(shift=open_shift).expected_cash == drawer_before - D("5.40")
    assert_books_balance(store)


def test_an_exchange_is_exactly_once_per_idempotency_key(
    manager_client, register, product, two_sold
) -> None:
    args = (
        manager_client,
        register,
        [(product, "1")],
        [{"line": two_sold.lines.get().pk, "quantity": "1"}],
        [],
    )
    first = exchange(*args, key="same")
    again = exchange(*args, key="same")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert first.json() == again.json()
    assert Refund.objects.count() == 1
    assert StockMovement.objects.filter(reason="refund").count() == 1


def test_a_cashier_exchange_needs_a_refund_approval_unless_the_store_allows_refunds(
    client_for, cashier_client, store, register, product, two_sold
) -> None:
    args = (register, [(product, "1")], [{"line": two_sold.lines.get().pk, "quantity": "1"}], [])
    refused = exchange(cashier_client, *args)
    assert refused.status_code == 403
    assert refused.json()["code"] == "approval_required"

    boss = ManagerFactory(stores=[store])
    assert (
        client_for(boss)
        .post("/api/v1/auth/pin/", {"password": DEFAULT_PASSWORD, "pin": "2468"}, format="json")
        .status_code
        == 204
    )
    token = cashier_client.post(
        APPROVALS,
        {"username": boss.username, "pin": "2468", "action": "refund", "register": register.pk},
        format="json",
    ).json()["token"]
    approved = exchange(cashier_client, *args, approval=token)
    assert approved.status_code == 201, approved.content
    event = AuditEvent.objects.get(action="order.refunded")
    assert event.changes["approved_by"] == boss.pk

    store.cashier_can_refund = True
    store.save()
    args = (register, [(product, "1")], [{"line": two_sold.lines.get().pk, "quantity": "1"}], [])
    assert exchange(cashier_client, *args).status_code == 201


def test_the_receipt_shows_the_returned_goods_above_the_total_due(
    manager_client, register, loose_product, two_sold
) -> None:
    made = exchange(
        manager_client,
        register,
        [(loose_product, "4")],
        [{"line": two_sold.lines.get().pk, "quantity": "1"}],
        [{"method": "card", "amount": "4.60"}],
    ).json()

    text = manager_client.get(f"{ORDERS}{made['id']}/receipt/").content.decode()
    html = manager_client.get(f"{ORDERS}{made['id']}/receipt/?format=html").content.decode()

    lines = text.splitlines()
    assert any(ln.startswith("Returned goods (exchange)") and ln.endswith("-5.40") for ln in lines)
    assert any(ln.startswith("TOTAL DUE USD") and ln.endswith("4.60") for ln in lines)
    assert not any(ln.startswith("Exchange") for ln in lines)  # not a tender
    assert all(len(ln) <= 48 for ln in lines)
    assert "Returned goods (exchange)" in html
