"""`reconcile_store_day` and `manage.py reconcile`: the ledger against the records."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from ledger.selectors import trial_balance
from ledger.services import post_cash_movement
from orders.models import OrderLine, PaymentMethod
from orders.reconciliation import reconcile_store_day, store_today
from orders.selectors.shifts import shift_cash_summary
from orders.services.refunds import RefundLineRequest, refund_create
from orders.services.shifts import cash_movement_create, shift_close
from orders.services.voids import order_void
from tests.orders.factories import sell

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def busy_day(store, register, cashier, manager, stocked_product, shift):
    """A day of trading: cash and card sales, a cash in, a restocked refund, a close that
    counted 0.50 over."""
    cash_sale = sell(user=cashier, register=register, lines=[(stocked_product, 3)])
    sell(user=cashier, register=register, lines=[(stocked_product, 1)], method=PaymentMethod.CARD)
    cash_movement_create(shift=shift, kind="in", amount=D("20.00"), reason="change", user=cashier)
    line = OrderLine.objects.get(order=cash_sale)
    refund_create(
        order=cash_sale,
        lines=[RefundLineRequest(line_id=line.id, quantity=D(1))],
        restock=True,
        reason="broken",
        user=manager,
    )
    expected = shift_cash_summary(shift=shift).expected_cash
    shift_close(shift=shift, counted_cash=expected + D("0.50"), user=cashier)
    return {"expected_cash": expected}


def test_a_clean_day_reconciles(store, busy_day) -> None:
    result = reconcile_store_day(store=store, date=store_today(store))
    assert result.ok, result.as_dict()
    figures = {c.name: (c.ledger, c.expected) for c in result.comparisons}
    # counted − float = (expected + 0.50) − 100.00
    assert figures["cash"] == (busy_day["expected_cash"] - D("99.50"),) * 2
    # 50 received − 4 sold + 1 restocked = 47 at 2.00
    assert figures["inventory"] == (D("94.00"), D("94.00"))
    # 4 × 4.99 net sold − 4.99 refunded
    assert figures["sales_revenue"] == (D("14.97"), D("14.97"))
    assert result.shifts_closed == 1
    balance = trial_balance(store_id=store.id, date_to=None)
    assert balance is not None
    assert balance.total_debit == balance.total_credit


def test_the_command_prints_each_comparison_and_exits_zero_when_clean(store, busy_day) -> None:
    out = StringIO()
    call_command("reconcile", "--store", store.code, "--date", str(store_today(store)), stdout=out)
    text = out.getvalue()
    for name in ("cash", "inventory", "sales_revenue", "sales_tax"):
        assert name in text
    assert "ok: the ledger agrees" in text


def test_a_stray_posting_is_a_difference_and_the_command_exits_non_zero(
    store, busy_day, cashier
) -> None:
    # A second, stray sale entry for one of the closed shift's orders: more cash and revenue
    # in the ledger than the drawer and the orders account for.
    order = store.orders.order_by("id").first()
    from ledger.services import post_sale

    post_sale(
        store=store,
        date=store_today(store),
        order_id=order.id,
        tenders={"cash": D("1.00")},
        net=D("1.00"),
        tax=D("0"),
        cost=D("0"),
        created_by=cashier,
    )
    result = reconcile_store_day(store=store, date=store_today(store))
    assert not result.ok
    assert {c.name: c.difference for c in result.differences} == {
        "cash": D("1.00"),
        "sales_revenue": D("1.00"),
    }

    out = StringIO()
    with pytest.raises(CommandError, match="DIFFERENCES: cash, sales_revenue") as excinfo:
        call_command(
            "reconcile", "--store", store.code, "--date", str(store_today(store)), stdout=out
        )
    assert excinfo.value.returncode == 1
    cash_line = next(line for line in out.getvalue().splitlines() if "cash account" in line)
    assert cash_line.split("difference")[1].split()[0] == "1.00"


def test_inventory_not_posted_is_a_difference(store, stocked_product) -> None:
    from tests.catalog.factories import set_stock

    # 10 appear, worth 20.00, without a movement or a posting
    set_stock(store, stocked_product, 60, value=D("120.00"))
    result = reconcile_store_day(store=store, date=store_today(store))
    assert [(c.name, c.difference) for c in result.differences] == [("inventory", D("-20.00"))]


def test_unknown_store_and_bad_date(store) -> None:
    with pytest.raises(CommandError, match="No store"):
        call_command("reconcile", "--store", "NOPE", "--date", "2026-11-21")
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("reconcile", "--store", store.code, "--date", "21/11/2026")


def test_cash_of_an_open_shift_waits_for_its_close(store, shift, cashier) -> None:
    cash_movement_create(shift=shift, kind="in", amount=D("5.00"), reason="", user=cashier)
    result = reconcile_store_day(store=store, date=store_today(store))
    assert result.ok
    assert result.shifts_open == 1
    assert next(c for c in result.comparisons if c.name == "cash").ledger == D("0.00")


def test_reconciliation_costs_a_fixed_number_of_queries(
    store, busy_day, django_assert_max_num_queries
) -> None:
    # 9: the day's returns without a receipt are one more aggregate (issue 15); 11: gift cards
    # outstanding against the cards' movements (issue 16); 13: store credit against its movements;
    # 16: loyalty points against theirs, and the day's points in revenue.
    with django_assert_max_num_queries(16):
        reconcile_store_day(store=store, date=store_today(store))
    # A stray cash posting outside any shift is not cash of a closed shift.
    post_cash_movement(
        store=store,
        date=store_today(store),
        movement_id=999_999,
        kind="in",
        amount=D("1"),
        created_by=None,
    )
    assert reconcile_store_day(store=store, date=store_today(store)).ok


def test_a_difference_found_by_the_scheduled_run_is_logged_at_error_and_counted(
    store, stocked_product, caplog
) -> None:
    from monitoring.metrics import RECONCILIATION_DIFFERENCES
    from orders.services.reports import reconciliation_record
    from tests.catalog.factories import set_stock

    def counted() -> float:
        return RECONCILIATION_DIFFERENCES.labels(
            store=store.code, comparison="inventory"
        )._value.get()

    before = counted()
    # stock (and its value) that appears with no movement or posting
    set_stock(store, stocked_product, 60, value=D("120.00"))
    with caplog.at_level("ERROR", logger="orders.services.reports"):
        result = reconciliation_record(store=store, date=store_today(store))
    assert result["ok"] is False
    assert counted() == before + 1
    (record,) = [r for r in caplog.records if r.levelname == "ERROR"]
    assert "reconciliation difference" in record.getMessage()
    assert "inventory" in record.getMessage()


def test_a_clean_scheduled_run_logs_no_error_and_counts_nothing(store, busy_day, caplog) -> None:
    from monitoring.metrics import RECONCILIATION_DIFFERENCES
    from orders.services.reports import reconciliation_record

    total = sum(s.value for m in RECONCILIATION_DIFFERENCES.collect() for s in m.samples)
    with caplog.at_level("ERROR", logger="orders.services.reports"):
        assert reconciliation_record(store=store, date=store_today(store))["ok"] is True
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    after = sum(s.value for m in RECONCILIATION_DIFFERENCES.collect() for s in m.samples)
    assert after == total


def test_a_day_with_a_void_reconciles(store, register, cashier, manager, stocked_product, shift):
    """A void counts its entry in (cash with its shift, revenue and tax on its day, inventory
    back): the day agrees, and the void's figures are taken off the sales."""
    sell(user=cashier, register=register, lines=[(stocked_product, 1)])
    voided = sell(user=cashier, register=register, lines=[(stocked_product, 3)])
    card = sell(user=cashier, register=register, lines=[(stocked_product, 2)], method="card")
    order_void(order=voided, reason="twice", user=manager)
    order_void(order=card, reason="wrong card", user=manager)
    shift_close(
        shift=shift, counted_cash=shift_cash_summary(shift=shift).expected_cash, user=cashier
    )

    result = reconcile_store_day(store=store, date=store_today(store))

    assert result.ok, [c.as_dict() for c in result.differences]
    figures = {c.name: c.expected for c in result.comparisons}
    assert figures["sales_revenue"] == D("4.99")  # the one sale that stood
    assert figures["cash"] == D("5.40")
    assert figures["inventory"] == D("98.00")  # 50 received − 1 sold, at 2.00
