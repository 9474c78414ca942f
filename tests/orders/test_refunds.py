"""Refunds through the API: exact pro rata money (a line refunded in any number of steps returns
exactly its total), tenders card → other → cash, restock or not, status transitions, the
over-refund 409, roles and store scoping, idempotent replays, and which shift pays the cash."""

from __future__ import annotations

from decimal import Decimal

import pytest

from audit.models import AuditEvent
from catalog.models import StockLevel, StockMovement
from ledger.models import JournalEntry
from monitoring.metrics import REFUND_AMOUNT, REFUNDS
from orders.exceptions import RefundExceedsSold
from orders.models import Order, OrderLine, OrderStatus, Payment, Refund
from orders.services.refunds import RefundLineRequest, order_status_transition, refund_create
from orders.services.shifts import shift_close, shift_open
from tests.factories import ManagerFactory, RegisterFactory
from tests.orders.selling import entry_lines, idem, refund_via_api, sell

D = Decimal
pytestmark = pytest.mark.django_db


def stock_of(store, product) -> Decimal:
    return StockLevel.objects.get(store=store, product=product).quantity


@pytest.fixture
def three_sold(open_shift, cashier, register, product) -> Order:
    """3 × 4.99 at 8.25 %: net 14.97, tax 1.24, total 16.21, paid in cash (20.00 tendered)."""
    return sell(cashier, register, [(product, "3")], [("cash", "16.21", "20.00")])


# --- money --------------------------------------------------------------------------------------


def test_partial_refund_is_pro_rata_and_follows_through(
    manager_client, manager, store, register, product, three_sold
) -> None:
    line = three_sold.lines.get()

    response = refund_via_api(manager_client, three_sold, [(line, "1")], key="k1", reason="dented")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= {"id", "number", "order", "lines", "total", "payments", "created_at"}
    assert body["number"] == "R1-R000001"
    assert body["order"] == three_sold.pk
    assert body["lines"] == [
        {"line": line.pk, "quantity": "1.000", "net": "4.99", "tax": "0.41", "total": "5.40"}
    ]
    assert body["total"] == "5.40"
    assert body["payments"] == [{"method": "cash", "amount": "5.40"}]
    assert body["reason"] == "dented"
    assert body["restock"] is True

    three_sold.refresh_from_db()
    line.refresh_from_db()
    assert three_sold.status == OrderStatus.PARTIALLY_REFUNDED
    assert three_sold.refunded_total == D("5.40")
    assert (line.refunded_quantity, line.refunded_net, line.refunded_tax) == (
        D("1"),
        D("4.99"),
        D("0.41"),
    )
    assert line.refunded_total == D("5.40")
    assert Payment.objects.get(order=three_sold).refunded_amount == D("5.40")
    # stock: 100 − 3 sold + 1 back
    assert stock_of(store, product) == D("98")
    movement = StockMovement.objects.get(source_type="refund", source_id=body["id"])
    assert movement.reason == "refund"
    assert movement.quantity_delta == D("1")
    entry = JournalEntry.objects.get(source="refund", source_id=body["id"])
    assert entry_lines(entry) == {
        "4900": (D("4.99"), D("0")),
        "2100": (D("0.41"), D("0")),
        "1000": (D("0"), D("5.40")),
        "1200": (D("2.00"), D("0")),
        "5000": (D("0"), D("2.00")),
    }
    event = AuditEvent.objects.get(action="order.refunded", object_id=str(three_sold.pk))
    assert event.store_id == store.pk
    assert event.actor_id == manager.pk
    assert event.changes["number"] == "R1-R000001"


