"""Reads about sales: the register a sale is rung up on, products to price, and the store-scoped
order list with its filters. Every read is limited to the user's stores (others → not found)."""

from __future__ import annotations

import datetime as dt
import functools
import json
import zoneinfo
from collections.abc import Iterable
from decimal import Decimal
from typing import Any, TypeVar

from django.db import connection
from django.db.models import Prefetch, Q, QuerySet

from accounts.models import Register, Store, User
from accounts.selectors import scope_to_user_stores
from catalog.models import Modifier, ModifierGroup, Product, TaxRate
from catalog.modifiers import GroupData, ModifierData
from dbtools.pgarray import pg_array
from dbtools.rows import (
    cache_related,
    field_column,
    instance_from_row,
    qn,
    select_columns,
    table,
)
from orders.models import Order, OrderLine, Payment, Refund, Shift, ShiftStatus
from pricebook.models import PriceList, PriceListItem

__all__ = [
    "order_detail_queryset",
    "order_list",
    "orders_created_between",
    "products_for_sale",
    "register_for_sale",
    "sale_shift_locked",
]


def register_for_sale(*, user: User, register_id: int) -> Register | None:
    """The register with its store, if it belongs to one of the user's stores."""
    queryset = Register.objects.select_related("store").filter(pk=register_id)
    return scope_to_user_stores(queryset, user).first()


def sale_shift_locked(*, user: User, register_id: int) -> Shift | None:
    """The open shift of a register of the user's stores, with register and store, locked
    (`FOR NO KEY UPDATE` of the shift row only) until the sale commits.

    The lock serialises the sale with the shift's close (which locks the same row): a sale either
    commits before the close sums the drawer, or — when the close committed first — PostgreSQL
    re-checks `status = 'open'` on the new row version and the sale finds no open shift.
    `None` when there is no such shift; the caller tells 404 from 409 on that (rare) path.

    One statement, written out (`_shift_lock_sql`): building it through the ORM on every sale
    cost more Python than anything else in the sale but the serializers.
    """
    sql, shift_names, register_names, store_names = _shift_lock_sql(not user.is_admin)
    params: list[Any] = [register_id, ShiftStatus.OPEN.value]
    if not user.is_admin:
        params.append(user.pk)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    n_shift, n_register = len(shift_names), len(register_names)
    shift = instance_from_row(Shift, shift_names, row[:n_shift])
    register = instance_from_row(Register, register_names, row[n_shift : n_shift + n_register])
    store = instance_from_row(Store, store_names, row[n_shift + n_register :])
    cache_related(register, store=store)
    cache_related(shift, register=register)
    return shift


@functools.cache
def _shift_lock_sql(scoped: bool) -> tuple[str, list[str], list[str], list[str]]:
    """What `Shift.objects.select_related("register__store").select_for_update(no_key=True,
    of=("self",)).filter(register_id=…, status="open")` builds, plus — for a user who is not an
    admin (`scoped`) — the rule of `accounts.selectors.visible_store_ids` as a subquery: only
    the stores the user is a member of (it saves the sale the separate query for them)."""
    shift_names, shift_cols = select_columns(Shift, "s")
    register_names, register_cols = select_columns(Register, "r")
    store_names, store_cols = select_columns(Store, "st")
    memberships = User.stores.through
    shift_register = field_column(Shift, "register")
    shift_store = field_column(Shift, "store")
    register_store = field_column(Register, "store")
    scope = (
        f" AND s.{shift_store} IN (SELECT {field_column(memberships, 'store')} "  # noqa: S608  # nosec B608
        f"FROM {table(memberships)} WHERE {field_column(memberships, 'user')} = %s)"
        if scoped
        else ""
    )
    sql = (
        f"SELECT {shift_cols}, {register_cols}, {store_cols} "  # noqa: S608  # nosec B608
        f"FROM {table(Shift)} s "
        f"JOIN {table(Register)} r ON r.{qn('id')} = s.{shift_register} "
        f"JOIN {table(Store)} st ON st.{qn('id')} = r.{register_store} "
        f"WHERE s.{shift_register} = %s AND s.{field_column(Shift, 'status')} = %s"
        f"{scope} ORDER BY s.{qn('id')} LIMIT 1 FOR NO KEY UPDATE OF s"
    )
    return sql, shift_names, register_names, store_names


