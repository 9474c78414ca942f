"""Reads of the catalog and of stock, each with a fixed order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet, Subquery

from accounts.models import User
from accounts.selectors import scope_to_user_stores
from catalog.models import (
    CatalogVersion,
    Category,
    Product,
    StockLevel,
    StockMovement,
    TaxRate,
)
from catalog.services.versions import SINGLETON_ID, catalog_version_current


def product_list() -> QuerySet[Product]:
    """Every product, active or not, by id. No joins: the API shows related ids only."""
    return Product.objects.order_by("id")


def tax_rate_list() -> QuerySet[TaxRate]:
    return TaxRate.objects.order_by("id")


def category_list() -> QuerySet[Category]:
    return Category.objects.order_by("id")


@dataclass(frozen=True, slots=True)
class SyncPage:
    products: list[Any]  # `Product`s annotated with `catalog_version`
    count: int
    has_more: bool
    watermark: int


def product_sync_page(*, queryset: QuerySet[Product], since_version: int, limit: int) -> SyncPage:
    """The first `limit` products changed after `since_version`, by version, and the safe
    watermark a register stores for its next call.

    The watermark is never ahead of a change the register has not seen:
    - more pages follow → the version of the last product on this page: every version up to it
      is committed (versions are taken in commit order) and on this page or an earlier one;
    - last page → the catalog version read *in the same statement* (same snapshot) as the
      page, which covers every product write committed in that snapshot and none after it;
    - nothing changed → `since_version` itself (capped at the current version, so a register
      holding a watermark from a restored database catches up instead of waiting forever).
    """
    catalog_version = CatalogVersion.objects.filter(id=SINGLETON_ID).values("value")[:1]
    rows = list(
        queryset.filter(version__gt=since_version)
        .annotate(catalog_version=Subquery(catalog_version))
        .order_by("version", "id")[: limit + 1]
    )
    has_more = len(rows) > limit
    rows = rows[:limit]
    if has_more:
        watermark = rows[-1].version
    elif rows:
        watermark = max(rows[0].catalog_version or 0, rows[-1].version)  # type: ignore[attr-defined]
    else:
        watermark = min(since_version, catalog_version_current())
    count = len(rows) if not has_more else queryset.filter(version__gt=since_version).count()
    return SyncPage(products=rows, count=count, has_more=has_more, watermark=watermark)


def stock_level_list(*, user: User) -> QuerySet[StockLevel]:
    """Levels of tracked products in the user's stores, by store then product."""
    return scope_to_user_stores(
        StockLevel.objects.filter(product__track_stock=True).order_by("store_id", "product_id"),
        user,
    )


def stock_movement_list(*, user: User) -> QuerySet[StockMovement]:
    """Stock movements in the user's stores, newest first."""
    return scope_to_user_stores(StockMovement.objects.order_by("-id"), user)