def test_lines_refunded_in_steps_return_exactly_their_totals(
    manager_client, cashier, register, product, loose_product, open_shift
) -> None:
    """The contract's worked example: 3 × 4.99 with line discount 0.50 and 1.250 kg × 2.50,
    order discount 1.00 → net 13.65 / 2.95, tax 1.13 / 0.00, total 17.73."""
    order = sell(
        cashier,
        register,
        [(product, "3", "0.50"), (loose_product, "1.250")],
        [("card", "17.73")],
        discount="1.00",
    )
    taxed, loose = order.lines.order_by("position")
    assert (taxed.net, taxed.tax, taxed.total) == (D("13.65"), D("1.13"), D("14.78"))
    assert (loose.net, loose.total) == (D("2.95"), D("2.95"))

    steps = [
        ([(taxed, "1"), (loose, "0.5")], ["4.93", "1.18"]),
        ([(taxed, "1"), (loose, "0.5")], ["4.93", "1.18"]),
        ([(taxed, "1"), (loose, "0.25")], ["4.92", "0.59"]),  # the rest, exactly
    ]
    refunded = D("0")
    for index, (lines, expected_totals) in enumerate(steps):
        response = refund_via_api(manager_client, order, lines, key=f"step-{index}")
        assert response.status_code == 201, response.content
        body = response.json()
        assert [row["total"] for row in body["lines"]] == expected_totals
        refunded += D(body["total"])
        order.refresh_from_db()
        expected_status = "refunded" if index == len(steps) - 1 else "partially_refunded"
        assert order.status == expected_status

    assert refunded == order.total == D("17.73")
    assert order.refunded_total == order.total
    for line in (taxed, loose):
        line.refresh_from_db()
        assert line.refunded_quantity == line.quantity
        assert line.refunded_net == line.net
        assert line.refunded_tax == line.tax
        assert line.refunded_total == line.total
    assert Payment.objects.get(order=order).refunded_amount == D("17.73")


def test_tax_inclusive_store_refund(manager_client, cashier, store, register, product) -> None:
    store.prices_include_tax = True
    store.save(update_fields=["prices_include_tax"])
    shift_open(register=register, opening_float=D("0"), user=cashier)
    # 3 × 4.99 = 14.97 inclusive: tax round(14.97 − 14.97 / 1.0825) = 1.14, net 13.83
    order = sell(cashier, register, [(product, "3")], [("card", "14.97")])
    line = order.lines.get()
    assert (line.net, line.tax) == (D("13.83"), D("1.14"))

    first = refund_via_api(manager_client, order, [(line, "2")], key="inc-1").json()
    rest = refund_via_api(manager_client, order, [(line, "1")], key="inc-2").json()

    assert first["lines"][0] | {"line": 0} == {
        "line": 0,
        "quantity": "2.000",
        "net": "9.22",
        "tax": "0.76",
        "total": "9.98",
    }
    assert (rest["lines"][0]["net"], rest["lines"][0]["tax"]) == ("4.61", "0.38")
    assert D(first["total"]) + D(rest["total"]) == D("14.97")


# --- tenders ------------------------------------------------------------------------------------


def test_money_goes_back_card_then_other_then_cash(
    manager_client, cashier, register, product, open_shift
) -> None:
    # 4 × 4.99 = 19.96 + tax 1.65 = 21.61
    order = sell(
        cashier,
        register,
        [(product, "4")],
        [("cash", "10.00", "10.00"), ("other", "3.00"), ("card", "8.61")],
    )
    line = order.lines.get()

    # 1 unit = 4.99 + 0.41 = 5.40 → all from the card
    first = refund_via_api(manager_client, order, [(line, "1")], key="t1").json()
    assert first["payments"] == [{"method": "card", "amount": "5.40"}]
    # 2 units = 9.98 + round(1.65 / 2) 0.83 = 10.81 → the card's last 3.21, the other
    # tender's 3.00, then 4.60 cash
    second = refund_via_api(manager_client, order, [(line, "2")], key="t2").json()
    assert second["payments"] == [
        {"method": "card", "amount": "3.21"},
        {"method": "other", "amount": "3.00"},
        {"method": "cash", "amount": "4.60"},
    ]
    # the last unit takes what is left of the line (4.99 + 0.41) → cash only
    last = refund_via_api(manager_client, order, [(line, "1")], key="t3").json()
    assert last["payments"] == [{"method": "cash", "amount": "5.40"}]
    refunded = {p.method: p.refunded_amount for p in Payment.objects.filter(order=order)}
    assert refunded == {"card": D("8.61"), "other": D("3.00"), "cash": D("10.00")}
    entry = JournalEntry.objects.get(source="refund", source_id=second["id"])
    lines = entry_lines(entry)
    assert lines["1010"] == (D("0"), D("3.21"))
    assert lines["1020"] == (D("0"), D("3.00"))
    assert lines["1000"] == (D("0"), D("4.60"))


