"""Helpers of the register sync tests: a world with one of every type, the feed and the
snapshot read over the API, and a register's local copy built from them."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from decimal import Decimal
from typing import Any

from django.utils import timezone

from accounts.models import Store
from accounts.services import register_create, store_update
from catalog.models import Product
from catalog.services import category_create, product_create, tax_rate_create
from catalog.services.modifiers import modifier_group_create
from pricebook.services import price_list_create, promotion_create

CHANGES = "/api/v1/sync/changes/"
SNAPSHOT = "/api/v1/sync/snapshot/"

State = dict[tuple[str, int], dict[str, Any]]


def feed(client: Any, store: Store | int, since: int = 0, **params: Any) -> dict[str, Any]:
    store_id = store if isinstance(store, int) else store.pk
    response = client.get(CHANGES, {"store": store_id, "since": since, **params})
    assert response.status_code == 200, response.content
    return response.json()


def follow(client: Any, store: Store | int, state: State, since: int, limit: int = 500) -> int:
    """Apply every change after `since` to `state`; the watermark to continue from."""
    while True:
        page = feed(client, store, since, limit=limit)
        for change in page["changes"]:
            key = (change["type"], change["id"])
            if change["deleted"]:
                state.pop(key, None)
            else:
                state[key] = change["data"]
        since = page["next_since"]
        if not page["has_more"]:
            return since


def snapshot(client: Any, store: Store | int, **headers: Any) -> tuple[Any, int, State]:
    """(response, version, {(type, id): data}) of the store's snapshot."""
    store_id = store if isinstance(store, int) else store.pk
    response = client.get(SNAPSHOT, {"store": store_id}, **headers)
    if response.status_code != 200:
        return response, 0, {}
    assert response["Content-Encoding"] == "gzip"
    assert response["Content-Type"] == "application/x-ndjson"
    lines = gzip.decompress(response.content).decode().splitlines()
    head = json.loads(lines[0])
    assert head == {"store": store_id, "version": int(response["X-Catalog-Version"])}
    state: State = {}
    for line in lines[1:]:
        row = json.loads(line)
        state[(row["type"], row["id"])] = row["data"]
    return response, head["version"], state


def one_of_each(store: Store, other: Store) -> dict[str, Any]:
    """Every synced type, through the services (so each has a version)."""
    store_update(actor=None, store=store, name="Main street", cash_rounding=Decimal("0.05"))
    tax = tax_rate_create(user=None, name="VAT", rate=Decimal("8.250"))
    parent = category_create(user=None, name="Drinks")
    category = category_create(user=None, name="Hot", parent=parent)
    group = modifier_group_create(
        user=None,
        name="Milk",
        max_choices=2,
        modifiers=[
            {"name": "Oat", "price_delta": Decimal("0.400")},
            {"name": "Soy", "price_delta": Decimal("0.125")},
        ],
    )
    product = product_create(
        user=None,
        sku="LATTE",
        name="Latte",
        price=Decimal("3.50"),
        cost=Decimal("1.2345"),
        tax_rate=tax,
        category=category,
        barcode="4006381333931",
        options={},
        modifier_groups=[group],
    )
    other_product = product_create(
        user=None, sku="TEA", name="Tea", price=Decimal("2.125"), tax_rate=tax
    )
    now = timezone.now().replace(microsecond=123456)
    price_list = price_list_create(
        user=None,
        name="Happy",
        stores=[store],
        priority=3,
        valid_from=now - dt.timedelta(days=1),
        items=[{"product": other_product, "price": Decimal("1.99")}],
    )
    elsewhere = price_list_create(user=None, name="Elsewhere", stores=[other], items=[])
    promotion = promotion_create(
        user=None,
        name="Two for one",
        kind="buy_x_get_y",
        value=Decimal("100"),
        x=1,
        y=1,
        products=[product],
        categories=[parent],
        days_of_week=[5, 1],
        start_time=dt.time(9, 30),
        end_time=dt.time(17, 0, 0, 250000),
        valid_to=now + dt.timedelta(days=3),
    )
    register = register_create(actor=None, store=store, code="R9", name="Front")
    other_register = register_create(actor=None, store=other, code="R9")
    return {
        "store": store,
        "tax_rate": tax,
        "category": category,
        "parent": parent,
        "modifier_group": group,
        "product": Product.objects.get(pk=product.pk),
        "other_product": Product.objects.get(pk=other_product.pk),
        "price_list": price_list,
        "elsewhere": elsewhere,
        "promotion": promotion,
        "register": register,
        "other_register": other_register,
    }
