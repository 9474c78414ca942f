"""Returns without a receipt (API.md, Version 1.1, "Register flows"): priced at the product's
current price (or less) and tax rate, paid back on the tenders asked for, numbered in the
register's refund sequence, restocked at current cost, posted like a refund (source `return`),
counted in the drawer and the shift report, reconciled, counted in the metrics once committed,
printed as a receipt; refusals, roles, approvals, replays and query budgets that do not grow
with the lines."""

from __future__ import annotations

import datetime as dt
import importlib
import re
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Register, Store, User
from audit.models import AuditEvent
from catalog.models import Product, StockLevel, StockMovement
from ledger.models import JournalEntry
from ledger.selectors import account_balances, trial_balance
from ledger.services import INVENTORY
from monitoring.metrics import RETURN_AMOUNT, RETURNS
from orders.models import Order, Return, ReturnLine, Shift
from orders.reconciliation import reconcile_store_day, store_today
from orders.selectors.shifts import shift_cash_summary
from orders.services.receipts import RECEIPT_WIDTH
from orders.services.returns import ReturnLineRequest, return_create
from orders.services.shifts import shift_close
from tests.catalog.factories import ProductFactory, TaxRateFactory, set_stock
from tests.factories import (
    DEFAULT_PASSWORD,
    CashierFactory,
    ManagerFactory,
    RegisterFactory,
    StoreFactory,
)
from tests.orders.factories import open_shift_on
from tests.orders.selling import entry_lines, refund_via_api, sell

D = Decimal
pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

URL = "/api/v1/returns/"


def post_return(
    client: APIClient,
    register: Register,
    lines: list[dict[str, Any]],
    *,
    key: str | None = None,
    approval: str | None = None,
    **body: Any,
):
    headers = {"HTTP_IDEMPOTENCY_KEY": key or str(uuid.uuid4())}
    if approval:
        headers["HTTP_X_APPROVAL"] = approval
    return client.post(
        URL, {"register": register.pk, "lines": lines, **body}, format="json", **headers
    )


def stock_of(store: Store, product: Product) -> Decimal:
    return StockLevel.objects.get(store=store, product=product).quantity


@pytest.fixture
def three_sold(open_shift: Shift, cashier: User, register: Register, product: Product) -> Order:
    """3 × 4.99 at 8.25 %: total 16.21 in cash."""
    return sell(cashier, register, [(product, "3")], [("cash", "16.21", "20.00")])


# --- the flow -----------------------------------------------------------------------------------


def test_a_return_gives_money_back_restocks_posts_and_is_numbered_after_refunds(
    manager_client, manager, store, register, product, open_shift, three_sold
) -> None:
    refund = refund_via_api(manager_client, three_sold, [(three_sold.lines.get(), "1")], key="r")
    assert refund.json()["number"] == "R1-R000001"
    cash_before = shift_cash_summary(shift=open_shift).expected_cash
    stock_before = stock_of(store, product)

    response = post_return(
        manager_client,
        register,
        [{"product": product.pk, "quantity": "2"}],
        reason="no receipt",
        tenders=[{"method": "card", "amount": "5.00"}, {"method": "cash", "amount": "5.80"}],
    )

    assert response.status_code == 201, response.content
    body = response.json()
    # 2 × 4.99 = 9.98, tax round(0.82335) = 0.82, total 10.80.
    assert body["number"] == "R1-R000002"
    assert body["register"] == register.pk
    assert body["lines"] == [
        {
            "product": product.pk,
            "quantity": "2.000",
            "unit_price": "4.99",
            "tax_rate": "8.250",
            "net": "9.98",
            "tax": "0.82",
            "total": "10.80",
        }
    ]
    assert body["total"] == "10.80"
    assert body["tenders"] == [
        {"method": "card", "amount": "5.00"},
        {"method": "cash", "amount": "5.80"},
    ]
    assert body["customer"] is None
    assert body["shift"] == open_shift.pk
    assert body["created_at"]

    assert stock_of(store, product) == stock_before + 2
    movement = StockMovement.objects.get(source_type="return", source_id=body["id"])
    assert (movement.reason, movement.quantity_delta, movement.value) == ("return", D("2"), D("4"))
    entry = JournalEntry.objects.get(source="return", source_id=body["id"])
    assert entry_lines(entry) == {
        "4900": (D("9.98"), D("0")),
        "2100": (D("0.82"), D("0")),
        "1010": (D("0"), D("5.00")),
        "1000": (D("0"), D("5.80")),
        "1200": (D("4.00"), D("0")),
        "5000": (D("0"), D("4.00")),
    }
    balance = trial_balance(store_id=store.pk, date_to=None)
    assert balance is not None
    assert balance.total_debit == balance.total_credit
    book_value = sum(level.value for level in StockLevel.objects.filter(store=store))
    assert account_balances(store_id=store.pk, codes=[INVENTORY])[INVENTORY] == book_value
    assert shift_cash_summary(shift=open_shift).expected_cash == cash_before - D("5.80")
    event = AuditEvent.objects.get(action="return.created")
    assert event.object_id == str(body["id"])
    assert "approved_by" not in event.changes


