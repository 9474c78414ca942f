"""Held (parked) orders: `/api/v1/held-orders/` priced like a quote, scoped to the user's stores,
and completed by a sale (`"held_order": id` on `POST /api/v1/orders/`), re-priced at completion,
gone in the sale's transaction; anything later on it answers `409 held_order_gone`."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Register, Store, User
from audit.models import AuditEvent
from catalog.models import Product, StockLevel
from orders.models import HeldOrder, HeldOrderStatus, Order
from tests.catalog.factories import ProductFactory, TaxRateFactory
from tests.factories import CashierFactory, ManagerFactory, RegisterFactory, StoreFactory
from tests.orders.factories import ORDERS_URL, QUOTE_URL, open_shift_on

pytestmark = pytest.mark.django_db

D = Decimal
HELD_URL = "/api/v1/held-orders/"

HELD_KEYS = {
    "id", "register", "lines", "subtotal", "discount_total", "tax_total", "total", "note",
    "customer", "held_by", "held_at",
}  # fmt: skip


def _held_body(register: Register, product: Product, loose_product: Product) -> dict[str, Any]:
    return {
        "register": register.pk,
        "lines": [
            {"product": product.pk, "quantity": "2", "discount": "0.50"},
            {"product": loose_product.pk, "quantity": "1.250"},
        ],
        "discount": "1.00",
        "note": "Table 4, back in 5 min",
    }


def _hold(client: APIClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(HELD_URL, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()  # type: ignore[no-any-return]


def _complete(client: APIClient, register: Register, held_id: int, total: str, **extra: Any) -> Any:
    body = {
        "register": register.pk,
        "held_order": held_id,
        "payments": [{"method": "cash", "amount": total}],
        **extra,
    }
    return client.post(ORDERS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))


@pytest.fixture
def held(
    cashier_client: APIClient, register: Register, product: Product, loose_product: Product
) -> dict[str, Any]:
    return _hold(cashier_client, _held_body(register, product, loose_product))


# --- create, read, list ---------------------------------------------------------------------------


def test_a_held_order_is_priced_like_a_quote_and_reads_back(
    cashier_client: APIClient,
    cashier: User,
    register: Register,
    product: Product,
    loose_product: Product,
    store: Store,
) -> None:
    body = _held_body(register, product, loose_product)

    held = _hold(cashier_client, body)

    quote = cashier_client.post(QUOTE_URL, body, format="json").json()
    assert set(held) == HELD_KEYS
    assert held["register"] == register.pk
    assert held["note"] == "Table 4, back in 5 min"
    assert held["customer"] is None
    assert held["held_by"] == cashier.pk
    assert held["held_at"]
    # product: gross 9.98, own 0.50 + share 0.75, net 8.73, tax 0.72; loose: gross 3.13 (3.125
    # half-up), share 0.25, net 2.88, no tax.
    assert (held["subtotal"], held["discount_total"], held["tax_total"], held["total"]) == (
        "13.11",
        "1.50",
        "0.72",
        "12.33",
    )
    assert [held[k] for k in ("subtotal", "discount_total", "tax_total", "total")] == [
        quote[k] for k in ("subtotal", "discount_total", "tax_total", "total")
    ]
    assert held["lines"] == [
        {**line, "line_discount": own}
        for line, own in zip(quote["lines"], ("0.50", "0.00"), strict=True)
    ]
    # nothing is sold or reserved
    assert StockLevel.objects.get(store=store, product=product).quantity == D("100")
    assert not Order.objects.exists()

    assert cashier_client.get(f"{HELD_URL}{held['id']}/").json() == held
    listed = cashier_client.get(HELD_URL).json()
    assert listed["count"] == 1
    assert listed["results"] == [held]


def test_money_renders_with_the_store_currency(client_for: Any) -> None:
    store = StoreFactory(currency="JPY")
    register = RegisterFactory(store=store, code="J1")
    cashier = CashierFactory(stores=[store])
    product = ProductFactory(price=D("333"), tax_rate=TaxRateFactory(rate=D("10.000")))

    held = _hold(
        client_for(cashier),
        {"register": register.pk, "lines": [{"product": product.pk, "quantity": "1.5"}]},
    )

    assert (held["subtotal"], held["discount_total"], held["tax_total"], held["total"]) == (
        "500",
        "0",
        "50",
        "550",
    )
    assert held["lines"][0]["unit_price"] == "333"
    assert held["lines"][0]["line_discount"] == "0"


def test_an_unknown_customer_is_refused_and_null_is_none(
    cashier_client: APIClient, register: Register, product: Product
) -> None:
    body = {"register": register.pk, "lines": [{"product": product.pk, "quantity": "1"}]}

    refused = cashier_client.post(HELD_URL, {**body, "customer": 999999}, format="json")
    accepted = cashier_client.post(HELD_URL, {**body, "customer": None}, format="json")

    assert refused.status_code == 400, refused.content
    assert "customer" in refused.json()["errors"]
    assert accepted.status_code == 201
    assert accepted.json()["customer"] is None


def test_a_held_order_needs_lines_and_known_products(
    cashier_client: APIClient, register: Register, product: Product
) -> None:
    no_lines = cashier_client.post(HELD_URL, {"register": register.pk, "lines": []}, format="json")
    unknown = cashier_client.post(
        HELD_URL,
        {"register": register.pk, "lines": [{"product": 999999, "quantity": "1"}]},
        format="json",
    )

    assert no_lines.status_code == 400
    assert unknown.status_code == 400
    assert "lines.0.product" in unknown.json()["errors"]
    assert not HeldOrder.objects.exists()


def test_holding_with_an_idempotency_key_parks_the_basket_once(
    cashier_client: APIClient, register: Register, product: Product
) -> None:
    body = {"register": register.pk, "lines": [{"product": product.pk, "quantity": "1"}]}

    first = cashier_client.post(HELD_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="park-1")
    again = cashier_client.post(HELD_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="park-1")

    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert HeldOrder.objects.count() == 1
    assert AuditEvent.objects.filter(action="held_order.created").count() == 1


def test_list_filters_by_register_and_store(
    cashier_client: APIClient,
    cashier: User,
    register: Register,
    store: Store,
    product: Product,
) -> None:
    second = RegisterFactory(store=store, code="R2")
    lines = [{"product": product.pk, "quantity": "1"}]
    first_id = _hold(cashier_client, {"register": register.pk, "lines": lines})["id"]
    second_id = _hold(cashier_client, {"register": second.pk, "lines": lines})["id"]

    def ids(**params: Any) -> list[int]:
        response = cashier_client.get(HELD_URL, params)
        assert response.status_code == 200
        return [row["id"] for row in response.json()["results"]]

    assert sorted(ids()) == [first_id, second_id]
    assert ids(register=second.pk) == [second_id]
    assert sorted(ids(store=store.pk)) == [first_id, second_id]
    assert ids(store=store.pk + 1000) == []


# --- scoping --------------------------------------------------------------------------------------


def test_another_stores_held_order_is_not_found(
    client_for: Any, held: dict[str, Any], other_store: Store, product: Product
) -> None:
    stranger = client_for(CashierFactory(stores=[other_store]))
    url = f"{HELD_URL}{held['id']}/"
    body = {"register": held["register"], "lines": [{"product": product.pk, "quantity": "1"}]}

    assert stranger.get(HELD_URL).json()["count"] == 0
    assert stranger.get(url).status_code == 404
    assert stranger.put(url, body, format="json").status_code == 404
    assert stranger.delete(url).status_code == 404
    assert HeldOrder.objects.get(pk=held["id"]).status == HeldOrderStatus.HELD


def test_a_register_of_another_store_cannot_hold(
    cashier_client: APIClient, other_store: Store, product: Product
) -> None:
    foreign = RegisterFactory(store=other_store, code="X1")
    body = {"register": foreign.pk, "lines": [{"product": product.pk, "quantity": "1"}]}

    response = cashier_client.post(HELD_URL, body, format="json")

    assert response.status_code == 404
    assert not HeldOrder.objects.exists()


def test_another_stores_held_order_cannot_be_completed(
    client_for: Any, held: dict[str, Any], other_store: Store
) -> None:
    seller = CashierFactory(stores=[other_store])
    foreign = RegisterFactory(store=other_store, code="X1")
    open_shift_on(foreign, seller)

    response = _complete(client_for(seller), foreign, held["id"], held["total"])

    assert response.status_code == 404, response.content
    assert not Order.objects.exists()


# --- change and delete ----------------------------------------------------------------------------


def test_put_replaces_the_lines_and_reprices_at_current_prices(
    cashier_client: APIClient, held: dict[str, Any], register: Register, product: Product
) -> None:
    product.price = D("5.99")
    product.save(update_fields=["price"])

    response = cashier_client.put(
        f"{HELD_URL}{held['id']}/",
        {"register": register.pk, "lines": [{"product": product.pk, "quantity": "3"}]},
        format="json",
    )

    assert response.status_code == 200, response.content
    changed = response.json()
    # 3 × 5.99 = 17.97, tax round(1.482525) = 1.48; no discount, no note any more
    assert (changed["subtotal"], changed["discount_total"], changed["tax_total"]) == (
        "17.97",
        "0.00",
        "1.48",
    )
    assert changed["total"] == "19.45"
    assert changed["note"] == ""
    assert [line["quantity"] for line in changed["lines"]] == ["3.000"]
    assert changed["id"] == held["id"]
    assert changed["held_at"] == held["held_at"]
    assert cashier_client.get(f"{HELD_URL}{held['id']}/").json() == changed


def test_delete_answers_204_and_the_held_order_is_gone(
    cashier_client: APIClient, held: dict[str, Any], register: Register, product: Product
) -> None:
    url = f"{HELD_URL}{held['id']}/"
    body = {"register": register.pk, "lines": [{"product": product.pk, "quantity": "1"}]}

    deleted = cashier_client.delete(url)

    assert deleted.status_code == 204
    assert cashier_client.get(url).status_code == 404
    assert cashier_client.get(HELD_URL).json()["count"] == 0
    for again in (cashier_client.delete(url), cashier_client.put(url, body, format="json")):
        assert again.status_code == 409, again.content
        assert again.json()["code"] == "held_order_gone"


# --- completing by a sale -------------------------------------------------------------------------


def test_a_sale_completes_the_held_order_with_its_lines_and_discount(
    cashier_client: APIClient,
    held: dict[str, Any],
    register: Register,
    cashier: User,
    store: Store,
    product: Product,
) -> None:
    open_shift_on(register, cashier)

    response = _complete(cashier_client, register, held["id"], held["total"])

    assert response.status_code == 201, response.content
    order = response.json()
    assert order["total"] == held["total"]
    assert order["discount_total"] == held["discount_total"]
    assert [(line["product"], line["quantity"], line["total"]) for line in order["lines"]] == [
        (line["product"], line["quantity"], line["total"]) for line in held["lines"]
    ]
    assert StockLevel.objects.get(store=store, product=product).quantity == D("98")
    row = HeldOrder.objects.get(pk=held["id"])
    assert row.status == HeldOrderStatus.COMPLETED
    assert row.order_id == order["id"]
    assert cashier_client.get(f"{HELD_URL}{held['id']}/").status_code == 404
    assert cashier_client.get(HELD_URL).json()["count"] == 0


def test_lines_and_discount_in_the_body_override_the_held_ones(
    cashier_client: APIClient,
    held: dict[str, Any],
    register: Register,
    cashier: User,
    product: Product,
) -> None:
    open_shift_on(register, cashier)

    response = _complete(
        cashier_client,
        register,
        held["id"],
        "5.40",  # 4.99 + tax 0.41
        lines=[{"product": product.pk, "quantity": "1"}],
        discount="0",
    )

    assert response.status_code == 201, response.content
    assert [line["quantity"] for line in response.json()["lines"]] == ["1.000"]
    assert HeldOrder.objects.get(pk=held["id"]).status == HeldOrderStatus.COMPLETED


def test_completion_reprices_at_current_prices(
    cashier_client: APIClient,
    held: dict[str, Any],
    register: Register,
    cashier: User,
    product: Product,
) -> None:
    open_shift_on(register, cashier)
    product.price = D("5.99")
    product.save(update_fields=["price"])
    quote = cashier_client.post(
        QUOTE_URL,
        {
            "register": register.pk,
            "lines": [
                {"product": line["product"], "quantity": line["quantity"], "discount": own}
                for line, own in ((line, line["line_discount"]) for line in held["lines"])
            ],
            "discount": "1.00",
        },
        format="json",
    ).json()
    assert quote["total"] != held["total"]

    stale = _complete(cashier_client, register, held["id"], held["total"])
    fresh = _complete(cashier_client, register, held["id"], quote["total"])

    assert stale.status_code == 400, stale.content  # the old total no longer pays it
    assert fresh.status_code == 201, fresh.content
    assert fresh.json()["total"] == quote["total"]
    assert fresh.json()["lines"][0]["unit_price"] == "5.99"


def test_a_completed_held_order_is_gone_for_every_later_request(
    cashier_client: APIClient,
    held: dict[str, Any],
    register: Register,
    cashier: User,
    product: Product,
) -> None:
    open_shift_on(register, cashier)
    assert _complete(cashier_client, register, held["id"], held["total"]).status_code == 201
    url = f"{HELD_URL}{held['id']}/"
    body = {"register": register.pk, "lines": [{"product": product.pk, "quantity": "1"}]}

    responses = [
        _complete(cashier_client, register, held["id"], held["total"]),
        cashier_client.put(url, body, format="json"),
        cashier_client.delete(url),
    ]

    for response in responses:
        assert response.status_code == 409, response.content
        assert response.json()["code"] == "held_order_gone"
    assert Order.objects.count() == 1


def test_a_deleted_held_order_cannot_be_completed(
    cashier_client: APIClient, held: dict[str, Any], register: Register, cashier: User
) -> None:
    open_shift_on(register, cashier)
    assert cashier_client.delete(f"{HELD_URL}{held['id']}/").status_code == 204

    response = _complete(cashier_client, register, held["id"], held["total"])

    assert response.status_code == 409
    assert response.json()["code"] == "held_order_gone"
    assert not Order.objects.exists()


def test_an_unknown_held_order_is_not_found(
    cashier_client: APIClient, register: Register, cashier: User
) -> None:
    open_shift_on(register, cashier)

    response = _complete(cashier_client, register, 987654, "1.00")

    assert response.status_code == 404


def test_a_sale_without_a_held_order_still_needs_lines(
    cashier_client: APIClient, register: Register, cashier: User
) -> None:
    open_shift_on(register, cashier)

    response = cashier_client.post(
        ORDERS_URL,
        {"register": register.pk, "payments": []},
        format="json",
        HTTP_IDEMPOTENCY_KEY="no-lines",
    )

    assert response.status_code == 400
    assert "lines" in response.json()["errors"]


def test_a_completing_sale_is_replayed_by_its_idempotency_key(
    cashier_client: APIClient, held: dict[str, Any], register: Register, cashier: User
) -> None:
    open_shift_on(register, cashier)
    body = {
        "register": register.pk,
        "held_order": held["id"],
        "payments": [{"method": "cash", "amount": held["total"]}],
    }

    first = cashier_client.post(ORDERS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="hold-1")
    replay = cashier_client.post(ORDERS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="hold-1")

    assert first.status_code == replay.status_code == 201, replay.content
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert Order.objects.count() == 1


# --- audit and admin ------------------------------------------------------------------------------


def test_every_change_is_audited_and_the_sale_names_the_held_order(
    cashier_client: APIClient,
    cashier: User,
    register: Register,
    store: Store,
    product: Product,
    loose_product: Product,
) -> None:
    open_shift_on(register, cashier)
    body = _held_body(register, product, loose_product)
    first = _hold(cashier_client, body)
    url = f"{HELD_URL}{first['id']}/"
    cashier_client.put(url, {**body, "discount": "0"}, format="json")
    cashier_client.delete(url)
    second = _hold(cashier_client, body)
    order = _complete(cashier_client, register, second["id"], second["total"]).json()

    def events(action: str) -> list[AuditEvent]:
        return list(AuditEvent.objects.filter(action=action).order_by("id"))

    created = events("held_order.created")
    assert [(e.object_type, e.object_id) for e in created] == [
        ("held_order", str(first["id"])),
        ("held_order", str(second["id"])),
    ]
    assert all(e.actor_id == cashier.pk and e.store_id == store.pk for e in created)
    assert created[0].changes["total"] == "12.33"
    [updated] = events("held_order.updated")
    assert updated.object_id == str(first["id"])
    assert updated.changes["total"] == "13.39"
    [deleted] = events("held_order.deleted")
    assert deleted.object_id == str(first["id"])
    [sale] = events("order.created")
    assert sale.object_id == str(order["id"])
    assert sale.changes["held_order"] == second["id"]


def test_the_admin_shows_held_orders_read_only_to_a_manager_of_the_store(
    client: Any, held: dict[str, Any], manager: User, other_store: Store, product: Product
) -> None:
    manager.groups.set([Group.objects.get(name=manager.role)])
    other = ManagerFactory(stores=[other_store])
    other.groups.set([Group.objects.get(name=other.role)])
    change = reverse("admin:orders_heldorder_change", args=[held["id"]])
    changelist = reverse("admin:orders_heldorder_changelist")

    client.force_login(manager)
    listing = client.get(changelist)
    page = client.get(change)

    assert listing.status_code == 200
    assert [row.pk for row in listing.context["cl"].result_list] == [held["id"]]
    assert page.status_code == 200
    assert page.context["has_change_permission"] is False
    assert "Table 4" in page.content.decode()
    assert product.sku in page.content.decode()
    assert client.get(reverse("admin:orders_heldorder_add")).status_code == 403

    client.force_login(other)
    assert client.get(changelist).context["cl"].result_count == 0
    assert client.get(change).status_code == 302  # outside the queryset: "doesn't exist"
