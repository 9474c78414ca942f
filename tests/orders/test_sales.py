"""`POST /api/v1/orders/` and friends: the contract's sale, its refusals, snapshots, scoping,
filters and the pinned query count."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import Register, Store, User
from audit.models import AuditEvent
from catalog.models import Product, StockLevel, StockMovement, StockReason
from ledger.models import JournalEntry
from orders.models import IdempotencyKey, Order, OrderLine, Payment, RegisterSequence, Shift
from tests.catalog.factories import ProductFactory, set_stock
from tests.django_process import run_django
from tests.factories import CashierFactory, ManagerFactory, RegisterFactory
from tests.orders.factories import ORDERS_URL, QUOTE_URL, open_shift_on, post_sale, sale_body

pytestmark = pytest.mark.django_db

D = Decimal
ORDER_KEYS = {
    "id", "number", "store", "register", "shift", "cashier", "status", "created_at",
    "client_created_at", "late", "currency", "prices_include_tax", "lines", "subtotal",
    "discount_total", "tax_total", "total", "returned_total", "rounding", "total_due", "payments",
    "paid_total", "promotion_total", "promotions",
    "tips_total", "change_due", "refunded_total", "voided_at", "voided_by", "void_reason",
    "customer", "tax_exempt_id", "points_earned",
}  # fmt: skip
LINE_KEYS = {
    "id", "product", "sku", "name", "quantity", "unit_price", "modifiers", "gross", "promotion",
    "promotion_name", "promotion_discount", "discount", "net", "tax_rate", "tax", "total",
    "refunded_quantity", "refunded_total",
}  # fmt: skip
PAYMENT_KEYS = {
    "id", "method", "amount", "tendered", "change", "tip", "reference", "card_last4", "points",
}  # fmt: skip


def worked_example_body(register: Register, product: Product, loose: Product) -> dict[str, Any]:
    return {
        "register": register.pk,
        "lines": [
            {"product": product.pk, "quantity": "3", "discount": "0.50"},
            {"product": loose.pk, "quantity": "1.250"},
        ],
        "discount": "1.00",
        "payments": [
            {"method": "cash", "amount": "10.00", "tendered": "20.00"},
            {"method": "card", "amount": "7.73", "reference": "AUTH123", "card_last4": "4242"},
        ],
        "client_created_at": "2026-11-21T17:02:11+01:00",
    }


def post(client: APIClient, body: Any, key: str | None = "auto", **extra: Any) -> Any:
    headers = (
        {} if key is None else {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4()) if key == "auto" else key}
    )
    return client.post(ORDERS_URL, body, format="json", **headers, **extra)


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code
    return body


# --- the happy path ------------------------------------------------------------------------------


def test_contract_worked_example_end_to_end(
    cashier_client: APIClient,
    cashier: User,
    open_shift: Shift,
    register: Register,
    store: Store,
    product: Product,
    loose_product: Product,
) -> None:
    response = post(cashier_client, worked_example_body(register, product, loose_product))

    assert response.status_code == 201, response.content
    assert "Idempotent-Replayed" not in response
    order = response.json()
    assert set(order) == ORDER_KEYS
    assert order["number"] == "R1-000001"
    assert order["status"] == "completed"
    assert (order["store"], order["register"], order["shift"], order["cashier"]) == (
        store.pk, register.pk, open_shift.pk, cashier.pk,
    )  # fmt: skip
    assert order["currency"] == "USD"
    assert order["prices_include_tax"] is False
    assert order["client_created_at"] == "2026-11-21T16:02:11Z"
    assert order["created_at"].endswith("Z")

    first, second = order["lines"]
    assert set(first) == LINE_KEYS
    assert first == {
        "id": first["id"], "product": product.pk, "sku": product.sku, "name": product.name,
        "quantity": "3.000", "unit_price": "4.99", "modifiers": [], "gross": "14.97",
        "promotion": None, "promotion_name": "", "promotion_discount": "0.00",
        "discount": "1.32",
        "net": "13.65", "tax_rate": "8.250", "tax": "1.13", "total": "14.78",
        "refunded_quantity": "0.000", "refunded_total": "0.00",
    }  # fmt: skip
    assert second == {
        "id": second["id"], "product": loose_product.pk, "sku": loose_product.sku,
        "name": loose_product.name, "quantity": "1.250", "unit_price": "2.50", "modifiers": [],
        "gross": "3.13", "promotion": None, "promotion_name": "", "promotion_discount": "0.00",
        "discount": "0.18", "net": "2.95", "tax_rate": "0.000", "tax": "0.00", "total": "2.95",
        "refunded_quantity": "0.000", "refunded_total": "0.00",
    }  # fmt: skip
    assert (order["subtotal"], order["discount_total"], order["tax_total"], order["total"]) == (
        "18.10", "1.50", "1.13", "17.73",
    )  # fmt: skip

    cash, card = order["payments"]
    assert set(cash) == PAYMENT_KEYS
    assert cash | {"id": 0} == {
        "id": 0, "method": "cash", "amount": "10.00", "tendered": "20.00", "change": "10.00",
        "tip": "0.00", "reference": "", "card_last4": "", "points": None,
    }  # fmt: skip
    assert card | {"id": 0} == {
        "id": 0, "method": "card", "amount": "7.73", "tendered": None, "change": "0.00",
        "tip": "0.00", "reference": "AUTH123", "card_last4": "4242", "points": None,
    }  # fmt: skip
    assert (order["paid_total"], order["change_due"]) == ("17.73", "10.00")

    # the stored order reads back exactly as answered
    assert cashier_client.get(f"{ORDERS_URL}{order['id']}/").json() == order

    # one transaction wrote: stock movements, a balanced journal entry, an audit event
    assert StockLevel.objects.get(store=store, product=product).quantity == D("97")
    assert StockLevel.objects.get(store=store, product=loose_product).quantity == D("98.750")
    movements = StockMovement.objects.filter(source_type="order", source_id=order["id"])
    assert {(m.product_id, m.quantity_delta, m.reason) for m in movements} == {
        (product.pk, D("-3"), StockReason.SALE),
        (loose_product.pk, D("-1.250"), StockReason.SALE),
    }
    entry = JournalEntry.objects.get(source="sale", source_id=order["id"])
    lines = list(entry.lines.select_related("account"))
    assert sum(line.debit for line in lines) == sum(line.credit for line in lines)
    by_account = {line.account.code: (line.debit, line.credit) for line in lines}
    assert by_account["1000"] == (D("10.00"), D("0"))
    assert by_account["1010"] == (D("7.73"), D("0"))
    assert by_account["4000"] == (D("0"), D("16.60"))
    assert by_account["2100"] == (D("0"), D("1.13"))
    assert by_account["5000"] == (D("7.25"), D("0"))  # 3 × 2.00 + 1.250 × 1.00
    event = AuditEvent.objects.get(action="order.created", object_id=str(order["id"]))
    assert event.store_id == store.pk
    assert event.object_type == "order"
    assert event.actor_id == cashier.pk


def test_tax_inclusive_store(client_for: Any, store: Store, product: Product) -> None:
    store.prices_include_tax = True
    store.save()
    register = RegisterFactory(store=store, code="INC")
    cashier = CashierFactory(stores=[store])
    open_shift_on(register, cashier)
    client = client_for(cashier)

    response = post_sale(client, sale_body(register, [(product, 2)]))

    assert response.status_code == 201, response.content
    order = response.json()
    assert order["prices_include_tax"] is True
    (line,) = order["lines"]
    # 9.98 incl. 8.25 %: tax = round(9.98 − 9.98/1.0825) = 0.76
    assert (line["gross"], line["tax"], line["net"], line["total"]) == (
        "9.98",
        "0.76",
        "9.22",
        "9.98",
    )
    assert order["total"] == "9.98"
    assert order["number"] == "INC-000001"


def test_numbers_are_consecutive_per_register(
    cashier_client: APIClient,
    cashier: User,
    open_shift: Shift,
    register: Register,
    store: Store,
    product: Product,
) -> None:
    other_register = RegisterFactory(store=store, code="R2")
    open_shift_on(other_register, cashier)
    numbers = [
        post_sale(cashier_client, sale_body(register, [(product, 1)])).json()["number"]
        for _ in range(3)
    ]
    other = post_sale(cashier_client, sale_body(other_register, [(product, 1)])).json()["number"]
    assert numbers == ["R1-000001", "R1-000002", "R1-000003"]
    assert other == "R2-000001"


def test_a_refused_sale_gives_its_number_back(
    cashier_client: APIClient,
    open_shift: Shift,
    register: Register,
    store: Store,
) -> None:
    scarce = ProductFactory()
    set_stock(store, scarce, 1)
    assert post_sale(cashier_client, sale_body(register, [(scarce, 1)])).status_code == 201
    refused = post_sale(cashier_client, sale_body(register, [(scarce, 1)]))
    assert_problem(refused, 409, "insufficient_stock")
    set_stock(store, scarce, 5)
    again = post_sale(cashier_client, sale_body(register, [(scarce, 1)]))
    assert again.json()["number"] == "R1-000002"
    assert RegisterSequence.objects.get(register=register).last_order_number == 2


def test_manager_and_admin_may_sell(
    manager_client: APIClient,
    admin_client: APIClient,
    open_shift: Shift,
    register: Register,
    product: Product,
) -> None:
    assert post_sale(manager_client, sale_body(register, [(product, 1)])).status_code == 201
    assert post_sale(admin_client, sale_body(register, [(product, 1)])).status_code == 201


def test_fields_the_client_may_not_set_are_ignored(
    cashier_client: APIClient,
    open_shift: Shift,
    register: Register,
    product: Product,
    other_store: Store,
) -> None:
    body = sale_body(register, [(product, 1)], payments=[{"method": "cash", "amount": "5.40"}])
    body["lines"][0] |= {"unit_price": "0.01", "total": "0.01", "tax": "0", "name": "Free"}
    body |= {"total": "0.01", "status": "refunded", "store": other_store.pk, "number": "X-1",
             "cashier": 999, "currency": "EUR"}  # fmt: skip

    response = post(cashier_client, body)

    assert response.status_code == 201, response.content
    order = response.json()
    assert order["total"] == "5.40"
    assert order["status"] == "completed"
    assert order["store"] == register.store_id
    assert order["number"] == "R1-000001"
    assert order["currency"] == "USD"
    assert order["lines"][0]["unit_price"] == "4.99"
    assert order["lines"][0]["name"] == product.name


def test_snapshots_survive_catalog_edits(
    cashier_client: APIClient,
    open_shift: Shift,
    register: Register,
    product: Product,
    tax_rate: Any,
) -> None:
    order = post_sale(cashier_client, sale_body(register, [(product, 2)])).json()

    Product.objects.filter(pk=product.pk).update(
        name="Renamed", sku="NEW-SKU", price=D("99.99"), cost=D("50.00")
    )
    type(tax_rate).objects.filter(pk=tax_rate.pk).update(rate=D("20.000"))

    again = cashier_client.get(f"{ORDERS_URL}{order['id']}/").json()
    assert again == order
    line = OrderLine.objects.get(pk=order["lines"][0]["id"])
    assert (line.sku, line.unit_price, line.unit_cost, line.tax_rate) == (
        product.sku, D("4.99"), D("2.00"), D("8.250"),
    )  # fmt: skip


def test_offline_sale_is_never_refused_for_stock(
    cashier_client: APIClient, open_shift: Shift, register: Register, store: Store
) -> None:
    scarce = ProductFactory()
    set_stock(store, scarce, 1)

    response = post_sale(cashier_client, sale_body(register, [(scarce, 3)], offline=True))

    assert response.status_code == 201, response.content
    assert StockLevel.objects.get(store=store, product=scarce).quantity == D("-2")
    movement = StockMovement.objects.get(source_type="order", source_id=response.json()["id"])
    assert movement.flagged is True
    assert Order.objects.get().offline is True


def test_same_product_on_two_lines_takes_stock_once_for_the_sum(
    cashier_client: APIClient, open_shift: Shift, register: Register, store: Store
) -> None:
    scarce = ProductFactory()
    set_stock(store, scarce, 3)
    refused = post_sale(cashier_client, sale_body(register, [(scarce, 2), (scarce, 2)]))
    assert_problem(refused, 409, "insufficient_stock")
    ok = post_sale(cashier_client, sale_body(register, [(scarce, 2), (scarce, 1)]))
    assert ok.status_code == 201
    assert StockLevel.objects.get(store=store, product=scarce).quantity == 0


def test_untracked_products_sell_without_stock(
    cashier_client: APIClient, open_shift: Shift, register: Register
) -> None:
    service = ProductFactory(track_stock=False, price=D("10.00"))
    response = post_sale(cashier_client, sale_body(register, [(service, 5)]))
    assert response.status_code == 201, response.content
    assert not StockMovement.objects.exists()


def test_full_discount_sells_for_nothing_without_payments(
    cashier_client: APIClient, open_shift: Shift, register: Register, product: Product
) -> None:
    body = sale_body(register, [(product, 1, "4.99")], payments=[])
    response = post(cashier_client, body)
    assert response.status_code == 201, response.content
    assert response.json()["total"] == "0.00"
    assert response.json()["payments"] == []


# --- idempotency over HTTP ------------------------------------------------------------------------


def test_replay_returns_the_original_and_creates_nothing(
    cashier_client: APIClient,
    open_shift: Shift,
    register: Register,
    product: Product,
    loose_product: Product,
) -> None:
    body = worked_example_body(register, product, loose_product)
    first = post(cashier_client, body, key="sale-1")
    second = post(cashier_client, body, key="sale-1")

    assert first.status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert second.content == first.content
    assert Order.objects.count() == 1
    assert StockLevel.objects.get(product=product).quantity == D("97")
    assert JournalEntry.objects.filter(source="sale").count() == 1


def test_the_answer_is_json_in_utf8_and_its_replay_the_same_bytes(
    cashier_client: APIClient, open_shift: Shift, register: Register
) -> None:
    item = ProductFactory(name="Crème brûlée ☕", price=D("4.00"))
    set_stock(register.store, item, 5)
    body = sale_body(register, [(item, 1)])
    total = cashier_client.post(QUOTE_URL, body, format="json").json()["total"]
    body["payments"] = [{"method": "cash", "amount": total}]

    first = post(cashier_client, body, key="sale-utf8")
    second = post(cashier_client, body, key="sale-utf8")

    assert first.status_code == second.status_code == 201
    assert first["Content-Type"] == second["Content-Type"] == "application/json"
    assert "Crème brûlée ☕".encode() in first.content
    assert second.content == first.content
    assert first.json()["lines"][0]["name"] == "Crème brûlée ☕"


def test_same_key_other_body_is_422(
    cashier_client: APIClient, open_shift: Shift, register: Register, product: Product
) -> None:
    body = sale_body(register, [(product, 1)], payments=[{"method": "cash", "amount": "5.40"}])
    assert post(cashier_client, body, key="sale-2").status_code == 201
    other = sale_body(register, [(product, 2)], payments=[{"method": "cash", "amount": "10.80"}])
    assert_problem(post(cashier_client, other, key="sale-2"), 422, "idempotency_key_reused")
    assert Order.objects.count() == 1


def test_a_key_is_per_user(
    cashier_client: APIClient,
    manager_client: APIClient,
    open_shift: Shift,
    register: Register,
    product: Product,
) -> None:
    body = sale_body(register, [(product, 1)], payments=[{"method": "cash", "amount": "5.40"}])
    assert post(cashier_client, body, key="shared").status_code == 201
    second = post(manager_client, body, key="shared")
    assert second.status_code == 201
    assert "Idempotent-Replayed" not in second
    assert Order.objects.count() == 2


def test_a_refused_sale_may_be_retried_with_the_same_key(
    cashier_client: APIClient, cashier: User, register: Register, product: Product
) -> None:
    body = sale_body(register, [(product, 1)], payments=[{"method": "cash", "amount": "5.40"}])
    assert_problem(post(cashier_client, body, key="retry"), 409, "shift_not_open")
    open_shift_on(register, cashier)
    response = post(cashier_client, body, key="retry")
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response


@pytest.mark.parametrize(
    "headers",
    [{}, {"HTTP_IDEMPOTENCY_KEY": ""}, {"HTTP_IDEMPOTENCY_KEY": "k" * 256},
     {"HTTP_IDEMPOTENCY_KEY": "bad\x01key"}],
    ids=["missing", "empty", "too-long", "control-char"],
)  # fmt: skip
def test_idempotency_key_is_required(
    cashier_client: APIClient,
    open_shift: Shift,
    register: Register,
    product: Product,
    headers: dict[str, str],
) -> None:
    body = sale_body(register, [(product, 1)], payments=[{"method": "cash", "amount": "5.40"}])
    response = cashier_client.post(ORDERS_URL, body, format="json", **headers)
    problem = assert_problem(response, 400, "validation_error")
    assert "Idempotency-Key" in problem["errors"]
    assert not Order.objects.exists()


# --- refusals -------------------------------------------------------------------------------------


def test_no_open_shift_is_409(
    cashier_client: APIClient, register: Register, product: Product
) -> None:
    body = sale_body(register, [(product, 1)], payments=[{"method": "cash", "amount": "5.40"}])
    assert_problem(post(cashier_client, body), 409, "shift_not_open")


def test_register_of_another_store_is_404(
    cashier_client: APIClient, other_store: Store, product: Product
) -> None:
    foreign = RegisterFactory(store=other_store)
    open_shift_on(foreign, ManagerFactory(stores=[other_store]))
    body = sale_body(foreign, [(product, 1)], payments=[{"method": "cash", "amount": "5.40"}])
    assert_problem(post(cashier_client, body), 404, "not_found")
    body["register"] = 999_999
    assert_problem(post(cashier_client, body), 404, "not_found")
    assert not Order.objects.exists()


def test_inactive_register_is_refused(
    cashier_client: APIClient, open_shift: Shift, register: Register, product: Product
) -> None:
    Register.objects.filter(pk=register.pk).update(is_active=False)
    body = sale_body(register, [(product, 1)], payments=[{"method": "cash", "amount": "5.40"}])
    problem = assert_problem(post(cashier_client, body), 400, "validation_error")
    assert "register" in problem["errors"]


def test_unknown_and_inactive_products_name_the_line(
    cashier_client: APIClient, open_shift: Shift, register: Register, product: Product
) -> None:
    retired = ProductFactory(is_active=False)
    body = {
        "register": register.pk,
        "lines": [
            {"product": product.pk, "quantity": 1},
            {"product": 987_654, "quantity": 1},
            {"product": retired.pk, "quantity": 1},
        ],
        "payments": [{"method": "cash", "amount": "1.00"}],
    }
    problem = assert_problem(post(cashier_client, body), 400, "validation_error")
    assert set(problem["errors"]) == {"lines.1.product", "lines.2.product"}


def test_payments_must_add_up_to_the_total(
    cashier_client: APIClient, open_shift: Shift, register: Register, product: Product
) -> None:
    for amounts in (["5.39"], ["5.41"], ["3.00", "2.39"]):
        body = sale_body(
            register, [(product, 1)], payments=[{"method": "cash", "amount": a} for a in amounts]
        )
        problem = assert_problem(post(cashier_client, body), 400, "validation_error")
        assert "payments" in problem["errors"]
    assert not Order.objects.exists()
    assert StockLevel.objects.get(product=product).quantity == 100


def test_discounts_above_what_they_apply_to_are_400(
    cashier_client: APIClient, open_shift: Shift, register: Register, product: Product
) -> None:
    line_too_big = sale_body(register, [(product, 1, "5.00")], payments=[])
    problem = assert_problem(post(cashier_client, line_too_big), 400, "validation_error")
    assert "lines.0.discount" in problem["errors"]
    order_too_big = sale_body(register, [(product, 1)], discount="5.00", payments=[])
    problem = assert_problem(post(cashier_client, order_too_big), 400, "validation_error")
    assert "discount" in problem["errors"]


def test_insufficient_stock_names_the_products_and_writes_nothing(
    cashier_client: APIClient, open_shift: Shift, register: Register, store: Store, product: Product
) -> None:
    scarce_a, scarce_b = ProductFactory(), ProductFactory()
    set_stock(store, scarce_a, 1)
    set_stock(store, scarce_b, 0)
    body = sale_body(
        register,
        [(product, 1), (scarce_a, 2), (scarce_b, 1)],
        payments=[{"method": "cash", "amount": "21.60"}],
    )
    problem = assert_problem(post(cashier_client, body), 409, "insufficient_stock")
    assert problem["products"] == sorted([scarce_a.pk, scarce_b.pk])
    assert not Order.objects.exists()
    assert not Payment.objects.exists()
    assert not StockMovement.objects.exists()
    assert not JournalEntry.objects.filter(source="sale").exists()
    assert not AuditEvent.objects.filter(action="order.created").exists()
    assert not IdempotencyKey.objects.exists()
    assert StockLevel.objects.get(product=product).quantity == 100


def test_cash_tendered_above_the_configured_bound_is_refused(
    cashier_client: APIClient,
    open_shift: Shift,
    register: Register,
    product: Product,
    settings: Any,
) -> None:
    settings.CASH_TENDERED_MAX = Decimal("500.00")
    payment = {"method": "cash", "amount": "5.40", "tendered": "500.01"}
    response = post(cashier_client, sale_body(register, [(product, 1)], payments=[payment]))
    problem = assert_problem(response, 400, "tendered_out_of_range")
    assert "payments.0.tendered" in problem["errors"]
    assert not Order.objects.exists()

    payment["tendered"] = "500.00"  # the bound itself is accepted
    response = post(cashier_client, sale_body(register, [(product, 1)], payments=[payment]))
    assert response.status_code == 201, response.content
    assert response.json()["change_due"] == "494.60"


def test_refusals_of_several_kinds_answer_the_generic_code_naming_every_field(
    cashier_client: APIClient,
    open_shift: Shift,
    register: Register,
    product: Product,
    settings: Any,
) -> None:
    settings.CASH_TENDERED_MAX = Decimal("100.00")
    payments = [
        {"method": "cash", "amount": "5.40", "tendered": "100.01"},
        {"method": "cash", "amount": "0.00", "tendered": "1.00"},
    ]
    response = post(cashier_client, sale_body(register, [(product, 1)], payments=payments))
    problem = assert_problem(response, 400, "validation_error")
    assert {"payments.0.tendered", "payments.1.tendered"} <= set(problem["errors"])


@pytest.mark.parametrize("value", ["abc", "0", "-5", "NaN"])
def test_a_cash_tendered_bound_that_is_not_a_positive_amount_stops_start_up(value: str) -> None:
    result = run_django(env={"CASH_TENDERED_MAX": value}, timeout=120)
    assert result.returncode != 0
    assert "CASH_TENDERED_MAX must be a positive decimal amount." in result.stderr


def test_change_on_a_zero_amount_cash_payment_is_refused(
    cashier_client: APIClient, open_shift: Shift, register: Register, product: Product
) -> None:
    payments = [
        {"method": "card", "amount": "5.40"},
        {"method": "cash", "amount": "0.00", "tendered": "20.00"},
    ]
    response = post(cashier_client, sale_body(register, [(product, 1)], payments=payments))
    problem = assert_problem(response, 400, "change_without_payment")
    assert "payments.1.tendered" in problem["errors"]
    assert not Order.objects.exists()

    payments[1]["tendered"] = "0.00"  # a zero cash tender without change stays accepted
    response = post(cashier_client, sale_body(register, [(product, 1)], payments=payments))
    assert response.status_code == 201, response.content
    assert response.json()["change_due"] == "0.00"


@pytest.mark.parametrize(
    ("payment", "field"),
    [
        ({"method": "cash", "amount": "5.40", "tendered": "5.00"}, "payments.0.tendered"),
        ({"method": "card", "amount": "5.40", "tendered": "10.00"}, "payments.0.tendered"),
        ({"method": "cash", "amount": "5.40", "card_last4": "4242"}, "payments.0.card_last4"),
        ({"method": "card", "amount": "5.40", "card_last4": "42"}, "payments.0.card_last4"),
        ({"method": "cheque", "amount": "5.40"}, "payments.0.method"),
        ({"method": "cash", "amount": "-5.40"}, "payments.0.amount"),
        ({"method": "cash", "amount": "5.401"}, "payments.0.amount"),
        ({"method": "cash", "amount": 5.4}, None),  # a JSON number is read exactly: accepted
    ],
)
def test_payment_field_rules(
    cashier_client: APIClient,
    open_shift: Shift,
    register: Register,
    product: Product,
    payment: dict[str, Any],
    field: str | None,
) -> None:
    response = post(cashier_client, sale_body(register, [(product, 1)], payments=[payment]))
    if field is None:
        assert response.status_code == 201, response.content
        return
    problem = assert_problem(response, 400, "validation_error")
    assert field in problem["errors"]


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"quantity": "0"}, "lines.0.quantity"),
        ({"quantity": "-1"}, "lines.0.quantity"),
        ({"quantity": "1.0005"}, "lines.0.quantity"),
        ({"quantity": "1000000"}, "lines.0.quantity"),
        ({"quantity": "abc"}, "lines.0.quantity"),
        ({"discount": "-0.01"}, "lines.0.discount"),
        ({"discount": "0.001"}, "lines.0.discount"),
        ({"product": "x"}, "lines.0.product"),
    ],
)
def test_line_field_rules(
    cashier_client: APIClient,
    open_shift: Shift,
    register: Register,
    product: Product,
    line: dict[str, Any],
    field: str,
) -> None:
    body = sale_body(register, [(product, 1)], payments=[{"method": "cash", "amount": "5.40"}])
    body["lines"][0] |= line
    problem = assert_problem(post(cashier_client, body), 400, "validation_error")
    assert field in problem["errors"]


def test_empty_and_oversized_baskets_are_refused(
    cashier_client: APIClient,
    open_shift: Shift,
    register: Register,
    product: Product,
    settings: Any,
) -> None:
    empty = {"register": register.pk, "lines": [], "payments": []}
    assert "lines" in assert_problem(post(cashier_client, empty), 400, "validation_error")["errors"]
    settings.API_MAX_ORDER_LINES = 3
    big = sale_body(register, [(product, 1)] * 4, payments=[{"method": "cash", "amount": "21.60"}])
    assert "lines" in assert_problem(post(cashier_client, big), 400, "validation_error")["errors"]


def test_client_created_at_needs_an_offset(
    cashier_client: APIClient, open_shift: Shift, register: Register, product: Product
) -> None:
    body = sale_body(
        register,
        [(product, 1)],
        payments=[{"method": "cash", "amount": "5.40"}],
        client_created_at="2026-11-21T17:02:11",
    )
    problem = assert_problem(post(cashier_client, body), 400, "validation_error")
    assert "client_created_at" in problem["errors"]
    body["client_created_at"] = "2026-11-21T17:02:11-05:00"
    assert post(cashier_client, body).json()["client_created_at"] == "2026-11-21T22:02:11Z"


def test_malformed_json_and_non_json(cashier_client: APIClient, open_shift: Shift) -> None:
    bad = cashier_client.post(
        ORDERS_URL, data="{not json", content_type="application/json", HTTP_IDEMPOTENCY_KEY="m1"
    )
    assert_problem(bad, 400, "validation_error")
    form = cashier_client.post(
        ORDERS_URL, data="a=b", content_type="text/plain", HTTP_IDEMPOTENCY_KEY="m2"
    )
    assert_problem(form, 415, "unsupported_media_type")


def test_authentication_and_roles(api_client: APIClient, register: Register) -> None:
    assert_problem(api_client.post(ORDERS_URL, {}, format="json"), 401, "not_authenticated")
    assert_problem(api_client.get(ORDERS_URL), 401, "not_authenticated")


def test_a_cashier_of_another_store_cannot_sell_here(
    client_for: Any, open_shift: Shift, register: Register, product: Product, other_store: Store
) -> None:
    stranger = client_for(CashierFactory(stores=[other_store]))
    body = sale_body(register, [(product, 1)], payments=[{"method": "cash", "amount": "5.40"}])
    assert_problem(post(stranger, body), 404, "not_found")


# --- card numbers ---------------------------------------------------------------------------------

PAN = "4111 1111 1111 1111"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b["payments"][0].update(reference=PAN), "payments.0.reference"),
        (
            lambda b: b["payments"][0].update(reference="4111-1111-1111-1111"),
            "payments.0.reference",
        ),
        (lambda b: b["payments"][0].update(card_last4="4111111111111111"), "payments.0.card_last4"),
        (
            lambda b: b["payments"][0].update(card_number="4111111111111111"),
            "payments.0.card_number",
        ),
        (lambda b: b["payments"][0].update(reference=4111111111111111), "payments.0.reference"),
        (lambda b: b.update(note=f"customer card {PAN} thanks"), "note"),
        (lambda b: b["payments"][0].update(method="5500000000000004"), "payments.0.method"),
    ],
)
def test_full_card_numbers_are_refused_and_never_stored_or_logged(
    cashier_client: APIClient,
    open_shift: Shift,
    register: Register,
    product: Product,
    caplog: pytest.LogCaptureFixture,
    mutate: Any,
    field: str,
) -> None:
    body = sale_body(register, [(product, 1)], payments=[{"method": "card", "amount": "5.40"}])
    mutate(body)
    caplog.set_level(logging.DEBUG)

    response = post(cashier_client, body)

    problem = assert_problem(response, 400, "validation_error")
    assert field in problem["errors"]
    digits = ("4111111111111111", "5500000000000004")
    text = response.content.decode()
    assert not any(d in text.replace(" ", "").replace("-", "") for d in digits)
    assert not any(d in caplog.text.replace(" ", "").replace("-", "") for d in digits)
    assert not Order.objects.exists()
    assert not IdempotencyKey.objects.exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT reference, card_last4 FROM orders_payment")
        assert cursor.fetchall() == []


def test_short_digit_runs_are_fine(
    cashier_client: APIClient, open_shift: Shift, register: Register, product: Product
) -> None:
    payment = {
        "method": "card",
        "amount": "5.40",
        "reference": "123456789012",
        "card_last4": "1111",
    }
    body = sale_body(register, [(product, 1)], payments=[payment])
    assert post(cashier_client, body).status_code == 201


# --- reading orders -------------------------------------------------------------------------------


def test_list_is_scoped_filtered_and_stably_ordered(
    client_for: Any,
    cashier_client: APIClient,
    cashier: User,
    open_shift: Shift,
    register: Register,
    store: Store,
    other_store: Store,
    product: Product,
) -> None:
    r2 = RegisterFactory(store=store, code="R2")
    shift2 = open_shift_on(r2, cashier)
    second_cashier = CashierFactory(stores=[store])
    a = post_sale(cashier_client, sale_body(register, [(product, 1)])).json()
    b = post_sale(cashier_client, sale_body(r2, [(product, 1)])).json()
    c = post_sale(client_for(second_cashier), sale_body(register, [(product, 1)])).json()
    # an order of another store, invisible here
    foreign_register = RegisterFactory(store=other_store)
    foreign_cashier = CashierFactory(stores=[other_store])
    open_shift_on(foreign_register, foreign_cashier)
    set_stock(other_store, product, 10)
    foreign = post_sale(
        client_for(foreign_cashier), sale_body(foreign_register, [(product, 1)])
    ).json()
    # same created_at for two orders: ties broken by id, newest first
    Order.objects.filter(pk__in=[a["id"], b["id"]]).update(
        created_at=Order.objects.get(pk=c["id"]).created_at
    )

    def ids(query: str = "") -> list[int]:
        response = cashier_client.get(f"{ORDERS_URL}{query}")
        assert response.status_code == 200, response.content
        return [o["id"] for o in response.json()["results"]]

    assert ids() == [c["id"], b["id"], a["id"]]
    assert ids(f"?register={r2.pk}") == [b["id"]]
    assert ids(f"?shift={shift2.pk}") == [b["id"]]
    assert ids(f"?cashier={second_cashier.pk}") == [c["id"]]
    assert ids(f"?number={a['number']}") == [a["id"]]
    assert ids("?number=R2-000001") == [b["id"]]
    assert ids(f"?store={store.pk}") == [c["id"], b["id"], a["id"]]
    assert ids(f"?store={other_store.pk}") == []
    assert_problem(cashier_client.get(f"{ORDERS_URL}{foreign['id']}/"), 404, "not_found")
    assert_problem(cashier_client.get(f"{ORDERS_URL}{foreign['id']}/receipt/"), 404, "not_found")
    page = cashier_client.get(f"{ORDERS_URL}?page_size=2").json()
    assert page["count"] == 3
    assert len(page["results"]) == 2
    assert page["next"]
    assert_problem(cashier_client.get(f"{ORDERS_URL}?store=abc"), 400, "validation_error")


def test_date_filters_use_the_store_time_zone(
    cashier_client: APIClient, open_shift: Shift, register: Register, store: Store, product: Product
) -> None:
    # store is America/New_York: 2026-11-21 23:30 local is 2026-11-22 04:30 UTC
    late = post_sale(cashier_client, sale_body(register, [(product, 1)])).json()
    early = post_sale(cashier_client, sale_body(register, [(product, 1)])).json()
    Order.objects.filter(pk=late["id"]).update(
        created_at=dt.datetime(2026, 11, 22, 4, 30, tzinfo=dt.UTC)
    )
    Order.objects.filter(pk=early["id"]).update(
        created_at=dt.datetime(2026, 11, 22, 5, 30, tzinfo=dt.UTC)
    )

    def ids(query: str) -> list[int]:
        return [o["id"] for o in cashier_client.get(f"{ORDERS_URL}{query}").json()["results"]]

    assert ids("?date_from=2026-11-21&date_to=2026-11-21") == [late["id"]]
    assert ids("?date_from=2026-11-22") == [early["id"]]
    assert ids("?date_to=2026-11-22") == [early["id"], late["id"]]
    assert ids("?date_from=2026-11-23") == []
    assert_problem(
        cashier_client.get(f"{ORDERS_URL}?date_from=21-11-2026"), 400, "validation_error"
    )


# --- query count ----------------------------------------------------------------------------------


def _sale_queries(client: APIClient, register: Register, products: list[Product]) -> int:
    body = sale_body(register, [(p, 1) for p in products])
    quote = client.post(QUOTE_URL, body, format="json").json()
    body["payments"] = [{"method": "cash", "amount": quote["total"]}]
    with CaptureQueriesContext(connection) as ctx:
        response = post(client, body)
    assert response.status_code == 201, response.content
    return len(ctx.captured_queries)


#: Production cost of a sale, whatever its size (see the report in orders/services/sales.py):
#: auth 1, idempotency 2, shift+register+store 1, products 1, number 1, order 1, lines 1,
#: payments 1, stock 6 (catalog), journal 2 (ledger), audit 3 — plus the 2 of the savepoint the
#: test's own transaction turns the sale's transaction into.
SALE_QUERIES = 20 + 2


def test_sale_query_count_is_constant(
    cashier_client: APIClient, open_shift: Shift, register: Register, store: Store, product: Product
) -> None:
    many = [product, *ProductFactory.create_batch(49, tax_rate=product.tax_rate)]
    for item in many:
        set_stock(store, item, 10)
    post_sale(cashier_client, sale_body(register, [(product, 1)]))  # warm the chart cache etc.

    one = _sale_queries(cashier_client, register, [product])
    fifty = _sale_queries(cashier_client, register, many)

    assert one == fifty
    assert one <= SALE_QUERIES


def test_list_query_count_is_constant(
    cashier_client: APIClient,
    open_shift: Shift,
    register: Register,
    product: Product,
    django_assert_max_num_queries: Any,
) -> None:
    for _ in range(3):
        post_sale(cashier_client, sale_body(register, [(product, 1), (product, 2)]))
    with CaptureQueriesContext(connection) as few:
        cashier_client.get(ORDERS_URL)
    for _ in range(5):
        post_sale(cashier_client, sale_body(register, [(product, 1), (product, 2)]))
    with CaptureQueriesContext(connection) as more:
        cashier_client.get(ORDERS_URL)
    assert len(few.captured_queries) == len(more.captured_queries) <= 6
    assert django_settings.API_MAX_ORDER_LINES >= 50


def test_a_failure_late_in_the_sale_rolls_everything_back(
    cashier_client: APIClient,
    open_shift: Shift,
    register: Register,
    product: Product,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken_audit(**kwargs: Any) -> None:
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr("orders.services.sales.audit_record", broken_audit)
    body = sale_body(register, [(product, 2)], payments=[{"method": "cash", "amount": "10.80"}])

    response = post(cashier_client, body, key="late-failure")

    assert_problem(response, 500, "server_error")
    assert "audit store unavailable" not in response.content.decode()
    assert not Order.objects.exists()
    assert not StockMovement.objects.exists()
    assert StockLevel.objects.get(product=product).quantity == 100
    assert not JournalEntry.objects.filter(source="sale").exists()
    assert not IdempotencyKey.objects.exists()
    assert not RegisterSequence.objects.filter(register=register, last_order_number__gt=0).exists()

    monkeypatch.undo()
    retried = post(cashier_client, body, key="late-failure")
    assert retried.status_code == 201
    assert retried.json()["number"] == "R1-000001"


def test_oversized_body_is_413(
    cashier_client: APIClient, open_shift: Shift, register: Register, settings: Any
) -> None:
    settings.API_MAX_BODY_BYTES = 200
    body = {"register": register.pk, "lines": [{"product": 1, "quantity": 1}] * 20}
    assert_problem(post(cashier_client, body), 413, "payload_too_large")


def test_metrics_count_committed_sales_only(
    cashier_client: APIClient,
    open_shift: Shift,
    register: Register,
    store: Store,
    product: Product,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from monitoring.metrics import (
        INSUFFICIENT_STOCK,
        ORDER_AMOUNT,
        ORDERS,
        PAYMENT_AMOUNT,
        PAYMENTS,
    )

    def value(counter: Any, **labels: str) -> float:
        return counter.labels(**labels)._value.get()

    orders_before = value(ORDERS, store=store.code, offline="false")
    amount_before = value(ORDER_AMOUNT, store=store.code, currency="USD")
    card_before = value(PAYMENTS, store=store.code, method="card")
    card_amount_before = value(PAYMENT_AMOUNT, store=store.code, method="card", currency="USD")
    refused_before = value(INSUFFICIENT_STOCK, store=store.code)
    body = sale_body(register, [(product, 2)], payments=[{"method": "card", "amount": "10.80"}])

    with django_capture_on_commit_callbacks(execute=True):
        assert post(cashier_client, body).status_code == 201
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        too_many = sale_body(
            register, [(product, 101)], payments=[{"method": "cash", "amount": "545.57"}]
        )
        assert_problem(post(cashier_client, too_many), 409, "insufficient_stock")
    assert callbacks == []

    assert value(ORDERS, store=store.code, offline="false") == orders_before + 1
    assert value(ORDER_AMOUNT, store=store.code, currency="USD") == pytest.approx(
        amount_before + 10.8
    )
    assert value(PAYMENTS, store=store.code, method="card") == card_before + 1
    # Money counters carry the currency: a sum over stores never adds dollars and yen.
    assert value(PAYMENT_AMOUNT, store=store.code, method="card", currency="USD") == (
        pytest.approx(card_amount_before + 10.8)
    )
    assert value(INSUFFICIENT_STOCK, store=store.code) == refused_before + 1
