"""`/api/v1/promotions/`: the contract's fields, the kind rules (400 with field names), roles and
store scope, versions and audit."""

from __future__ import annotations

from decimal import Decimal

import pytest

from audit.models import AuditEvent
from catalog.services import catalog_version_current
from pricebook import rules
from pricebook.models import Promotion
from tests.catalog.factories import CategoryFactory, ProductFactory
from tests.pricebook.factories import PromotionFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/promotions/"


def detail(promotion: Promotion) -> str:
    return f"{URL}{promotion.pk}/"


def test_manager_creates_a_promotion_with_the_contract_shape(manager_client, store) -> None:
    product, category = ProductFactory(), CategoryFactory()
    body = {
        "name": "Happy hour",
        "stores": [store.pk],
        "kind": "buy_x_get_y",
        "products": [product.pk],
        "categories": [category.pk],
        "x": 2,
        "y": 1,
        "value": "100",
        "valid_from": "2026-06-01T00:00:00Z",
        "days_of_week": [5, 1, 5],
        "start_time": "22:00",
        "end_time": "02:00",
        "priority": 2,
    }

    response = manager_client.post(URL, body, format="json")

    assert response.status_code == 201, response.json()
    data = response.json()
    assert set(data) == {
        "id",
        "name",
        "stores",
        "kind",
        "products",
        "categories",
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
        "version",
    }
    assert data["value"] == "100.00"
    assert data["days_of_week"] == [1, 5]
    assert data["start_time"] == "22:00:00"
    assert data["version"] >= 1
    event = AuditEvent.objects.get(action="promotion.created")
    assert event.changes["products"] == [product.pk]
    assert event.changes["kind"] == "buy_x_get_y"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"kind": "percent_off", "value": "0"}, "value"),
        ({"kind": "percent_off", "value": "100.5"}, "value"),
        ({"kind": "buy_x_get_y", "value": "50", "x": 0, "y": 1}, "x"),
        ({"kind": "buy_x_get_y", "value": "50", "x": 1, "y": 0}, "y"),
        ({"products": []}, "products"),
        ({"days_of_week": [0]}, "days_of_week.0"),
        ({"valid_from": "2026-06-02T00:00:00Z", "valid_to": "2026-06-01T00:00:00Z"}, "valid_to"),
    ],
)
def test_rules_are_400_with_field_names(admin_client, changes, field) -> None:
    body = {"name": "x", "kind": "percent_off", "value": "10", "products": [ProductFactory().pk]}
    body.update(changes)
    response = admin_client.post(URL, body, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()["errors"]
    assert not Promotion.objects.exists()


def test_amount_off_takes_money_above_100(admin_client) -> None:
    response = admin_client.post(
        URL,
        {
            "name": "x",
            "kind": "amount_off",
            "value": "150.5",
            "categories": [CategoryFactory().pk],
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["value"] == "150.50"


def test_update_replaces_relations_takes_a_version_and_audits(admin_client, store) -> None:
    first, second = ProductFactory(), ProductFactory()
    promotion = PromotionFactory(products=[first])
    before = catalog_version_current()

    response = admin_client.patch(
        detail(promotion), {"products": [second.pk], "value": "15"}, format="json"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["products"] == [second.pk]
    assert response.json()["version"] > before
    event = AuditEvent.objects.get(action="promotion.updated")
    assert event.changes["products"] == {"before": [first.pk], "after": [second.pk]}
    assert event.changes["value"] == {"before": "10.00", "after": "15.00"}

    # Taking the last product away without a category is refused.
    response = admin_client.patch(detail(promotion), {"products": []}, format="json")
    assert response.status_code == 400
    assert "products" in response.json()["errors"]


def test_delete_is_allowed_and_audited(admin_client) -> None:
    promotion = PromotionFactory(products=[ProductFactory()])
    assert admin_client.delete(detail(promotion)).status_code == 204
    assert not Promotion.objects.exists()
    assert AuditEvent.objects.filter(action="promotion.deleted").count() == 1


def test_roles_and_store_scope(cashier_client, manager_client, store, other_store) -> None:
    product = ProductFactory()
    mine = PromotionFactory(stores=[store], products=[product])
    everywhere = PromotionFactory(products=[product])
    theirs = PromotionFactory(stores=[other_store], products=[product])

    listed = [row["id"] for row in cashier_client.get(URL).json()["results"]]
    assert listed == [mine.pk, everywhere.pk]
    assert cashier_client.post(URL, {}, format="json").status_code == 403
    assert manager_client.get(detail(theirs)).status_code == 404
    assert (
        manager_client.patch(detail(everywhere), {"priority": 1}, format="json").status_code == 403
    )
    body = {
        "name": "x",
        "kind": rules.PERCENT_OFF,
        "value": "5",
        "products": [product.pk],
        "stores": [other_store.pk],
    }
    assert manager_client.post(URL, body, format="json").status_code == 403
    response = manager_client.patch(detail(mine), {"priority": 4}, format="json")
    assert response.status_code == 200
    assert Promotion.objects.get(pk=mine.pk).priority == 4


def test_filters(admin_client, store, other_store) -> None:
    product = ProductFactory()
    here = PromotionFactory(stores=[store], products=[product])
    off = PromotionFactory(is_active=False, products=[product])
    PromotionFactory(stores=[other_store], products=[product])
    response = admin_client.get(URL, {"store": store.pk})
    assert [row["id"] for row in response.json()["results"]] == [here.pk, off.pk]
    response = admin_client.get(URL, {"store": store.pk, "is_active": "false"})
    assert [row["id"] for row in response.json()["results"]] == [off.pk]
    assert Decimal(response.json()["results"][0]["value"]) == Decimal("10")


def test_list_is_a_fixed_number_of_queries(admin_client, django_assert_max_num_queries) -> None:
    for _ in range(10):
        PromotionFactory(products=ProductFactory.create_batch(2), categories=[CategoryFactory()])
    with django_assert_max_num_queries(9):
        response = admin_client.get(URL)
    assert len(response.json()["results"]) == 10


def test_services_store_weekdays_sorted_without_repeats(admin_user) -> None:
    from pricebook.services import promotion_create, promotion_update

    promotion = promotion_create(
        user=admin_user,
        name="x",
        kind=rules.PERCENT_OFF,
        value=Decimal("5"),
        products=[ProductFactory()],
        days_of_week=[7, 1, 7],
    )
    assert Promotion.objects.get(pk=promotion.pk).days_of_week == [1, 7]
    promotion_update(promotion=promotion, user=admin_user, days_of_week=[3, 2, 3])
    assert Promotion.objects.get(pk=promotion.pk).days_of_week == [2, 3]
