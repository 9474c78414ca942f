"""Writes of price lists and promotions.

Each takes a catalog version for the object it writes (registers see it in delta sync), is
audited in the same transaction, and invalidates the cached barcode lookups after commit. A
price-list write also records `product.price_changed` for every product whose price in the list
was added, changed or removed, and gives a new catalog version to every product whose effective
price may have changed, so the products' delta sync sends them again.

Managers may only write lists and promotions that cover their own stores and no other (one for
every store is for admins); `user=None` is the system (imports, data migrations).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Store, User
from accounts.selectors import visible_store_ids
from audit.services import audit_record
from catalog import cache
from catalog.models import Category, Product
from catalog.services.versions import (
    catalog_version_take,
    products_version_bump,
    sync_tombstone_write,
)
from domain.errors import InvalidInput
from money.fields import catalog_price_text
from pricebook import rules
from pricebook.exceptions import StoresForbidden
from pricebook.models import PriceBookClock, PriceList, PriceListItem, Promotion

PRICE_LIST_FIELDS = ("name", "priority", "valid_from", "valid_to", "is_active")
#: Changing any of these may change the effective price of every product of the list.
PRICE_LIST_REACH_FIELDS = ("stores", "priority", "valid_from", "valid_to", "is_active")
PROMOTION_FIELDS = (
    "name",
    "kind",
    "x",
    "y",
    "value",
    "valid_from",
    "valid_to",
    "days_of_week",
    "start_time",
    "end_time",
    "priority",
    "is_active",
)
PROMOTION_RELATIONS = ("stores", "products", "categories")


# --- Price lists --------------------------------------------------------------------------------


def price_list_create(
    *,
    user: User | None,
    name: str,
    stores: Iterable[Store] = (),
    priority: int = 0,
    valid_from: Any = None,
    valid_to: Any = None,
    is_active: bool = True,
    items: Sequence[Mapping[str, Any]] = (),
) -> PriceList:
    """`items` are `{"product": Product, "price": Decimal}`, each product at most once."""
    store_list = list(stores)
    _ensure_may_cover(user, {s.pk for s in store_list})
    _check_validity(valid_from, valid_to)
    prices = _item_prices(items)
    price_list = PriceList(
        name=name, priority=priority, valid_from=valid_from, valid_to=valid_to, is_active=is_active
    )
    with transaction.atomic():
        # The products' rows before the counter, as every product write (no deadlock).
        products_version_bump(product_ids=prices)
        price_list.version = catalog_version_take()
        price_list.save(force_insert=True)
        price_list.stores.set(store_list)
        _write_items(price_list, before={}, after=prices)
        _audit_prices(user, price_list, before={}, after=prices)
        audit_record(
            action="price_list.created",
            actor=user,
            object_type="price_list",
            object_id=price_list.pk,
            changes={
                **{f: _audit_value(getattr(price_list, f)) for f in PRICE_LIST_FIELDS},
                "stores": sorted(s.pk for s in store_list),
                "items": len(prices),
            },
        )
        cache.invalidate(cache.BARCODE)
    return price_list


def price_list_update(*, price_list: PriceList, user: User | None, **changes: Any) -> PriceList:
    """Change any of `PRICE_LIST_FIELDS`, `stores` and `items` (which replaces the whole set).
    A write that changes nothing takes no version."""
    unknown = set(changes) - {*PRICE_LIST_FIELDS, "stores", "items"}
    if unknown:
        raise TypeError(f"price_list_update() got unexpected fields: {sorted(unknown)}")
    with transaction.atomic():
        locked = PriceList.objects.select_for_update().get(pk=price_list.pk)
        stores_before = set(locked.stores.values_list("id", flat=True))
        stores_after = {s.pk for s in changes["stores"]} if "stores" in changes else stores_before
        _ensure_may_cover(user, stores_before)
        _ensure_may_cover(user, stores_after)
        _check_validity(
            changes.get("valid_from", locked.valid_from), changes.get("valid_to", locked.valid_to)
        )
        before_items = _current_items(locked)
        before = {pid: price for pid, (_, price) in before_items.items()}
        new_items = _item_prices(changes["items"]) if "items" in changes else None
        after: Mapping[int, Any] = before if new_items is None else new_items

        changed: dict[str, Any] = {}
        for field in PRICE_LIST_FIELDS:
            if field in changes and getattr(locked, field) != changes[field]:
                changed[field] = {
                    "before": _audit_value(getattr(locked, field)),
                    "after": _audit_value(changes[field]),
                }
                setattr(locked, field, changes[field])
        if stores_after != stores_before:
            changed["stores"] = {"before": sorted(stores_before), "after": sorted(stores_after)}
        price_changes = _price_diff(before, after)
        if not changed and not price_changes:
            return locked

        if any(field in changed for field in PRICE_LIST_REACH_FIELDS):
            bump = set(before) | set(after)
        else:
            bump = set(price_changes)
        products_version_bump(product_ids=bump)  # before the list's own version (see create)
        locked.version = catalog_version_take()
        locked.save()
        if "stores" in changed:
            locked.stores.set(stores_after)
        if new_items is not None:
            _write_items(locked, before=before, after=new_items)
        skus = {pid: sku for pid, (sku, _) in before_items.items()}
        _audit_prices(user, locked, before=before, after=after, skus=skus)
        if changed:
            audit_record(
                action="price_list.updated",
                actor=user,
                object_type="price_list",
                object_id=locked.pk,
                changes={"name": locked.name, **changed},
            )
        cache.invalidate(cache.BARCODE)
    return locked


def price_list_delete(*, price_list: PriceList, user: User | None) -> None:
    with transaction.atomic():
        locked = PriceList.objects.select_for_update().get(pk=price_list.pk)
        _ensure_may_cover(user, set(locked.stores.values_list("id", flat=True)))
        before_items = _current_items(locked)
        before = {pid: price for pid, (_, price) in before_items.items()}
        locked.delete()
        products_version_bump(product_ids=before)
        sync_tombstone_write(kind="price_list", object_id=price_list.pk)
        skus = {pid: sku for pid, (sku, _) in before_items.items()}
        _audit_prices(user, price_list, before=before, after={}, skus=skus)
        audit_record(
            action="price_list.deleted",
            actor=user,
            object_type="price_list",
            object_id=price_list.pk,
            changes={"name": price_list.name, "items": len(before)},
        )
        cache.invalidate(cache.BARCODE)


def _item_prices(items: Sequence[Mapping[str, Any]]) -> dict[int, tuple[Product, Decimal]]:
    """{product id: (product, price)}, refusing a product named twice or a negative price."""
    prices: dict[int, tuple[Product, Decimal]] = {}
    errors: dict[str, list[str]] = {}
    for index, item in enumerate(items):
        product, price = item["product"], Decimal(item["price"])
        if product.pk in prices:
            errors[f"items.{index}.product"] = ["This product is already in the list."]
        if price < 0:
            errors[f"items.{index}.price"] = ["Must not be negative."]
        prices[product.pk] = (product, price)
    if errors:
        raise InvalidInput(errors=errors)
    return prices


def _current_items(price_list: PriceList) -> dict[int, tuple[str, Decimal]]:
    """{product id: (sku, price)} of the list's items as stored."""
    rows = PriceListItem.objects.filter(price_list=price_list).values_list(
        "product_id", "product__sku", "price"
    )
    return {pid: (sku, price) for pid, sku, price in rows}


