"""Every change of stock. One function, `stock_apply`, writes the levels and the movement rows
for sales, refunds and adjustments alike; `orders` calls it inside its sale/refund transaction.

Concurrency: the affected `StockLevel` rows are locked with one `SELECT … ORDER BY product_id
FOR UPDATE` (a fixed order, so two sales over the same products cannot deadlock), checked, and
only then updated, with `quantity = quantity + delta` in one statement. The `CheckConstraint` on
`StockLevel` is the database's backstop should any path ever forget the check.

Valuation: every movement carries `value`, the money it moved into or out of inventory, and the
level's `value` (book value) moves by the same amounts in the same statement as its quantity.
The callers post exactly those values to the ledger's inventory account (1200), so the ledger and
Σ `StockLevel.value` agree by construction (perpetual inventory at standard cost).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from django.db import connection, transaction
from django.db.models import Case, Field, Q, Value, When
from django.utils import timezone

from accounts.models import Store, User
from catalog.exceptions import InsufficientStock
from catalog.models import Product, StockLevel, StockMovement, StockReason
from dbtools.pgarray import pg_array
from dbtools.rows import (
    cache_related,
    column,
    field_column,
    instance_from_row,
    qn,
    select_columns,
    table,
)
from dbtools.unnest import UnnestInsert, array_type
from money import ZERO
from money.currencies import round_money

ZERO_QUANTITY = Decimal("0.000")


@dataclass(frozen=True, slots=True)
class StockChange:
    """One product's change of stock. `quantity_delta` < 0 takes stock out (a sale).
    `unit_cost` is the cost the movement is valued at (defaults to the product's current cost;
    sales and refunds pass the order line's snapshotted cost). `value` is the signed money the
    movement moves in or out of inventory, the amount the caller posts to 1200: by default
    `round(quantity_delta × unit_cost)` half-up to the store currency's minor unit; a sale passes
    −Σ its lines' costs, a refund the pieces' pro rata costs, so that the stock's book value
    follows the order's cost of goods to the cent."""

    product: Product
    quantity_delta: Decimal
    unit_cost: Decimal | None = None
    value: Decimal | None = None

    @property
    def cost(self) -> Decimal:
        return self.unit_cost if self.unit_cost is not None else self.product.cost

    def money_value(self, currency: str) -> Decimal:
        if self.value is not None:
            return self.value
        return round_money(self.quantity_delta * self.cost, currency)


def stock_apply(
    *,
    store: Store,
    changes: Sequence[StockChange],
    reason: StockReason,
    source_type: str,
    source_id: int | None,
    user: User | None,
    note: str = "",
    offline: bool = False,
    now: dt.datetime | None = None,
) -> list[StockMovement]:
    """Apply stock changes for one store in the caller's transaction (in a transaction of its
    own when called outside one). `now` stamps the movements (`timezone.now()` by default; a
    sale or refund passes its own time, so the movements fall on the day its ledger entry does).

    Untracked products (`track_stock=False`) are skipped. Rows are locked in product-id order and
    updated conditionally (never read-modify-write), at a constant number of queries whatever the
    number of changes. A decrement that would take a level below zero in a store that does not
    allow negative stock raises `catalog.exceptions.InsufficientStock` with every offending
    product id, and nothing is written: the check runs on the locked rows before any write, so
    no savepoint is needed and the caller's transaction stays usable. With `offline=True` the
    decrement is never refused; a movement that takes a level below zero is `flagged`.

    Returns one movement per tracked, non-zero change, in the order of `changes`. Several
    changes of the same product are checked on their sum and written as one level update.
    Queries: none when nothing is tracked, else two (lock; update and insert the movements in
    one statement), whatever the number of changes. A product
    without a level row in the store (rare: products get one in every store when created)
    costs two more (create the missing rows, lock them).
    """
    tracked = [c for c in changes if c.product.track_stock and c.quantity_delta != 0]
    if not tracked:
        return []

    net_delta: dict[int, Decimal] = {}
    for change in tracked:
        net_delta[change.product.pk] = net_delta.get(change.product.pk, ZERO_QUANTITY) + (
            change.quantity_delta
        )
    product_ids = sorted(net_delta)
    allow_negative = store.allow_negative_stock
    refuse_short = not offline and not allow_negative

    def shortages(levels: dict[int, StockLevel]) -> list[int]:
        if not refuse_short:
            return []
        return [
            pid
            for pid in product_ids
            if net_delta[pid] < 0
            and (levels[pid].quantity if pid in levels else ZERO_QUANTITY) + net_delta[pid] < 0
        ]

    # `savepoint=False`: nothing is written before the check, so a refusal needs no savepoint
    # (two queries saved on every sale); `InsufficientStock` is raised once the block is left,
    # so a caller that catches it can go on with its transaction.
    movements: list[StockMovement] = []
    with transaction.atomic(savepoint=False):
        levels = _locked_levels(store=store, product_ids=product_ids)
        short = shortages(levels)
        missing = [pid for pid in product_ids if pid not in levels]
        if not short and missing:
            # Rows are inserted in product-id order, so concurrent first changes of the same
            # new products queue on the unique index in the same order.
            StockLevel.objects.bulk_create(
                [
                    StockLevel(store=store, product_id=pid, allow_negative=allow_negative)
                    for pid in missing
                ],
                ignore_conflicts=True,
            )
            levels.update(_locked_levels(store=store, product_ids=missing))
            # A concurrent writer may have created one of them first, with stock of its own.
            short = shortages(levels)
        if not short:
            movements = _write(
                store=store,
                levels=levels,
                tracked=tracked,
                net_delta=net_delta,
                reason=reason,
                source_type=source_type,
                source_id=source_id,
                user=user,
                note=note,
                offline=offline,
                now=now or timezone.now(),
            )
    if short:
        raise InsufficientStock(short)
    return movements


def stock_lock(*, store: Store, product_ids: Iterable[int]) -> None:
    """Lock the store's levels of these products in product-id order, in the caller's
    transaction (one query). For a transaction that applies several changes in turn (an
    exchange restocks, then sells): taking every row it will touch in the one order every writer
    uses keeps it from deadlocking with another writer."""
    _locked_levels(store=store, product_ids=sorted(set(product_ids)))


@functools.cache
def _lock_sql() -> tuple[str, list[str]]:
    """`StockLevel.objects.select_for_update().filter(store=…, product_id__in=…)
    .order_by("product_id")`, written out."""
    names, columns = select_columns(StockLevel, "level")
    product = field_column(StockLevel, "product")
    sql = (
        f"SELECT {columns} FROM {table(StockLevel)} level "  # noqa: S608  # nosec B608
        f"WHERE level.{field_column(StockLevel, 'store')} = %s "
        f"AND level.{product} = ANY(%s::bigint[]) ORDER BY level.{product} FOR UPDATE"
    )
    return sql, names


def _locked_levels(*, store: Store, product_ids: Sequence[int]) -> dict[int, StockLevel]:
    """The store's levels of these products, locked in product-id order (one query, written
    out: building it through the ORM cost a sale more Python than the rest of its stock
    handling)."""
    sql, names = _lock_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, [store.pk, pg_array(product_ids)])
        rows = cursor.fetchall()
    levels = (instance_from_row(StockLevel, names, row) for row in rows)
    return {level.product_id: level for level in levels}


