"""The pricebook admin saves through the services: a price list with its items (versions,
`product.price_changed`), a promotion with its relations; a manager is kept to their stores."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from audit.models import AuditEvent
from pricebook.models import PriceList, Promotion
from tests.catalog.factories import CategoryFactory, ProductFactory
from tests.factories import ManagerFactory
from tests.pricebook.factories import PriceListFactory, PriceListItemFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_admin(store) -> Client:
    manager = ManagerFactory(stores=[store])
    manager.groups.add(Group.objects.get(name="manager"))
    client = Client()
    client.force_login(manager)
    return client


def inline(prefix: str, rows: list[dict], initial: int = 0) -> dict:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, row in enumerate(rows):
        for key, value in row.items():
            data[f"{prefix}-{index}-{key}"] = value
    return data


def test_price_list_with_items_saved_through_the_service(manager_admin, store) -> None:
    a, b = ProductFactory(), ProductFactory()
    data = {
        "name": "Weekend",
        "stores": [str(store.pk)],
        "priority": "1",
        "valid_from_0": "",
        "valid_from_1": "",
        "valid_to_0": "",
        "valid_to_1": "",
        "is_active": "on",
        **inline(
            "items",
            [
                {"product": str(a.pk), "price": "2.50"},
                {"product": str(b.pk), "price": "3"},
            ],
        ),
    }

    response = manager_admin.post("/admin/pricebook/pricelist/add/", data)

    assert response.status_code == 302, response.content.decode()[:3000]
    price_list = PriceList.objects.get()
    assert price_list.version >= 1
    assert list(price_list.stores.all()) == [store]
    assert price_list.items.count() == 2
    assert AuditEvent.objects.filter(action="product.price_changed").count() == 2
    a.refresh_from_db()
    assert 1 <= a.version < price_list.version


def test_removing_an_item_in_the_admin_goes_through_the_service(manager_admin, store) -> None:
    product, other = ProductFactory(), ProductFactory()
    price_list = PriceListFactory(stores=[store], name="L")
    kept = PriceListItemFactory(price_list=price_list, product=product)
    gone = PriceListItemFactory(price_list=price_list, product=other)
    data = {
        "name": "L",
        "stores": [str(store.pk)],
        "priority": "0",
        "is_active": "on",
        **inline(
            "items",
            [
                {
                    "id": str(kept.pk),
                    "price_list": str(price_list.pk),
                    "product": str(product.pk),
                    "price": "3.99",
                },
                {
                    "id": str(gone.pk),
                    "price_list": str(price_list.pk),
                    "product": str(other.pk),
                    "price": "3.99",
                    "DELETE": "on",
                },
            ],
            initial=2,
        ),
    }

    response = manager_admin.post(f"/admin/pricebook/pricelist/{price_list.pk}/change/", data)

    assert response.status_code == 302, response.content.decode()[:3000]
    assert list(price_list.items.values_list("product_id", flat=True)) == [product.pk]
    event = AuditEvent.objects.get(action="product.price_changed")
    assert event.changes["price"] == {"before": "3.99", "after": None}


def test_promotion_saved_through_the_service(manager_admin, store) -> None:
    category = CategoryFactory()
    data = {
        "name": "Evening",
        "kind": "percent_off",
        "categories": [str(category.pk)],
        "is_active": "on",
        "stores": [str(store.pk)],
        "days_of_week": "1,2",
        "start_time": "18:00",
        "end_time": "",
        "value": "10",
        "x": "0",
        "y": "0",
        "priority": "0",
    }

    response = manager_admin.post("/admin/pricebook/promotion/add/", data)

    assert response.status_code == 302, response.content.decode()[:3000]
    promotion = Promotion.objects.get()
    assert promotion.version >= 1
    assert promotion.days_of_week == [1, 2]
    assert AuditEvent.objects.filter(action="promotion.created").count() == 1


def test_a_manager_cannot_save_a_list_for_every_store(manager_admin) -> None:
    data = {"name": "All", "priority": "0", "is_active": "on", **inline("items", [])}
    response = manager_admin.post("/admin/pricebook/pricelist/add/", data, follow=True)
    assert not PriceList.objects.exists()
    assert "stores" in response.content.decode().lower()


def test_admin_pages_render(manager_admin, store) -> None:
    PriceListItemFactory(price_list=PriceListFactory(stores=[store]))
    for url in (
        "/admin/pricebook/pricelist/",
        "/admin/pricebook/pricelist/add/",
        f"/admin/pricebook/pricelist/{PriceList.objects.get().pk}/change/",
        "/admin/pricebook/promotion/",
        "/admin/pricebook/promotion/add/",
    ):
        assert manager_admin.get(url).status_code == 200, url
