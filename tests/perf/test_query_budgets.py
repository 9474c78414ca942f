"""Query budgets of the hot paths, pinned through the API (issue 8). Not timed: a query count is
deterministic, a duration is not (timings live in `make bench`, bench/RESULTS.md).

Counts include everything Django sends: authentication, and the transaction's two statements
(`BEGIN`/`COMMIT` in production, `SAVEPOINT`/`RELEASE` inside the test's own transaction — the
same number), so a budget here is the number of round trips the request costs in production.

Pinned elsewhere, not repeated here: product list and delta-sync pages ≤ 4 queries beyond auth
whatever the page size (tests/catalog/test_products_api.py), order list constant in the number of
orders (tests/orders/test_sales.py), daily report constant in the number of orders
(tests/reports/test_generation.py), `stock_apply`, `journal_post` and `audit_record` on their own
(tests/catalog, tests/ledger, tests/audit).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import Register, Store, User
from catalog.models import Modifier, ModifierGroup, Product
from orders.models import Order
from tests.catalog.factories import ProductFactory, TaxRateFactory, set_stock
from tests.customers.factories import TaxExemptCustomerFactory
from tests.factories import ManagerFactory
from tests.orders.factories import ORDERS_URL, QUOTE_URL, open_shift_on, sale_body
from tests.pricebook.factories import PriceListFactory, PriceListItemFactory, PromotionFactory

pytestmark = pytest.mark.django_db

PRODUCTS_URL = "/api/v1/products/"

#: A sale through `POST /api/v1/orders/`, whatever its number of lines (target of issue 8: 15;
#: of issue 17: 13): BEGIN, the idempotency key, the shift's lock, the products (with their
#: price-list prices and modifier groups), the store's promotions, the order, the stock's lock
#: and write, the journal entry, the audit event, the stored answer, COMMIT.
SALE_BUDGET = 12
#: A sale completing a held order: the sale's, plus locking and reading the held order and
#: marking it completed.
HELD_SALE_BUDGET = SALE_BUDGET + 2
#: A sale paid by one gift card: the sale's, plus the card's lock, its balance and its `redeem`
#: movement (issue 16). A plain sale's budget does not change.
GIFT_CARD_SALE_BUDGET = SALE_BUDGET + 3
#: A sale naming a customer: the sale's, plus reading the customer (tax exemption).
CUSTOMER_SALE_BUDGET = SALE_BUDGET + 1
#: A sale naming a customer, paid by their store credit: the customer sale's, plus the
#: customer's lock, its balance and the `redeem` movement (the change is in the sale's own audit
#: event).
STORE_CREDIT_SALE_BUDGET = CUSTOMER_SALE_BUDGET + 3
#: A sale naming a customer who earns loyalty points: the customer sale's, plus the customer's
#: lock, the points and the `earn` movement (the value is lines of the sale's one entry).
POINTS_SALE_BUDGET = CUSTOMER_SALE_BUDGET + 3
#: A void through `POST /api/v1/orders/{id}/void/`, whatever the number of lines: the key, the
#: order (scoped, then locked), the shift's lock, the order's update, the sale's movements, stock
#: (lock; update + insert), the sale's journal lines and the mirror entry, the order read back
#: (order, lines, payments), the stored answer, the audit chain (2) and the transaction (2); and
#: the order's gift card payments (issue 16: a card that paid gets its money back).
VOID_BUDGET = 18
#: An exchange through `POST /api/v1/orders/` with `returns`, whatever the number of lines sold
#: and returned (one earlier order): the sale's, plus the register, the returned order and its
#: lines locked, the counters' and stock rows' locks, the refund's number, row, lines and
#: payment, the returned lines' and the order's counters (inside a savepoint: 4), the restock
#: (lock; update + insert), its journal entry and audit event. One earlier order's refund; each
#: further order returned from costs its own refund's statements.
EXCHANGE_BUDGET = 29
#: A barcode lookup that misses the barcode cache, the token's user not cached yet either (its
#: row and store ids, then the product and its modifier groups' ids): the worst case.
LOOKUP_MISS_BUDGET = 4


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings: Any) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def products(store: Store) -> list[Product]:
    rate = TaxRateFactory(name="Perf 8.25", rate=Decimal("8.250"))
    items = ProductFactory.create_batch(50, tax_rate=rate, price=Decimal("1.99"))
    for item in items:
        set_stock(store, item, 1000)
    return items


def _queries(call: Any) -> tuple[Any, list[str]]:
    with CaptureQueriesContext(connection) as ctx:
        response = call()
    return response, [q["sql"] for q in ctx.captured_queries]


def _sale_queries(
    client: APIClient, register: Register, items: list[Product], **extra: Any
) -> list[str]:
    body = sale_body(register, [(p, 1) for p in items], **extra)
    quote = client.post(QUOTE_URL, body, format="json")
    assert quote.status_code == 200, quote.content
    body["payments"] = [{"method": "cash", "amount": quote.json()["total"]}]
    response, sql = _queries(
        lambda: client.post(ORDERS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    )
    assert response.status_code == 201, response.content
    assert len(response.json()["lines"]) == len(items)
    return sql


def test_a_sale_costs_the_same_queries_for_1_and_50_lines(
    cashier_client: APIClient, cashier: User, register: Register, products: list[Product]
) -> None:
    open_shift_on(register, cashier)
    _sale_queries(cashier_client, register, products[:1])  # per-process caches (chart) warm

    one = _sale_queries(cashier_client, register, products[:1])
    fifty = _sale_queries(cashier_client, register, products)

    assert len(one) == len(fifty), "\n".join(fifty)


def test_a_sale_with_price_lists_modifiers_and_promotions_keeps_the_budget_for_1_and_50_lines(
    cashier_client: APIClient,
    cashier: User,
    register: Register,
    store: Store,
    products: list[Product],
) -> None:
    """Issue 17: price lists and promotions are read once per sale, modifiers with the products:
    a sale where every line has a price-list price, two modifiers and a promotion costs what a
    plain sale costs, for 1 line as for 50."""
    group = ModifierGroup.objects.create(name="Milk", min_choices=1, max_choices=2)
    oat = Modifier.objects.create(group=group, name="Oat", price_delta=Decimal("0.60"))
    shot = Modifier.objects.create(group=group, name="Shot", price_delta=Decimal("0.90"))
    price_list = PriceListFactory(stores=[store])
    for item in products:
        item.modifier_groups.add(group)
        PriceListItemFactory(price_list=price_list, product=item, price=Decimal("1.49"))
    PromotionFactory(stores=[store], products=products[::2], value=Decimal("10"))
    PromotionFactory(kind="amount_off", products=products[1::2], value=Decimal("0.25"))
    open_shift_on(register, cashier)

    def sale(items: list[Product]) -> list[str]:
        body = sale_body(register, [(p, 1) for p in items])
        for line in body["lines"]:
            line["modifiers"] = [oat.pk, shot.pk]
        quote = cashier_client.post(QUOTE_URL, body, format="json")
        assert quote.status_code == 200, quote.content
        assert all(ln["unit_price"] == "2.99" and ln["promotion"] for ln in quote.json()["lines"])
        body["payments"] = [{"method": "cash", "amount": quote.json()["total"]}]
        response, sql = _queries(
            lambda: cashier_client.post(
                ORDERS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
            )
        )
        assert response.status_code == 201, response.content
        return sql

    sale(products[:1])  # per-process caches warm
    one, fifty = sale(products[:1]), sale(products)
    assert len(one) == len(fifty) == SALE_BUDGET <= 13, "\n".join(fifty)


@pytest.mark.postgres
def test_a_sale_is_within_its_query_budget_on_postgresql(
    cashier_client: APIClient, cashier: User, register: Register, products: list[Product]
) -> None:
    """The budget is production's (PostgreSQL, where several writes are one statement each);
    other backends take the ORM's longer way."""
    open_shift_on(register, cashier)
    _sale_queries(cashier_client, register, products[:1])

    sql = _sale_queries(cashier_client, register, products[:3])

    assert len(sql) <= SALE_BUDGET, "\n".join(sql)


