"""CSV import/export of products: the API's validation, the services' write path (versions,
levels, audit), line-numbered errors, and nothing half-imported."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from audit.models import AuditEvent
from catalog.imports import product_export_csv, product_import_csv
from catalog.models import Product, StockLevel
from catalog.services import catalog_version_current
from tests.catalog.factories import CategoryFactory, ProductFactory, TaxRateFactory

pytestmark = pytest.mark.django_db

HEADER = "sku,barcode,name,category,price,cost,tax_rate,track_stock,is_active"


def csv_text(*lines: str) -> str:
    return "\n".join([HEADER, *lines]) + "\n"


def test_good_file_creates_and_updates_with_versions_levels_and_audit(store, manager) -> None:
    tax = TaxRateFactory()
    category = CategoryFactory()
    existing = ProductFactory(sku="OLD-1", price=Decimal("1.00"), version=0)
    version_before = catalog_version_current()

    report = product_import_csv(
        text=csv_text(
            f"NEW-1,5000001,Tea,{category.pk},2.50,1.10,{tax.pk},1,1",
            f"NEW-2,,Bag,,0.10,,{tax.pk},0,1",
            f"OLD-1,,Renamed,,1.50,,{tax.pk},,",
        ),
        user=manager,
    )

    assert report.ok, report.errors
    assert (report.created, report.updated) == (2, 1)
    tea = Product.objects.get(sku="NEW-1")
    assert (tea.barcode, tea.category_id, tea.price, tea.cost) == (
        "5000001",
        category.pk,
        Decimal("2.50"),
        Decimal("1.10"),
    )
    bag = Product.objects.get(sku="NEW-2")
    assert (bag.barcode, bag.track_stock, bag.cost) == (None, False, Decimal("0.00"))
    existing.refresh_from_db()
    assert (existing.name, existing.price, existing.track_stock) == (
        "Renamed",
        Decimal("1.50"),
        True,
    )

    versions = sorted(Product.objects.values_list("version", flat=True))
    assert versions == list(range(version_before + 1, version_before + 4))
    assert catalog_version_current() == version_before + 3
    assert StockLevel.objects.filter(store=store, product=tea).exists()
    assert not StockLevel.objects.filter(product=bag).exists()
    price_event = AuditEvent.objects.get(action="product.price_changed")
    assert price_event.changes["price"] == {"before": "1.00", "after": "1.50"}
    assert AuditEvent.objects.get(action="product.imported").changes["created"] == 2


def test_a_bad_row_is_reported_with_its_line_and_nothing_is_imported(manager) -> None:
    tax = TaxRateFactory()
    existing = ProductFactory(sku="OLD-1", name="Kept")
    version_before = catalog_version_current()

    report = product_import_csv(
        text=csv_text(
            f"NEW-1,,Tea,,2.50,,{tax.pk},1,1",
            f"OLD-1,,Changed,,3.00,,{tax.pk},1,1",
            f"NEW-2,,Broken,,-4.00,,{tax.pk},1,1",  # line 4: negative price
            "NEW-3,,No tax,,1.00,,999999,1,1",  # line 5: unknown tax rate
        ),
        user=manager,
    )

    assert not report.ok
    assert [e["line"] for e in report.errors] == [4, 5]
    assert "price" in report.errors[0]["errors"]
    assert "tax_rate" in report.errors[1]["errors"]
    assert (report.created, report.updated) == (0, 0)
    assert not Product.objects.filter(sku__startswith="NEW").exists()
    existing.refresh_from_db()
    assert existing.name == "Kept"
    assert catalog_version_current() == version_before
    assert not AuditEvent.objects.filter(action__startswith="product.").exists()


def test_duplicates_inside_the_file_name_the_first_line(manager) -> None:
    tax = TaxRateFactory()
    report = product_import_csv(
        text=csv_text(
            f"A,111,One,,1.00,,{tax.pk},1,1",
            f"B,111,Two,,1.00,,{tax.pk},1,1",
            f"A,,Three,,1.00,,{tax.pk},1,1",
        ),
        user=manager,
    )
    assert [(e["line"], e["errors"]) for e in report.errors] == [
        (3, {"barcode": ["Same barcode as line 2."]}),
        (4, {"sku": ["Same sku as line 2."]}),
    ]
    assert not Product.objects.exists()


def test_barcode_taken_by_another_product_is_refused(manager) -> None:
    tax = TaxRateFactory()
    ProductFactory(sku="X", barcode="222")
    report = product_import_csv(text=csv_text(f"Y,222,Y,,1.00,,{tax.pk},1,1"), user=manager)
    assert report.errors[0]["line"] == 2
    assert "barcode" in report.errors[0]["errors"]


def test_missing_required_column_is_reported(manager) -> None:
    report = product_import_csv(text="sku,name\nA,B\n", user=manager)
    assert not report.ok
    file_error = report.errors[-1]
    assert file_error["line"] is None
    assert "price" in file_error["errors"]["__all__"][0]
    assert not Product.objects.exists()


def test_dry_run_validates_without_writing(manager) -> None:
    tax = TaxRateFactory()
    report = product_import_csv(
        text=csv_text(f"A,,One,,1.00,,{tax.pk},1,1"), user=manager, dry_run=True
    )
    assert report.ok
    assert report.created == 1
    assert not Product.objects.exists()


def test_export_round_trips(manager) -> None:
    tax = TaxRateFactory()
    category = CategoryFactory()
    ProductFactory(sku="A", barcode="1", category=category, tax_rate=tax, price=Decimal("2.00"))
    ProductFactory(sku="B", barcode=None, tax_rate=tax, track_stock=False)

    exported = product_export_csv()
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [r["sku"] for r in rows] == ["A", "B"]
    assert rows[0]["category"] == str(category.pk)
    assert rows[0]["price"] == "2.00"
    assert rows[0]["cost"] == "2.00"

    report = product_import_csv(text=exported, user=manager)
    assert report.ok, report.errors
    assert (report.created, report.updated) == (0, 2)
    assert Product.objects.get(sku="B").barcode is None
    assert Product.objects.get(sku="B").track_stock is False