def test_a_lower_unit_price_all_cash_by_default_and_no_restock(
    manager_client, store, register, product, open_shift
) -> None:
    response = post_return(
        manager_client,
        register,
        [{"product": product.pk, "quantity": "1", "unit_price": "3.00"}],
        restock=False,
    )

    assert response.status_code == 201, response.content
    body = response.json()
    # 3.00, tax round(0.2475) = 0.25
    assert (body["lines"][0]["net"], body["lines"][0]["tax"], body["total"]) == (
        "3.00",
        "0.25",
        "3.25",
    )
    assert body["tenders"] == [{"method": "cash", "amount": "3.25"}]
    assert body["number"] == "R1-R000001"  # the register's first refund number
    assert stock_of(store, product) == D("100")
    entry = JournalEntry.objects.get(source="return", source_id=body["id"])
    assert "1200" not in entry_lines(entry)


def test_the_shift_report_counts_returns_and_the_close_expects_less_cash(
    manager_client, manager, store, register, product, open_shift
) -> None:
    post_return(manager_client, register, [{"product": product.pk, "quantity": "1"}])

    report = manager_client.get(f"/api/v1/shifts/{open_shift.pk}/report/").json()

    assert report["returns"] == {"count": 1, "total": "5.40", "cash": "5.40"}
    assert report["expected_cash"] == "94.60"  # float 100.00 − 5.40
    closed = shift_close(shift=open_shift, counted_cash=D("94.60"), user=manager)
    assert closed.difference == D("0")


def test_the_daily_report_and_its_csv_count_the_days_returns(
    manager_client, store, register, product, open_shift
) -> None:
    post_return(manager_client, register, [{"product": product.pk, "quantity": "1"}])
    today = timezone.localdate(timezone=store.tzinfo)

    report = manager_client.get("/api/v1/reports/daily/", {"store": store.pk, "date": today})

    assert report.status_code == 200, report.content
    assert (report.json()["returns_count"], report.json()["returns_total"]) == (1, "5.40")
    csv_text = manager_client.get(
        "/api/v1/reports/daily/", {"store": store.pk, "date": today, "format": "csv"}
    ).content.decode()
    header, row = csv_text.splitlines()[:2]
    summary = dict(zip(header.split(","), row.split(","), strict=True))
    assert (summary["returns_count"], summary["returns_total"]) == ("1", "5.40")


