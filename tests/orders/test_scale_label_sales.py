"""Selling a scale label (issue 17, scale barcodes): a sale line may carry the label's barcode
instead of a product and a quantity; a weight label sells its weight at the store's price, a
price label one unit at the printed price. Quote, sale and held order alike."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Register, Store
from catalog.models import Product
from catalog.scale_barcodes import ean13_check_digit
from orders.models import Shift
from tests.catalog.factories import ProductFactory
from tests.orders.factories import ORDERS_URL, QUOTE_URL
from tests.pricebook.factories import PriceListFactory, PriceListItemFactory

pytestmark = pytest.mark.django_db


def label(prefix: str, item: str, value: str) -> str:
    first12 = prefix + item + value
    return first12 + ean13_check_digit(first12)


def wrong_check_digit(barcode: str) -> str:
    return barcode[:12] + str((int(barcode[12]) + 1) % 10)


@pytest.fixture
def cheese(store: Store, tax_rate: Any) -> Product:
    """24.50 a kg, scale code 04711; the store reads `21IIIIIWWWWWC` labels."""
    Store.objects.filter(pk=store.pk).update(scale_barcode_layout="21IIIIIWWWWWC")
    return ProductFactory(
        price=Decimal("24.50"), tax_rate=tax_rate, scale_code="04711", track_stock=False
    )


def quote(client: APIClient, register: Register, lines: list[dict[str, Any]]) -> Any:
    return client.post(QUOTE_URL, {"register": register.pk, "lines": lines}, format="json")


def test_a_weight_label_sells_its_weight_at_the_store_price(
    cashier_client: APIClient, register: Register, store: Store, cheese: Product, open_shift: Shift
) -> None:
    PriceListItemFactory(
        price_list=PriceListFactory(stores=[store]), product=cheese, price=Decimal("22.00")
    )
    lines = [{"barcode": label("21", "04711", "01250")}]
    response = quote(cashier_client, register, lines)
    assert response.status_code == 200, response.content
    (line,) = response.json()["lines"]
    assert (line["product"], line["quantity"], line["unit_price"], line["gross"]) == (
        cheese.pk,
        "1.250",
        "22.00",
        "27.50",
    )
    total = response.json()["total"]
    sale = cashier_client.post(
        ORDERS_URL,
        {
            "register": register.pk,
            "lines": lines,
            "payments": [{"method": "card", "amount": total}],
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="weighed",
    )
    assert sale.status_code == 201, sale.content
    assert sale.json()["lines"][0]["quantity"] == "1.250"


def test_a_price_label_sells_one_unit_at_the_printed_price(
    cashier_client: APIClient, register: Register, store: Store, cheese: Product, open_shift: Shift
) -> None:
    Store.objects.filter(pk=store.pk).update(scale_barcode_layout="20IIIIIPPPPPC")
    lines = [
        {"barcode": label("20", "04711", "00735")},
        {"product": cheese.pk, "quantity": "0.100"},
    ]
    response = quote(cashier_client, register, lines)
    assert response.status_code == 200, response.content
    first, second = response.json()["lines"]
    assert (first["quantity"], first["unit_price"], first["gross"]) == ("1.000", "7.35", "7.35")
    assert second["gross"] == "2.45"

    # A held ticket re-reads its label when the sale completes it.
    held = cashier_client.post(
        "/api/v1/held-orders/", {"register": register.pk, "lines": lines[:1]}, format="json"
    )
    assert held.status_code == 201, held.content
    sale = cashier_client.post(
        ORDERS_URL,
        {
            "register": register.pk,
            "held_order": held.json()["id"],
            "payments": [{"method": "cash", "amount": held.json()["total"]}],
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY="held-label",
    )
    assert sale.status_code == 201, sale.content
    assert sale.json()["lines"][0]["unit_price"] == "7.35"


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"barcode": wrong_check_digit(label("21", "04711", "01250"))}, "barcode"),
        ({"barcode": label("21", "99999", "01250")}, "barcode"),  # no such scale code
        ({"barcode": label("29", "04711", "01250")}, "barcode"),  # another layout's prefix
        ({"barcode": label("21", "04711", "00000")}, "barcode"),  # weighs nothing
        ({"barcode": label("21", "04711", "01250"), "quantity": "2"}, "quantity"),
        ({"barcode": "12345"}, "barcode"),  # not 13 digits
        ({"quantity": "1"}, "product"),  # neither product nor label
    ],
)
def test_labels_the_store_cannot_sell_are_refused_naming_the_line(
    cashier_client: APIClient, register: Register, cheese: Product, line: dict[str, Any], field: str
) -> None:
    good = {"product": cheese.pk, "quantity": "1"}
    response = quote(cashier_client, register, [good, line])
    assert response.status_code == 400, response.content
    assert f"lines.1.{field}" in response.json()["errors"], response.json()


@pytest.mark.parametrize(
    "number",
    [
        "4222222222222",  # a 13-digit Visa test number: no scale label starts with 4
        "4111111111111111",  # a 16-digit card number
        label("21", "04711", "01250")[:12] + "x",  # not all digits: no exemption either
    ],
)
def test_only_a_valid_scale_label_passes_the_card_number_guard(
    cashier_client: APIClient, register: Register, cheese: Product, number: str
) -> None:
    """The guard lets through exactly a 13-digit EAN-13 starting with 2 with its check digit,
    and only in a line's `barcode`; a card number there is refused and never echoed."""
    response = quote(cashier_client, register, [{"barcode": number}])
    assert response.status_code == 400, response.content
    if number.isdigit():
        assert response.json()["errors"] == {
            "lines.0.barcode": [
                "A full card number is not accepted; send reference and card_last4."
            ]
        }
        assert number not in response.text
    misplaced = quote(
        cashier_client,
        register,
        [{"product": cheese.pk, "quantity": "1", "note": label("21", "04711", "01250")}],
    )
    assert misplaced.status_code == 400  # a label-shaped number elsewhere is still refused
    assert "lines.0.note" in misplaced.json()["errors"]
