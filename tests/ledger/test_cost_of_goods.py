"""Cost of goods and stock valuation agree with the ledger exactly (issue 14, item 9): each sale
line carries its own rounded cost, refunds take it back pro rata with the completing refund
taking what is left, and every stock movement carries the money value that was posted to 1200 —
so ledger 1200 == Σ `StockLevel.value` and reconcile has nothing of its own making to report."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Sum

from catalog.models import Product, StockLevel, StockMovement
from catalog.services import stock_adjust
from ledger.selectors import account_balances
from ledger.services import COST_OF_GOODS_SOLD, INVENTORY
from orders.models import OrderLine
from orders.reconciliation import local_day_bounds, reconcile_store_day, store_today
from orders.services.refunds import RefundLineRequest, refund_create
from orders.services.sales import PaymentRequest, SaleLineRequest, order_create
from tests.catalog.factories import ProductFactory, TaxRateFactory
from tests.factories import CashierFactory, ManagerFactory, RegisterFactory, StoreFactory
from tests.orders.factories import open_shift_on, sell

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def weighed(store, manager) -> Product:
    """Sold by the kg at 0 % tax, cost 0.33; 10 kg received (1200 holds 3.30)."""
    product = ProductFactory(
        price=D("1.00"), cost=D("0.33"), tax_rate=TaxRateFactory(name="Zero", rate=D("0"))
    )
    stock_adjust(store=store, product=product, quantity_delta=D(10), reason="receive", user=manager)
    return product


def ledger(store) -> tuple[Decimal, Decimal]:
    """(1200 inventory, 5000 cost of goods sold) balances of the store, all dates."""
    balances = account_balances(store_id=store.pk, codes=[INVENTORY, COST_OF_GOODS_SOLD])
    return balances[INVENTORY], balances[COST_OF_GOODS_SOLD]


def book_value(store) -> Decimal:
    return StockLevel.objects.filter(store=store).aggregate(v=Sum("value"))["v"]


def assert_agrees(store) -> None:
    """Ledger 1200 == Σ level value == Σ movement values, and the day reconciles."""
    inventory, _ = ledger(store)
    assert book_value(store) == inventory
    moved = StockMovement.objects.filter(store=store).aggregate(v=Sum("value"))["v"]
    assert moved == inventory
    result = reconcile_store_day(store=store, date=store_today(store))
    assert result.ok, result.as_dict()


def refund(order, line, quantity: str, *, restock: bool, manager):
    return refund_create(
        order=order,
        lines=[RefundLineRequest(line_id=line.pk, quantity=D(quantity))],
        restock=restock,
        reason="returned",
        user=manager,
    )


def test_the_issue_scenario_two_restocked_halves_put_back_exactly_the_cost(
    store, register, cashier, manager, shift, weighed
) -> None:
    order = sell(user=cashier, register=register, lines=[(weighed, "0.5")])
    line = OrderLine.objects.get(order=order)
    assert line.cost == D("0.17")  # 0.165 half-up
    assert ledger(store) == (D("3.13"), D("0.17"))
    assert_agrees(store)

    first = refund(order, line, "0.25", restock=True, manager=manager)
    second = refund(order, line, "0.25", restock=True, manager=manager)

    # pro rata of the line's cost, 0.17 × 0.25 / 0.5 = 0.085 → 0.09 (not 0.33 × 0.25 → 0.08),
    # then the completing refund takes the 0.08 that is left
    assert [rl.cost for rl in first.lines.all()] == [D("0.09")]
    assert [rl.cost for rl in second.lines.all()] == [D("0.08")]
    line.refresh_from_db()
    assert line.refunded_cost == line.cost
    assert StockLevel.objects.get(store=store, product=weighed).quantity == D(10)
    assert ledger(store) == (D("3.30"), D("0.00"))
    assert book_value(store) == D("3.30")
    assert_agrees(store)


def test_sales_by_weight_alone_reconcile(
    store, register, cashier, manager, shift, stocked_product
) -> None:
    product = ProductFactory(price=D("1.00"), cost=D("0.50"), tax_rate=stocked_product.tax_rate)
    stock_adjust(store=store, product=product, quantity_delta=D(10), reason="receive", user=manager)

    sell(user=cashier, register=register, lines=[(product, "0.333")])
    sell(user=cashier, register=register, lines=[(product, "0.333")])

    # each 0.1665 → 0.17: the ledger took 0.34 for 0.666 kg (0.333 at cost × quantity)
    level = StockLevel.objects.get(store=store, product=product)
    assert level.value == D("4.66")
    assert_agrees(store)


def test_a_product_on_two_lines_costs_the_sum_of_its_lines(
    store, register, cashier, manager, shift, weighed
) -> None:
    order = sell(user=cashier, register=register, lines=[(weighed, "0.5"), (weighed, "0.5")])

    lines = list(OrderLine.objects.filter(order=order).order_by("position"))
    assert [ln.cost for ln in lines] == [D("0.17"), D("0.17")]
    assert ledger(store) == (D("2.96"), D("0.34"))
    [movement] = StockMovement.objects.filter(source_type="order", source_id=order.pk)
    assert movement.value == D("-0.34")
    assert_agrees(store)

    for line in lines:
        refund(order, line, "0.5", restock=True, manager=manager)
    assert ledger(store) == (D("3.30"), D("0.00"))
    assert_agrees(store)


def test_a_partial_refund_not_restocked_then_a_restocked_completing_one(
    store, register, cashier, manager, shift, weighed
) -> None:
    order = sell(user=cashier, register=register, lines=[(weighed, "1")])
    line = OrderLine.objects.get(order=order)
    assert line.cost == D("0.33")

    kept = refund(order, line, "0.5", restock=False, manager=manager)
    # the piece's cost (0.165 → 0.17) is counted as refunded but stays in cost of goods: the
    # goods did not come back to the shelf
    assert [rl.cost for rl in kept.lines.all()] == [D("0.17")]
    assert ledger(store) == (D("2.97"), D("0.33"))
    assert_agrees(store)

    back = refund(order, line, "0.5", restock=True, manager=manager)
    assert [rl.cost for rl in back.lines.all()] == [D("0.16")]
    line.refresh_from_db()
    assert line.refunded_cost == D("0.33")
    assert ledger(store) == (D("3.13"), D("0.17"))
    assert StockLevel.objects.get(store=store, product=weighed).value == D("3.13")
    assert_agrees(store)


def test_adjustments_keep_the_level_value_equal_to_the_ledger(store, manager, weighed) -> None:
    for delta, reason in (("0.333", "receive"), ("-0.125", "damage"), ("0.007", "count")):
        stock_adjust(
            store=store, product=weighed, quantity_delta=D(delta), reason=reason, user=manager
        )
    # 3.30 + 0.11 (0.10989) − 0.04 (0.04125) + 0.00 (0.00231)
    assert ledger(store)[0] == D("3.37")
    assert StockLevel.objects.get(store=store, product=weighed).value == D("3.37")
    assert_agrees(store)


def test_a_cost_change_does_not_revalue_stock_on_hand(store, manager, weighed) -> None:
    weighed.cost = D("0.40")
    weighed.save(update_fields=["cost"])

    assert StockLevel.objects.get(store=store, product=weighed).value == D("3.30")
    assert_agrees(store)


def test_movements_of_a_sale_and_refund_at_a_pinned_time_fall_on_their_day(
    store, register, cashier, manager, shift, weighed
) -> None:
    yesterday = store_today(store) - dt.timedelta(days=1)
    noon = local_day_bounds(store, yesterday)[0] + dt.timedelta(hours=12)
    order = order_create(
        user=cashier,
        register_id=register.pk,
        lines=[SaleLineRequest(product_id=weighed.pk, quantity=D("0.5"))],
        payments=[PaymentRequest(method="cash", amount=D("0.50"))],
        now=noon,
    )
    line = OrderLine.objects.get(order=order)
    refund_create(
        order=order,
        lines=[RefundLineRequest(line_id=line.pk, quantity=D("0.25"))],
        restock=True,
        reason="returned",
        user=manager,
        now=noon + dt.timedelta(hours=1),
    )

    stamps = StockMovement.objects.filter(store=store, source_type__in=["order", "refund"])
    assert sorted(m.created_at for m in stamps) == [noon, noon + dt.timedelta(hours=1)]
    # yesterday's close: 1200 holds −0.17 + 0.09 (the 10 kg were received today)
    result = reconcile_store_day(store=store, date=yesterday)
    assert result.ok, result.as_dict()
    inventory = next(c for c in result.comparisons if c.name == "inventory")
    assert inventory.ledger == D("-0.08")
    assert_agrees(store)


def test_values_follow_the_store_currency_minor_unit() -> None:
    """JPY has no decimals: an adjustment's value and a line's cost are whole yen, as posted."""
    store = StoreFactory(currency="JPY", allow_negative_stock=True)
    register = RegisterFactory(store=store, code="R1")
    cashier = CashierFactory(stores=[store])
    manager = ManagerFactory(stores=[store])
    open_shift_on(register, cashier, opening_float="10000")
    product = ProductFactory(
        price=D("333"), cost=D("120.5"), tax_rate=TaxRateFactory(name="Zero", rate=D("0"))
    )

    movement = stock_adjust(
        store=store, product=product, quantity_delta=D(3), reason="receive", user=manager
    )
    assert movement.value == D("362")  # 361.5 half-up
    order = sell(user=cashier, register=register, lines=[(product, "1.5")])
    line = OrderLine.objects.get(order=order)
    assert line.cost == D("181")  # 180.75 half-up
    assert ledger(store) == (D("181"), D("181"))
    assert_agrees(store)
