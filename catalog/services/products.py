"""Product writes. Each takes the next catalog version inside its transaction (see
`catalog.services.versions`), records its audit event, and invalidates the cached barcode
lookups after commit."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from accounts.models import User
from audit.services import audit_record
from catalog import cache
from catalog.exceptions import ProductInUse
from catalog.models import (
    Category,
    ModifierGroup,
    Product,
    StockLevel,
    StockMovement,
    TaxRate,
)
from catalog.services.common import delete_or_refuse
from catalog.services.stock import stock_levels_ensure_for_products
from catalog.services.versions import (
    catalog_version_take,
    referrers_lock,
    referrers_version_bump,
    sync_tombstone_write,
)
from dbtools.rows import column, qn, table
from dbtools.unnest import insert_fields, scalar_type
from domain.errors import InvalidInput
from money.fields import catalog_price_text

#: The product's own columns (also the CSV import's columns).
PLAIN_FIELDS = (
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
#: Everything a manager may change through `product_update`.
EDITABLE_FIELDS = (*PLAIN_FIELDS, "variant_of", "options", "scale_code", "modifier_groups")
_UNIQUE_MESSAGES = {
    "sku": "A product with this sku already exists.",
    "barcode": "A product with this barcode already exists.",
    "scale_code": "A product with this scale code already exists.",
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
    variant_of: Product | None = None,
    options: dict[str, str] | None = None,
    scale_code: str | None = None,
    modifier_groups: Iterable[ModifierGroup] = (),
) -> Product:
    """Create a product; naming `variant_of` makes it a variant of that template (which then
    becomes one: `is_template`, with a new version of its own)."""
    product = Product(
        sku=sku,
        barcode=barcode or None,
        scale_code=scale_code or None,
        variant_of=variant_of,
        options=_clean_options(options),
        name=name,
        category=category,
        price=price,
        cost=cost,
        tax_rate=tax_rate,
        track_stock=track_stock,
        is_active=is_active,
    )
    groups = list(modifier_groups)
    with transaction.atomic():
        if variant_of is not None:
            _check_variant(product, _lock_template(variant_of.pk))
        product.version = catalog_version_take()
        _save_unique(product, force_insert=True)
        if groups:
            product.modifier_groups.set(groups)
        if product.track_stock:
            _ensure_levels_everywhere(product)
        _template_flag_sync(product.variant_of_id, user=user)
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
    for field in ("barcode", "scale_code"):
        if field in changes:
            changes[field] = changes[field] or None
    if "options" in changes:
        changes["options"] = _clean_options(changes["options"])
    groups = changes.pop("modifier_groups", None)

    with transaction.atomic():
        locked = Product.objects.select_for_update().get(pk=product.pk)
        template_before = locked.variant_of_id
        before = {field: _audit_value(locked, field) for field in changes}
        for field, value in changes.items():
            setattr(locked, field, value)
        after = {field: _audit_value(locked, field) for field in changes}
        changed = {
            f: {"before": before[f], "after": after[f]} for f in changes if before[f] != after[f]
        }
        if groups is not None:
            group_ids = (_audit_value(locked, "modifier_groups"), sorted(g.pk for g in groups))
            if group_ids[0] != group_ids[1]:
                changed["modifier_groups"] = {"before": group_ids[0], "after": group_ids[1]}
        if not changed:
            return locked

        if {"variant_of", "options"} & set(changed):
            # Both templates are locked (in id order) before the version counter, as every
            # other product write takes its rows before the counter: no deadlock.
            templates = _lock_templates({template_before, locked.variant_of_id})
            if locked.variant_of_id is not None:
                _check_variant(locked, _template_of(templates, locked.variant_of_id))
        locked.version = catalog_version_take()
        _save_unique(locked)
        if "modifier_groups" in changed:
            locked.modifier_groups.set(groups or [])
        if "track_stock" in changed and locked.track_stock:
            _ensure_levels_everywhere(locked)
        if "variant_of" in changed:
            _template_flag_sync(locked.variant_of_id, user=user)
            _template_flag_sync(template_before, user=user)

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
        # Promotions naming it lose it: registers must learn that too (versions taken last).
        referrers = referrers_lock(locked)
        # Sold (order lines PROTECT their product), still stocked or a template with variants
        # (they PROTECT it) → `ProductInUse`.
        delete_or_refuse(locked, in_use=ProductInUse)
        _template_flag_sync(locked.variant_of_id, user=user)
        referrers_version_bump(referrers)
        sync_tombstone_write(kind="product", object_id=product.pk)
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
    # A JSON value (`options`) needs the field's adaptation; the others bind as they are.
    adapt = {
        f.attname: f
        for f in insert_fields(Product, exclude=BULK_UPDATE_KEEPS)
        if isinstance(f, models.JSONField)
    }
    with connection.cursor() as cursor:
        for start in range(0, len(products), batch_size):
            batch = products[start : start + batch_size]
            sql, columns = _bulk_update_sql(len(batch))
            params: list[Any] = []
            for product in batch:
                params.append(product.pk)
                for c in columns:
                    value = getattr(product, c)
                    params.append(
                        adapt[c].get_db_prep_save(value, connection) if c in adapt else value
                    )
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


def _lock_template(template_id: int) -> Product:
    """The template row, locked: variants of one template are written one at a time, so two
    of them can never end up with the same options."""
    return _template_of(_lock_templates({template_id}), template_id)


def _lock_templates(template_ids: set[int | None]) -> dict[int, Product]:
    ids = sorted(i for i in template_ids if i is not None)
    return {p.pk: p for p in Product.objects.select_for_update().filter(pk__in=ids).order_by("pk")}


def _template_of(templates: dict[int, Product], template_id: int) -> Product:
    if template_id not in templates:  # deleted meanwhile
        raise InvalidInput(errors={"variant_of": ["This product does not exist."]})
    return templates[template_id]


def _check_variant(product: Product, template: Product) -> None:
    """The variant rules: one level only, never its own template, options unique per template."""
    if product.pk is not None and template.pk == product.pk:
        raise InvalidInput(errors={"variant_of": ["A product cannot be its own template."]})
    if template.variant_of_id is not None:
        raise InvalidInput(
            errors={"variant_of": ["This product is a variant; a variant cannot have variants."]}
        )
    if product.is_template:
        raise InvalidInput(
            errors={"variant_of": ["This product has variants; it cannot become a variant."]}
        )
    siblings = Product.objects.filter(variant_of_id=template.pk, options=product.options)
    if product.pk is not None:
        siblings = siblings.exclude(pk=product.pk)
    if siblings.exists():
        raise InvalidInput(
            errors={"options": ["Another variant of this template has the same options."]}
        )


def _clean_options(options: Any) -> dict[str, str]:
    """`options` as stored: a dict of text to text (none → `{}`)."""
    if not options:
        return {}
    if not isinstance(options, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in options.items()
    ):
        raise InvalidInput(errors={"options": ["Must map option names to text values."]})
    return dict(options)


def _template_flag_sync(template_id: int | None, *, user: User | None) -> None:
    """Make `is_template` say whether the product has variants, with a new version (and an
    audit event) when that changed, so registers learn it is (no longer) sellable."""
    if template_id is None:
        return
    template = Product.objects.select_for_update().get(pk=template_id)
    has_variants = Product.objects.filter(variant_of_id=template_id).exists()
    if template.is_template == has_variants:
        return
    template.is_template = has_variants
    template.version = catalog_version_take()
    template.save(update_fields=["is_template", "version", "updated_at"])
    audit_record(
        action="product.updated",
        actor=user,
        object_type="product",
        object_id=template.pk,
        changes={
            "sku": template.sku,
            "is_template": {"before": not has_variants, "after": has_variants},
        },
    )


def _audit_value(product: Product, field: str) -> Any:
    if field in ("category", "tax_rate", "variant_of"):
        return getattr(product, f"{field}_id")
    if field == "modifier_groups":
        if product.pk is None:
            return []
        return sorted(product.modifier_groups.values_list("pk", flat=True))
    value = getattr(product, field)
    if isinstance(value, Decimal):
        return catalog_price_text(value)  # money: "5" and "5.00" are the same price
    return value
