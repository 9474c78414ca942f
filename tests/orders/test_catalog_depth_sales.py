"""Selling with catalog depth (issue 17): price lists, modifiers and automatic promotions meet in
the quote and the sale (one pricing path), are snapshotted on the order, printed on the receipt,
counted in the daily report, and refunded exactly. Everything is set up through the API, as a
manager would."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Register, Store, User
from catalog.models import Product
from orders.models import Order, Shift
from orders.selectors.reports import daily_report_figures
from tests.catalog.factories import ProductFactory, set_stock
from tests.factories import StoreFactory
from tests.orders.factories import ORDERS_URL, QUOTE_URL

pytestmark = pytest.mark.django_db

D = Decimal


def ok(response: Any, status: int = 201) -> dict[str, Any]:
    assert response.status_code == status, response.content
    return response.json()  # type: ignore[no-any-return]


@pytest.fixture
def latte(store: Store, tax_rate: Any) -> Product:
    """5.00 at 8.25 %, tracked, 50 in stock."""
    item = ProductFactory(name="Latte", price=D("5.00"), tax_rate=tax_rate)
    set_stock(store, item, 50)
    return item


@pytest.fixture
def milk_group(manager_client: APIClient, latte: Product) -> dict[str, Any]:
    """Milk: choose exactly one (whole +0.00, oat +0.60); Extras: up to two (shot +0.90)."""
    milk = ok(
        manager_client.post(
            "/api/v1/modifier-groups/",
            {
                "name": "Milk",
                "min_choices": 1,
                "max_choices": 1,
                "modifiers": [
                    {"name": "Whole milk", "price_delta": "0.00"},
                    {"name": "Oat milk", "price_delta": "0.60"},
                ],
            },
            format="json",
        )
    )
    extras = ok(
        manager_client.post(
            "/api/v1/modifier-groups/",
            {
                "name": "Extras",
                "min_choices": 0,
                "max_choices": 2,
                "modifiers": [
                    {"name": "Extra shot", "price_delta": "0.90"},
                    {"name": "Syrup", "price_delta": "0.50"},
                ],
            },
            format="json",
        )
    )
    ok(
        manager_client.patch(
            f"/api/v1/products/{latte.pk}/",
            {"modifier_groups": [milk["id"], extras["id"]]},
            format="json",
        ),
        200,
    )
    ids = {m["name"]: m["id"] for g in (milk, extras) for m in g["modifiers"]}
    return {"milk": milk, "extras": extras, "ids": ids}


def price_list(client: APIClient, store: Store, items: dict[Product, str], **extra: Any) -> Any:
    return ok(
        client.post(
            "/api/v1/price-lists/",
            {
                "name": "Downtown",
                "stores": [store.pk],
                "items": [{"product": p.pk, "price": price} for p, price in items.items()],
                **extra,
            },
            format="json",
        )
    )


def promotion(client: APIClient, store: Store, **fields: Any) -> Any:
    body = {"name": "Happy hour", "stores": [store.pk], "kind": "percent_off", "value": "20"}
    return ok(client.post("/api/v1/promotions/", body | fields, format="json"))


def quote(client: APIClient, register: Register, lines: list[dict[str, Any]], **extra: Any) -> Any:
    return client.post(QUOTE_URL, {"register": register.pk, "lines": lines, **extra}, format="json")


def test_a_price_list_a_modifier_and_a_promotion_meet_on_one_line(
    manager_client: APIClient,
    cashier_client: APIClient,
    register: Register,
    store: Store,
    latte: Product,
    milk_group: dict[str, Any],
    open_shift: Shift,
) -> None:
    price_list(manager_client, store, {latte: "4.50"})
    promo = promotion(manager_client, store, products=[latte.pk])
    ids = milk_group["ids"]
    lines = [
        {"product": latte.pk, "quantity": "2", "modifiers": [ids["Oat milk"], ids["Extra shot"]]}
    ]

    priced = ok(quote(cashier_client, register, lines), 200)
    (line,) = priced["lines"]
    # 4.50 (price list) + 0.60 + 0.90 = 6.00; × 2 = 12.00; 20 % off = 2.40; tax 8.25 % of 9.60.
    assert line["unit_price"] == "6.00"
    assert line["modifiers"] == [
        {"id": ids["Oat milk"], "name": "Oat milk", "price_delta": "0.60"},
        {"id": ids["Extra shot"], "name": "Extra shot", "price_delta": "0.90"},
    ]
    assert (line["gross"], line["promotion"], line["promotion_discount"]) == (
        "12.00",
        promo["id"],
        "2.40",
    )
    assert (line["discount"], line["net"], line["tax"], line["total"]) == (
        "0.00",
        "9.60",
        "0.79",
        "10.39",
    )
    assert (priced["subtotal"], priced["promotion_total"], priced["total"]) == (
        "12.00",
        "2.40",
        "10.39",
    )
    assert priced["promotions"] == [
        {
            "id": promo["id"],
            "name": "Happy hour",
            "kind": "percent_off",
            "value": "20.00",
            "x": 0,
            "y": 0,
            "discount": "2.40",
        }
    ]

    # The sale prices it the same way, and keeps it all.
    body = {
        "register": register.pk,
        "lines": lines,
        "payments": [{"method": "cash", "amount": "10.39", "tendered": "20.00"}],
    }
    order = ok(cashier_client.post(ORDERS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="k1"))
    assert order["lines"][0] | {"id": 0, "refunded_quantity": "", "refunded_total": ""} == {
        **line,
        "id": 0,
        "refunded_quantity": "",
        "refunded_total": "",
    }
    assert (order["promotion_total"], order["promotions"], order["total"]) == (
        "2.40",
        priced["promotions"],
        "10.39",
    )

    # Later catalog edits change nothing of the order.
    ok(
        manager_client.patch(
            f"/api/v1/promotions/{promo['id']}/", {"name": "Renamed"}, format="json"
        ),
        200,
    )
    milk = milk_group["extras"]
    ok(
        manager_client.patch(
            f"/api/v1/modifier-groups/{milk['id']}/",
            {"modifiers": [{"id": ids["Extra shot"], "name": "Double", "price_delta": "2.00"}]},
            format="json",
        ),
        200,
    )
    again = ok(cashier_client.get(f"{ORDERS_URL}{order['id']}/"), 200)
    assert again["lines"][0]["modifiers"] == line["modifiers"]
    assert again["lines"][0]["promotion_name"] == "Happy hour"
    assert again["promotions"][0]["name"] == "Happy hour"

    # The receipt shows the modifiers under the line and the promotion.
    receipt = cashier_client.get(f"{ORDERS_URL}{order['id']}/receipt/").content.decode()
    assert "  + Oat milk" in receipt
    assert "+0.60" in receipt
    assert "  Happy hour" in receipt
    assert "-2.40" in receipt
    assert "Promotions" in receipt

    # Refunded in full, the line returns exactly its total.
    refund = ok(
        manager_client.post(
            f"{ORDERS_URL}{order['id']}/refunds/",
            {"lines": [{"line": order["lines"][0]["id"], "quantity": "2"}], "reason": "spilt"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="r1",
        )
    )
    assert refund["total"] == "10.39"


def test_modifier_rules_are_enforced_naming_the_line(
    cashier_client: APIClient,
    register: Register,
    latte: Product,
    milk_group: dict[str, Any],
    tax_rate: Any,
) -> None:
    ids = milk_group["ids"]
    other = ProductFactory(price=D("1.00"), tax_rate=tax_rate)
    cases = [
        [],  # Milk needs one
        [ids["Oat milk"], ids["Whole milk"]],  # at most one milk
        [ids["Oat milk"], ids["Oat milk"]],  # twice
        [ids["Oat milk"], ids["Extra shot"], ids["Syrup"], 999999],  # unknown id
    ]
    for chosen in cases:
        response = quote(
            cashier_client,
            register,
            [
                {"product": other.pk, "quantity": "1"},
                {"product": latte.pk, "quantity": "1", "modifiers": chosen},
            ],
        )
        assert response.status_code == 400, (chosen, response.content)
        assert "lines.1.modifiers" in response.json()["errors"], response.json()
    # A modifier of another product's group.
    response = quote(
        cashier_client,
        register,
        [{"product": other.pk, "quantity": "1", "modifiers": [ids["Oat milk"]]}],
    )
    assert response.status_code == 400
    assert "lines.0.modifiers" in response.json()["errors"]


def test_a_template_is_not_sold_its_variants_are(
    manager_client: APIClient,
    cashier_client: APIClient,
    register: Register,
    store: Store,
    tax_rate: Any,
) -> None:
    shirt = ProductFactory(name="T-shirt", price=D("15.00"), tax_rate=tax_rate)
    medium = ok(
        manager_client.post(
            "/api/v1/products/",
            {
                "sku": "TS-M",
                "name": "T-shirt M",
                "price": "16.00",
                "tax_rate": tax_rate.pk,
                "track_stock": False,
                "variant_of": shirt.pk,
                "options": {"size": "M"},
            },
            format="json",
        )
    )
    response = quote(cashier_client, register, [{"product": shirt.pk, "quantity": "1"}])
    assert response.status_code == 400
    assert "template" in response.json()["errors"]["lines.0.product"][0]
    priced = ok(quote(cashier_client, register, [{"product": medium["id"], "quantity": "1"}]), 200)
    assert priced["lines"][0]["unit_price"] == "16.00"


def test_a_price_list_applies_only_in_its_stores_and_while_valid(
    manager_client: APIClient,
    cashier_client: APIClient,
    admin_client: APIClient,
    register: Register,
    store: Store,
    latte: Product,
) -> None:
    elsewhere = StoreFactory()
    price_list(admin_client, elsewhere, {latte: "1.00"})
    now = timezone.now()
    price_list(
        manager_client,
        store,
        {latte: "2.00"},
        valid_from=(now + dt.timedelta(hours=1)).isoformat(),
        priority=5,
    )
    price_list(
        manager_client,
        store,
        {latte: "3.00"},
        valid_to=(now - dt.timedelta(hours=1)).isoformat(),
        priority=9,
    )

    def unit_price() -> str:
        body = ok(quote(cashier_client, register, [{"product": latte.pk, "quantity": "1"}]), 200)
        return str(body["lines"][0]["unit_price"])

    assert unit_price() == "5.00"
    price_list(manager_client, store, {latte: "4.25"}, priority=1)
    price_list(manager_client, store, {latte: "4.75"}, priority=0)
    assert unit_price() == "4.25"  # the highest priority in force


def test_a_promotion_outside_its_hours_does_not_apply(
    manager_client: APIClient,
    cashier_client: APIClient,
    register: Register,
    store: Store,
    latte: Product,
) -> None:
    local = timezone.localtime(timezone.now(), store.tzinfo)
    other_day = local.isoweekday() % 7 + 1
    promotion(manager_client, store, products=[latte.pk], days_of_week=[other_day])
    body = ok(quote(cashier_client, register, [{"product": latte.pk, "quantity": "1"}]), 200)
    assert body["lines"][0]["promotion"] is None
    assert body["promotion_total"] == "0.00"
    promotion(
        manager_client, store, products=[latte.pk], days_of_week=[local.isoweekday()], value="10"
    )
    body = ok(quote(cashier_client, register, [{"product": latte.pk, "quantity": "1"}]), 200)
    assert body["lines"][0]["promotion_discount"] == "0.50"


def test_buy_two_get_one_across_a_category_and_the_report_counts_it(
    manager_client: APIClient,
    cashier_client: APIClient,
    register: Register,
    store: Store,
    tax_rate: Any,
    open_shift: Shift,
    cashier: User,
) -> None:
    category = ok(manager_client.post("/api/v1/categories/", {"name": "Pastries"}, format="json"))
    sub = ok(
        manager_client.post(
            "/api/v1/categories/", {"name": "Croissants", "parent": category["id"]}, format="json"
        )
    )
    cheap = ProductFactory(
        price=D("2.00"), tax_rate=tax_rate, category_id=sub["id"], track_stock=False
    )
    dear = ProductFactory(
        price=D("3.00"), tax_rate=tax_rate, category_id=sub["id"], track_stock=False
    )
    promo = promotion(
        manager_client,
        store,
        name="3 for 2",
        kind="buy_x_get_y",
        x=2,
        y=1,
        value="100",
        categories=[category["id"]],
    )
    lines = [{"product": dear.pk, "quantity": "2"}, {"product": cheap.pk, "quantity": "1"}]
    priced = ok(quote(cashier_client, register, lines), 200)
    assert [ln["promotion_discount"] for ln in priced["lines"]] == ["0.00", "2.00"]
    order = ok(
        cashier_client.post(
            ORDERS_URL,
            {
                "register": register.pk,
                "lines": lines,
                "payments": [{"method": "card", "amount": priced["total"]}],
            },
            format="json",
            HTTP_IDEMPOTENCY_KEY="bogo",
        )
    )
    figures = daily_report_figures(
        store=store,
        date=timezone.localdate(Order.objects.get(pk=order["id"]).created_at, store.tzinfo),
    )
    assert figures["promotion_total"] == "2.00"
    assert figures["by_promotion"] == [
        {"promotion": promo["id"], "name": "3 for 2", "lines": 1, "discount": "2.00"}
    ]


def test_a_held_order_keeps_its_modifiers_and_the_sale_completes_it_with_them(
    cashier_client: APIClient,
    register: Register,
    latte: Product,
    milk_group: dict[str, Any],
    open_shift: Shift,
) -> None:
    ids = milk_group["ids"]
    lines = [{"product": latte.pk, "quantity": "1", "modifiers": [ids["Oat milk"]]}]
    held = ok(
        cashier_client.post(
            "/api/v1/held-orders/", {"register": register.pk, "lines": lines}, format="json"
        )
    )
    assert held["lines"][0]["unit_price"] == "5.60"
    assert held["lines"][0]["modifiers"][0]["name"] == "Oat milk"
    order = ok(
        cashier_client.post(
            ORDERS_URL,
            {
                "register": register.pk,
                "held_order": held["id"],
                "payments": [{"method": "card", "amount": held["total"]}],
            },
            format="json",
            HTTP_IDEMPOTENCY_KEY="held-1",
        )
    )
    assert order["lines"][0]["modifiers"] == held["lines"][0]["modifiers"]
    assert order["total"] == held["total"]
