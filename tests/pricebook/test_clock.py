"""Price lists coming into and going out of force by the clock: no write happens then, so the
scheduled `price_lists_follow_clock` re-versions their products (delta sync sends them again)
and drops the cached lookups, within the minute."""

from __future__ import annotations

import datetime as dt
import importlib
from decimal import Decimal

import pytest
from django.apps import apps
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from catalog import cache
from catalog.models import Product
from catalog.services.versions import products_version_bump
from posproject.celery import app as celery_app
from pricebook.models import PriceBookClock
from pricebook.services import price_lists_follow_clock
from tests.catalog.factories import ProductFactory
from tests.pricebook.factories import PriceListFactory, PriceListItemFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)


def version(product: Product) -> int:
    return Product.objects.values_list("version", flat=True).get(pk=product.pk)


def test_products_of_a_list_that_starts_or_ends_are_re_versioned_once(
    django_capture_on_commit_callbacks,  # type: ignore[no-untyped-def]
) -> None:
    PriceBookClock.objects.update_or_create(pk=1, defaults={"checked_at": T0})
    starting, ending, idle, inactive = (ProductFactory() for _ in range(4))
    PriceListItemFactory(
        product=starting, price_list=PriceListFactory(valid_from=T0 + dt.timedelta(seconds=30))
    )
    PriceListItemFactory(
        product=ending, price_list=PriceListFactory(valid_to=T0 + dt.timedelta(seconds=45))
    )
    PriceListItemFactory(
        product=idle, price_list=PriceListFactory(valid_from=T0 + dt.timedelta(minutes=5))
    )
    PriceListItemFactory(
        product=inactive,
        price_list=PriceListFactory(valid_from=T0 + dt.timedelta(seconds=10), is_active=False),
    )
    before = {p.pk: version(p) for p in (starting, ending, idle, inactive)}
    cache.cached(cache.BARCODE, "probe", lambda: "old")

    with django_capture_on_commit_callbacks(execute=True):
        assert price_lists_follow_clock(now=T0 + dt.timedelta(minutes=1)) == 2

    assert version(starting) > before[starting.pk]
    assert version(ending) > before[ending.pk]
    assert version(idle) == before[idle.pk]
    assert version(inactive) == before[inactive.pk]
    assert cache.lookup(cache.BARCODE, "probe") is None  # lookups invalidated
    assert PriceBookClock.objects.get().checked_at == T0 + dt.timedelta(minutes=1)

    # The same window again bumps nothing; the next one reaches the later list.
    bumped = version(starting)
    assert price_lists_follow_clock(now=T0 + dt.timedelta(minutes=1)) == 0
    assert version(starting) == bumped
    assert price_lists_follow_clock(now=T0 + dt.timedelta(minutes=6)) == 1
    assert version(idle) > before[idle.pk]


def test_the_first_run_starts_the_clock() -> None:
    PriceBookClock.objects.all().delete()
    assert price_lists_follow_clock(now=T0) == 0
    assert PriceBookClock.objects.get().checked_at == T0


def test_it_runs_every_minute_from_beat() -> None:
    migration = importlib.import_module("pricebook.migrations.0002_clock")
    migration.seed(apps, None)
    migration.seed(apps, None)
    (entry,) = PeriodicTask.objects.filter(task="pricebook.tasks.price_lists_follow_clock")
    assert entry.enabled
    assert (entry.crontab.minute, entry.crontab.hour) == ("*", "*")
    celery_app.loader.import_default_modules()
    result = celery_app.tasks[entry.task].delay()
    assert result.successful(), result.traceback
    assert result.get() == 0


def test_a_store_price_in_delta_sync_follows_a_list_coming_into_force(
    manager_client,  # type: ignore[no-untyped-def]
    store,
) -> None:
    product = ProductFactory(price=Decimal("5.00"))
    products_version_bump(product_ids=[product.pk])  # as the product services would
    now = timezone.now()
    PriceBookClock.objects.update_or_create(pk=1, defaults={"checked_at": now})
    soon = now + dt.timedelta(seconds=30)
    PriceListItemFactory(
        product=product, price=Decimal("4.00"), price_list=PriceListFactory(valid_from=soon)
    )
    response = manager_client.get(f"/api/v1/products/?since_version=0&store={store.pk}")
    assert [(r["id"], r["price"]) for r in response.json()["results"]] == [(product.pk, "5.00")]
    watermark = int(response["X-Catalog-Version"])

    price_lists_follow_clock(now=now + dt.timedelta(minutes=1))

    # Delta sync re-sends it; at the time of that call the list is in force.
    response = manager_client.get(f"/api/v1/products/?since_version={watermark}&store={store.pk}")
    assert [r["id"] for r in response.json()["results"]] == [product.pk]