def _price_diff(before: Mapping[int, Any], after: Mapping[int, Any]) -> set[int]:
    """The products whose price in the list was added, changed or removed."""
    return {
        pid
        for pid in set(before) | set(after)
        if _price_of(before.get(pid)) != _price_of(after.get(pid))
    }


def _price_of(entry: Any) -> Decimal | None:
    if entry is None:
        return None
    return entry[1] if isinstance(entry, tuple) else entry  # type: ignore[no-any-return]


def _write_items(
    price_list: PriceList,
    *,
    before: Mapping[int, Decimal],
    after: Mapping[int, tuple[Product, Decimal]],
) -> None:
    removed = set(before) - set(after)
    if removed:
        PriceListItem.objects.filter(price_list=price_list, product_id__in=removed).delete()
    upsert = [
        PriceListItem(price_list=price_list, product=product, price=price)
        for pid, (product, price) in sorted(after.items())
        if before.get(pid) != price
    ]
    if upsert:
        PriceListItem.objects.bulk_create(
            upsert,
            update_conflicts=True,
            unique_fields=["price_list", "product"],
            update_fields=["price"],
        )


def _audit_prices(
    user: User | None,
    price_list: PriceList,
    *,
    before: Mapping[int, Any],
    after: Mapping[int, Any],
    skus: Mapping[int, str] | None = None,
) -> None:
    """One `product.price_changed` per product whose price in the list changed, by id."""
    for pid in sorted(_price_diff(before, after)):
        old, new = _price_of(before.get(pid)), _price_of(after.get(pid))
        sku = (skus or {}).get(pid) or after[pid][0].sku
        audit_record(
            action="product.price_changed",
            actor=user,
            object_type="product",
            object_id=pid,
            changes={
                "sku": sku,
                "price_list": price_list.pk,
                "price": {
                    "before": None if old is None else catalog_price_text(old),
                    "after": None if new is None else catalog_price_text(new),
                },
            },
        )


