"""Variants: a product names its template (`variant_of`) and `options`; the template becomes
`is_template` (with a new version) while it has variants, and stops being one when the last
goes. One level only, options unique per template."""

from __future__ import annotations

from decimal import Decimal

import pytest

from audit.models import AuditEvent
from catalog.models import Product
from catalog.services import product_create, product_delete, product_update
from domain.errors import InvalidInput
from tests.catalog.factories import ProductFactory, TaxRateFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/products/"


def variant_body(template: Product, sku: str, **options: str) -> dict:
    return {
        "sku": sku,
        "name": f"{template.name} {' '.join(options.values())}",
        "price": "12.00",
        "tax_rate": template.tax_rate_id,
        "variant_of": template.pk,
        "options": options,
    }


def test_a_variant_makes_its_template_one_with_a_new_version(manager_client) -> None:
    template = ProductFactory(name="T-shirt")
    response = manager_client.post(URL, variant_body(template, "TS-M", size="M"), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["variant_of"] == template.pk
    assert body["options"] == {"size": "M"}
    assert body["is_template"] is False
    assert body["modifier_groups"] == []

    template_body = manager_client.get(f"{URL}{template.pk}/").json()
    assert template_body["is_template"] is True
    # The template's version moved after the variant's: registers learn it is not sellable.
    assert template_body["version"] > body["version"]
    assert AuditEvent.objects.filter(
        action="product.updated",
        object_id=str(template.pk),
        changes__is_template={"before": False, "after": True},
    ).exists()


def test_variants_listing_and_filters(cashier_client) -> None:
    template = ProductFactory()
    other = ProductFactory()
    tax = TaxRateFactory()
    small = product_create(
        user=None,
        sku="V-S",
        name="S",
        price=Decimal(1),
        tax_rate=tax,
        variant_of=template,
        options={"size": "S"},
    )
    large = product_create(
        user=None,
        sku="V-L",
        name="L",
        price=Decimal(2),
        tax_rate=tax,
        variant_of=template,
        options={"size": "L"},
    )

    listed = cashier_client.get(f"{URL}{template.pk}/variants/")
    assert listed.status_code == 200
    assert listed.json()["count"] == 2
    assert [p["id"] for p in listed.json()["results"]] == [small.pk, large.pk]
    assert cashier_client.get(f"{URL}{other.pk}/variants/").json()["count"] == 0
    assert "cost" not in listed.json()["results"][0]

    def ids(**params):
        return [p["id"] for p in cashier_client.get(URL, params).json()["results"]]

    assert ids(variant_of=template.pk) == [small.pk, large.pk]
    assert ids(is_template="true") == [template.pk]
    assert template.pk not in ids(is_template="false")


def test_variants_are_one_level_and_never_their_own_template(manager_client) -> None:
    template = ProductFactory()
    variant = ProductFactory()
    product_update(product=variant, user=None, variant_of=template, options={"size": "M"})

    deeper = manager_client.post(URL, variant_body(variant, "DEEP", size="XL"), format="json")
    assert deeper.status_code == 400
    assert "variant_of" in deeper.json()["errors"]

    own = manager_client.patch(f"{URL}{template.pk}/", {"variant_of": template.pk}, format="json")
    assert own.status_code == 400
    assert "variant_of" in own.json()["errors"]

    # A template (it has variants) cannot become a variant of another product.
    other = ProductFactory()
    moved = manager_client.patch(f"{URL}{template.pk}/", {"variant_of": other.pk}, format="json")
    assert moved.status_code == 400
    assert Product.objects.get(pk=template.pk).variant_of_id is None


def test_two_variants_of_one_template_cannot_share_options(manager_client) -> None:
    template = ProductFactory()
    first = manager_client.post(
        URL, variant_body(template, "A", size="M", color="red"), format="json"
    )
    assert first.status_code == 201
    same = manager_client.post(
        URL, variant_body(template, "B", color="red", size="M"), format="json"
    )
    assert same.status_code == 400
    assert "options" in same.json()["errors"]
    other = manager_client.post(
        URL, variant_body(template, "C", size="L", color="red"), format="json"
    )
    assert other.status_code == 201
    # Changing a variant's options into a sibling's is refused too.
    clash = manager_client.patch(
        f"{URL}{other.json()['id']}/", {"options": {"size": "M", "color": "red"}}, format="json"
    )
    assert clash.status_code == 400


def test_options_must_map_text_to_text(manager_client) -> None:
    template = ProductFactory()
    body = variant_body(template, "X")
    body["options"] = {"size": ["M"]}
    assert manager_client.post(URL, body, format="json").status_code == 400


def test_detaching_or_deleting_the_last_variant_ends_the_template(manager_client) -> None:
    template = ProductFactory()
    tax = template.tax_rate
    first = product_create(
        user=None,
        sku="D-1",
        name="1",
        price=Decimal(1),
        tax_rate=tax,
        variant_of=template,
        options={"n": "1"},
    )
    second = product_create(
        user=None,
        sku="D-2",
        name="2",
        price=Decimal(1),
        tax_rate=tax,
        variant_of=template,
        options={"n": "2"},
    )
    template.refresh_from_db()
    assert template.is_template
    version = template.version

    detached = manager_client.patch(f"{URL}{first.pk}/", {"variant_of": None}, format="json")
    assert detached.status_code == 200
    template.refresh_from_db()
    assert template.is_template  # the second variant remains
    assert template.version == version

    product_delete(product=second, user=None)
    template.refresh_from_db()
    assert not template.is_template
    assert template.version > version


def test_a_template_with_variants_cannot_be_deleted(manager_client) -> None:
    template = ProductFactory()
    ProductFactory(variant_of=template)
    response = manager_client.delete(f"{URL}{template.pk}/")
    assert response.status_code == 409
    assert response.json()["code"] == "product_in_use"


def test_service_refuses_a_variant_of_a_variant() -> None:
    template = ProductFactory()
    variant = product_update(
        product=ProductFactory(), user=None, variant_of=template, options={"a": "b"}
    )
    with pytest.raises(InvalidInput):
        product_update(product=ProductFactory(), user=None, variant_of=variant)


def test_cashiers_cannot_write_variants(cashier_client) -> None:
    template = ProductFactory()
    response = cashier_client.post(URL, variant_body(template, "NOPE", size="M"), format="json")
    assert response.status_code == 403


def test_options_none_is_empty_and_non_text_is_refused_by_the_service() -> None:
    product = product_update(product=ProductFactory(), user=None, options={"size": "M"})
    assert product_update(product=product, user=None, options=None).options == {}
    with pytest.raises(InvalidInput):
        product_update(product=product, user=None, options={"size": 3})