# --- restock ------------------------------------------------------------------------------------


def test_refund_without_restock_leaves_stock_and_inventory_alone(
    manager_client, store, product, three_sold
) -> None:
    line = three_sold.lines.get()

    response = refund_via_api(manager_client, three_sold, [(line, "2")], key="nr", restock=False)

    assert response.status_code == 201
    assert response.json()["restock"] is False
    assert stock_of(store, product) == D("97")
    assert not StockMovement.objects.filter(source_type="refund").exists()
    entry = JournalEntry.objects.get(source="refund", source_id=response.json()["id"])
    assert set(entry_lines(entry)) == {"4900", "2100", "1000"}


def test_restock_is_omitted_by_default_true(manager_client, store, product, three_sold) -> None:
    line = three_sold.lines.get()
    response = manager_client.post(
        f"/api/v1/orders/{three_sold.pk}/refunds/",
        {"lines": [{"line": line.pk, "quantity": 1}]},
        format="json",
        **idem("default"),
    )
    assert response.status_code == 201, response.content
    assert stock_of(store, product) == D("98")


# --- over-refund and validation -----------------------------------------------------------------


def test_refunding_more_than_sold_is_409_over_several_refunds(manager_client, three_sold) -> None:
    line = three_sold.lines.get()
    assert refund_via_api(manager_client, three_sold, [(line, "2")], key="o1").status_code == 201

    response = refund_via_api(manager_client, three_sold, [(line, "1.001")], key="o2")

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "refund_exceeds_sold"
    assert body["lines"] == [line.pk]
    assert Refund.objects.filter(order=three_sold).count() == 1
    line.refresh_from_db()
    assert line.refunded_quantity == D("2")

    assert refund_via_api(manager_client, three_sold, [(line, "1")], key="o3").status_code == 201
    again = refund_via_api(manager_client, three_sold, [(line, "0.001")], key="o4")
    assert again.status_code == 409
    assert again.json()["code"] == "refund_exceeds_sold"


def test_one_refund_over_the_sold_quantity_is_409_and_writes_nothing(
    manager_client, store, product, three_sold
) -> None:
    line = three_sold.lines.get()
    response = refund_via_api(manager_client, three_sold, [(line, "4")], key="big")
    assert response.status_code == 409
    assert not Refund.objects.exists()
    assert stock_of(store, product) == D("97")
    assert not JournalEntry.objects.filter(source="refund").exists()


def test_line_of_another_order_is_400(
    manager_client, cashier, register, product, three_sold
) -> None:
    other = sell(cashier, register, [(product, "1")], [("card", "5.40")])
    response = refund_via_api(manager_client, three_sold, [(other.lines.get(), "1")], key="x")
    assert response.status_code == 400
    assert response.json()["errors"] == {"lines.0.line": ["Not a line of this order."]}


