"""The read side the sale, the lookup and sync use: a product's effective price in a store, and
the promotions that apply there. Each is one query.

A price list or promotion *covers* a store when it names it or names no store at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import (
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce

from accounts.models import User
from accounts.selectors import visible_store_ids
from catalog.models import Category
from dbtools.rows import field_column, table
from pricebook.models import PriceList, PriceListItem, Promotion
from pricebook.rules import PromotionRule

# --- Read by the API ----------------------------------------------------------------------------


def price_list_list(*, user: User) -> QuerySet[PriceList]:
    """The lists covering one of the user's stores (admins: all), by id, with stores and items."""
    return _visible(PriceList.objects.all(), user).prefetch_related("stores", "items")


def promotion_list(*, user: User) -> QuerySet[Promotion]:
    return _visible(Promotion.objects.all(), user).prefetch_related(
        "stores", "products", "categories"
    )


def _visible(queryset: QuerySet, user: User) -> QuerySet:
    ids = visible_store_ids(user)
    if ids is not None:
        through = queryset.model.stores.through
        own = queryset.model._meta.model_name
        queryset = queryset.filter(_covers_any(through, f"{own}_id", ids))
    return queryset.order_by("id")


def covering_store(queryset: QuerySet, store_id: int) -> QuerySet:
    """Lists or promotions that cover the store (they name it, or no store at all)."""
    through = queryset.model.stores.through
    own = queryset.model._meta.model_name
    return queryset.filter(_covers_any(through, f"{own}_id", [store_id]))


def _covers_any(through: type, owner_field: str, store_ids: Iterable[int], outer: str = "pk") -> Q:
    """Q: the row at `outer` names one of `store_ids`, or names no store."""
    named = through.objects.filter(**{owner_field: OuterRef(outer)})  # type: ignore[attr-defined]
    return ~Q(Exists(named)) | Q(Exists(named.filter(store_id__in=list(store_ids))))


# --- Effective prices ---------------------------------------------------------------------------


def _items_in_force(*, store_id: int, at: dt.datetime) -> QuerySet[PriceListItem]:
    """Items of the active price lists valid at `at` that cover the store."""
    return PriceListItem.objects.filter(
        _covers_any(PriceList.stores.through, "pricelist_id", [store_id], outer="price_list_id"),
        Q(price_list__valid_from__isnull=True) | Q(price_list__valid_from__lte=at),
        Q(price_list__valid_to__isnull=True) | Q(price_list__valid_to__gt=at),
        price_list__is_active=True,
    )


#: Of several lists that have a product: the highest priority, then the newest (highest id).
_PRECEDENCE = ("-price_list__priority", "-price_list_id")


def effective_prices(
    *, store_id: int, product_ids: Iterable[int], at: dt.datetime
) -> dict[int, Decimal]:
    """{product id: price} for the products some price list in force in the store has; a
    product missing from the result sells at its own `price`. One query."""
    rows = (
        _items_in_force(store_id=store_id, at=at)
        .filter(product_id__in=list(product_ids))
        .order_by("product_id", *_PRECEDENCE)
        .distinct("product_id")
        .values_list("product_id", "price")
    )
    return dict(rows)


def effective_price_expression(*, store_id: int, at: dt.datetime) -> Coalesce:
    """The product's price in the store, for `Product.objects.annotate(store_price=…)`: the
    price of the list `effective_prices` would pick, else the product's own (no extra query)."""
    chosen = (
        _items_in_force(store_id=store_id, at=at)
        .filter(product_id=OuterRef("pk"))
        .order_by(*_PRECEDENCE)
        .values("price")[:1]
    )
    return Coalesce(Subquery(chosen), F("price"))


# --- Promotions ---------------------------------------------------------------------------------


def _category_ids_sql() -> str:
    """The promotion's categories with every descendant (a recursive CTE), as an array."""
    through = Promotion.categories.through
    category = table(Category)
    cat_id, parent = field_column(Category, "id"), field_column(Category, "parent")
    link_promotion = field_column(through, "promotion")
    link_category = field_column(through, "category")
    promotion = f"{table(Promotion)}.{field_column(Promotion, 'id')}"
    # Only quoted names from the models are interpolated.
    return (
        "(WITH RECURSIVE tree(id) AS ("  # noqa: S608 # nosec B608
        f"SELECT l.{link_category} FROM {table(through)} AS l "
        f"WHERE l.{link_promotion} = {promotion} "
        f"UNION SELECT c.{cat_id} FROM {category} AS c JOIN tree ON c.{parent} = tree.id"
        f") SELECT COALESCE(array_agg(tree.id ORDER BY tree.id), '{{}}') FROM tree)"
    )


def _product_ids_sql() -> str:
    through = Promotion.products.through
    promotion = f"{table(Promotion)}.{field_column(Promotion, 'id')}"
    link_promotion = field_column(through, "promotion")
    link_product = field_column(through, "product")
    return (
        f"(SELECT COALESCE(array_agg(l.{link_product} ORDER BY l.{link_product}), '{{}}') "  # noqa: S608 # nosec B608
        f"FROM {table(through)} AS l WHERE l.{link_promotion} = {promotion})"
    )


def promotion_rules(*, store_id: int, at: dt.datetime) -> list[PromotionRule]:
    """The active promotions covering the store whose `[valid_from, valid_to)` holds `at`, by
    priority (highest first) then id; weekdays and times of day are left to
    `PromotionRule.applies_at`, which the engine calls with the store's local time. One query."""
    rows = (
        covering_store(Promotion.objects.all(), store_id)
        .filter(
            Q(valid_from__isnull=True) | Q(valid_from__lte=at),
            Q(valid_to__isnull=True) | Q(valid_to__gt=at),
            is_active=True,
        )
        .annotate(
            product_id_list=RawSQL(_product_ids_sql(), ()),  # noqa: S611  # nosec B611 # names only
            category_id_list=RawSQL(_category_ids_sql(), ()),  # noqa: S611  # nosec B611 # names only
        )
        .order_by("-priority", "id")
        .values_list(
            "id",
            "name",
            "kind",
            "value",
            "x",
            "y",
            "priority",
            "product_id_list",
            "category_id_list",
            "valid_from",
            "valid_to",
            "days_of_week",
            "start_time",
            "end_time",
        )
    )
    return [
        PromotionRule(
            id=pk,
            name=name,
            kind=kind,
            value=value,
            x=x,
            y=y,
            priority=priority,
            product_ids=frozenset(product_ids or ()),
            category_ids=frozenset(category_ids or ()),
            valid_from=valid_from,
            valid_to=valid_to,
            days_of_week=frozenset(days or ()),
            start_time=start_time,
            end_time=end_time,
        )
        for (
            pk,
            name,
            kind,
            value,
            x,
            y,
            priority,
            product_ids,
            category_ids,
            valid_from,
            valid_to,
            days,
            start_time,
            end_time,
        ) in rows
    ]


__all__ = [
    "covering_store",
    "effective_price_expression",
    "effective_prices",
    "price_list_list",
    "promotion_list",
    "promotion_rules",
]