def products_for_sale(
    *,
    product_ids: Iterable[int],
    store_id: int | None = None,
    at: dt.datetime | None = None,
    scale_codes: Iterable[str] = (),
) -> dict[int, Product]:
    """The products of a sale, with their tax rate, in one query: those of `product_ids` and
    those whose `scale_code` is in `scale_codes` (scale labels).

    With `store_id` and `at`, each product also carries, from the same statement:
    `list_price`, its price in that store from the highest-priority price list valid at `at`
    (`None` when no list has it: the product's own `price` applies), and `modifier_groups_data`,
    its active modifier groups with their modifiers (`[{id, name, min_choices, max_choices,
    modifiers: [{id, name, price_delta, is_active}]}]`, by id, modifiers by position)."""
    ids = sorted(set(product_ids))
    priced = store_id is not None and at is not None
    # The same statement as `select_related("tax_rate").in_bulk(ids)`, written out once.
    sql, product_names, rate_names = _products_sql(priced)
    params: dict[str, Any] = {"ids": pg_array(ids), "codes": pg_array(sorted(set(scale_codes)))}
    if priced:
        params.update(store=store_id, at=at)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    products: dict[int, Product] = {}
    n_product, n_rate = len(product_names), len(rate_names)
    for row in rows:
        product = instance_from_row(Product, product_names, row[:n_product])
        cache_related(
            product,
            tax_rate=instance_from_row(TaxRate, rate_names, row[n_product : n_product + n_rate]),
        )
        if priced:
            list_price, groups = row[n_product + n_rate :]
            product.list_price = list_price  # type: ignore[attr-defined]
            product.modifier_groups_data = _groups(groups)  # type: ignore[attr-defined]
        products[product.pk] = product
    return products


def _groups(text: str | list[dict[str, Any]]) -> list[GroupData]:
    """The JSON of `_MODIFIER_GROUPS_SQL` as `catalog.modifiers` data (active modifiers only).
    Django's PostgreSQL backend reads `jsonb` as text (its `JSONField` decodes it)."""
    rows = json.loads(text) if isinstance(text, str) else text
    return [
        GroupData(
            id=group["id"],
            name=group["name"],
            min_choices=group["min_choices"],
            max_choices=group["max_choices"],
            modifiers=tuple(
                ModifierData(
                    id=modifier["id"],
                    group_id=group["id"],
                    name=modifier["name"],
                    price_delta=Decimal(modifier["price_delta"]),
                )
                for modifier in group["modifiers"]
                if modifier["is_active"]
            ),
        )
        for group in rows
    ]


@functools.cache
def _products_sql(priced: bool) -> tuple[str, list[str], list[str]]:
    product_names, product_cols = select_columns(Product, "p")
    rate_names, rate_cols = select_columns(TaxRate, "t")
    product_rate = field_column(Product, "tax_rate")
    extra = f", ({_LIST_PRICE_SQL()}), ({_MODIFIER_GROUPS_SQL()})" if priced else ""
    sql = (
        f"SELECT {product_cols}, {rate_cols}{extra} FROM {table(Product)} p "  # noqa: S608  # nosec B608
        f"JOIN {table(TaxRate)} t ON t.{qn('id')} = p.{product_rate} "
        f"WHERE p.{qn('id')} = ANY(%(ids)s::bigint[]) "
        f"OR p.{field_column(Product, 'scale_code')} = ANY(%(codes)s::text[])"
    )
    return sql, product_names, rate_names


def _LIST_PRICE_SQL() -> str:
    """The product `p`'s price in store `%(store)s` at `%(at)s`: that of the highest-priority
    active price list valid then that covers the store (one naming no store covers every store)
    and has the product; ties: the newer list (`pricebook.selectors.effective_prices`)."""
    item, price_list = PriceListItem, PriceList
    stores = PriceList.stores.through
    pl_id = qn("id")
    covers = field_column(stores, "pricelist")
    return (
        f"SELECT i.{field_column(item, 'price')} FROM {table(item)} i "  # noqa: S608  # nosec B608
        f"JOIN {table(price_list)} l ON l.{pl_id} = i.{field_column(item, 'price_list')} "
        f"WHERE i.{field_column(item, 'product')} = p.{qn('id')} "
        f"AND l.{field_column(price_list, 'is_active')} "
        f"AND (l.{field_column(price_list, 'valid_from')} IS NULL "
        f"     OR l.{field_column(price_list, 'valid_from')} <= %(at)s) "
        f"AND (l.{field_column(price_list, 'valid_to')} IS NULL "
        f"     OR l.{field_column(price_list, 'valid_to')} > %(at)s) "
        f"AND (NOT EXISTS (SELECT 1 FROM {table(stores)} s WHERE s.{covers} = l.{pl_id}) "
        f"     OR EXISTS (SELECT 1 FROM {table(stores)} s WHERE s.{covers} = l.{pl_id} "
        f"                AND s.{field_column(stores, 'store')} = %(store)s)) "
        f"ORDER BY l.{field_column(price_list, 'priority')} DESC, l.{pl_id} DESC LIMIT 1"
    )


