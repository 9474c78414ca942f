"""Reads behind registers' sync: the change feed and the snapshot, each ONE SQL statement.

Every type a register needs carries a `version` from the one catalog counter
(`catalog.services.versions.catalog_version_take`), and deletions leave a `SyncTombstone` with
a version. A `UNION ALL` over the types' tables gives every change after a version; each branch
builds the object's JSON (`jsonb_build_object`) in the shape its REST endpoint shows — money and
times formatted in SQL exactly as the API renders them (`tests/sync` compares them with the
detail endpoints) — so a page of 500 changes is one statement, with no model instance and no
serializer. The catalog counter is read in the same statement (same snapshot) for the watermark.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import Model, OuterRef

from accounts.models import Register, Store
from catalog.models import (
    CatalogVersion,
    Category,
    Modifier,
    ModifierGroup,
    Product,
    SyncTombstone,
    TaxRate,
)
from catalog.services.versions import SINGLETON_ID
from money.currencies import minor_units
from pricebook.models import PriceList, PriceListItem, Promotion
from pricebook.selectors import effective_price_expression

#: The synced types, in the order the snapshot lists them.
TYPES = (
    "store",
    "register",
    "tax_rate",
    "category",
    "modifier_group",
    "price_list",
    "promotion",
    "product",
)


def _t(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _m2m(model: type[Model], name: str) -> str:
    field: Any = model._meta.get_field(name)
    return connection.ops.quote_name(field.remote_field.through._meta.db_table)


def _price(expr: str) -> str:
    """A catalog price as the API writes it: two decimals, three when the third is significant
    (`money.fields.catalog_price_text`; PostgreSQL's `round` is half away from zero, as
    `ROUND_HALF_UP`)."""
    return (
        f"(CASE WHEN round({expr}, 3) = round({expr}, 2) THEN round({expr}, 2)::text "
        f"ELSE round({expr}, 3)::text END)"
    )


def _datetime(expr: str) -> str:
    """An aware datetime as DRF's ISO 8601 output in UTC (`…T12:00:00Z`, microseconds only when
    not zero)."""
    utc = f"({expr} AT TIME ZONE 'UTC')"
    return (
        f"(to_char({utc}, 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
        f"(CASE WHEN mod(date_part('microseconds', {utc})::bigint, 1000000) = 0 THEN '' "
        f"ELSE to_char({utc}, '.US') END) || 'Z')"
    )


def _time(expr: str) -> str:
    """A time of day as DRF writes it (`time.isoformat()`)."""
    return (
        f"(to_char({expr}::interval, 'HH24:MI:SS') || "
        f"(CASE WHEN mod(date_part('microseconds', {expr})::bigint, 1000000) = 0 THEN '' "
        f"ELSE to_char({expr}::interval, '.US') END))"
    )


def _ids(link_table: str, owner_col: str, owner: str, target_col: str) -> str:
    return (
        f"(SELECT COALESCE(jsonb_agg(lk.{target_col} ORDER BY lk.{target_col}), '[]'::jsonb) "  # nosec B608
        f"FROM {link_table} AS lk WHERE lk.{owner_col} = {owner})"
    )


def _covers(link_table: str, owner_col: str, owner: str) -> str:
    """SQL: the price list or promotion `owner` covers the store `%(store)s` (names it or no
    store at all)."""
    return (
        f"(NOT EXISTS (SELECT 1 FROM {link_table} AS s WHERE s.{owner_col} = {owner}) OR "  # nosec B608
        f"EXISTS (SELECT 1 FROM {link_table} AS s WHERE s.{owner_col} = {owner} "
        "AND s.store_id = %(store)s))"
    )


def _product_source(*, store_id: int, at: dt.datetime) -> tuple[str, list[Any]]:
    """The products with the store's effective price (`shown_price`) and their modifier
    groups' ids, as a compiled subquery (the price expression is pricebook's)."""
    groups = Product.modifier_groups.through.objects.filter(product_id=OuterRef("pk"))
    queryset = (
        Product.objects.order_by()
        .annotate(
            shown_price=effective_price_expression(store_id=store_id, at=at),
            group_ids=ArraySubquery(groups.order_by("modifiergroup_id").values("modifiergroup_id")),
        )
        .values(
            "id",
            "sku",
            "barcode",
            "name",
            "category_id",
            "cost",
            "tax_rate_id",
            "track_stock",
            "is_active",
            "variant_of_id",
            "options",
            "scale_code",
            "is_template",
            "version",
            "updated_at",
            "shown_price",
            "group_ids",
        )
    )
    sql, params = queryset.query.sql_with_params()
    return sql, list(params)


def _branches(*, store_id: int, at: dt.datetime, show_cost: bool) -> tuple[list[str], list[Any]]:
    """(type, id, version, deleted, data) per type, each `WHERE version > %(since)s`.

    Objects of a store-scoped type that do not concern the store — a price list or promotion
    that does not cover it — are rows with `deleted` true (a register drops what stopped
    covering it); registers and the store itself are read for this store only (a register never
    moves to another store)."""
    product_sql, product_params = _product_source(store_id=store_id, at=at)
    product_data = (
        "jsonb_build_object("
        "'id', p.id, 'sku', p.sku, 'barcode', p.barcode, 'name', p.name, "
        "'category', p.category_id, 'price', " + _price("p.shown_price") + ", "
        "'cost', " + _price("p.cost") + ", 'tax_rate', p.tax_rate_id, "
        "'track_stock', p.track_stock, 'is_active', p.is_active, "
        "'variant_of', p.variant_of_id, 'options', p.options, 'scale_code', p.scale_code, "
        "'modifier_groups', to_jsonb(p.group_ids), 'is_template', p.is_template, "
        "'version', p.version, 'updated_at', " + _datetime("p.updated_at") + ")"
    )
    if not show_cost:
        product_data = f"({product_data} - 'cost')"
    modifiers = (
        "(SELECT COALESCE(jsonb_agg(jsonb_build_object('id', m.id, 'name', m.name, "
        "'price_delta', " + _price("m.price_delta") + ", 'is_active', m.is_active) "
        f"ORDER BY m.position, m.id), '[]'::jsonb) FROM {_t(Modifier)} AS m "
        "WHERE m.group_id = g.id)"
    )
    items = (
        "(SELECT COALESCE(jsonb_agg(jsonb_build_object('product', i.product_id, 'price', "
        + _price("i.price")
        + f") ORDER BY i.product_id), '[]'::jsonb) FROM {_t(PriceListItem)} AS i "
        "WHERE i.price_list_id = l.id)"
    )
    list_stores = _m2m(PriceList, "stores")
    promo_stores = _m2m(Promotion, "stores")
    branches = [
        # The store's own settings (money in its currency's minor units).
        "SELECT 'store' AS type, st.id, st.version, false AS deleted, jsonb_build_object("  # nosec B608
        "'id', st.id, 'code', st.code, 'name', st.name, 'currency', st.currency, "
        "'timezone', st.timezone, 'prices_include_tax', st.prices_include_tax, "
        "'allow_negative_stock', st.allow_negative_stock, "
        "'cash_rounding', round(st.cash_rounding, %(places)s)::text, "
        "'cashier_max_discount_percent', st.cashier_max_discount_percent::text, "
        "'cashier_can_refund', st.cashier_can_refund, "
        "'loyalty_points_per_unit', st.loyalty_points_per_unit::text, "
        "'loyalty_point_value', round(st.loyalty_point_value, %(places)s)::text, "
        "'scale_barcode_layout', st.scale_barcode_layout) AS data "
        f"FROM {_t(Store)} AS st WHERE st.id = %(store)s AND st.version > %(since)s",
        "SELECT 'register', r.id, r.version, false, jsonb_build_object('id', r.id, "  # nosec B608
        "'store', r.store_id, 'code', r.code, 'name', r.name, 'is_active', r.is_active) "
        f"FROM {_t(Register)} AS r WHERE r.store_id = %(store)s AND r.version > %(since)s",
        "SELECT 'tax_rate', x.id, x.version, false, jsonb_build_object('id', x.id, "  # nosec B608
        f"'name', x.name, 'rate', x.rate::text) FROM {_t(TaxRate)} AS x "
        "WHERE x.version > %(since)s",
        "SELECT 'category', c.id, c.version, false, jsonb_build_object('id', c.id, "  # nosec B608
        f"'name', c.name, 'parent', c.parent_id) FROM {_t(Category)} AS c "
        "WHERE c.version > %(since)s",
        "SELECT 'modifier_group', g.id, g.version, false, jsonb_build_object('id', g.id, "  # nosec B608
        "'name', g.name, 'min_choices', g.min_choices, 'max_choices', g.max_choices, "
        f"'is_active', g.is_active, 'version', g.version, 'modifiers', {modifiers}) "
        f"FROM {_t(ModifierGroup)} AS g WHERE g.version > %(since)s",
        "SELECT 'price_list', l.id, l.version, "  # nosec B608
        f"NOT {_covers(list_stores, 'pricelist_id', 'l.id')}, jsonb_build_object("
        f"'id', l.id, 'name', l.name, "
        f"'stores', {_ids(list_stores, 'pricelist_id', 'l.id', 'store_id')}, "
        f"'priority', l.priority, 'valid_from', {_datetime('l.valid_from')}, "
        f"'valid_to', {_datetime('l.valid_to')}, 'is_active', l.is_active, "
        f"'version', l.version, 'items', {items}) "
        f"FROM {_t(PriceList)} AS l WHERE l.version > %(since)s",
        "SELECT 'promotion', o.id, o.version, "  # nosec B608
        f"NOT {_covers(promo_stores, 'promotion_id', 'o.id')}, jsonb_build_object("
        f"'id', o.id, 'name', o.name, "
        f"'stores', {_ids(promo_stores, 'promotion_id', 'o.id', 'store_id')}, "
        "'kind', o.kind, "
        f"'products', {_ids(_m2m(Promotion, 'products'), 'promotion_id', 'o.id', 'product_id')}, "
        "'categories', "
        f"{_ids(_m2m(Promotion, 'categories'), 'promotion_id', 'o.id', 'category_id')}, "
        f"'x', o.x, 'y', o.y, 'value', {_price('o.value')}, "
        f"'valid_from', {_datetime('o.valid_from')}, 'valid_to', {_datetime('o.valid_to')}, "
        "'days_of_week', to_jsonb(o.days_of_week), "
        f"'start_time', {_time('o.start_time')}, 'end_time', {_time('o.end_time')}, "
        "'priority', o.priority, 'is_active', o.is_active, 'version', o.version) "
        f"FROM {_t(Promotion)} AS o WHERE o.version > %(since)s",
        f"SELECT 'product', p.id, p.version, false, {product_data} "  # nosec B608
        f"FROM ({product_sql}) AS p WHERE p.version > %(since)s",
        # Deletions: catalog-wide ones and this store's registers.
        "SELECT d.kind, d.object_id, d.version, true, NULL::jsonb "  # nosec B608
        f"FROM {_t(SyncTombstone)} AS d WHERE d.version > %(since)s "
        "AND (d.store_id IS NULL OR d.store_id = %(store)s)",
    ]
    return branches, product_params


def _compile(sql: str, named: dict[str, Any], positional: list[Any]) -> tuple[str, list[Any]]:
    """Turn `%(name)s` placeholders into positional ones (the product subquery brings its own
    `%s` parameters), keeping the order."""
    out: list[Any] = []
    parts: list[str] = []
    i = 0
    pos = iter(positional)
    while i < len(sql):
        if sql.startswith("%(", i):
            end = sql.index(")s", i)
            out.append(named[sql[i + 2 : end]])
            parts.append("%s")
            i = end + 2
        elif sql.startswith("%s", i):
            out.append(next(pos))
            parts.append("%s")
            i += 2
        elif sql.startswith("%%", i):
            parts.append("%%")
            i += 2
        else:
            parts.append(sql[i])
            i += 1
    return "".join(parts), out


@dataclass(frozen=True, slots=True)
class Change:
    type: str
    id: int
    version: int
    deleted: bool
    data: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class ChangePage:
    changes: list[Change]
    has_more: bool
    watermark: int


def _counter() -> str:
    return f"(SELECT value FROM {_t(CatalogVersion)} WHERE id = {int(SINGLETON_ID)})"  # nosec B608


def change_page(
    *,
    store_id: int,
    since: int,
    limit: int,
    show_cost: bool,
    places: int,
    at: dt.datetime,
    current_version: int | None = None,
) -> ChangePage:
    """The first `limit` changes after version `since` for the store, by version (then type
    and id), and the watermark to send as `since` next time — the rules of
    `catalog.selectors.product_sync_page`: more pages → the last change's version; last page →
    the catalog version read in the same statement; nothing changed → `since` (capped at the
    current version; `current_version`, when the caller read it already, saves that query).
    `places`: the store currency's minor units. One statement."""
    branches, product_params = _branches(store_id=store_id, at=at, show_cost=show_cost)
    # Each branch stops at `limit + 1` rows by version (the `version` indexes): the JSON of an
    # object is built only for the rows that can be on the page.
    union = " UNION ALL ".join(f"({b} ORDER BY 3, 2 LIMIT %(limit)s)" for b in branches)
    sql = (
        f"SELECT c.type, c.id, c.version, c.deleted, c.data, {_counter()} "  # nosec B608
        f"FROM ({union}) AS c ORDER BY c.version, c.type, c.id LIMIT %(limit)s"
    )
    named = {"store": store_id, "since": since, "places": places, "limit": limit + 1}
    compiled, params = _compile(sql, named, product_params)
    with connection.cursor() as cursor:
        cursor.execute(compiled, params)
        rows = cursor.fetchall()
    has_more = len(rows) > limit
    rows = rows[:limit]
    changes = [
        Change(
            type=kind,
            id=int(object_id),
            version=int(version),
            deleted=bool(deleted),
            data=None if deleted else json.loads(data),  # Django reads jsonb as text
        )
        for kind, object_id, version, deleted, data, _ in rows
    ]
    if has_more:
        watermark = changes[-1].version
    elif changes:
        watermark = max(int(rows[0][5] or 0), changes[-1].version)
    else:
        current = catalog_version() if current_version is None else current_version
        watermark = min(since, current)
    return ChangePage(changes=changes, has_more=has_more, watermark=watermark)


