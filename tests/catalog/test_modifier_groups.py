"""Modifier groups: `/api/v1/modifier-groups/` with nested modifiers (never deleted, left-out
ones deactivated), versioned and audited writes, `409` while products use a group, the product
field `modifier_groups`, and the pure `modifiers_check` the sale runs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from audit.models import AuditEvent
from catalog.models import Modifier, ModifierGroup
from catalog.modifiers import GroupData, ModifierData, modifiers_check
from catalog.services import catalog_version_current
from domain.errors import InvalidInput
from tests.catalog.factories import ProductFactory

URL = "/api/v1/modifier-groups/"
PRODUCTS = "/api/v1/products/"


def group_body(**overrides):
    body = {
        "name": "Milk",
        "min_choices": 0,
        "max_choices": 2,
        "modifiers": [
            {"name": "Oat", "price_delta": "0.50"},
            {"name": "No milk", "price_delta": "-0.20"},
        ],
    }
    body.update(overrides)
    return body


@pytest.mark.django_db
def test_create_read_and_audit(manager_client, cashier_client) -> None:
    before = catalog_version_current()
    response = manager_client.post(URL, group_body(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["version"] > before
    assert [(m["name"], m["price_delta"], m["is_active"]) for m in body["modifiers"]] == [
        ("Oat", "0.50", True),
        ("No milk", "-0.20", True),
    ]
    assert set(body) == {
        "id",
        "name",
        "min_choices",
        "max_choices",
        "is_active",
        "version",
        "modifiers",
    }
    assert AuditEvent.objects.filter(
        action="modifier_group.created", object_id=str(body["id"])
    ).exists()

    listed = cashier_client.get(URL)
    assert listed.status_code == 200
    assert listed.json()["results"][0] == body
    assert cashier_client.post(URL, group_body(), format="json").status_code == 403


@pytest.mark.django_db
def test_update_replaces_the_list_and_deactivates_the_missing_ones(manager_client) -> None:
    created = manager_client.post(URL, group_body(), format="json").json()
    oat, no_milk = created["modifiers"]
    response = manager_client.put(
        f"{URL}{created['id']}/",
        {
            "name": "Milk choice",
            "min_choices": 1,
            "max_choices": 1,
            "modifiers": [
                {"name": "Soy", "price_delta": "0.40"},
                {"id": oat["id"], "name": "Oat milk", "price_delta": "0.60"},
            ],
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["version"] > created["version"]
    shown = [(m["name"], m["price_delta"], m["is_active"]) for m in body["modifiers"]]
    # Listed ones in the given order, then the deactivated one (kept: sales name it).
    assert shown[:2] == [("Soy", "0.40", True), ("Oat milk", "0.60", True)]
    assert shown[2] == ("No milk", "-0.20", False)
    assert Modifier.objects.filter(pk=no_milk["id"], is_active=False).exists()
    event = AuditEvent.objects.get(action="modifier_group.updated")
    assert event.changes["max_choices"] == {"before": 2, "after": 1}

    # A PATCH without modifiers leaves them; an unchanged write takes no version.
    same = manager_client.patch(f"{URL}{created['id']}/", {"name": "Milk choice"}, format="json")
    assert same.json()["version"] == body["version"]
    assert len(same.json()["modifiers"]) == 3


@pytest.mark.django_db
def test_a_modifier_of_another_group_cannot_be_named(manager_client) -> None:
    first = manager_client.post(URL, group_body(), format="json").json()
    second = manager_client.post(URL, group_body(name="Syrup"), format="json").json()
    stolen = first["modifiers"][0]["id"]
    response = manager_client.patch(
        f"{URL}{second['id']}/",
        {"modifiers": [{"id": stolen, "name": "Mine", "price_delta": "1"}]},
        format="json",
    )
    assert response.status_code == 400
    assert Modifier.objects.get(pk=stolen).group_id == first["id"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("low", "high"), [(2, 1), (0, 0), (-1, 1)], ids=["min>max", "max 0", "min<0"]
)
def test_choice_bounds_are_checked(manager_client, low, high) -> None:
    response = manager_client.post(
        URL, group_body(min_choices=low, max_choices=high), format="json"
    )
    assert response.status_code == 400
    assert not ModifierGroup.objects.exists()


@pytest.mark.django_db
def test_products_take_groups_and_a_used_group_cannot_be_deleted(manager_client) -> None:
    group = manager_client.post(URL, group_body(), format="json").json()
    product = ProductFactory()
    attached = manager_client.patch(
        f"{PRODUCTS}{product.pk}/", {"modifier_groups": [group["id"]]}, format="json"
    )
    assert attached.status_code == 200, attached.json()
    assert attached.json()["modifier_groups"] == [group["id"]]
    assert manager_client.get(f"{PRODUCTS}{product.pk}/").json()["modifier_groups"] == [group["id"]]
    assert AuditEvent.objects.filter(
        action="product.updated", changes__modifier_groups={"before": [], "after": [group["id"]]}
    ).exists()
    # Delta sync carries them too.
    synced = manager_client.get(PRODUCTS, {"since_version": 0}).json()["results"]
    assert [p["modifier_groups"] for p in synced if p["id"] == product.pk] == [[group["id"]]]

    refused = manager_client.delete(f"{URL}{group['id']}/")
    assert refused.status_code == 409
    assert refused.json()["code"] == "modifier_group_in_use"

    manager_client.patch(f"{PRODUCTS}{product.pk}/", {"modifier_groups": []}, format="json")
    assert manager_client.delete(f"{URL}{group['id']}/").status_code == 204
    assert not Modifier.objects.exists()
    assert AuditEvent.objects.filter(action="modifier_group.deleted").exists()


@pytest.mark.django_db
def test_product_list_queries_do_not_grow_with_modifier_groups(manager_client) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    group = manager_client.post(URL, group_body(), format="json").json()
    for _ in range(5):
        product = ProductFactory()
        product.modifier_groups.add(group["id"])
    manager_client.get(PRODUCTS)
    with CaptureQueriesContext(connection) as few:
        manager_client.get(PRODUCTS, {"page_size": 1})
    with CaptureQueriesContext(connection) as many:
        manager_client.get(PRODUCTS, {"page_size": 5})
    assert len(few.captured_queries) == len(many.captured_queries)


# --- modifiers_check (pure) ----------------------------------------------------------------------

MILK = GroupData(
    id=1,
    name="Milk",
    min_choices=1,
    max_choices=1,
    modifiers=(
        ModifierData(id=10, group_id=1, name="Oat", price_delta=Decimal("0.50")),
        ModifierData(id=11, group_id=1, name="Soy", price_delta=Decimal("0.40")),
    ),
)
SYRUP = GroupData(
    id=2,
    name="Syrup",
    min_choices=0,
    max_choices=2,
    modifiers=(
        ModifierData(id=20, group_id=2, name="Vanilla", price_delta=Decimal("0.30")),
        ModifierData(id=21, group_id=2, name="Caramel", price_delta=Decimal("0.30")),
        ModifierData(id=22, group_id=2, name="Hazelnut", price_delta=Decimal("-0.10")),
    ),
)


def test_modifiers_check_returns_the_chosen_in_order() -> None:
    chosen = modifiers_check([MILK, SYRUP], [21, 10])
    assert [m.name for m in chosen] == ["Caramel", "Oat"]
    assert sum(m.price_delta for m in chosen) == Decimal("0.80")


@pytest.mark.parametrize(
    ("chosen", "says"),
    [
        ([], "Milk: choose between 1 and 1"),
        ([10, 11], "Milk: choose between 1 and 1"),
        ([10, 20, 21, 22], "Syrup: choose between 0 and 2"),
        ([10, 10], "more than once"),
        ([10, 99], "Not an active modifier"),
    ],
)
def test_modifiers_check_refuses(chosen, says) -> None:
    with pytest.raises(InvalidInput) as caught:
        modifiers_check([MILK, SYRUP], chosen)
    assert says in caught.value.detail
    assert caught.value.errors is not None
    assert "modifiers" in caught.value.errors


def test_no_groups_means_no_modifiers() -> None:
    assert modifiers_check([], []) == []
    with pytest.raises(InvalidInput):
        modifiers_check([], [10])