@pytest.mark.parametrize(
    ("lines", "field"),
    [
        ([], "lines"),
        ([{"quantity": "1"}], "lines.0.line"),
        ([{"line": "LINE", "quantity": "0"}], "lines.0.quantity"),
        ([{"line": "LINE", "quantity": "-1"}], "lines.0.quantity"),
        ([{"line": "LINE", "quantity": "0.0001"}], "lines.0.quantity"),
        ([{"line": "LINE", "quantity": "1"}, {"line": "LINE", "quantity": "1"}], "lines.1.line"),
    ],
)
def test_malformed_refunds_are_400(manager_client, three_sold, lines, field) -> None:
    line_id = three_sold.lines.get().pk
    payload_lines = [{k: (line_id if v == "LINE" else v) for k, v in row.items()} for row in lines]
    response = manager_client.post(
        f"/api/v1/orders/{three_sold.pk}/refunds/",
        {"lines": payload_lines, "restock": True},
        format="json",
        **idem(f"bad-{field}-{len(lines)}"),
    )
    assert response.status_code == 400, response.content
    assert field in response.json()["errors"]
    assert not Refund.objects.exists()


# --- roles, scoping, idempotency ----------------------------------------------------------------


def test_cashier_without_approval_gets_403(cashier_client, three_sold) -> None:
    line = three_sold.lines.get()
    response = refund_via_api(cashier_client, three_sold, [(line, "1")], key="c")
    assert response.status_code == 403
    assert response.json()["code"] == "approval_required"
    assert not Refund.objects.exists()


def test_manager_of_another_store_gets_404(client_for, three_sold) -> None:
    stranger = ManagerFactory(stores=[RegisterFactory().store])
    line = three_sold.lines.get()
    response = refund_via_api(client_for(stranger), three_sold, [(line, "1")], key="s")
    assert response.status_code == 404
    assert not Refund.objects.exists()


def test_admin_may_refund_and_unknown_order_is_404(admin_client, three_sold) -> None:
    line = three_sold.lines.get()
    assert refund_via_api(admin_client, three_sold, [(line, "1")], key="a").status_code == 201
    missing = admin_client.post(
        "/api/v1/orders/999999/refunds/",
        {"lines": [{"line": line.pk, "quantity": "1"}]},
        format="json",
        **idem("a2"),
    )
    assert missing.status_code == 404


def test_idempotency_key_is_required(manager_client, three_sold) -> None:
    line = three_sold.lines.get()
    response = manager_client.post(
        f"/api/v1/orders/{three_sold.pk}/refunds/",
        {"lines": [{"line": line.pk, "quantity": "1"}]},
        format="json",
    )
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]
    assert not Refund.objects.exists()


def test_a_retried_refund_is_replayed_not_repeated(manager_client, three_sold) -> None:
    line = three_sold.lines.get()
    first = refund_via_api(manager_client, three_sold, [(line, "1")], key="same")
    replay = refund_via_api(manager_client, three_sold, [(line, "1")], key="same")

    assert first.status_code == replay.status_code == 201
    assert "Idempotent-Replayed" not in first
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert Refund.objects.filter(order=three_sold).count() == 1
    line.refresh_from_db()
    assert line.refunded_quantity == D("1")

    reused = refund_via_api(manager_client, three_sold, [(line, "2")], key="same")
    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_reused"


def test_the_same_key_on_another_order_is_not_a_replay(
    manager_client, cashier, register, product, three_sold
) -> None:
    other = sell(cashier, register, [(product, "1")], [("card", "5.40")])
    body_line = three_sold.lines.get()
    assert (
        refund_via_api(manager_client, three_sold, [(body_line, "1")], key="k").status_code == 201
    )
    response = manager_client.post(
        f"/api/v1/orders/{other.pk}/refunds/",
        {"lines": [{"line": body_line.pk, "quantity": "1"}], "restock": True, "reason": ""},
        format="json",
        **idem("k"),
    )
    assert response.status_code == 422


# --- numbering, status, shifts ------------------------------------------------------------------


def test_refund_numbers_are_per_register_and_consecutive(
    manager_client, cashier, store, register, product, three_sold
) -> None:
    till2 = RegisterFactory(store=store, code="R2")
    shift_open(register=till2, opening_float=D("0"), user=cashier)
    on_till2 = sell(cashier, till2, [(product, "1")], [("card", "5.40")])
    line = three_sold.lines.get()

    numbers = [
        refund_via_api(manager_client, three_sold, [(line, "1")], key="n1").json()["number"],
        refund_via_api(manager_client, on_till2, [(on_till2.lines.get(), "1")], key="n2").json()[
            "number"
        ],
        refund_via_api(manager_client, three_sold, [(line, "1")], key="n3").json()["number"],
    ]

    assert numbers == ["R1-R000001", "R2-R000001", "R1-R000002"]


