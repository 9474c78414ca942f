"""Product writes. Each takes the next catalog version inside its transaction (see
`catalog.services.versions`), records its audit event, and invalidates the cached barcode
lookups after commit."""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import User
from audit.services import audit_record
from catalog import cache
from catalog.exceptions import ProductInUse
from catalog.models import Category, Product, StockLevel, StockMovement, TaxRate
from catalog.services.common import delete_or_refuse
from catalog.services.stock import stock_levels_ensure_for_products
from catalog.services.versions import catalog_version_take
from dbtools.rows import column, qn, table
from dbtools.unnest import insert_fields, scalar_type
from domain.errors import InvalidInput
from money.fields import catalog_price_text

EDITABLE_FIELDS = (
    "sku",
    "barcode",
    "name",
    "category",
    "price",
    "cost",
    "tax_rate",
    "track_stock",
    "is_active",
)
_UNIQUE_MESSAGES = {
    "sku": "A product with this sku already exists.",
    "barcode": "A product with this barcode already exists.",
}


def product_create(
    *,
    user: User | None,
    sku: str,
    name: str,
    price: Decimal,
    tax_rate: TaxRate,
    barcode: str | None = None,
    category: Category | None = None,
    cost: Decimal = Decimal("0.00"),
    track_stock: bool = True,
    is_active: bool = True,
) -> Product:
    product = Product(
        sku=sku,
        barcode=barcode or None,
        name=name,
        category=category,
        price=price,
        cost=cost,
        tax_rate=tax_rate,
        track_stock=track_stock,
        is_active=is_active,
    )
    with transaction.atomic():
        product.version = catalog_version_take()
        _save_unique(product, force_insert=True)
        if product.track_stock:
            _ensure_levels_everywhere(product)
        audit_record(
            action="product.created",
            actor=user,
            object_type="product",
            object_id=product.pk,
            changes={field: _audit_value(product, field) for field in EDITABLE_FIELDS},
        )
        cache.invalidate(cache.BARCODE)
    return product