def _write(
    *,
    store: Store,
    levels: dict[int, StockLevel],
    tracked: Sequence[StockChange],
    net_delta: dict[int, Decimal],
    reason: StockReason,
    source_type: str,
    source_id: int | None,
    user: User | None,
    note: str,
    offline: bool,
    now: dt.datetime,
) -> list[StockMovement]:
    """Update the locked levels (quantity and book value) and insert the movements (one
    statement)."""
    product_ids = sorted(net_delta)
    allow_negative = store.allow_negative_stock
    running = {pid: levels[pid].quantity for pid in product_ids}
    value_delta = dict.fromkeys(product_ids, ZERO)
    movement_rows: list[dict[str, Any]] = []
    for change in tracked:
        pid = change.product.pk
        running[pid] += change.quantity_delta
        value = change.money_value(store.currency)
        value_delta[pid] += value
        movement_rows.append(
            {
                "store_id": store.pk,
                "product_id": pid,
                "quantity_delta": change.quantity_delta,
                "quantity_after": running[pid],
                "reason": str(reason),
                "source_type": source_type,
                "source_id": source_id,
                "unit_cost": change.cost,
                "value": value,
                "note": note,
                "flagged": offline and change.quantity_delta < 0 and running[pid] < 0,
                "user_id": user.pk if user is not None else None,
                "created_at": now,
            }
        )

    for pid in product_ids:
        level = levels[pid]
        after = running[pid]
        # Below zero without the store's permission is tolerated only as a recorded deficit:
        # an offline sale took it there, or it is left over from when negatives were allowed.
        # Back at zero or above, the flag clears.
        level.offline_deficit = after < 0 and (
            level.offline_deficit or offline or (level.quantity < 0 and not allow_negative)
        )
        level.allow_negative = allow_negative
        level.updated_at = now

    movements = _write_in_one_statement(
        levels=[levels[pid] for pid in product_ids],
        deltas=[net_delta[pid] for pid in product_ids],
        value_deltas=[value_delta[pid] for pid in product_ids],
        movement_rows=movement_rows,
    )
    for movement in movements:
        cache_related(movement, store=store)
        if user is not None:
            cache_related(movement, user=user)
    for pid in product_ids:
        levels[pid].quantity = running[pid]
        levels[pid].value += value_delta[pid]
    return movements


