"""`stock_apply`: the one path for every change of stock (sales, refunds, adjustments)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from catalog.exceptions import InsufficientStock
from catalog.models import StockLevel, StockMovement, StockReason
from catalog.services import StockChange, stock_apply, stock_sync_store_policy
from tests.catalog.factories import ProductFactory, set_stock
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

D = Decimal


def sell(store, *pairs, offline=False, reason=StockReason.SALE):
    return stock_apply(
        store=store,
        changes=[StockChange(product=p, quantity_delta=D(str(q))) for p, q in pairs],
        reason=reason,
        source_type="order",
        source_id=99,
        user=None,
        offline=offline,
    )


def writes() -> int:
    """Statements that write levels and movements: one (the update and the insert together)."""
    return 1


def quantity(store, product) -> Decimal:
    return StockLevel.objects.get(store=store, product=product).quantity


def test_decrement_writes_level_and_movement(store) -> None:
    product = ProductFactory(cost=D("1.25"))
    set_stock(store, product, 10)

    [movement] = sell(store, (product, "-3"))

    assert quantity(store, product) == D("7.000")
    movement.refresh_from_db()
    assert movement.quantity_delta == D("-3.000")
    assert movement.quantity_after == D("7.000")
    assert movement.reason == StockReason.SALE
    assert (movement.source_type, movement.source_id) == ("order", 99)
    assert movement.unit_cost == D("1.25")
    assert movement.flagged is False


def test_unit_cost_given_wins_over_product_cost(store) -> None:
    product = ProductFactory(cost=D("1.25"))
    [movement] = stock_apply(
        store=store,
        changes=[StockChange(product=product, quantity_delta=D("2"), unit_cost=D("0.99"))],
        reason=StockReason.REFUND,
        source_type="refund",
        source_id=1,
        user=None,
    )
    assert movement.unit_cost == D("0.99")
    assert quantity(store, product) == D("2.000")


def test_untracked_products_are_skipped_without_queries(store, django_assert_num_queries) -> None:
    service = ProductFactory(track_stock=False)
    with django_assert_num_queries(0):
        assert sell(store, (service, "-5")) == []
    assert not StockLevel.objects.filter(product=service).exists()


def test_missing_level_row_is_created(store) -> None:
    product = ProductFactory()
    sell(store, (product, "5"), reason=StockReason.RECEIVE)
    assert quantity(store, product) == D("5.000")


def test_oversell_refused_with_every_offending_product_and_nothing_written(store) -> None:
    enough, short_a, short_b = ProductFactory(), ProductFactory(), ProductFactory()
    set_stock(store, enough, 10)
    set_stock(store, short_a, 1)
    fresh = short_b  # no level row at all: counts as zero

    with pytest.raises(InsufficientStock) as excinfo:
        sell(store, (enough, "-2"), (short_a, "-2"), (fresh, "-1"))

    assert excinfo.value.product_ids == sorted([short_a.pk, fresh.pk])
    assert excinfo.value.extra == {"products": sorted([short_a.pk, fresh.pk])}
    assert quantity(store, enough) == D("10.000")
    assert quantity(store, short_a) == D("1.000")
    assert not StockLevel.objects.filter(product=fresh).exists()
    assert not StockMovement.objects.exists()


def test_repeated_product_is_checked_on_its_sum(store) -> None:
    product = ProductFactory()
    set_stock(store, product, 3)
    with pytest.raises(InsufficientStock):
        sell(store, (product, "-2"), (product, "-2"))
    movements = sell(store, (product, "-2"), (product, "-1"))
    assert [m.quantity_after for m in movements] == [D("1.000"), D("0.000")]
    assert quantity(store, product) == D("0.000")


def test_exact_stock_can_be_sold_to_zero(store) -> None:
    product = ProductFactory()
    set_stock(store, product, "1.250")
    sell(store, (product, "-1.250"))
    assert quantity(store, product) == D("0.000")


def test_store_allowing_negative_stock_goes_below_zero_unflagged() -> None:
    store = StoreFactory(allow_negative_stock=True)
    product = ProductFactory()
    [movement] = sell(store, (product, "-4"))
    level = StockLevel.objects.get(store=store, product=product)
    assert level.quantity == D("-4.000")
    assert level.allow_negative is True
    assert level.offline_deficit is False
    assert movement.flagged is False


def test_offline_sale_is_never_refused_and_its_negative_is_flagged(store) -> None:
    product, other = ProductFactory(), ProductFactory()
    set_stock(store, product, 1)
    set_stock(store, other, 5)

    first, second = sell(store, (product, "-3"), (other, "-1"), offline=True)

    assert first.flagged is True
    assert first.quantity_after == D("-2.000")
    assert second.flagged is False
    level = StockLevel.objects.get(store=store, product=product)
    assert (level.quantity, level.offline_deficit, level.allow_negative) == (
        D("-2.000"),
        True,
        False,
    )

    # An online sale of a product in deficit is refused …
    with pytest.raises(InsufficientStock):
        sell(store, (product, "-1"))
    # … a receipt that leaves it below zero keeps the deficit, one that clears it lifts it.
    sell(store, (product, "1"), reason=StockReason.RECEIVE)
    assert StockLevel.objects.get(store=store, product=product).offline_deficit is True
    sell(store, (product, "4"), reason=StockReason.RECEIVE)
    level.refresh_from_db()
    assert (level.quantity, level.offline_deficit) == (D("3.000"), False)


def test_database_refuses_a_negative_level_the_store_does_not_allow(store) -> None:
    level = set_stock(store, ProductFactory(), 2)
    with pytest.raises(IntegrityError), transaction.atomic():
        StockLevel.objects.filter(pk=level.pk).update(quantity=D("-1"))
    # Allowed only when the row says so.
    StockLevel.objects.filter(pk=level.pk).update(quantity=D("-1"), allow_negative=True)


def test_database_refuses_a_zero_movement(store) -> None:
    product = ProductFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        StockMovement.objects.create(
            store=store,
            product=product,
            quantity_delta=0,
            quantity_after=0,
            reason=StockReason.CORRECTION,
        )


def test_constant_queries_whatever_the_number_of_lines(store, django_assert_num_queries) -> None:
    products = ProductFactory.create_batch(50)
    for product in products:
        set_stock(store, product, 100)

    # Lock (one ordered SELECT … FOR UPDATE), then update the levels and insert the movements.
    with django_assert_num_queries(1 + writes()) as one_line:
        sell(store, (products[0], "-1"))
    with django_assert_num_queries(1 + writes()) as fifty_lines:
        sell(store, *[(p, "-1") for p in products])

    assert len(one_line.captured_queries) == len(fifty_lines.captured_queries)
    assert {quantity(store, p) for p in products[1:]} == {D("99.000")}


def test_lock_is_one_ordered_select_for_update(store, django_assert_num_queries) -> None:
    products = ProductFactory.create_batch(3)
    for product in products:
        set_stock(store, product, 1)
    with django_assert_num_queries(1 + writes()) as ctx:
        sell(store, *[(p, "2") for p in reversed(products)], reason=StockReason.RECEIVE)
    locks = [q["sql"] for q in ctx.captured_queries if "FOR UPDATE" in q["sql"]]
    from django.db import connection

    if connection.features.has_select_for_update:
        assert len(locks) == 1
        assert "ORDER BY" in locks[0]
    assert {quantity(store, p) for p in products} == {D("3.000")}


def test_missing_level_rows_cost_two_more_queries(store, django_assert_num_queries) -> None:
    """Lock (finds none), create the missing rows, lock them, update, insert the movements."""
    products = ProductFactory.create_batch(3)
    with django_assert_num_queries(3 + writes()):
        sell(store, *[(p, "2") for p in products], reason=StockReason.RECEIVE)
    assert {quantity(store, p) for p in products} == {D("2.000")}


def test_a_refusal_leaves_the_callers_transaction_usable(store) -> None:
    """Nothing is written before the check, so no savepoint is needed and a caller that catches
    the refusal can go on in the same transaction."""
    product = ProductFactory()
    set_stock(store, product, 1)
    with transaction.atomic():
        with pytest.raises(InsufficientStock):
            sell(store, (product, "-2"))
        [movement] = sell(store, (product, "-1"))
    assert movement.quantity_after == D("0.000")
    assert quantity(store, product) == D("0.000")


def test_outside_a_transaction_the_lock_and_the_writes_are_one_transaction(
    transactional_db, django_assert_num_queries
) -> None:
    store = StoreFactory()
    product = ProductFactory()
    set_stock(store, product, 5)
    with django_assert_num_queries(3 + writes()) as ctx:  # BEGIN, lock, writes, COMMIT
        sell(store, (product, "-1"))
    sql = [q["sql"] for q in ctx.captured_queries]
    assert sql[0].startswith("BEGIN")
    assert sql[-1] == "COMMIT"
    assert quantity(store, product) == D("4.000")


def test_sync_store_policy_mirrors_the_flag_and_keeps_a_deficit() -> None:
    store = StoreFactory(allow_negative_stock=True)
    below, above = ProductFactory(), ProductFactory()
    untouched = ProductFactory()
    sell(store, (below, "-2"), (above, "3"))

    store.allow_negative_stock = False
    store.save(update_fields=["allow_negative_stock"])
    stock_sync_store_policy(store=store)

    levels = {lvl.product_id: lvl for lvl in StockLevel.objects.filter(store=store)}
    assert levels[below.pk].allow_negative is False
    assert levels[below.pk].offline_deficit is True  # stays valid under the constraint
    assert levels[above.pk].allow_negative is False
    assert levels[above.pk].offline_deficit is False
    assert levels[untouched.pk].quantity == 0  # every tracked product gets its row

    with pytest.raises(InsufficientStock):
        sell(store, (below, "-1"))

    store.allow_negative_stock = True
    stock_sync_store_policy(store=store)
    assert set(StockLevel.objects.filter(store=store).values_list("allow_negative", flat=True)) == {
        True
    }
