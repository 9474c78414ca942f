"""`/api/v1/products/`: reads for every role, writes for managers and admins, `cost` hidden from
cashiers, filters, stable ordering, pinned query counts, and the cached barcode lookup."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from catalog import cache
from catalog.models import Product, StockLevel, StockReason
from catalog.services import StockChange, product_update, stock_apply
from monitoring.metrics import CACHE_REQUESTS
from tests.catalog.factories import CategoryFactory, ProductFactory, TaxRateFactory
from tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/products/"


def detail(product: Product) -> str:
    return f"{URL}{product.pk}/"


def new_product_body(tax, **overrides):
    body = {
        "sku": "COF-250",
        "barcode": "4006381333931",
        "name": "Coffee 250 g",
        "price": "4.99",
        "cost": "2.10",
        "tax_rate": tax.pk,
        "track_stock": True,
    }
    body.update(overrides)
    return body


# --- writes and roles ------------------------------------------------------------------------


def test_manager_creates_a_product_with_a_version_and_an_audit_event(
    manager_client, manager, store
) -> None:
    tax = TaxRateFactory()
    response = manager_client.post(URL, new_product_body(tax), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["price"] == "4.99"
    assert body["cost"] == "2.10"
    assert body["version"] >= 1
    assert body["is_active"] is True
    assert body["updated_at"].endswith(("Z", "+00:00"))
    product = Product.objects.get(pk=body["id"])
    assert product.version == body["version"]
    # Every store gets its (zero) level, so the stock list shows the new product.
    assert StockLevel.objects.get(store=store, product=product).quantity == 0
    event = AuditEvent.objects.get(action="product.created")
    assert event.actor_id == manager.pk
    assert event.object_id == str(product.pk)
    assert event.changes["price"] == "4.99"


def test_client_cannot_set_version_or_updated_at(manager_client) -> None:
    tax = TaxRateFactory()
    body = new_product_body(tax, version=999_999, updated_at="2001-01-01T00:00:00Z")
    response = manager_client.post(URL, body, format="json")
    assert response.status_code == 201
    assert response.json()["version"] != 999_999
    assert not response.json()["updated_at"].startswith("2001")


def test_cashier_cannot_write(cashier_client) -> None:
    tax = TaxRateFactory()
    product = ProductFactory()
    assert cashier_client.post(URL, new_product_body(tax), format="json").status_code == 403
    assert (
        cashier_client.patch(detail(product), {"price": "1.00"}, format="json").status_code == 403
    )
    assert cashier_client.delete(detail(product)).status_code == 403


def test_anonymous_gets_401(api_client) -> None:
    assert api_client.get(URL).status_code == 401


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("price", "-1.00"),
        ("price", "1.2345"),
        ("cost", "-0.01"),
        ("sku", ""),
        ("name", "   "),
        ("tax_rate", 999_999),
        ("category", 999_999),
    ],
)
def test_invalid_fields_are_400_with_the_field_named(manager_client, field, value) -> None:
    tax = TaxRateFactory()
    response = manager_client.post(URL, new_product_body(tax, **{field: value}), format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["errors"]


def test_sku_and_barcode_are_unique(manager_client) -> None:
    existing = ProductFactory(sku="A-1", barcode="111")
    tax = TaxRateFactory()
    dup_sku = manager_client.post(URL, new_product_body(tax, sku="A-1"), format="json")
    assert dup_sku.status_code == 400
    assert "sku" in dup_sku.json()["errors"]
    dup_barcode = manager_client.post(
        URL, new_product_body(tax, sku="B-1", barcode="111"), format="json"
    )
    assert dup_barcode.status_code == 400
    assert "barcode" in dup_barcode.json()["errors"]
    # Updating a product with its own barcode is not a clash.
    same = manager_client.patch(detail(existing), {"barcode": "111"}, format="json")
    assert same.status_code == 200


def test_blank_barcodes_become_null_and_do_not_clash(manager_client) -> None:
    tax = TaxRateFactory()
    first = manager_client.post(URL, new_product_body(tax, sku="N-1", barcode=""), format="json")
    second = manager_client.post(URL, new_product_body(tax, sku="N-2", barcode=None), format="json")
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["barcode"] is None
    assert second.json()["barcode"] is None


def test_price_change_takes_a_new_version_and_is_audited_before_after(
    manager_client, manager
) -> None:
    product = ProductFactory(price=Decimal("4.99"))
    response = manager_client.patch(detail(product), {"price": "5.49"}, format="json")
    assert response.status_code == 200
    assert response.json()["price"] == "5.49"
    assert response.json()["version"] > product.version
    event = AuditEvent.objects.get(action="product.price_changed")
    assert event.changes["price"] == {"before": "4.99", "after": "5.49"}
    assert event.actor_id == manager.pk


def test_an_update_that_changes_nothing_takes_no_version(manager_client) -> None:
    product = ProductFactory(price=Decimal("4.99"), version=3)
    response = manager_client.patch(
        detail(product), {"price": "4.99", "name": product.name}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["version"] == 3
    assert not AuditEvent.objects.filter(action="product.price_changed").exists()


def test_delete_of_an_unsold_product_works(manager_client, admin_client, store) -> None:
    product = ProductFactory()
    StockLevel.objects.create(store=store, product=product)
    response = admin_client.delete(detail(product))
    assert response.status_code == 204
    assert not Product.objects.filter(pk=product.pk).exists()
    assert AuditEvent.objects.filter(action="product.deleted").exists()


def test_delete_of_a_moved_product_is_409_and_deactivation_is_the_way(
    manager_client, store
) -> None:
    product = ProductFactory()
    stock_apply(
        store=store,
        changes=[StockChange(product=product, quantity_delta=Decimal("1"))],
        reason=StockReason.RECEIVE,
        source_type="adjustment",
        source_id=None,
        user=None,
    )
    response = manager_client.delete(detail(product))
    assert response.status_code == 409
    assert response.json()["code"] == "product_in_use"
    assert Product.objects.filter(pk=product.pk).exists()

    deactivated = manager_client.patch(detail(product), {"is_active": False}, format="json")
    assert deactivated.status_code == 200
    assert deactivated.json()["is_active"] is False


# --- cost visibility ---------------------------------------------------------------------------


def test_cashier_never_sees_cost(cashier_client) -> None:
    product = ProductFactory(barcode="777")
    listing = cashier_client.get(URL).json()["results"][0]
    single = cashier_client.get(detail(product)).json()
    scan = cashier_client.get(URL, {"barcode": "777"}).json()["results"][0]
    scan_again = cashier_client.get(URL, {"barcode": "777"}).json()["results"][0]  # cached
    sync = cashier_client.get(URL, {"since_version": 0}).json()["results"]
    for shape in (listing, single, scan, scan_again):
        assert "cost" not in shape
        assert shape["price"] == "4.99"
    assert all("cost" not in row for row in sync)


def test_manager_and_admin_see_cost(manager_client, admin_client) -> None:
    ProductFactory(cost=Decimal("2.00"), barcode="888")
    for client in (manager_client, admin_client):
        assert client.get(URL).json()["results"][0]["cost"] == "2.00"
        assert client.get(URL, {"barcode": "888"}).json()["results"][0]["cost"] == "2.00"


# --- filters and ordering ------------------------------------------------------------------------


def test_filters(cashier_client) -> None:
    drinks, food = CategoryFactory(name="Drinks"), CategoryFactory(name="Food")
    cola = ProductFactory(sku="DR-COLA", name="Cola 0.5 l", barcode="5000112", category=drinks)
    tea = ProductFactory(sku="DR-TEA", name="Green tea", barcode="5000113", category=drinks)
    bread = ProductFactory(sku="FO-BREAD", name="Bread", category=food, is_active=False)

    def ids(**params):
        response = cashier_client.get(URL, params)
        assert response.status_code == 200, response.json()
        return [row["id"] for row in response.json()["results"]]

    assert ids(barcode="5000112") == [cola.pk]
    assert ids(barcode="nope") == []
    assert ids(search="tea") == [tea.pk]
    assert ids(search="dr-") == [cola.pk, tea.pk]  # sku, case-insensitive
    assert ids(search="BREAD") == [bread.pk]
    assert ids(category=drinks.pk) == [cola.pk, tea.pk]
    assert ids(is_active="false") == [bread.pk]
    assert ids(is_active="true", category=drinks.pk) == [cola.pk, tea.pk]
    assert ids() == [cola.pk, tea.pk, bread.pk]  # every product, by id


def test_bad_filter_values_are_400(cashier_client) -> None:
    for params in ({"category": "x"}, {"since_version": "-1"}, {"since_version": "1.5"}):
        response = cashier_client.get(URL, params)
        assert response.status_code == 400, params
        assert response.json()["code"] == "validation_error"


def test_page_size_is_clamped_and_ordering_stable(cashier_client) -> None:
    ProductFactory.create_batch(5)
    first = cashier_client.get(URL, {"page_size": 2}).json()
    second = cashier_client.get(URL, {"page_size": 2, "page": 2}).json()
    assert first["count"] == 5
    ids = [r["id"] for r in first["results"]] + [r["id"] for r in second["results"]]
    assert ids == sorted(ids)
    assert len(set(ids)) == 4


# --- query counts --------------------------------------------------------------------------------


def _queries(client, params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(URL, params)
    assert response.status_code == 200
    return len(ctx.captured_queries)


def _auth_queries(client) -> int:
    """What authentication alone costs once warm (a request refused by the filter validation,
    before any catalog query). Authentication may cache the user: measure the second call."""
    client.get(URL, {"category": "x"})
    with CaptureQueriesContext(connection) as ctx:
        client.get(URL, {"category": "x"})  # 400 from the filter: auth only
    assert not any("catalog_" in q["sql"] for q in ctx.captured_queries)
    return len(ctx.captured_queries)


def test_product_list_queries_are_few_and_independent_of_page_size(manager_client) -> None:
    category = CategoryFactory()
    ProductFactory.create_batch(60, category=category)
    auth = _auth_queries(manager_client)

    small = _queries(manager_client, {"page_size": 1})
    large = _queries(manager_client, {"page_size": 200})
    filtered = _queries(manager_client, {"page_size": 200, "category": category.pk, "search": "P"})
    sync = _queries(manager_client, {"page_size": 200, "since_version": 0})

    assert small == large == filtered
    assert large - auth <= 4
    assert sync - auth <= 4


def test_barcode_lookup_hits_the_cache_with_no_query_beyond_auth(cashier_client) -> None:
    ProductFactory(barcode="4006381333931")
    auth = _auth_queries(cashier_client)
    hits = CACHE_REQUESTS.labels(cache=cache.BARCODE, result="hit")
    misses = CACHE_REQUESTS.labels(cache=cache.BARCODE, result="miss")
    hits_before, misses_before = hits._value.get(), misses._value.get()

    first = cashier_client.get(URL, {"barcode": "4006381333931"})
    with CaptureQueriesContext(connection) as ctx:
        second = cashier_client.get(URL, {"barcode": "4006381333931"})

    assert first.json() == second.json()
    assert second.json()["count"] == 1
    assert not any("catalog_" in q["sql"] for q in ctx.captured_queries)
    assert len(ctx.captured_queries) <= auth
    assert misses._value.get() == misses_before + 1
    assert hits._value.get() == hits_before + 1


def test_barcode_cache_is_invalidated_by_every_product_write(
    manager_client, django_capture_on_commit_callbacks
) -> None:
    product = ProductFactory(barcode="123", price=Decimal("1.00"))

    def scan(code):
        return manager_client.get(URL, {"barcode": code}).json()

    def write(method, *args):
        with django_capture_on_commit_callbacks(execute=True):
            response = getattr(manager_client, method)(*args, format="json")
        assert response.status_code in (200, 201), response.json()

    assert scan("123")["results"][0]["price"] == "1.00"
    write("patch", detail(product), {"price": "2.00"})
    assert scan("123")["results"][0]["price"] == "2.00"

    write("patch", detail(product), {"barcode": "456"})
    assert scan("123")["count"] == 0
    assert scan("456")["count"] == 1

    # An unknown barcode is cached as "none" and still appears once a product takes it.
    assert scan("999")["count"] == 0
    write("post", URL, new_product_body(TaxRateFactory(), sku="NEW", barcode="999"))
    assert scan("999")["count"] == 1


def test_service_writes_outside_the_api_invalidate_too(
    cashier_client, django_capture_on_commit_callbacks
) -> None:
    product = ProductFactory(barcode="321", name="Old")
    assert cashier_client.get(URL, {"barcode": "321"}).json()["results"][0]["name"] == "Old"
    with django_capture_on_commit_callbacks(execute=True):
        product_update(product=product, user=None, name="New")
    assert cashier_client.get(URL, {"barcode": "321"}).json()["results"][0]["name"] == "New"


def test_barcode_lookup_works_with_the_cache_down(cashier_client, cache_down) -> None:
    ProductFactory(barcode="42")
    for _ in range(2):
        response = cashier_client.get(URL, {"barcode": "42"})
        assert response.status_code == 200
        assert response.json()["count"] == 1


def test_other_stores_do_not_matter_for_the_catalog(cashier_client) -> None:
    """The catalog is merchant-wide: a cashier of one store sees every product."""
    StoreFactory()
    ProductFactory.create_batch(2)
    assert cashier_client.get(URL).json()["count"] == 2