# --- Promotions ---------------------------------------------------------------------------------


def promotion_create(
    *,
    user: User | None,
    name: str,
    kind: str,
    value: Decimal,
    stores: Iterable[Store] = (),
    products: Iterable[Product] = (),
    categories: Iterable[Category] = (),
    **fields: Any,
) -> Promotion:
    """`fields`: any other of `PROMOTION_FIELDS` (x, y, schedule, priority, is_active)."""
    unknown = set(fields) - set(PROMOTION_FIELDS)
    if unknown:
        raise TypeError(f"promotion_create() got unexpected fields: {sorted(unknown)}")
    relations: dict[str, list[Any]] = {
        "stores": list(stores),
        "products": list(products),
        "categories": list(categories),
    }
    _ensure_may_cover(user, {s.pk for s in relations["stores"]})
    if "days_of_week" in fields:
        fields["days_of_week"] = sorted(set(fields["days_of_week"] or ()))
    promotion = Promotion(name=name, kind=kind, value=value, **fields)
    _check_promotion(promotion, relations)
    with transaction.atomic():
        promotion.version = catalog_version_take()
        promotion.save(force_insert=True)
        for relation, objects in relations.items():
            getattr(promotion, relation).set(objects)
        audit_record(
            action="promotion.created",
            actor=user,
            object_type="promotion",
            object_id=promotion.pk,
            changes={
                **{f: _audit_value(getattr(promotion, f)) for f in PROMOTION_FIELDS},
                **{r: sorted(o.pk for o in objects) for r, objects in relations.items()},
            },
        )
        cache.invalidate(cache.BARCODE)
    return promotion


def promotion_update(*, promotion: Promotion, user: User | None, **changes: Any) -> Promotion:
    """Change any of `PROMOTION_FIELDS` and `PROMOTION_RELATIONS` (each replaces its set)."""
    unknown = set(changes) - {*PROMOTION_FIELDS, *PROMOTION_RELATIONS}
    if unknown:
        raise TypeError(f"promotion_update() got unexpected fields: {sorted(unknown)}")
    if "days_of_week" in changes:
        changes["days_of_week"] = sorted(set(changes["days_of_week"] or ()))
    with transaction.atomic():
        locked = Promotion.objects.select_for_update().get(pk=promotion.pk)
        before_ids = {r: _ids(locked, r) for r in PROMOTION_RELATIONS}
        after_ids = {
            r: ({o.pk for o in changes[r]} if r in changes else before_ids[r])
            for r in PROMOTION_RELATIONS
        }
        _ensure_may_cover(user, before_ids["stores"])
        _ensure_may_cover(user, after_ids["stores"])
        changed: dict[str, Any] = {}
        for field in PROMOTION_FIELDS:
            if field in changes and getattr(locked, field) != changes[field]:
                changed[field] = {
                    "before": _audit_value(getattr(locked, field)),
                    "after": _audit_value(changes[field]),
                }
                setattr(locked, field, changes[field])
        for relation in PROMOTION_RELATIONS:
            if after_ids[relation] != before_ids[relation]:
                changed[relation] = {
                    "before": sorted(before_ids[relation]),
                    "after": sorted(after_ids[relation]),
                }
        _check_promotion(locked, {r: after_ids[r] for r in PROMOTION_RELATIONS})
        if not changed:
            return locked
        locked.version = catalog_version_take()
        locked.save()
        for relation in PROMOTION_RELATIONS:
            if relation in changed:
                getattr(locked, relation).set(after_ids[relation])
        audit_record(
            action="promotion.updated",
            actor=user,
            object_type="promotion",
            object_id=locked.pk,
            changes={"name": locked.name, **changed},
        )
        cache.invalidate(cache.BARCODE)
    return locked