def test_the_day_reconciles_after_a_return(
    manager_client, manager, store, register, product, open_shift, three_sold
) -> None:
    post_return(
        manager_client,
        register,
        [{"product": product.pk, "quantity": "1.5", "unit_price": "4.00"}],
        tenders=[{"method": "cash", "amount": "3.00"}, {"method": "other", "amount": "3.50"}],
    )
    expected = shift_cash_summary(shift=open_shift).expected_cash
    shift_close(shift=open_shift, counted_cash=expected, user=manager)

    result = reconcile_store_day(store=store, date=store_today(store))

    assert result.ok, result.as_dict()
    assert result.shifts_closed == 1


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "extra", "field"),
    [
        ({"quantity": "1", "unit_price": "5.00"}, {}, "lines.0.unit_price"),
        ({"quantity": "1", "unit_price": "4.995"}, {}, "lines.0.unit_price"),
        ({"quantity": "1"}, {"tenders": [{"method": "cash", "amount": "5.00"}]}, "tenders"),
        (
            {"quantity": "1"},
            {"tenders": [{"method": "store_credit", "amount": "5.40"}]},
            "tenders.0.method",
        ),
        ({"quantity": "1"}, {"customer": 7}, "customer"),
    ],
)
def test_refusals_name_the_field_and_write_nothing(
    manager_client, register, product, open_shift, line, extra, field
) -> None:
    response = post_return(manager_client, register, [{"product": product.pk, **line}], **extra)

    assert response.status_code == 400, response.content
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["errors"]
    assert not Return.objects.exists()
    assert not JournalEntry.objects.filter(source="return").exists()


def test_unknown_and_inactive_products_are_refused_by_line(
    manager_client, store, register, product, open_shift
) -> None:
    retired = ProductFactory(price=D("1.00"), tax_rate=product.tax_rate, is_active=False)

    response = post_return(
        manager_client,
        register,
        [
            {"product": product.pk, "quantity": "1"},
            {"product": 999_999, "quantity": "1"},
            {"product": retired.pk, "quantity": "1"},
        ],
    )

    assert response.status_code == 400, response.content
    assert set(response.json()["errors"]) == {"lines.1.product", "lines.2.product"}


def test_jpy_amounts_have_no_decimals() -> None:
    store = StoreFactory(currency="JPY")
    register = RegisterFactory(store=store, code="R1")
    manager = ManagerFactory(stores=[store])
    open_shift_on(register, manager, opening_float="10000")
    product = ProductFactory(price=D("333"), cost=D("120"), tax_rate=TaxRateFactory(rate=D("10")))
    set_stock(store, product, 10)
    client = APIClient()
    client.force_authenticate(manager)

    refused = post_return(
        client, register, [{"product": product.pk, "quantity": "1", "unit_price": "300.5"}]
    )
    assert refused.status_code == 400, refused.content
    assert "lines.0.unit_price" in refused.json()["errors"]
    tender = post_return(
        client,
        register,
        [{"product": product.pk, "quantity": "1"}],
        tenders=[{"method": "card", "amount": "365.5"}, {"method": "cash", "amount": "0.5"}],
    )
    assert tender.status_code == 400, tender.content
    assert "tenders.0.amount" in tender.json()["errors"]

    accepted = post_return(client, register, [{"product": product.pk, "quantity": "1.5"}])
    assert accepted.status_code == 201, accepted.content
    # round(333 × 1.5) = 500 (499.5 half-up), tax 50
    assert (accepted.json()["lines"][0]["net"], accepted.json()["total"]) == ("500", "550")
    text = client.get(f"{URL}{accepted.json()['id']}/receipt/").content.decode()
    assert "1.500 x 333" in text
    assert re.search(r"TOTAL REFUNDED JPY\s+550$", text, re.M), text
    assert not re.search(r"\d\.\d", text.replace("1.500 x", "")), text


def test_cash_needs_an_open_shift_card_does_not(manager_client, register, product) -> None:
    cash = post_return(manager_client, register, [{"product": product.pk, "quantity": "1"}])
    assert cash.status_code == 409, cash.content
    assert cash.json()["code"] == "shift_not_open"

    card = post_return(
        manager_client,
        register,
        [{"product": product.pk, "quantity": "1"}],
        tenders=[{"method": "card", "amount": "5.40"}],
    )
    assert card.status_code == 201, card.content
    assert card.json()["shift"] is None