@pytest.mark.postgres
def test_a_sale_paid_by_gift_card_is_within_its_budget_whatever_its_lines(
    cashier_client: APIClient, cashier: User, register: Register, products: list[Product]
) -> None:
    open_shift_on(register, cashier)
    _sale_queries(cashier_client, register, products[:1])
    issued = cashier_client.post(
        "/api/v1/gift-cards/",
        {
            "register": register.pk,
            "amount": "500.00",
            "payments": [{"method": "cash", "amount": "500.00"}],
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    code = issued.json()["code"]
    counts = []
    for items in (products[:1], products):
        body = sale_body(register, [(p, 1) for p in items])
        total = cashier_client.post(QUOTE_URL, body, format="json").json()["total"]
        body["payments"] = [{"method": "gift_card", "code": code, "amount": total}]
        response, sql = _queries(
            lambda body=body: cashier_client.post(
                ORDERS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
            )
        )
        assert response.status_code == 201, response.content
        counts.append(len(sql))
        assert len(sql) <= GIFT_CARD_SALE_BUDGET, "\n".join(sql)
    assert counts[0] == counts[1]


@pytest.mark.postgres
def test_a_sale_paid_by_store_credit_is_within_its_budget_whatever_its_lines(
    cashier_client: APIClient, cashier: User, register: Register, products: list[Product]
) -> None:
    from customers.models import Customer
    from tests.customers.factories import CustomerFactory

    open_shift_on(register, cashier)
    customer = CustomerFactory()
    # The credit as if given earlier (its movement and entry are not what is measured here).
    Customer.objects.filter(pk=customer.pk).update(
        store_credit=Decimal("500.00"), store_credit_currency=register.store.currency
    )
    _sale_queries(cashier_client, register, products[:1])
    counts = []
    for items in (products[:1], products):
        body = sale_body(register, [(p, 1) for p in items], customer=customer.pk)
        total = cashier_client.post(QUOTE_URL, body, format="json").json()["total"]
        body["payments"] = [{"method": "store_credit", "amount": total}]
        response, sql = _queries(
            lambda body=body: cashier_client.post(
                ORDERS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
            )
        )
        assert response.status_code == 201, response.content
        counts.append(len(sql))
        assert len(sql) <= STORE_CREDIT_SALE_BUDGET, "\n".join(sql)
    assert counts[0] == counts[1] == STORE_CREDIT_SALE_BUDGET
    # The sale's audit event is still its last statement before the commit.
    assert "audit_auditchainhead" in sql[-2], "\n".join(sql)


@pytest.mark.postgres
def test_a_sale_earning_points_is_within_its_budget_whatever_its_lines(
    cashier_client: APIClient, cashier: User, register: Register, products: list[Product]
) -> None:
    from tests.customers.factories import CustomerFactory

    Store.objects.filter(pk=register.store_id).update(
        loyalty_points_per_unit=Decimal("1"), loyalty_point_value=Decimal("0.01")
    )
    open_shift_on(register, cashier)
    customer = CustomerFactory()
    _sale_queries(cashier_client, register, products[:1])
    one = _sale_queries(cashier_client, register, products[:1], customer=customer.pk)
    fifty = _sale_queries(cashier_client, register, products, customer=customer.pk)
    customer.refresh_from_db()
    earned = Order.objects.filter(customer=customer).values_list("points_earned", flat=True)
    assert customer.loyalty_points == sum(earned) > 100  # floor(2.15) + floor(107.…)
    assert len(one) == len(fifty) == POINTS_SALE_BUDGET, "\n".join(fifty)
    assert "audit_auditchainhead" in fifty[-2], "\n".join(fifty)


@pytest.mark.postgres
def test_a_sale_completing_a_held_order_is_within_its_budget_whatever_its_lines(
    cashier_client: APIClient, cashier: User, register: Register, products: list[Product]
) -> None:
    open_shift_on(register, cashier)
    _sale_queries(cashier_client, register, products[:1])

    def completion(items: list[Product]) -> list[str]:
        held = cashier_client.post(
            "/api/v1/held-orders/", sale_body(register, [(p, 1) for p in items]), format="json"
        )
        assert held.status_code == 201, held.content
        body = {
            "register": register.pk,
            "held_order": held.json()["id"],
            "payments": [{"method": "cash", "amount": held.json()["total"]}],
        }
        response, sql = _queries(
            lambda: cashier_client.post(
                ORDERS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
            )
        )
        assert response.status_code == 201, response.content
        assert len(response.json()["lines"]) == len(items)
        return sql

    one, fifty = completion(products[:1]), completion(products)

    assert len(one) == len(fifty), "\n".join(fifty)
    assert len(fifty) <= HELD_SALE_BUDGET, "\n".join(fifty)


@pytest.mark.postgres
def test_a_sale_naming_a_customer_costs_one_query_more_whatever_its_lines(
    cashier_client: APIClient, cashier: User, register: Register, products: list[Product]
) -> None:
    open_shift_on(register, cashier)
    customer = TaxExemptCustomerFactory()
    _sale_queries(cashier_client, register, products[:1])

    plain = _sale_queries(cashier_client, register, products[:3])
    one = _sale_queries(cashier_client, register, products[:1], customer=customer.pk)
    fifty = _sale_queries(cashier_client, register, products, customer=customer.pk)

    assert len(one) == len(fifty), "\n".join(fifty)
    assert len(fifty) == len(plain) + 1 <= CUSTOMER_SALE_BUDGET, "\n".join(fifty)


def test_barcode_lookup_miss_is_at_most_three_queries_and_a_hit_is_none(
    cashier_client: APIClient, products: list[Product]
) -> None:
    barcode = products[7].barcode
    miss, miss_sql = _queries(lambda: cashier_client.get(PRODUCTS_URL, {"barcode": barcode}))
    hit, hit_sql = _queries(lambda: cashier_client.get(PRODUCTS_URL, {"barcode": barcode}))
    auth_only, auth_sql = _queries(lambda: cashier_client.get(PRODUCTS_URL, {"category": "x"}))

    assert miss.status_code == hit.status_code == 200
    assert auth_only.status_code == 400
    assert miss.json() == hit.json()
    assert hit.json()["results"][0]["id"] == products[7].pk
    assert len(miss_sql) <= LOOKUP_MISS_BUDGET, "\n".join(miss_sql)
    # A hit: no database query beyond authentication, and authentication itself is cached.
    assert auth_sql == []
    assert hit_sql == []


def test_order_list_costs_the_same_queries_for_10_and_200_per_page(
    cashier_client: APIClient, cashier: User, register: Register, products: list[Product]
) -> None:
    open_shift_on(register, cashier)
    for n in range(12):
        items = products[n : n + 3]
        body = sale_body(register, [(p, 1) for p in items])
        total = cashier_client.post(QUOTE_URL, body, format="json").json()["total"]
        body["payments"] = [{"method": "cash", "amount": total}]
        response = cashier_client.post(
            ORDERS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
        )
        assert response.status_code == 201

    small, small_sql = _queries(lambda: cashier_client.get(ORDERS_URL, {"page_size": 10}))
    large, large_sql = _queries(lambda: cashier_client.get(ORDERS_URL, {"page_size": 200}))

    assert len(small.json()["results"]) == 10
    assert len(large.json()["results"]) == 12
    assert len(small_sql) == len(large_sql), "\n".join(large_sql)


@pytest.mark.postgres
def test_a_sales_audit_event_is_its_last_statement_before_the_commit(
    cashier_client: APIClient, cashier: User, register: Register, products: list[Product]
) -> None:
    """Every sale of a store appends to the store's one audit chain, so the chain head's lock is
    where the store's sales queue: it must be taken by the sale's last statement, after the
    response is stored with the idempotency key, and held only to the commit."""
    open_shift_on(register, cashier)
    _sale_queries(cashier_client, register, products[:1])

    sql = _sale_queries(cashier_client, register, products[:3])

    # The test's own transaction turns COMMIT into RELEASE SAVEPOINT.
    assert sql[-1].startswith("RELEASE SAVEPOINT"), sql[-1]
    assert "audit_auditchainhead" in sql[-2], "\n".join(sql)
    assert 'UPDATE "orders_idempotencykey"' in sql[-3], "\n".join(sql)


def _void_queries(client: APIClient, register: Register, items: list[Product]) -> list[str]:
    body = sale_body(register, [(p, 1) for p in items])
    total = client.post(QUOTE_URL, body, format="json").json()["total"]
    body["payments"] = [{"method": "cash", "amount": total}]
    sale = client.post(ORDERS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert sale.status_code == 201, sale.content
    response, sql = _queries(
        lambda: client.post(
            f"{ORDERS_URL}{sale.json()['id']}/void/",
            {"reason": "rang up twice"},
            format="json",
            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        )
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "voided"
    return sql


@pytest.mark.postgres
def test_a_void_is_within_its_query_budget_for_1_and_50_lines(
    client_for: Any, store: Store, cashier: User, register: Register, products: list[Product]
) -> None:
    client = client_for(ManagerFactory(stores=[store]))
    open_shift_on(register, cashier)
    _void_queries(client, register, products[:1])  # per-process caches (chart) warm

    one = _void_queries(client, register, products[:1])
    fifty = _void_queries(client, register, products)

    assert len(one) == len(fifty), "\n".join(fifty)
    assert len(fifty) <= VOID_BUDGET, "\n".join(fifty)


def _exchange_queries(client: APIClient, register: Register, items: list[Product]) -> list[str]:
    """Sell `items` (one each), then exchange all of them for the same again: nothing due."""
    body = sale_body(register, [(p, 1) for p in items])
    total = client.post(QUOTE_URL, body, format="json").json()["total"]
    body["payments"] = [{"method": "cash", "amount": total}]
    sale = client.post(ORDERS_URL, body, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert sale.status_code == 201, sale.content
    exchange = {
        **sale_body(register, [(p, 1) for p in items]),
        "returns": [{"line": line["id"], "quantity": "1"} for line in sale.json()["lines"]],
        "payments": [],
    }
    response, sql = _queries(
        lambda: client.post(
            ORDERS_URL, exchange, format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())
        )
    )
    assert response.status_code == 201, response.content
    assert response.json()["returned_total"] == total
    return sql


@pytest.mark.postgres
def test_an_exchange_is_within_its_query_budget_for_1_and_20_lines(
    client_for: Any, store: Store, cashier: User, register: Register, products: list[Product]
) -> None:
    client = client_for(ManagerFactory(stores=[store]))
    open_shift_on(register, cashier)
    _exchange_queries(client, register, products[:1])  # per-process caches (chart) warm

    one = _exchange_queries(client, register, products[:1])
    twenty = _exchange_queries(client, register, products[:20])

    assert len(one) == len(twenty), "\n".join(twenty)
    assert len(twenty) <= EXCHANGE_BUDGET, "\n".join(twenty)