def snapshot_lines(
    *, store_id: int, show_cost: bool, places: int, at: dt.datetime
) -> tuple[int, list[str]]:
    """(V, one JSON text per live object of the store: `{"type", "id", "version", "data"}`),
    read in ONE statement, so the objects are exactly those committed at catalog version V
    (versions are taken in commit order). The JSON text is PostgreSQL's (`jsonb::text`)."""
    branches, product_params = _branches(store_id=store_id, at=at, show_cost=show_cost)
    union = " UNION ALL ".join(f"({b})" for b in branches[:-1])  # no tombstones
    order = ", ".join(f"'{kind}'" for kind in TYPES)
    sql = (
        "SELECT jsonb_build_object('type', c.type, 'id', c.id, 'version', c.version, "  # nosec B608
        f"'data', c.data)::text, {_counter()} "
        f"FROM ({union}) AS c WHERE NOT c.deleted "
        f"ORDER BY array_position(ARRAY[{order}], c.type), c.id"
    )
    named = {"store": store_id, "since": -1, "places": places}
    compiled, params = _compile(sql, named, product_params)
    with connection.cursor() as cursor:
        cursor.execute(compiled, params)
        rows = cursor.fetchall()
    if rows:
        version = int(rows[0][1] or 0)
    else:
        with connection.cursor() as cursor:
            cursor.execute(_counter())
            row = cursor.fetchone()
        version = int(row[0] or 0) if row else 0
    return version, [row[0] for row in rows]