def test_another_stores_register_is_not_found(
    manager_client, other_store, product, open_shift
) -> None:
    elsewhere = RegisterFactory(store=other_store, code="X1")
    response = post_return(manager_client, elsewhere, [{"product": product.pk, "quantity": "1"}])
    assert response.status_code == 404, response.content


def test_an_inactive_register_takes_nothing_back(manager_client, register, product) -> None:
    register.is_active = False
    register.save()

    response = post_return(
        manager_client,
        register,
        [{"product": product.pk, "quantity": "1"}],
        tenders=[{"method": "card", "amount": "5.40"}],
    )

    assert response.status_code == 400, response.content
    assert "register" in response.json()["errors"]
    assert not Return.objects.exists()


# --- roles and approvals ------------------------------------------------------------------------


def test_a_cashier_needs_an_approval_unless_the_store_allows_it(
    client_for, cashier_client, store, register, product, open_shift
) -> None:
    boss = ManagerFactory(stores=[store])
    pin = client_for(boss).post(
        "/api/v1/auth/pin/", {"password": DEFAULT_PASSWORD, "pin": "2468"}, format="json"
    )
    assert pin.status_code == 204, pin.content
    lines = [{"product": product.pk, "quantity": "1"}]

    refused = post_return(cashier_client, register, lines)
    assert refused.status_code == 403, refused.content
    assert refused.json()["code"] == "approval_required"

    token = cashier_client.post(
        "/api/v1/approvals/",
        {"username": boss.username, "pin": "2468", "action": "return", "register": register.pk},
        format="json",
    ).json()["token"]
    approved = post_return(cashier_client, register, lines, approval=token)
    assert approved.status_code == 201, approved.content
    event = AuditEvent.objects.get(action="return.created")
    assert event.changes["approved_by"] == boss.pk

    store.cashier_can_refund = True
    store.save()
    assert post_return(cashier_client, register, lines).status_code == 201
    assert Return.objects.count() == 2


# --- replays, reads and the query budget --------------------------------------------------------


def test_a_replay_returns_the_first_answer_and_takes_back_nothing_more(
    manager_client, store, register, product, open_shift
) -> None:
    lines = [{"product": product.pk, "quantity": "1"}]
    first = post_return(manager_client, register, lines, key="same")
    replay = post_return(manager_client, register, lines, key="same")

    assert first.status_code == replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert Return.objects.count() == 1
    assert stock_of(store, product) == D("101")
    other = post_return(manager_client, register, [{**lines[0], "quantity": "2"}], key="same")
    assert other.status_code == 422


def test_returns_are_listed_and_read_within_the_users_stores(
    manager_client, client_for, other_store, register, product, open_shift
) -> None:
    created = post_return(manager_client, register, [{"product": product.pk, "quantity": "1"}])
    rid = created.json()["id"]

    listed = manager_client.get(URL).json()
    assert [row["id"] for row in listed["results"]] == [rid]
    assert manager_client.get(f"{URL}{rid}/").json() == created.json()
    stranger = client_for(CashierFactory(stores=[other_store]))
    assert stranger.get(f"{URL}{rid}/").status_code == 404
    assert stranger.get(URL).json()["results"] == []


