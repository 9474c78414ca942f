"""Tax rates and categories: small, rarely written, cached lists (see `catalog.cache`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction

from accounts.models import User
from audit.services import audit_record
from catalog import cache
from catalog.exceptions import CategoryInUse, TaxRateInUse
from catalog.models import CatalogVersion, Category, TaxRate
from catalog.services.common import delete_or_refuse
from catalog.services.versions import (
    catalog_version_take,
    referrers_lock,
    referrers_version_bump,
    sync_tombstone_write,
)
from domain.errors import InvalidInput


def tax_rate_create(*, user: User | None, name: str, rate: Decimal) -> TaxRate:
    with transaction.atomic():
        tax_rate = TaxRate.objects.create(name=name, rate=rate, version=catalog_version_take())
        audit_record(
            action="tax_rate.created",
            actor=user,
            object_type="tax_rate",
            object_id=tax_rate.pk,
            changes={"name": name, "rate": str(rate)},
        )
        cache.invalidate(cache.TAX_RATES)
    return tax_rate


def tax_rate_update(
    *, tax_rate: TaxRate, user: User | None, name: str | None = None, rate: Decimal | None = None
) -> TaxRate:
    with transaction.atomic():
        locked = TaxRate.objects.select_for_update().get(pk=tax_rate.pk)
        changes: dict[str, dict[str, Any]] = {}
        if name is not None and name != locked.name:
            changes["name"] = {"before": locked.name, "after": name}
            locked.name = name
        if rate is not None and rate != locked.rate:
            changes["rate"] = {"before": str(locked.rate), "after": str(rate)}
            locked.rate = rate
        if not changes:
            return locked
        locked.version = catalog_version_take()
        locked.save(update_fields=["name", "rate", "version"])
        audit_record(
            action="tax_rate.updated",
            actor=user,
            object_type="tax_rate",
            object_id=locked.pk,
            changes=changes,
        )
        cache.invalidate(cache.TAX_RATES)
    return locked


def tax_rate_delete(*, tax_rate: TaxRate, user: User | None) -> None:
    """Refused with `TaxRateInUse` (409) while a product uses the rate."""
    with transaction.atomic():
        delete_or_refuse(TaxRate.objects.get(pk=tax_rate.pk), in_use=TaxRateInUse)
        sync_tombstone_write(kind="tax_rate", object_id=tax_rate.pk)
        audit_record(
            action="tax_rate.deleted",
            actor=user,
            object_type="tax_rate",
            object_id=tax_rate.pk,
            changes={"name": tax_rate.name, "rate": str(tax_rate.rate)},
        )
        cache.invalidate(cache.TAX_RATES)


def category_create(*, user: User | None, name: str, parent: Category | None = None) -> Category:
    with transaction.atomic():
        category = Category.objects.create(name=name, parent=parent, version=catalog_version_take())
        audit_record(
            action="category.created",
            actor=user,
            object_type="category",
            object_id=category.pk,
            changes={"name": name, "parent": parent.pk if parent else None},
        )
        cache.invalidate(cache.CATEGORIES)
    return category


_UNSET = object()


def category_update(
    *,
    category: Category,
    user: User | None,
    name: str | None = None,
    parent: Category | object | None = _UNSET,
) -> Category:
    """Rename or move a category. A move that would make the category its own ancestor is
    refused (`400`, on `parent`)."""
    with transaction.atomic():
        locked = Category.objects.select_for_update().get(pk=category.pk)
        changes: dict[str, dict[str, Any]] = {}
        if name is not None and name != locked.name:
            changes["name"] = {"before": locked.name, "after": name}
            locked.name = name
        if parent is not _UNSET:
            new_parent_id = parent.pk if isinstance(parent, Category) else None
            if new_parent_id != locked.parent_id:
                if new_parent_id is not None:
                    _refuse_cycle(category_id=locked.pk, new_parent_id=new_parent_id)
                changes["parent"] = {"before": locked.parent_id, "after": new_parent_id}
                locked.parent_id = new_parent_id
        if not changes:
            return locked
        locked.version = catalog_version_take()
        locked.save(update_fields=["name", "parent", "version"])
        audit_record(
            action="category.updated",
            actor=user,
            object_type="category",
            object_id=locked.pk,
            changes=changes,
        )
        cache.invalidate(cache.CATEGORIES)
    return locked


def category_delete(*, category: Category, user: User | None) -> None:
    """Refused with `CategoryInUse` (409) while it has products or subcategories."""
    with transaction.atomic():
        found = Category.objects.get(pk=category.pk)
        referrers = referrers_lock(found)  # promotions naming it lose it
        delete_or_refuse(found, in_use=CategoryInUse)
        referrers_version_bump(referrers)
        sync_tombstone_write(kind="category", object_id=category.pk)
        audit_record(
            action="category.deleted",
            actor=user,
            object_type="category",
            object_id=category.pk,
            changes={"name": category.name, "parent": category.parent_id},
        )
        cache.invalidate(cache.CATEGORIES)


def _refuse_cycle(*, category_id: int, new_parent_id: int) -> None:
    """Walk up from the new parent; meeting the category itself means a cycle.

    Moves are serialized on the catalog version row (a cheap catalog-wide mutex; moves are
    rare), so two concurrent moves cannot each pass this check and together close a loop.
    """
    list(CatalogVersion.objects.select_for_update().filter(id=1).values_list("id", flat=True))
    parents = dict(Category.objects.values_list("id", "parent_id"))
    if new_parent_id not in parents:
        raise InvalidInput(errors={"parent": ["Unknown category."]})
    seen: set[int] = set()
    current: int | None = new_parent_id
    while current is not None and current not in seen:
        if current == category_id:
            raise InvalidInput(errors={"parent": ["A category cannot be moved under itself."]})
        seen.add(current)
        current = parents.get(current)
