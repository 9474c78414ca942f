"""The read side: effective prices (priority, validity, store coverage; the dict and the
annotation agree) and the promotion rules (coverage, validity, category descendants), each in
one query."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import Product
from pricebook import rules
from pricebook.selectors import effective_price_expression, effective_prices, promotion_rules
from tests.catalog.factories import CategoryFactory, ProductFactory
from tests.factories import StoreFactory
from tests.pricebook.factories import PriceListFactory, PriceListItemFactory, PromotionFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def annotated(store_id: int, at: dt.datetime) -> dict[int, Decimal]:
    rows = Product.objects.annotate(
        store_price=effective_price_expression(store_id=store_id, at=at)
    ).values_list("id", "store_price")
    return dict(rows)


def test_highest_priority_list_wins_then_the_newer_list(store) -> None:
    product, other = ProductFactory(price=Decimal("5.00")), ProductFactory(price=Decimal("7.00"))
    low = PriceListFactory(priority=1)
    high = PriceListFactory(priority=5)
    PriceListItemFactory(price_list=low, product=product, price=Decimal("4.00"))
    PriceListItemFactory(price_list=high, product=product, price=Decimal("4.50"))
    tie_a, tie_b = PriceListFactory(priority=2), PriceListFactory(priority=2)
    PriceListItemFactory(price_list=tie_a, product=other, price=Decimal("6.10"))
    PriceListItemFactory(price_list=tie_b, product=other, price=Decimal("6.20"))
    untouched = ProductFactory(price=Decimal("9.00"))

    prices = effective_prices(
        store_id=store.pk, product_ids=[product.pk, other.pk, untouched.pk], at=NOW
    )

    assert prices == {product.pk: Decimal("4.50"), other.pk: Decimal("6.20")}
    assert annotated(store.pk, NOW) == {
        product.pk: Decimal("4.50"),
        other.pk: Decimal("6.20"),
        untouched.pk: Decimal("9.00"),
    }


def test_validity_window_is_half_open_and_inactive_lists_do_not_count(store) -> None:
    product = ProductFactory(price=Decimal("5.00"))
    window = PriceListFactory(priority=3, valid_from=NOW, valid_to=NOW + HOUR)
    PriceListItemFactory(price_list=window, product=product, price=Decimal("1.00"))
    off = PriceListFactory(priority=9, is_active=False)
    PriceListItemFactory(price_list=off, product=product, price=Decimal("0.50"))

    def price_at(at: dt.datetime) -> Decimal | None:
        found = effective_prices(store_id=store.pk, product_ids=[product.pk], at=at)
        assert annotated(store.pk, at)[product.pk] == found.get(product.pk, product.price)
        return found.get(product.pk)

    assert price_at(NOW - dt.timedelta(seconds=1)) is None
    assert price_at(NOW) == Decimal("1.00")
    assert price_at(NOW + HOUR - dt.timedelta(seconds=1)) == Decimal("1.00")
    assert price_at(NOW + HOUR) is None


def test_store_coverage_named_stores_or_every_store(store, other_store) -> None:
    product = ProductFactory(price=Decimal("5.00"))
    everywhere = PriceListFactory(priority=0)
    PriceListItemFactory(price_list=everywhere, product=product, price=Decimal("4.00"))
    only_other = PriceListFactory(priority=10, stores=[other_store])
    PriceListItemFactory(price_list=only_other, product=product, price=Decimal("3.00"))

    assert effective_prices(store_id=store.pk, product_ids=[product.pk], at=NOW) == {
        product.pk: Decimal("4.00")
    }
    assert effective_prices(store_id=other_store.pk, product_ids=[product.pk], at=NOW) == {
        product.pk: Decimal("3.00")
    }
    assert annotated(store.pk, NOW)[product.pk] == Decimal("4.00")
    assert annotated(other_store.pk, NOW)[product.pk] == Decimal("3.00")
    third = StoreFactory()
    only_other.stores.add(third)
    assert annotated(third.pk, NOW)[product.pk] == Decimal("3.00")


def test_effective_prices_and_the_annotation_are_one_query_each(
    store, django_assert_num_queries
) -> None:
    products = ProductFactory.create_batch(20)
    for rank in range(3):
        price_list = PriceListFactory(priority=rank, stores=[store])
        for product in products:
            PriceListItemFactory(price_list=price_list, product=product)
    with django_assert_num_queries(1):
        effective_prices(store_id=store.pk, product_ids=[p.pk for p in products], at=NOW)
    with django_assert_num_queries(1):
        annotated(store.pk, NOW)


def test_promotion_rules_by_coverage_validity_and_priority(store, other_store) -> None:
    product = ProductFactory()
    everywhere = PromotionFactory(priority=1, products=[product])
    here = PromotionFactory(priority=5, stores=[store], products=[product])
    PromotionFactory(priority=9, stores=[other_store], products=[product])
    PromotionFactory(priority=9, is_active=False, products=[product])
    PromotionFactory(priority=9, valid_from=NOW + HOUR, products=[product])
    PromotionFactory(priority=9, valid_to=NOW, products=[product])
    tie = PromotionFactory(priority=1, valid_from=NOW, valid_to=NOW + HOUR, products=[product])

    found = promotion_rules(store_id=store.pk, at=NOW)

    assert [rule.id for rule in found] == [here.pk, everywhere.pk, tie.pk]
    assert found[0].product_ids == frozenset({product.pk})
    assert found[2].valid_from == NOW


def test_promotion_rule_carries_the_schedule_and_categories_with_descendants(store) -> None:
    root = CategoryFactory()
    child = CategoryFactory(parent=root)
    grandchild = CategoryFactory(parent=child)
    CategoryFactory()  # unrelated
    sibling = CategoryFactory(parent=root)
    promotion = PromotionFactory(
        kind=rules.BUY_X_GET_Y,
        x=2,
        y=1,
        value=Decimal("100"),
        categories=[child, sibling],
        days_of_week=[6, 7],
        start_time=dt.time(22),
        end_time=dt.time(2),
    )

    (rule,) = promotion_rules(store_id=store.pk, at=NOW)

    assert rule == rules.PromotionRule(
        id=promotion.pk,
        name=promotion.name,
        kind=rules.BUY_X_GET_Y,
        value=Decimal("100.000"),
        x=2,
        y=1,
        priority=0,
        product_ids=frozenset(),
        category_ids=frozenset({child.pk, grandchild.pk, sibling.pk}),
        days_of_week=frozenset({6, 7}),
        start_time=dt.time(22),
        end_time=dt.time(2),
    )
    assert rule.eligible(product_id=1, category_id=grandchild.pk)
    assert not rule.eligible(product_id=1, category_id=root.pk)


def test_promotion_rules_is_one_query(store, django_assert_num_queries) -> None:
    categories = [CategoryFactory() for _ in range(3)]
    CategoryFactory(parent=categories[0])
    for _ in range(10):
        PromotionFactory(products=ProductFactory.create_batch(3), categories=categories)
    with django_assert_num_queries(1):
        found = promotion_rules(store_id=store.pk, at=timezone.now())
    assert len(found) == 10
    assert all(len(rule.category_ids) == 4 for rule in found)