def product_update(*, product: Product, user: User | None, **changes: Any) -> Product:
    """Change the given fields (any of `EDITABLE_FIELDS`). A write that changes nothing takes no
    version, so registers do not download an unchanged product again."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"product_update() got unexpected fields: {sorted(unknown)}")
    if "barcode" in changes:
        changes["barcode"] = changes["barcode"] or None

    with transaction.atomic():
        locked = Product.objects.select_for_update().get(pk=product.pk)
        before = {field: _audit_value(locked, field) for field in changes}
        for field, value in changes.items():
            setattr(locked, field, value)
        after = {field: _audit_value(locked, field) for field in changes}
        changed = {
            f: {"before": before[f], "after": after[f]} for f in changes if before[f] != after[f]
        }
        if not changed:
            return locked

        locked.version = catalog_version_take()
        _save_unique(locked)
        if "track_stock" in changed and locked.track_stock:
            _ensure_levels_everywhere(locked)

        if "price" in changed:
            audit_record(
                action="product.price_changed",
                actor=user,
                object_type="product",
                object_id=locked.pk,
                changes={"sku": locked.sku, "price": changed.pop("price")},
            )
        if changed:
            audit_record(
                action="product.updated",
                actor=user,
                object_type="product",
                object_id=locked.pk,
                changes={"sku": locked.sku, **changed},
            )
        cache.invalidate(cache.BARCODE)
    return locked


def product_deactivate(*, product: Product, user: User | None) -> Product:
    """The way to retire a product that has been sold: it stays, with `is_active=False`, and
    registers learn it through delta sync."""
    return product_update(product=product, user=user, is_active=False)


def product_delete(*, product: Product, user: User | None) -> None:
    """Delete a product that was never sold nor moved; else `ProductInUse` (409)."""
    with transaction.atomic():
        locked = Product.objects.select_for_update().get(pk=product.pk)
        if StockMovement.objects.filter(product=locked).exists():
            raise ProductInUse()
        # Levels change only through movements, so with none they are all zero: they go too.
        StockLevel.objects.filter(product=locked, quantity=0).delete()
        # Sold (order lines PROTECT their product) or still stocked → `ProductInUse`.
        delete_or_refuse(locked, in_use=ProductInUse)
        audit_record(
            action="product.deleted",
            actor=user,
            object_type="product",
            object_id=product.pk,
            changes={"sku": product.sku, "name": product.name},
        )
        cache.invalidate(cache.BARCODE)


def product_bulk_save(*, created: list[Product], updated: list[Product], user: User | None) -> None:
    """Write many products in the caller's transaction (the CSV import): one block of versions,
    bulk insert and update, one audit event for the import and one per price change.

    `updated` instances carry their price before the import in `_price_before` (set by the
    importer) so that price changes are audited like single edits.
    """
    if not created and not updated:
        return
    with transaction.atomic():
        now = timezone.now()
        last = catalog_version_take(count=len(created) + len(updated))
        next_version = last - len(created) - len(updated)
        for product in [*created, *updated]:
            next_version += 1
            product.version = next_version
            product.barcode = product.barcode or None
            product.updated_at = now  # bulk_update skips auto_now
        try:
            with transaction.atomic():
                Product.objects.bulk_create(created, batch_size=1000)
                _bulk_update_products(updated)
        except IntegrityError as exc:
            raise InvalidInput("A sku or barcode is already taken.") from exc
        stock_levels_ensure_for_products(
            product_ids=[p.pk for p in [*created, *updated] if p.track_stock]
        )
        for product in updated:
            before = getattr(product, "_price_before", product.price)
            if before != product.price:
                audit_record(
                    action="product.price_changed",
                    actor=user,
                    object_type="product",
                    object_id=product.pk,
                    changes={
                        "sku": product.sku,
                        "price": {
                            "before": catalog_price_text(before),
                            "after": catalog_price_text(product.price),
                        },
                    },
                )
        audit_record(
            action="product.imported",
            actor=user,
            object_type="product",
            changes={
                "created": len(created),
                "updated": len(updated),
                "versions": [last - len(created) - len(updated) + 1, last],
            },
        )
        cache.invalidate(cache.BARCODE)


#: What the import does not overwrite: `sku` is how it finds the product, `created_at` is set
#: once. Every other column is written (tests/test_dbtools.py keeps this list honest).
BULK_UPDATE_KEEPS = ("sku", "created_at")


@functools.cache
def _bulk_update_sql(rows: int) -> tuple[str, list[str]]:
    """`UPDATE product SET <col> = v.<col>, … FROM (VALUES (%s::bigint, %s::varchar, …), …) AS
    v(id, …) WHERE product.id = v.id` for `rows` rows; (sql, the attnames in value order)."""
    fields = insert_fields(Product, exclude=BULK_UPDATE_KEEPS)
    row_sql = "(%s::bigint, " + ", ".join(f"%s::{scalar_type(f)}" for f in fields) + ")"
    assignments = ", ".join(f"{column(f)} = v.{column(f)}" for f in fields)
    sql = (
        f"UPDATE {table(Product)} AS p SET {assignments} "  # noqa: S608  # nosec B608
        f"FROM (VALUES {', '.join([row_sql] * rows)}) "
        f"AS v({qn('id')}, {', '.join(column(f) for f in fields)}) "
        f"WHERE p.{qn('id')} = v.{qn('id')}"
    )
    return sql, [f.attname for f in fields]


def _bulk_update_products(products: list[Product], batch_size: int = 500) -> None:
    """Write many products' editable fields: one `UPDATE … FROM (VALUES …)` per batch (Django's
    `bulk_update` builds a CASE per field and row, which costs seconds per thousand rows)."""
    if not products:
        return
    with connection.cursor() as cursor:
        for start in range(0, len(products), batch_size):
            batch = products[start : start + batch_size]
            sql, columns = _bulk_update_sql(len(batch))
            params: list[Any] = []
            for product in batch:
                params.append(product.pk)
                params.extend(getattr(product, c) for c in columns)
            cursor.execute(sql, params)


def _save_unique(product: Product, *, force_insert: bool = False) -> None:
    """Save, turning a lost race on sku/barcode uniqueness into the same 400 the serializer
    gives when it sees the clash first."""
    try:
        with transaction.atomic():
            product.save(force_insert=force_insert)
    except IntegrityError as exc:
        message = str(exc).lower()
        for field, text in _UNIQUE_MESSAGES.items():
            if field in message:
                raise InvalidInput(errors={field: [text]}) from exc
        raise


def _ensure_levels_everywhere(product: Product) -> None:
    stock_levels_ensure_for_products(product_ids=[product.pk])


def _audit_value(product: Product, field: str) -> Any:
    if field in ("category", "tax_rate"):
        return getattr(product, f"{field}_id")
    value = getattr(product, field)
    if isinstance(value, Decimal):
        return catalog_price_text(value)  # money: "5" and "5.00" are the same price
    return value