def test_the_query_count_does_not_grow_with_the_lines(
    manager_client, store, register, product, open_shift
) -> None:
    products = [product]
    for _ in range(19):
        item = ProductFactory(price=D("1.00"), cost=D("0.50"), tax_rate=product.tax_rate)
        set_stock(store, item, 5)
        products.append(item)
    post_return(manager_client, register, [{"product": product.pk, "quantity": "1"}])  # warm-up

    with CaptureQueriesContext(connection) as one:
        response = post_return(manager_client, register, [{"product": product.pk, "quantity": "1"}])
    assert response.status_code == 201, response.content
    with CaptureQueriesContext(connection) as twenty:
        response = post_return(
            manager_client, register, [{"product": p.pk, "quantity": "1"} for p in products]
        )
    assert response.status_code == 201, response.content

    assert len(twenty.captured_queries) == len(one.captured_queries)
    # Measured: 17 (idempotency key, register, shift lock, products, number, return, lines,
    # tenders, stock lock + update, ledger entry, audit event, savepoints) for any line count.
    assert len(one.captured_queries) <= 17


def test_the_receipt_query_count_does_not_grow_with_the_lines(
    manager_client, store, register, product, open_shift
) -> None:
    others = [
        ProductFactory(price=D("1.00"), cost=D("0.50"), tax_rate=product.tax_rate) for _ in range(9)
    ]
    one = post_return(manager_client, register, [{"product": product.pk, "quantity": "1"}])
    ten = post_return(
        manager_client,
        register,
        [{"product": p.pk, "quantity": "1"} for p in [product, *others]],
        restock=False,
    )
    manager_client.get(f"{URL}{one.json()['id']}/receipt/")  # warm per-process caches

    with CaptureQueriesContext(connection) as for_one:
        assert manager_client.get(f"{URL}{one.json()['id']}/receipt/").status_code == 200
    with CaptureQueriesContext(connection) as for_ten:
        response = manager_client.get(f"{URL}{ten.json()['id']}/receipt/")
    assert response.status_code == 200
    assert response.content.decode().count(" x ") == 10

    assert len(for_ten.captured_queries) == len(for_one.captured_queries)
    # Measured: 4 (the user, the return with store, register and who took it back, its lines,
    # its tenders) for any line count.
    assert len(for_one.captured_queries) <= 4


# --- the receipt --------------------------------------------------------------------------------


def test_the_return_receipt_in_text_and_html(
    manager_client, cashier_client, manager, store, register, product, open_shift
) -> None:
    product.name = "Extra-long organic heirloom tomato passata in a returnable glass jar"
    product.save()
    created = post_return(
        manager_client,
        register,
        [{"product": product.pk, "quantity": "2"}],
        reason="no receipt, dented lid",
        tenders=[{"method": "card", "amount": "5.00"}, {"method": "cash", "amount": "5.80"}],
    ).json()
    # 2026-11-21 22:05 UTC is 17:05 in New York (the store's zone).
    Return.objects.filter(pk=created["id"]).update(
        created_at=dt.datetime(2026, 11, 21, 22, 5, tzinfo=dt.UTC)
    )
    # The receipt prints the line as it was taken back, whatever the catalog says now.
    old_name = product.name
    product.name = "Renamed since"
    product.save()

    response = cashier_client.get(f"{URL}{created['id']}/receipt/")

    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    text = response.content.decode()
    lines = text.splitlines()
    assert all(len(line) <= RECEIPT_WIDTH for line in lines), text
    assert any(len(line) == RECEIPT_WIDTH for line in lines)  # the amounts sit on the right edge
    assert "RETURN" in [line.strip() for line in lines]  # the heading, centred
    for expected in (
        store.name,
        f"Register {register.code}",
        "2026-11-21 17:05",
        manager.username,
        "Extra-long organic heirloom tomato passata in a",  # wrapped at 48
        "returnable glass jar",
        "no receipt, dented lid",
    ):
        assert expected in text, (expected, text)
    assert "Renamed since" not in text
    for label, value in (
        ("Return", "R1-R000001"),
        ("Original receipt", "none"),
        ("  2 x 4.99", "10.80"),
        ("Net", "9.98"),
        ("Tax", "0.82"),
        ("TOTAL REFUNDED USD", "10.80"),
        ("  Card", "5.00"),
        ("  Cash", "5.80"),
    ):
        assert re.search(rf"^{re.escape(label)} +{re.escape(value)}$", text, re.M), (label, text)
    assert text.index("  Card") < text.index("  Cash")  # the tenders in the order given

    html = cashier_client.get(f"{URL}{created['id']}/receipt/", {"format": "html"})
    assert html.status_code == 200
    assert html["Content-Type"] == "text/html; charset=utf-8"
    page = html.content.decode()
    assert "<h2>RETURN</h2>" in page
    assert "<title>Return R1-R000001</title>" in page
    for expected in (old_name, "2 x 4.99", "2026-11-21 17:05", "10.80", "5.80", "none"):
        assert expected in page, expected

    refused = cashier_client.get(f"{URL}{created['id']}/receipt/", {"format": "pdf"})
    assert refused.status_code == 400
    assert refused.json()["code"] == "validation_error"


