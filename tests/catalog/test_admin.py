"""The catalog admin: saves through the services (versions, audit), read-only stock scoped to
the manager's stores, the stock adjustment form, and the CSV import for managers."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from audit.models import AuditEvent
from catalog.models import ModifierGroup, Product, StockLevel, StockMovement
from catalog.services import stock_adjust
from ledger.models import JournalEntry
from tests.catalog.factories import ProductFactory, TaxRateFactory, set_stock
from tests.factories import ManagerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_admin(store, django_capture_on_commit_callbacks) -> Client:
    manager = ManagerFactory(stores=[store])
    manager.groups.add(Group.objects.get(name="manager"))
    client = Client()
    client.force_login(manager)
    client.user = manager  # type: ignore[attr-defined]
    return client


def product_form(tax, **overrides):
    data = {
        "sku": "ADM-1",
        "barcode": "",
        "name": "Admin product",
        "category": "",
        "price": "3.50",
        "cost": "1.00",
        "tax_rate": tax.pk,
        "track_stock": "on",
        "is_active": "on",
        "options": "{}",
        # The (read-only) variants inline's management form.
        "variants-TOTAL_FORMS": "0",
        "variants-INITIAL_FORMS": "0",
    }
    data.update(overrides)
    return data


def test_product_add_and_price_change_go_through_the_services(manager_admin) -> None:
    tax = TaxRateFactory()
    response = manager_admin.post("/admin/catalog/product/add/", product_form(tax))
    assert response.status_code == 302, response.content.decode()[:2000]
    product = Product.objects.get(sku="ADM-1")
    assert product.version > 0
    assert product.barcode is None
    assert AuditEvent.objects.filter(action="product.created", object_id=str(product.pk)).exists()

    first_version = product.version
    response = manager_admin.post(
        f"/admin/catalog/product/{product.pk}/change/", product_form(tax, price="3.99")
    )
    assert response.status_code == 302
    product.refresh_from_db()
    assert product.price == Decimal("3.99")
    assert product.version > first_version
    event = AuditEvent.objects.get(action="product.price_changed")
    assert event.changes["price"] == {"before": "3.50", "after": "3.99"}
    assert event.actor_id == manager_admin.user.pk


def test_manager_cannot_delete_products(manager_admin) -> None:
    product = ProductFactory()
    response = manager_admin.post(f"/admin/catalog/product/{product.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert Product.objects.filter(pk=product.pk).exists()


def test_deleting_a_moved_product_in_the_admin_is_refused(admin_user, store) -> None:
    admin_user.groups.add(Group.objects.get(name="admin"))
    client = Client()
    client.force_login(admin_user)
    product = ProductFactory()
    stock_adjust(
        store=store, product=product, quantity_delta=Decimal("1"), reason="receive", user=None
    )
    response = client.post(
        f"/admin/catalog/product/{product.pk}/delete/", {"post": "yes"}, follow=True
    )
    assert response.status_code == 200
    assert any("deactivate" in str(m) for m in response.context["messages"])
    assert Product.objects.filter(pk=product.pk).exists()

    unsold = ProductFactory()
    deleted = client.post(f"/admin/catalog/product/{unsold.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    assert not Product.objects.filter(pk=unsold.pk).exists()


def test_stock_levels_are_read_only_and_scoped(manager_admin, store, other_store) -> None:
    product = ProductFactory(sku="SCOPED")
    mine = set_stock(store, product, 5)
    theirs = set_stock(other_store, product, 6)

    listing = manager_admin.get("/admin/catalog/stocklevel/")
    assert listing.status_code == 200
    shown = listing.context["cl"].result_list
    assert list(shown) == [mine]
    assert manager_admin.get(f"/admin/catalog/stocklevel/{theirs.pk}/change/").status_code == 302
    assert manager_admin.get("/admin/catalog/stocklevel/add/").status_code == 403


def test_stock_adjustment_form_goes_through_stock_adjust(manager_admin, store, other_store) -> None:
    product = ProductFactory(cost=Decimal("2.00"))
    set_stock(store, product, 1)

    response = manager_admin.post(
        "/admin/catalog/stockmovement/add/",
        {
            "store": store.pk,
            "product": product.pk,
            "quantity_delta": "3",
            "reason": "receive",
            "note": "admin delivery",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    movement = StockMovement.objects.get()
    assert (movement.quantity_after, movement.user_id) == (Decimal("4.000"), manager_admin.user.pk)
    assert StockLevel.objects.get(store=store, product=product).quantity == Decimal("4.000")
    assert JournalEntry.objects.filter(source="stock_adjustment", source_id=movement.pk).exists()

    # Another store is not a choice; an oversell is an error message, not a 500.
    other = manager_admin.post(
        "/admin/catalog/stockmovement/add/",
        {
            "store": other_store.pk,
            "product": product.pk,
            "quantity_delta": "1",
            "reason": "receive",
        },
    )
    assert other.status_code == 200
    assert "store" in other.context["adminform"].form.errors
    short = manager_admin.post(
        "/admin/catalog/stockmovement/add/",
        {"store": store.pk, "product": product.pk, "quantity_delta": "-10", "reason": "damage"},
        follow=True,
    )
    assert short.status_code == 200
    assert any("stock" in str(m).lower() for m in short.context["messages"])
    assert StockMovement.objects.count() == 1


def _upload(client, text: str):
    return client.post(
        "/admin/catalog/product/import/",
        {
            "resource": "0",
            "format": "0",
            "import_file": SimpleUploadedFile("products.csv", text.encode(), "text/csv"),
        },
    )


def test_admin_csv_import_good_file_then_confirm(manager_admin) -> None:
    tax = TaxRateFactory()
    text = (
        "sku,barcode,name,category,price,cost,tax_rate,track_stock,is_active\n"
        f"CSV-1,9000001,From CSV,,1.25,0.50,{tax.pk},1,1\n"
    )
    preview = _upload(manager_admin, text)
    assert preview.status_code == 200
    confirm = preview.context["confirm_form"]
    assert confirm is not None
    assert not Product.objects.filter(sku="CSV-1").exists()  # the preview was a dry run

    done = manager_admin.post("/admin/catalog/product/process_import/", confirm.initial)
    assert done.status_code == 302
    product = Product.objects.get(sku="CSV-1")
    assert product.version > 0
    assert AuditEvent.objects.filter(action="product.imported").exists()


def test_admin_csv_import_bad_row_is_shown_and_nothing_imported(manager_admin) -> None:
    tax = TaxRateFactory()
    text = (
        "sku,barcode,name,category,price,cost,tax_rate,track_stock,is_active\n"
        f"CSV-1,,Good,,1.25,,{tax.pk},1,1\n"
        f"CSV-2,,Bad,,abc,,{tax.pk},1,1\n"
    )
    preview = _upload(manager_admin, text)
    assert preview.status_code == 200
    result = preview.context["result"]
    assert [row.number for row in result.invalid_rows] == [2]  # data row 2 = line 3
    assert "price" in result.invalid_rows[0].error_dict
    assert preview.context.get("confirm_form") is None
    assert not Product.objects.filter(sku__startswith="CSV").exists()


def test_admin_export_csv(manager_admin) -> None:
    ProductFactory(sku="EXP-1")
    from catalog.imports import COLUMNS

    response = manager_admin.post(
        "/admin/catalog/product/export/",
        {"format": "0", "resource": "0", **{f"productresource_{c}": "on" for c in COLUMNS}},
    )
    assert response.status_code == 200
    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert content.startswith(b"sku,barcode,name")
    assert b"EXP-1" in content


def _modifier_inline(rows, initial=0):
    data = {
        "modifiers-TOTAL_FORMS": str(len(rows)),
        "modifiers-INITIAL_FORMS": str(initial),
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"modifiers-{index}-{key}"] = value
    return data


def test_modifier_groups_save_through_the_service_with_their_modifiers(manager_admin) -> None:
    form = {"name": "Size", "min_choices": "1", "max_choices": "1", "is_active": "on"}
    rows = [
        {"name": "Small", "price_delta": "-0.50", "is_active": "on"},
        {"name": "Large", "price_delta": "0.70", "is_active": "on"},
    ]
    response = manager_admin.post(
        "/admin/catalog/modifiergroup/add/", {**form, **_modifier_inline(rows)}
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    group = ModifierGroup.objects.get(name="Size")
    assert group.version > 0
    small, large = group.modifiers.order_by("position")
    assert (small.name, small.price_delta, large.name) == ("Small", Decimal("-0.500"), "Large")
    assert AuditEvent.objects.filter(
        action="modifier_group.created", object_id=str(group.pk)
    ).exists()

    # Removing a row deactivates that modifier; nothing is deleted.
    rows = [
        {
            "id": str(small.pk),
            "group": str(group.pk),
            "name": "Small",
            "price_delta": "-0.50",
            "is_active": "on",
            "DELETE": "on",
        },
        {
            "id": str(large.pk),
            "group": str(group.pk),
            "name": "Large",
            "price_delta": "0.80",
            "is_active": "on",
        },
    ]
    response = manager_admin.post(
        f"/admin/catalog/modifiergroup/{group.pk}/change/",
        {**form, **_modifier_inline(rows, initial=2)},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    small.refresh_from_db()
    large.refresh_from_db()
    assert not small.is_active
    assert large.price_delta == Decimal("0.800")
    assert ModifierGroup.objects.get(pk=group.pk).version > group.version


def test_product_admin_attaches_modifier_groups_and_a_template(manager_admin) -> None:
    tax = TaxRateFactory()
    template = ProductFactory(tax_rate=tax)
    group = ModifierGroup.objects.create(name="Milk")
    response = manager_admin.post(
        "/admin/catalog/product/add/",
        product_form(
            tax, variant_of=template.pk, options='{"size": "M"}', modifier_groups=[group.pk]
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    variant = Product.objects.get(sku="ADM-1")
    assert variant.variant_of_id == template.pk
    assert variant.options == {"size": "M"}
    assert list(variant.modifier_groups.all()) == [group]
    template.refresh_from_db()
    assert template.is_template
    page = manager_admin.get(f"/admin/catalog/product/{template.pk}/change/")
    assert "ADM-1" in page.content.decode()  # the variants inline