#: The level columns a stock change sets besides `quantity` and `value` (which move by deltas).
_LEVEL_SET = ("allow_negative", "offline_deficit", "updated_at")


@functools.cache
def _write_statement() -> tuple[str, UnnestInsert[StockMovement]]:
    movements = UnnestInsert(StockMovement, prefix="movement")

    def field(name: str) -> Field[Any, Any]:
        return cast("Field[Any, Any]", StockLevel._meta.get_field(name))

    quantity = column(field("quantity"))
    value = column(field("value"))
    changes = ", ".join(
        [
            "%(level_ids)s::bigint[]",
            f"%(deltas)s::{array_type(field('quantity'))}",
            f"%(value_deltas)s::{array_type(field('value'))}",
            *(f"%(level_{name})s::{array_type(field(name))}" for name in _LEVEL_SET),
        ]
    )
    sql = f"""
WITH levels AS (
    UPDATE {table(StockLevel)} AS level
    SET {quantity} = level.{quantity} + change.delta,
        {value} = level.{value} + change.value_delta,
        {", ".join(f"{column(field(name))} = change.{name}" for name in _LEVEL_SET)}
    FROM unnest({changes}) AS change(id, delta, value_delta, {", ".join(_LEVEL_SET)})
    WHERE level.{qn("id")} = change.id
)
INSERT INTO {movements.table} ({movements.columns})
SELECT * FROM {movements.unnest}
RETURNING {qn("id")}
"""  # noqa: S608  # nosec B608
    return sql, movements


def _write_in_one_statement(
    *,
    levels: list[StockLevel],
    deltas: list[Decimal],
    value_deltas: list[Decimal],
    movement_rows: list[dict[str, Any]],
) -> list[StockMovement]:
    """The relative level updates (`quantity = quantity + delta`, `value = value + value
    delta` on the locked rows, never an absolute write of a value read earlier) and the movement
    rows in one statement — one round trip and no ORM statement compilation, which on a sale
    cost more CPU than anything else. Returns the saved movements, in the order of the rows."""
    sql, movements = _write_statement()
    params = {
        "level_ids": pg_array(level.pk for level in levels),
        "deltas": pg_array(deltas),
        "value_deltas": pg_array(value_deltas),
        **{
            f"level_{name}": pg_array(getattr(level, name) for level in levels)
            for name in _LEVEL_SET
        },
        **movements.params(movement_rows),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [row[0] for row in cursor.fetchall()]
    return movements.saved(movement_rows, ids)


def stock_sync_store_policy(*, store: Store) -> int:
    """Mirror `store.allow_negative_stock` into every `StockLevel` of the store (the check
    constraint reads the row, not the store), and make sure every tracked product has a level
    row there. Call it in the transaction that creates a store or changes its policy.

    A level already below zero when negatives become disallowed keeps its deficit as
    `offline_deficit` (the constraint stays satisfied; the next sale of it is refused until stock
    is received). Returns the number of levels updated.
    """
    allow_negative = store.allow_negative_stock
    with transaction.atomic():
        stock_levels_ensure(store=store, product_ids=None)
        levels = StockLevel.objects.filter(store=store)
        if allow_negative:
            return levels.exclude(allow_negative=True).update(
                allow_negative=True, updated_at=timezone.now()
            )
        return levels.filter(allow_negative=True).update(
            allow_negative=False,
            offline_deficit=Case(
                When(Q(quantity__lt=0) | Q(offline_deficit=True), then=Value(True)),
                default=Value(False),
            ),
            updated_at=timezone.now(),
        )


def stock_levels_ensure(*, store: Store, product_ids: Sequence[int] | None) -> None:
    """Create the missing zero levels of `store` for the given products (all tracked products
    when `None`), so the stock list shows every tracked product. Idempotent."""
    if product_ids is None:
        product_ids = list(
            Product.objects.filter(track_stock=True)
            .exclude(stock_levels__store=store)
            .order_by("id")
            .values_list("id", flat=True)
        )
    StockLevel.objects.bulk_create(
        [
            StockLevel(store=store, product_id=pid, allow_negative=store.allow_negative_stock)
            for pid in sorted(product_ids)
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )


def stock_levels_ensure_for_products(*, product_ids: Sequence[int]) -> None:
    """Create the missing zero levels of the given products in every store (a product created
    or switched to tracked). Two queries whatever the number of stores and products."""
    if not product_ids:
        return
    stores = list(Store.objects.order_by("id").values_list("id", "allow_negative_stock"))
    StockLevel.objects.bulk_create(
        [
            StockLevel(store_id=store_id, product_id=pid, allow_negative=allow_negative)
            for store_id, allow_negative in stores
            for pid in sorted(product_ids)
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )
