"""`catalog.services.versions.products_version_bump`: one block of versions, in id order, the
rows locked before the counter; a constant number of queries whatever the number of products."""

from __future__ import annotations

import pytest
from django.db import transaction

from catalog.models import Product
from catalog.services import catalog_version_current
from catalog.services.versions import products_version_bump
from tests.catalog.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_versions_are_consecutive_in_id_order_and_unknown_ids_are_skipped() -> None:
    products = ProductFactory.create_batch(4)
    untouched = ProductFactory()
    start = catalog_version_current()
    ids = [p.pk for p in reversed(products)] + [products[0].pk, 10**9]

    with transaction.atomic():
        last = products_version_bump(product_ids=ids)

    assert last == start + 4 == catalog_version_current()
    versions = list(
        Product.objects.filter(pk__in=ids).order_by("id").values_list("version", flat=True)
    )
    assert versions == [start + 1, start + 2, start + 3, start + 4]
    untouched.refresh_from_db()
    assert untouched.version == 0


def test_nothing_to_bump_takes_no_version() -> None:
    start = catalog_version_current()
    with transaction.atomic():
        assert products_version_bump(product_ids=[]) is None
    assert catalog_version_current() == start


@pytest.mark.parametrize("count", [1, 50])
def test_a_bump_is_three_queries_for_any_number_of_products(
    count, django_assert_num_queries
) -> None:
    ids = [p.pk for p in ProductFactory.create_batch(count)]
    # Lock the rows, take the block, update.
    with transaction.atomic(), django_assert_num_queries(3):
        products_version_bump(product_ids=ids)
