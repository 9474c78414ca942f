"""Reads of the catalog and of stock, each with a fixed order."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Expression, Func, IntegerField, OuterRef, QuerySet, Subquery

from accounts.models import User
from accounts.selectors import scope_to_user_stores
from catalog.models import (
    CatalogVersion,
    Category,
    ModifierGroup,
    Product,
    StockLevel,
    StockMovement,
    TaxRate,
)
from catalog.services.versions import SINGLETON_ID, catalog_version_current


def product_list() -> QuerySet[Product]:
    """Every product, active or not, by id. No joins: the API shows related ids only (the
    modifier groups' ids in one more query per page)."""
    return Product.objects.prefetch_related("modifier_groups").order_by("id")


def product_variant_list(*, template: Product) -> QuerySet[Product]:
    """The variants of `template`, by id."""
    return product_list().filter(variant_of=template)


def modifier_group_list() -> QuerySet[ModifierGroup]:
    """Every modifier group by id, with its modifiers (inactive ones too) in their order."""
    return ModifierGroup.objects.prefetch_related("modifiers").order_by("id")


def tax_rate_list() -> QuerySet[TaxRate]:
    return TaxRate.objects.order_by("id")


def category_list() -> QuerySet[Category]:
    return Category.objects.order_by("id")


class ProductRow(NamedTuple):
    """A product as the API shows it, read without building a model instance (a sync page is
    200 of them, and `Model.__init__` was a third of its Python). Same attribute names as
    `Product`, so `ProductSerializer` renders either."""

    id: int
    sku: str
    barcode: str | None
    name: str
    category_id: int | None
    price: Decimal
    cost: Decimal
    tax_rate_id: int
    track_stock: bool
    is_active: bool
    variant_of_id: int | None
    options: dict[str, str]
    scale_code: str | None
    modifier_groups: list[int]
    is_template: bool
    version: int
    updated_at: dt.datetime

    @property
    def pk(self) -> int:
        return self.id


#: What a sync page reads: the row's columns, and its modifier groups' ids as an array.
_ROW_FIELDS = tuple(
    "modifier_group_ids" if name == "modifier_groups" else name for name in ProductRow._fields
)
_GROUP_IDS = ArraySubquery(
    Product.modifier_groups.through.objects.filter(product_id=OuterRef("pk"))
    .order_by("modifiergroup_id")
    .values("modifiergroup_id")
)


@dataclass(frozen=True, slots=True)
class SyncPage:
    products: list[ProductRow]
    count: int
    has_more: bool
    watermark: int


def product_sync_page(
    *,
    queryset: QuerySet[Product],
    since_version: int,
    limit: int,
    price: Expression | None = None,
) -> SyncPage:
    """The first `limit` products changed after `since_version`, by version, and the safe
    watermark a register stores for its next call. `price`: an expression for the price to
    show (a store's effective price, `pricebook.selectors.effective_price_expression`), read in
    the same statement; the product's own `price` without it.

    The watermark is never ahead of a change the register has not seen:
    - more pages follow → the version of the last product on this page: every version up to it
      is committed (versions are taken in commit order) and on this page or an earlier one;
    - last page → the catalog version read *in the same statement* (same snapshot) as the
      page, which covers every product write committed in that snapshot and none after it;
    - nothing changed → `since_version` itself (capped at the current version, so a register
      holding a watermark from a restored database catches up instead of waiting forever).
    """
    changed = queryset.filter(version__gt=since_version)
    fields = (
        _ROW_FIELDS
        if price is None
        else tuple("shown_price" if name == "price" else name for name in _ROW_FIELDS)
    )
    catalog_version = CatalogVersion.objects.filter(id=SINGLETON_ID).values("value")[:1]
    # The count of everything changed (the list's `count`) in the page's own statement and
    # snapshot: an uncorrelated subquery, computed once.
    remaining = changed.order_by().values(n=Func(template="COUNT(*)", output_field=IntegerField()))
    fetched = list(
        changed.annotate(
            catalog_version=Subquery(catalog_version),
            remaining=Subquery(remaining),
            modifier_group_ids=_GROUP_IDS,
            **({"shown_price": price} if price is not None else {}),
        )
        .order_by("version", "id")
        .values_list(*fields, "catalog_version", "remaining")[: limit + 1]
    )
    has_more = len(fetched) > limit
    fetched = fetched[:limit]
    rows = [ProductRow._make(values[:-2]) for values in fetched]
    if has_more:
        watermark = rows[-1].version
    elif rows:
        watermark = max(fetched[0][-2] or 0, rows[-1].version)
    else:
        watermark = min(since_version, catalog_version_current())
    count = fetched[0][-1] if rows else 0
    return SyncPage(products=rows, count=count, has_more=has_more, watermark=watermark)


def stock_level_list(*, user: User) -> QuerySet[StockLevel]:
    """Levels of tracked products in the user's stores, by store then product."""
    return scope_to_user_stores(
        StockLevel.objects.filter(product__track_stock=True).order_by("store_id", "product_id"),
        user,
    )


def stock_movement_list(*, user: User) -> QuerySet[StockMovement]:
    """Stock movements in the user's stores, newest first."""
    return scope_to_user_stores(StockMovement.objects.select_related("store").order_by("-id"), user)
