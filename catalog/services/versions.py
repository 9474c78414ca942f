"""The catalog-wide version counter behind delta sync.

Every product write takes its version with `UPDATE … SET value = value + n RETURNING value` on
the single `CatalogVersion` row, inside the writing transaction. The row stays locked until that
transaction ends, so product writes take versions in commit order: once a reader sees version V
committed, every version ≤ V is committed too (or was rolled back together with the counter).
That is what makes `X-Catalog-Version` a safe watermark (see `catalog.selectors`).

The lock is taken as late as possible in the writing transaction (just before the product row
is written) so that product writes serialize only for the last few statements.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, connection, models, transaction

from catalog.models import CatalogVersion, Product, SyncTombstone
from dbtools.rows import field_column, table

SINGLETON_ID = 1


def catalog_version_take(*, count: int = 1) -> int:
    """Reserve `count` consecutive versions and return the highest; the block is
    `(result - count, result]`. Must run inside the writing transaction."""
    if count < 1:
        raise ValueError("count must be at least 1")
    if not connection.in_atomic_block:
        raise RuntimeError("catalog_version_take must run inside the writing transaction")
    table = connection.ops.quote_name(CatalogVersion._meta.db_table)
    # Only the quoted table name is interpolated; the values are bound parameters.
    sql = f"UPDATE {table} SET value = value + %s WHERE id = %s RETURNING value"  # noqa: S608 # nosec
    with connection.cursor() as cursor:
        cursor.execute(sql, [count, SINGLETON_ID])
        row = cursor.fetchone()
    if row is None:
        # The seed row is missing (a flushed test database): create it and try again.
        try:
            with transaction.atomic():
                CatalogVersion.objects.create(id=SINGLETON_ID, value=0)
        except IntegrityError:
            pass  # someone else created it meanwhile
        with connection.cursor() as cursor:
            cursor.execute(sql, [count, SINGLETON_ID])
            row = cursor.fetchone()
    return int(row[0])


def catalog_version_current() -> int:
    """The highest committed version (0 before any product write)."""
    value = CatalogVersion.objects.filter(id=SINGLETON_ID).values_list("value", flat=True).first()
    return int(value or 0)


def products_version_bump(*, product_ids: Iterable[int]) -> int | None:
    """Give each of the products a new catalog version, so delta sync sends them again (their
    effective price changed elsewhere, e.g. in a price list). Returns the highest version given,
    `None` when there was nothing to bump.

    The rows are locked first, in id order, and the counter after them — the order every product
    write takes (row, then version), so a bump never deadlocks with a product edit or another
    bump. Then one block of versions, handed out in id order by one `UPDATE … FROM unnest`.
    Call it before the caller takes any version of its own in the same transaction.
    """
    ids = sorted(set(product_ids))
    if not ids:
        return None
    product = table(Product)
    id_col, version_col = field_column(Product, "id"), field_column(Product, "version")
    # Only quoted names from the model are interpolated; the values are bound parameters.
    lock_sql = (
        f"SELECT {id_col} FROM {product} "  # noqa: S608 # nosec B608
        f"WHERE {id_col} = ANY(%s::bigint[]) ORDER BY {id_col} FOR UPDATE"
    )
    update_sql = (
        f"UPDATE {product} AS p SET {version_col} = v.version "  # noqa: S608 # nosec B608
        "FROM unnest(%s::bigint[], %s::bigint[]) AS v(id, version) "
        f"WHERE p.{id_col} = v.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(lock_sql, [ids])
        found = [row[0] for row in cursor.fetchall()]
        if not found:
            return None
        last = catalog_version_take(count=len(found))
        first = last - len(found) + 1
        cursor.execute(update_sql, [found, list(range(first, last + 1))])
    return last


def sync_tombstone_write(*, kind: str, object_id: int, store_id: int | None = None) -> int:
    """Record that an object of a synced type (`product`, `category`, `tax_rate`,
    `modifier_group`, `price_list`, `promotion`, `register`) was deleted, under a new catalog
    version, so the change feed (`GET /api/v1/sync/changes/`) tells registers to drop it. Call it
    in the deleting transaction, after any `products_version_bump`. Returns the version."""
    version = catalog_version_take()
    SyncTombstone.objects.create(version=version, kind=kind, object_id=object_id, store_id=store_id)
    return version


def referrers_lock(instance: models.Model) -> list[tuple[type[models.Model], list[int]]]:
    """Lock, in id order, the versioned objects whose many-to-many field names `instance` (a
    promotion's `products` and `categories`), before `instance` is deleted: the link rows go
    with it, so what registers hold of those objects changes. Give them their new versions with
    `referrers_version_bump` as the delete's last writes (the counter is taken last, as by every
    write). Generic over the relations: the catalog imports none of the apps referring to it."""
    found: list[tuple[type[models.Model], list[int]]] = []
    for relation in type(instance)._meta.related_objects:
        owner = relation.related_model
        if not relation.many_to_many or not isinstance(owner, type):
            continue
        if "version" not in {field.name for field in owner._meta.concrete_fields}:
            continue
        ids = list(
            owner._default_manager.filter(**{relation.field.name: instance})
            .order_by("pk")
            .select_for_update()
            .values_list("pk", flat=True)
        )
        if ids:
            found.append((owner, ids))
    return found


def referrers_version_bump(locked: list[tuple[type[models.Model], list[int]]]) -> None:
    """New versions for the objects `referrers_lock` returned."""
    for owner, ids in locked:
        last = catalog_version_take(count=len(ids))
        for offset, pk in enumerate(ids):
            owner._default_manager.filter(pk=pk).update(version=last - len(ids) + 1 + offset)