def _MODIFIER_GROUPS_SQL() -> str:
    """The product `p`'s active modifier groups as JSON (money as text, never a float)."""
    group, modifier = ModifierGroup, Modifier
    attached = Product.modifier_groups.through
    return (
        "SELECT coalesce(jsonb_agg(jsonb_build_object("  # noqa: S608  # nosec B608
        f"'id', g.{qn('id')}, 'name', g.{field_column(group, 'name')}, "
        f"'min_choices', g.{field_column(group, 'min_choices')}, "
        f"'max_choices', g.{field_column(group, 'max_choices')}, "
        "'modifiers', (SELECT coalesce(jsonb_agg(jsonb_build_object("
        f"'id', m.{qn('id')}, 'name', m.{field_column(modifier, 'name')}, "
        f"'price_delta', m.{field_column(modifier, 'price_delta')}::text, "
        f"'is_active', m.{field_column(modifier, 'is_active')}) "
        f"ORDER BY m.{field_column(modifier, 'position')}, m.{qn('id')}), '[]'::jsonb) "
        f"FROM {table(modifier)} m WHERE m.{field_column(modifier, 'group')} = g.{qn('id')})"
        f") ORDER BY g.{qn('id')}), '[]'::jsonb) "
        f"FROM {table(group)} g JOIN {table(attached)} a "
        f"ON a.{field_column(attached, 'modifiergroup')} = g.{qn('id')} "
        f"WHERE a.{field_column(attached, 'product')} = p.{qn('id')} "
        f"AND g.{field_column(group, 'is_active')}"
    )


def order_list(*, user: User) -> QuerySet[Order]:
    """The orders of the user's stores with lines and payments, newest first (ties by id)."""
    return scope_to_user_stores(order_detail_queryset(), user).order_by("-created_at", "-id")


def order_detail_queryset() -> QuerySet[Order]:
    return Order.objects.prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.order_by("position")),
        Prefetch("payments", queryset=Payment.objects.order_by("id")),
    )


def _local_midnight(day: dt.date, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=tz)


#: A store's record with `store` and `created_at`: an order or a refund.
StoreRecord = TypeVar("StoreRecord", Order, Refund)


def orders_created_between(
    queryset: QuerySet[StoreRecord],
    *,
    user: User,
    date_from: dt.date | None,
    date_to: dt.date | None,
    store_id: int | None = None,
) -> QuerySet[StoreRecord]:
    """Filter by local calendar dates (inclusive), each order (or refund) judged in its own
    store's time zone: one condition per distinct time zone among the stores in play (one small
    query)."""
    if date_from is None and date_to is None:
        return queryset
    stores = scope_to_user_stores(Store.objects.all(), user, field="id")
    if store_id is not None:
        stores = stores.filter(pk=store_id)
    condition = Q(pk__in=[])
    for tz_name in sorted(set(stores.values_list("timezone", flat=True))):
        tz = zoneinfo.ZoneInfo(tz_name)
        part = Q(store__timezone=tz_name)
        if date_from is not None:
            part &= Q(created_at__gte=_local_midnight(date_from, tz))
        if date_to is not None and date_to < dt.date.max:  # the last date bounds nothing
            part &= Q(created_at__lt=_local_midnight(date_to + dt.timedelta(days=1), tz))
        condition |= part
    return queryset.filter(condition)


def last_shift_of(*, register: Register) -> Shift | None:
    """The register's latest shift (by opening), with register and store: where a late offline
    sale goes when the register has no open shift. No lock: a closed shift never changes."""
    return (
        Shift.objects.select_related("register__store")
        .filter(register=register)
        .order_by("-opened_at", "-id")
        .first()
    )