def catalog_version() -> int:
    """The catalog counter's value: the version a snapshot built now would carry at least."""
    with connection.cursor() as cursor:
        cursor.execute(_counter())
        row = cursor.fetchone()
    return int(row[0] or 0) if row else 0


def store_places(currency: str) -> int:
    """The minor units of the store's currency (how its own money fields render)."""
    return minor_units(currency)


def store_currency_and_version(
    store_id: int, *, without_jit: bool = False
) -> tuple[str, int] | None:
    """The store's currency and the catalog version, in one query (None: no such store).

    `without_jit`: also turn PostgreSQL's JIT off for the rest of the transaction (call it
    inside one). The feed's `UNION ALL` has a high cost estimate (a price subquery per product),
    so PostgreSQL JIT-compiles it — about 130 ms for a 20 ms page, 1.5 s of a 2.6 s snapshot
    build on the development box; off, nothing is compiled."""
    jit = ", set_config('jit', 'off', true)" if without_jit else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT currency, {_counter()}{jit} FROM {_t(Store)} WHERE id = %s",  # nosec B608
            [store_id],
        )
        row = cursor.fetchone()
    return None if row is None else (str(row[0]), int(row[1] or 0))


def jit_off() -> None:
    """PostgreSQL's JIT off for the rest of the transaction (see `store_currency_and_version`)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('jit', 'off', true)")