def promotion_delete(*, promotion: Promotion, user: User | None) -> None:
    """Deleting is always allowed: orders snapshot the promotions they applied."""
    with transaction.atomic():
        locked = Promotion.objects.select_for_update().get(pk=promotion.pk)
        _ensure_may_cover(user, _ids(locked, "stores"))
        locked.delete()
        sync_tombstone_write(kind="promotion", object_id=promotion.pk)
        audit_record(
            action="promotion.deleted",
            actor=user,
            object_type="promotion",
            object_id=promotion.pk,
            changes={"name": promotion.name, "kind": promotion.kind},
        )
        cache.invalidate(cache.BARCODE)


def _ids(promotion: Promotion, relation: str) -> set[int]:
    return set(getattr(promotion, relation).values_list("id", flat=True))


def _check_promotion(promotion: Promotion, relations: Mapping[str, Iterable[Any]]) -> None:
    """The rules the check constraints back, as a 400 with field names."""
    errors: dict[str, list[str]] = {}
    if not list(relations["products"]) and not list(relations["categories"]):
        errors["products"] = ["Name at least one product or category."]
    kind, value = promotion.kind, Decimal(promotion.value)
    if kind not in (rules.PERCENT_OFF, rules.AMOUNT_OFF, rules.BUY_X_GET_Y):
        errors["kind"] = ["Not a promotion kind."]
    elif value <= 0:
        errors["value"] = ["Must be greater than zero."]
    elif kind != rules.AMOUNT_OFF and value > 100:
        errors["value"] = ["A percentage of at most 100."]
    if kind == rules.BUY_X_GET_Y:
        for field in ("x", "y"):
            if getattr(promotion, field) < 1:
                errors[field] = ["At least 1 for buy_x_get_y."]
    if any(day not in range(1, 8) for day in promotion.days_of_week or ()):
        errors["days_of_week"] = ["ISO weekdays: 1 (Monday) to 7 (Sunday)."]
    try:
        _check_validity(promotion.valid_from, promotion.valid_to)
    except InvalidInput as exc:
        errors.update(exc.errors or {})
    if errors:
        raise InvalidInput(errors=errors)


# --- Shared -------------------------------------------------------------------------------------


def _ensure_may_cover(user: User | None, store_ids: set[int]) -> None:
    """Admins and the system cover any stores; a manager only some of theirs (not every store)."""
    if user is None:
        return
    mine = visible_store_ids(user)
    if mine is None:
        return
    if not store_ids or not store_ids <= set(mine):
        raise StoresForbidden()


def _check_validity(valid_from: Any, valid_to: Any) -> None:
    if valid_from is not None and valid_to is not None and valid_from >= valid_to:
        raise InvalidInput(errors={"valid_to": ["Must be after valid_from."]})


def _audit_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return catalog_price_text(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, list):
        return sorted(value)
    return value


# --- The clock -----------------------------------------------------------------------------------


def price_lists_follow_clock(*, now: dt.datetime | None = None) -> int:
    """Give a new catalog version to the products of every active price list that came into or
    went out of force (its `valid_from` or `valid_to` passed) since the last run, and drop the
    cached lookups: no write happens at those instants, so without this the delta sync and the
    cached lookup would keep showing the old price. Returns how many products were bumped.

    The window is `(last run, now]`, kept in the `PriceBookClock` row (locked, so two runs never
    overlap); the first run only starts the clock. Run it every minute (beat)."""
    now = now or timezone.now()
    with transaction.atomic():
        clock = PriceBookClock.objects.select_for_update().filter(pk=1).first()
        if clock is None:
            PriceBookClock.objects.get_or_create(pk=1, defaults={"checked_at": now})
            return 0
        since = clock.checked_at
        if now <= since:
            return 0
        passed = (Q(valid_from__gt=since) & Q(valid_from__lte=now)) | (
            Q(valid_to__gt=since) & Q(valid_to__lte=now)
        )
        product_ids = list(
            PriceListItem.objects.filter(
                Q(price_list__in=PriceList.objects.filter(passed, is_active=True))
            )
            .values_list("product_id", flat=True)
            .distinct()
        )
        products_version_bump(product_ids=product_ids)
        PriceBookClock.objects.filter(pk=1).update(checked_at=now)
        if product_ids:
            cache.invalidate(cache.BARCODE)
    return len(product_ids)