def test_another_stores_return_receipt_is_not_found(
    manager_client, client_for, other_store, product
) -> None:
    elsewhere = RegisterFactory(store=other_store, code="X1")
    theirs = post_return(
        client_for(ManagerFactory(stores=[other_store])),
        elsewhere,
        [{"product": product.pk, "quantity": "1"}],
        tenders=[{"method": "card", "amount": "5.40"}],
    )
    assert theirs.status_code == 201, theirs.content

    for fmt in ("text", "html"):
        response = manager_client.get(f"{URL}{theirs.json()['id']}/receipt/", {"format": fmt})
        assert response.status_code == 404, response.content
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "not_found"


def test_the_snapshot_migration_fills_lines_from_the_catalog(
    manager_client, register, product, open_shift
) -> None:
    post_return(manager_client, register, [{"product": product.pk, "quantity": "1"}])
    ReturnLine.objects.update(sku="", name="")  # as the migration found lines written before it
    migration = importlib.import_module("orders.migrations.0014_returnline_snapshots")

    migration.fill_snapshots(apps, None)

    line = ReturnLine.objects.get()
    assert (line.sku, line.name) == (product.sku, product.name)


# --- metrics ------------------------------------------------------------------------------------


def _counted(store: Store) -> tuple[float, float]:
    return (
        RETURNS.labels(store=store.code)._value.get(),
        RETURN_AMOUNT.labels(store=store.code, currency="USD")._value.get(),
    )


def test_metrics_count_each_committed_return_once(
    manager_client, store, register, product, open_shift, django_capture_on_commit_callbacks
) -> None:
    count, amount = _counted(store)
    lines = [{"product": product.pk, "quantity": "1"}]

    with django_capture_on_commit_callbacks(execute=True):
        first = post_return(manager_client, register, lines, key="once")
    assert first.status_code == 201, first.content
    assert _counted(store) == (count + 1, pytest.approx(amount + 5.40))

    with django_capture_on_commit_callbacks(execute=True):
        replay = post_return(manager_client, register, lines, key="once")
        refused = post_return(manager_client, register, [{**lines[0], "unit_price": "9.99"}])
    assert replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert refused.status_code == 400, refused.content
    assert _counted(store) == (count + 1, pytest.approx(amount + 5.40))


def test_metrics_never_count_a_return_that_rolled_back(
    manager, store, register, product, open_shift, django_capture_on_commit_callbacks
) -> None:
    """Written in full (the service returned), then rolled back by what surrounds it: not
    counted, as the metrics count on commit only."""
    count, amount = _counted(store)

    def return_then_fail() -> None:
        with transaction.atomic():
            return_create(
                user=manager,
                register_id=register.pk,
                lines=[ReturnLineRequest(product_id=product.pk, quantity=D("1"))],
                tenders=None,
                restock=True,
                reason="",
            )
            raise RuntimeError("the caller's transaction fails after the return was written")

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        return_then_fail()

    assert callbacks == []
    assert not Return.objects.exists()
    assert _counted(store) == (count, amount)