def test_a_refunded_order_cannot_move_again() -> None:
    order = Order(status=OrderStatus.REFUNDED)
    with pytest.raises(RefundExceedsSold):
        order_status_transition(order=order, to=OrderStatus.PARTIALLY_REFUNDED)
    completed = Order(status=OrderStatus.COMPLETED)
    order_status_transition(order=completed, to=OrderStatus.REFUNDED)
    assert completed.status == OrderStatus.REFUNDED


def test_cash_refund_needs_an_open_shift_on_the_orders_register(
    manager_client, cashier, open_shift, three_sold
) -> None:
    shift_close(shift=open_shift, counted_cash=D("116.21"), user=cashier)
    line = three_sold.lines.get()

    response = refund_via_api(manager_client, three_sold, [(line, "1")], key="closed")

    assert response.status_code == 409
    assert response.json()["code"] == "shift_not_open"
    assert not Refund.objects.exists()


def test_card_refund_needs_no_open_shift(
    manager_client, cashier, register, product, open_shift
) -> None:
    order = sell(cashier, register, [(product, "1")], [("card", "5.40")])
    shift_close(shift=open_shift, counted_cash=D("100.00"), user=cashier)

    response = refund_via_api(manager_client, order, [(order.lines.get(), "1")], key="card")

    assert response.status_code == 201
    assert response.json()["shift"] is None
    assert response.json()["payments"] == [{"method": "card", "amount": "5.40"}]


def test_next_days_cash_refund_is_paid_from_the_shift_open_now(
    manager_client, cashier, register, open_shift, three_sold
) -> None:
    shift_close(shift=open_shift, counted_cash=D("116.21"), user=cashier)
    today = shift_open(register=register, opening_float=D("50.00"), user=cashier)
    line = three_sold.lines.get()

    response = refund_via_api(manager_client, three_sold, [(line, "1")], key="nextday")

    assert response.status_code == 201
    assert response.json()["shift"] == today.pk
    closed = shift_close(shift=today, counted_cash=D("44.60"), user=cashier)
    assert closed.expected_cash == D("44.60")  # 50.00 − 5.40 refunded in cash
    assert closed.difference == D("0.00")
    open_shift.refresh_from_db()
    assert open_shift.expected_cash == D("116.21")  # the sale's shift is untouched


def test_service_refuses_more_than_sold(manager, three_sold) -> None:
    line = three_sold.lines.get()
    refund_create(
        order=three_sold,
        lines=[RefundLineRequest(line_id=line.pk, quantity=D("3"))],
        restock=True,
        reason="",
        user=manager,
    )
    with pytest.raises(RefundExceedsSold):
        refund_create(
            order=three_sold,
            lines=[RefundLineRequest(line_id=line.pk, quantity=D("1"))],
            restock=True,
            reason="",
            user=manager,
        )
    assert OrderLine.objects.get(pk=line.pk).refunded_quantity == D("3")


def test_metrics_count_refunds_after_commit(
    manager_client, store, three_sold, django_capture_on_commit_callbacks
) -> None:
    count = REFUNDS.labels(store=store.code)._value.get()
    amount = REFUND_AMOUNT.labels(store=store.code, currency="USD")._value.get()
    line = three_sold.lines.get()

    with django_capture_on_commit_callbacks(execute=True):
        assert refund_via_api(manager_client, three_sold, [(line, "1")], key="m").status_code == 201

    assert REFUNDS.labels(store=store.code)._value.get() == count + 1
    assert REFUND_AMOUNT.labels(store=store.code, currency="USD")._value.get() == pytest.approx(
        amount + 5.40
    )
