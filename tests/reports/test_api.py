"""`GET /api/v1/reports/daily/`: roles and store scoping, validation, stored vs computed, CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.utils import timezone

from orders.models import DailyReport
from orders.services.reports import daily_report_generate
from tests.factories import ManagerFactory
from tests.reports.conftest import ny
from tests.reports.factories import record_sale

pytestmark = pytest.mark.django_db

URL = "/api/v1/reports/daily/"
DAY = dt.date(2026, 3, 10)


@pytest.fixture
def sales(shift, cashier, coffee, mug) -> None:
    record_sale(shift=shift, cashier=cashier, at=ny(2026, 3, 10, 9, 15), lines=[(coffee, "2")])
    record_sale(shift=shift, cashier=cashier, at=ny(2026, 3, 10, 23, 30), lines=[(mug, "1")])


def _get(client, **params):
    return client.get(URL, params)


def test_manager_gets_the_report_of_a_past_day_and_it_is_stored(
    manager_client, store, sales
) -> None:
    response = _get(manager_client, store=store.pk, date="2026-03-10")

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {
        "store",
        "date",
        "orders_count",
        "gross_sales",
        "discount_total",
        "promotion_total",
        "by_promotion",
        "net_sales",
        "tax_total",
        "refunds_total",
        "voids_count",
        "voids_total",
        "rounding_total",
        "returns_count",
        "returns_total",
        "tips_total",
        "by_tender",
        "by_hour",
        "top_products",
        "by_cashier",
        "generated_at",
    }
    assert body["store"] == store.pk
    assert body["date"] == "2026-03-10"
    assert body["orders_count"] == 2
    assert body["gross_sales"] == "25.00"
    assert body["net_sales"] == "25.00"
    assert body["tax_total"] == "2.50"
    assert body["by_tender"] == {
        "cash": "27.50",
        "card": "0.00",
        "other": "0.00",
        "gift_card": "0.00",
        "store_credit": "0.00",
        "points": "0.00",
    }
    assert body["by_hour"][23] == {"hour": 23, "orders": 1, "total": "5.50"}
    assert body["top_products"][0]["quantity"] == "2.000"
    assert body["generated_at"].endswith("Z")
    assert response["Cache-Control"] == "no-store" or "no-store" in response["Cache-Control"]

    stored = DailyReport.objects.get(store=store, date=DAY)
    assert stored.data["orders_count"] == 2
    again = _get(manager_client, store=store.pk, date="2026-03-10").json()
    assert again == body  # served from the stored row, not recomputed
    assert DailyReport.objects.count() == 1


def test_todays_report_is_computed_on_demand_and_not_stored(
    manager_client, store, shift, cashier, coffee
) -> None:
    now = timezone.now()
    record_sale(shift=shift, cashier=cashier, at=now, lines=[(coffee, "1")])
    today = now.astimezone(store.tzinfo).date()

    first = _get(manager_client, store=store.pk, date=today.isoformat())
    assert first.status_code == 200
    assert first.json()["orders_count"] == 1
    assert not DailyReport.objects.exists()

    record_sale(shift=shift, cashier=cashier, at=timezone.now(), lines=[(coffee, "1")])
    second = _get(manager_client, store=store.pk, date=today.isoformat())
    assert second.json()["orders_count"] == 2  # live figures, the day is not over
    assert not DailyReport.objects.exists()


@pytest.mark.parametrize("days_ahead", [1, None])
def test_a_date_after_the_stores_today_is_a_validation_error(
    manager_client, store, days_ahead
) -> None:
    today = timezone.now().astimezone(store.tzinfo).date()
    future = today + dt.timedelta(days=days_ahead) if days_ahead else dt.date(9999, 12, 31)
    response = _get(manager_client, store=store.pk, date=future.isoformat())
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "validation_error"
    assert "date" in response.json()["errors"]


@pytest.mark.parametrize(
    ("params", "fields"),
    [
        ({}, {"store", "date"}),
        ({"store": "1"}, {"date"}),
        ({"date": "2026-03-10"}, {"store"}),
        ({"store": "x", "date": "10/03/2026"}, {"store", "date"}),
        ({"store": "1", "date": "2026-03-10", "format": "pdf"}, {"format"}),
        ({"store": "1", "date": "0001-01-01"}, {"date"}),
        ({"store": str(2**63), "date": "2026-03-10"}, {"store"}),
        ({"store": "0", "date": "2026-03-10"}, {"store"}),
    ],
)
def test_missing_or_malformed_parameters_are_400(manager_client, params, fields) -> None:
    response = manager_client.get(URL, params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error"
    assert set(body["errors"]) == fields


def test_another_stores_report_is_not_found(client_for, store, other_store, sales) -> None:
    manager_elsewhere = ManagerFactory(stores=[other_store])
    response = _get(client_for(manager_elsewhere), store=store.pk, date="2026-03-10")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert not DailyReport.objects.exists()  # nothing computed for a store they cannot see


def test_unknown_store_is_not_found(manager_client) -> None:
    assert _get(manager_client, store=999_999, date="2026-03-10").status_code == 404


def test_cashiers_may_not_read_reports(cashier_client, store) -> None:
    response = _get(cashier_client, store=store.pk, date="2026-03-10")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_anonymous_is_401(api_client, store) -> None:
    assert _get(api_client, store=store.pk, date="2026-03-10").status_code == 401


def test_admin_sees_every_store(admin_client, other_store) -> None:
    response = _get(admin_client, store=other_store.pk, date="2026-03-10")
    assert response.status_code == 200
    assert response.json()["orders_count"] == 0


def test_csv_has_one_section_per_table(manager_client, store, cashier, coffee, mug, sales) -> None:
    response = _get(manager_client, store=store.pk, date="2026-03-10", format="csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f"daily-report-{store.code}-2026-03-10.csv" in response["Content-Disposition"]
    sections = response.content.decode().split("\r\n\r\n")
    tables = [list(csv.reader(io.StringIO(section))) for section in sections]
    assert [table[0][0] for table in tables] == ["section"] * 4
    assert [table[1][0] for table in tables] == [
        "summary",
        "by_hour",
        "top_products",
        "by_cashier",
    ]

    summary = dict(zip(tables[0][0], tables[0][1], strict=True))
    json_body = _get(manager_client, store=store.pk, date="2026-03-10").json()
    for field in ("orders_count", "gross_sales", "net_sales", "tax_total", "refunds_total"):
        assert summary[field] == str(json_body[field])
    assert summary["cash"] == "27.50"
    assert summary["generated_at"] == json_body["generated_at"]

    assert tables[1][0] == ["section", "hour", "orders", "total"]
    assert len(tables[1]) == 1 + 24
    assert tables[1][1 + 23] == ["by_hour", "23", "1", "5.50"]
    assert tables[2][1:] == [
        ["top_products", str(coffee.pk), "Coffee beans", "2.000", "22.00"],
        ["top_products", str(mug.pk), "Mug", "1.000", "5.50"],
    ]
    assert tables[3][1:] == [["by_cashier", str(cashier.pk), cashier.username, "2", "27.50"]]


def test_csv_neutralises_formula_like_names(manager_client, store, shift, cashier, coffee) -> None:
    coffee.name = "=HYPERLINK(1)"
    coffee.save(update_fields=["name"])
    record_sale(shift=shift, cashier=cashier, at=ny(2026, 3, 10, 9, 0), lines=[(coffee, "1")])
    body = _get(manager_client, store=store.pk, date="2026-03-10", format="csv").content.decode()
    assert "'=HYPERLINK(1)" in body


def test_stored_report_is_served_as_stored(manager_client, store, shift, cashier, coffee) -> None:
    record_sale(shift=shift, cashier=cashier, at=ny(2026, 3, 10, 9, 0), lines=[(coffee, "1")])
    report = daily_report_generate(store=store, date=DAY)
    body = _get(manager_client, store=store.pk, date="2026-03-10").json()
    assert body["generated_at"] == report.generated_at.isoformat().replace("+00:00", "Z")
    assert body["orders_count"] == 1
