"""Voids through the API: `POST /api/v1/orders/{id}/void/` reverses a sale exactly (stock, ledger,
drawer, metrics), keeps its number, shows in the order and the reports, and is refused (409
`void_not_allowed`) once the shift is closed, the order is refunded or already voided."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from catalog.models import StockLevel, StockMovement
from ledger.models import JournalEntry, JournalLine
from ledger.selectors import trial_balance
from monitoring.metrics import VOID_AMOUNT, VOIDS
from orders.exceptions import ApprovalRequired, RefundExceedsSold
from orders.models import DailyReport, Order, OrderStatus
from orders.reconciliation import store_today
from orders.selectors.reports import daily_report_figures, stores_today_totals
from orders.selectors.shifts import shift_cash_summary
from orders.serializers.reports import DailyReportSerializer
from orders.services.refunds import order_status_transition
from orders.services.reports import daily_report_payload
from orders.services.shifts import shift_close
from orders.services.voids import may_void
from tests.factories import DEFAULT_PASSWORD, CashierFactory, ManagerFactory, RegisterFactory
from tests.orders.selling import idem, refund_via_api, sell

D = Decimal
pytestmark = pytest.mark.django_db


def void_via_api(client, order: Order, *, key: str | None = "v1", reason: str = "mistake"):
    headers = idem(key) if key is not None else {}
    return client.post(
        f"/api/v1/orders/{order.pk}/void/", {"reason": reason}, format="json", **headers
    )


def stock_of(store, product) -> Decimal:
    return StockLevel.objects.get(store=store, product=product).quantity


def account_sums(entry: JournalEntry) -> dict[str, Decimal]:
    """debit − credit per account code of one entry."""
    sums: dict[str, Decimal] = defaultdict(lambda: D("0"))
    for line in JournalLine.objects.filter(entry=entry).select_related("account"):
        sums[line.account.code] += line.debit - line.credit
    return dict(sums)


@pytest.fixture
def sale(open_shift, cashier, register, product, loose_product) -> Order:
    """3 × 4.99 at 8.25 % (16.21) + 1.250 kg × 2.50 (3.13) = 19.34, paid 10.00 card and 9.34
    cash (20.00 tendered)."""
    return sell(
        cashier,
        register,
        [(product, "3"), (loose_product, "1.250")],
        [("card", "10.00"), ("cash", "9.34", "20.00")],
    )


# --- the flow -----------------------------------------------------------------------------------


def test_a_void_reverses_the_sale_exactly(
    manager_client, manager, store, open_shift, product, loose_product, cashier, register
) -> None:
    cash_before = shift_cash_summary(shift=open_shift).expected_cash
    stock_before = (stock_of(store, product), stock_of(store, loose_product))
    order = sell(
        cashier,
        register,
        [(product, "3"), (loose_product, "1.250")],
        [("card", "10.00"), ("cash", "9.34", "20.00")],
    )
    assert stock_of(store, product) == stock_before[0] - 3

    response = void_via_api(manager_client, order, reason="rang up twice")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == order.pk
    assert body["number"] == order.number == "R1-000001"
    assert body["status"] == "voided"
    assert body["voided_by"] == manager.pk
    assert body["void_reason"] == "rang up twice"
    assert body["voided_at"] is not None
    assert body["total"] == "19.34"

    # stock back, by movements that negate the sale's exactly
    assert (stock_of(store, product), stock_of(store, loose_product)) == stock_before
    sold = {
        (m.product_id, m.quantity_delta, m.unit_cost)
        for m in StockMovement.objects.filter(source_type="order", source_id=order.pk)
    }
    voided = {
        (m.product_id, -m.quantity_delta, m.unit_cost)
        for m in StockMovement.objects.filter(source_type="void", source_id=order.pk)
    }
    assert voided == sold
    assert set(
        StockMovement.objects.filter(source_type="void").values_list("reason", flat=True)
    ) == {"void"}

    # one journal entry mirroring the sale's line by line
    sale_entry = JournalEntry.objects.get(source="sale", source_id=order.pk)
    void_entry = JournalEntry.objects.get(source="void", source_id=order.pk)
    sale_lines = list(
        JournalLine.objects.filter(entry=sale_entry).values_list("account_id", "debit", "credit")
    )
    void_lines = list(
        JournalLine.objects.filter(entry=void_entry).values_list("account_id", "credit", "debit")
    )
    assert void_lines == sale_lines
    net = account_sums(sale_entry)
    for code, amount in account_sums(void_entry).items():
        net[code] += amount
    assert set(net.values()) == {D("0")}
    balance = trial_balance(store_id=store.pk, date_to=None)
    assert balance is not None
    assert balance.total_debit == balance.total_credit

    # the drawer's expected cash is back to what it was before the sale
    assert shift_cash_summary(shift=open_shift).expected_cash == cash_before

    # the order keeps its number and is still listed, voided
    listed = manager_client.get("/api/v1/orders/").json()["results"]
    assert [(row["number"], row["status"]) for row in listed] == [("R1-000001", "voided")]
    detail = manager_client.get(f"/api/v1/orders/{order.pk}/").json()
    assert detail["void_reason"] == "rang up twice"
    # the next sale takes the next number: the voided one stays used
    assert sell(cashier, register, [(product, "1")], [("card", "5.40")]).number == "R1-000002"

    event = AuditEvent.objects.get(action="order.voided", object_id=str(order.pk))
    assert event.actor_id == manager.pk
    assert event.changes["reason"] == "rang up twice"
    assert event.changes["number"] == "R1-000001"
    assert event.changes["total"] == "19.34"


def test_a_completed_order_shows_null_void_fields(manager_client, sale) -> None:
    body = manager_client.get(f"/api/v1/orders/{sale.pk}/").json()
    assert body["status"] == "completed"
    assert (body["voided_at"], body["voided_by"], body["void_reason"]) == (None, None, None)


def test_the_shift_closes_on_the_cash_it_had_before_the_sale(
    manager_client, cashier, open_shift, sale
) -> None:
    assert void_via_api(manager_client, sale).status_code == 200
    closed = shift_close(shift=open_shift, counted_cash=D("100.00"), user=cashier)
    assert closed.expected_cash == D("100.00")
    assert closed.difference == D("0.00")


def test_metrics_count_voids_after_commit(
    manager_client, store, sale, django_capture_on_commit_callbacks
) -> None:
    count = VOIDS.labels(store=store.code)._value.get()
    amount = VOID_AMOUNT.labels(store=store.code, currency="USD")._value.get()

    with django_capture_on_commit_callbacks(execute=True):
        assert void_via_api(manager_client, sale).status_code == 200

    assert VOIDS.labels(store=store.code)._value.get() == count + 1
    assert VOID_AMOUNT.labels(store=store.code, currency="USD")._value.get() == pytest.approx(
        amount + 19.34
    )


# --- reports ------------------------------------------------------------------------------------


def test_shift_report_leaves_voided_orders_out_and_counts_them(
    manager_client, cashier, register, product, open_shift, sale
) -> None:
    sell(cashier, register, [(product, "1")], [("cash", "5.40")])
    assert void_via_api(manager_client, sale).status_code == 200

    report = manager_client.get(f"/api/v1/shifts/{open_shift.pk}/report/").json()

    assert report["orders_count"] == 1
    assert report["total"] == "5.40"
    assert report["tax_total"] == "0.41"
    assert report["by_tender"] == {
        "cash": "5.40",
        "card": "0.00",
        "other": "0.00",
        "gift_card": "0.00",
        "store_credit": "0.00",
        "points": "0.00",
    }
    assert [row["net"] for row in report["tax_by_rate"]] == ["4.99"]
    assert report["voids_count"] == 1
    assert report["voids_total"] == "19.34"
    assert report["cash"]["cash_sales"] == "5.40"
    assert report["expected_cash"] == "105.40"


def test_daily_report_leaves_voided_orders_out_and_counts_them(
    manager_client, store, cashier, register, product, open_shift, sale
) -> None:
    sell(cashier, register, [(product, "1")], [("card", "5.40")])
    assert void_via_api(manager_client, sale).status_code == 200

    figures = daily_report_figures(store=store, date=store_today(store))

    assert figures["orders_count"] == 1
    assert figures["net_sales"] == "4.99"
    assert figures["tax_total"] == "0.41"
    assert figures["by_tender"] == {
        "cash": "0.00",
        "card": "5.40",
        "other": "0.00",
        "gift_card": "0.00",
        "store_credit": "0.00",
        "points": "0.00",
    }
    assert [row["total"] for row in figures["top_products"]] == ["5.40"]
    assert sum(row["orders"] for row in figures["by_hour"]) == 1
    assert figures["voids_count"] == 1
    assert figures["voids_total"] == "19.34"

    api = manager_client.get(
        "/api/v1/reports/daily/", {"store": store.pk, "date": store_today(store).isoformat()}
    ).json()
    assert (api["voids_count"], api["voids_total"]) == (1, "19.34")


def test_dashboard_totals_leave_voided_orders_out(
    manager_client, store, cashier, register, product, open_shift, sale
) -> None:
    sell(cashier, register, [(product, "1")], [("card", "5.40")])
    assert void_via_api(manager_client, sale).status_code == 200

    totals = stores_today_totals(stores=[store], now=timezone.now())[store.pk]

    assert (totals["orders"], totals["total"], totals["tax"]) == (1, D("5.40"), D("0.41"))


# --- refusals -----------------------------------------------------------------------------------


def _refused(response, code: str) -> None:
    assert response.status_code == 409, response.content
    assert response.json()["code"] == code


def test_no_void_once_the_shift_is_closed(manager_client, cashier, open_shift, sale) -> None:
    shift_close(shift=open_shift, counted_cash=D("109.34"), user=cashier)
    _refused(void_via_api(manager_client, sale), "void_not_allowed")
    assert Order.objects.get(pk=sale.pk).status == OrderStatus.COMPLETED
    assert not JournalEntry.objects.filter(source="void").exists()


def test_no_void_of_a_partly_refunded_order(manager_client, sale) -> None:
    line = sale.lines.order_by("position").first()
    assert refund_via_api(manager_client, sale, [(line, "1")], key="r").status_code == 201
    _refused(void_via_api(manager_client, sale), "void_not_allowed")
    assert not StockMovement.objects.filter(source_type="void").exists()


def test_no_second_void_and_a_replay_answers_the_first(manager_client, store, sale) -> None:
    first = void_via_api(manager_client, sale, key="once")
    replay = void_via_api(manager_client, sale, key="once")
    again = void_via_api(manager_client, sale, key="twice")

    assert first.status_code == replay.status_code == 200
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    _refused(again, "void_not_allowed")
    assert JournalEntry.objects.filter(source="void", source_id=sale.pk).count() == 1
    assert StockMovement.objects.filter(source_type="void").count() == 2


def test_a_voided_order_cannot_be_refunded(manager_client, sale) -> None:
    assert void_via_api(manager_client, sale).status_code == 200
    line = sale.lines.order_by("position").first()
    _refused(refund_via_api(manager_client, sale, [(line, "1")], key="r"), "refund_exceeds_sold")
    with pytest.raises(RefundExceedsSold):
        order_status_transition(
            order=Order(status=OrderStatus.VOIDED), to=OrderStatus.PARTIALLY_REFUNDED
        )


def test_a_cashier_needs_a_managers_approval_to_void(
    cashier_client, cashier, sale, store, client_for
) -> None:
    refused = void_via_api(cashier_client, sale)
    assert refused.status_code == 403
    assert refused.json()["code"] == "approval_required"
    assert Order.objects.get(pk=sale.pk).status == OrderStatus.COMPLETED

    boss = ManagerFactory(stores=[store])
    pin = client_for(boss).post(
        "/api/v1/auth/pin/", {"password": DEFAULT_PASSWORD, "pin": "8642"}, format="json"
    )
    assert pin.status_code == 204, pin.content
    token = cashier_client.post(
        "/api/v1/approvals/",
        {"username": boss.username, "pin": "8642", "action": "void", "register": sale.register_id},
        format="json",
    ).json()["token"]
    approved = cashier_client.post(
        f"/api/v1/orders/{sale.pk}/void/",
        {"reason": "wrong item"},
        format="json",
        HTTP_X_APPROVAL=token,
        **idem("approved"),
    )
    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "voided"
    event = AuditEvent.objects.get(action="order.voided", object_id=str(sale.pk))
    assert event.changes["approved_by"] == boss.pk


def test_may_void_lets_managers_through_and_asks_a_cashier_for_approval(sale, store) -> None:
    assert may_void(ManagerFactory(stores=[store]), sale, None) is None
    with pytest.raises(ApprovalRequired):
        may_void(CashierFactory(stores=[store]), sale, None)


def test_another_stores_order_is_404_and_unknown_too(client_for, admin_client, sale) -> None:
    stranger = ManagerFactory(stores=[RegisterFactory().store])
    assert void_via_api(client_for(stranger), sale).status_code == 404
    missing = admin_client.post(
        "/api/v1/orders/999999/void/", {"reason": "x"}, format="json", **idem("m")
    )
    assert missing.status_code == 404
    assert Order.objects.get(pk=sale.pk).status == OrderStatus.COMPLETED


def test_idempotency_key_is_required(manager_client, sale) -> None:
    response = void_via_api(manager_client, sale, key=None)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]
    assert Order.objects.get(pk=sale.pk).status == OrderStatus.COMPLETED


def test_reason_is_validated(manager_client, sale) -> None:
    response = void_via_api(manager_client, sale, reason="x" * 256)
    assert response.status_code == 400
    assert "reason" in response.json()["errors"]


def test_a_report_stored_before_voids_existed_renders_zero_voids(store) -> None:
    figures = daily_report_figures(store=store, date=store_today(store))
    del figures["voids_count"], figures["voids_total"]
    report = DailyReport(
        store=store, date=store_today(store), data=figures, generated_at=timezone.now()
    )

    body = DailyReportSerializer(daily_report_payload(report=report)).data

    assert (body["voids_count"], body["voids_total"]) == (0, "0.00")
