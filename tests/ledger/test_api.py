"""Ledger endpoints: shapes, filters, scoping and permissions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ledger import services
from tests.factories import ManagerFactory

pytestmark = pytest.mark.django_db

D = Decimal
DAY1 = dt.date(2026, 11, 20)
DAY2 = dt.date(2026, 11, 21)


def sale(store, order_id: int, date: dt.date = DAY1, amount: str = "10.80"):
    return services.post_sale(
        store=store,
        date=date,
        order_id=order_id,
        tenders={"cash": D(amount)},
        net=D(amount) - D("0.80"),
        tax=D("0.80"),
        cost=D("4.00"),
        created_by=None,
    )


def test_accounts_list(manager_client) -> None:
    response = manager_client.get("/api/v1/ledger/accounts/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 18
    assert body["results"][0] == {"code": "1000", "name": "Cash", "type": "asset"}
    assert [a["code"] for a in body["results"]] == sorted(a["code"] for a in body["results"])


@pytest.mark.parametrize(
    "path", ["/api/v1/ledger/accounts/", "/api/v1/ledger/entries/", "/api/v1/ledger/trial-balance/"]
)
def test_cashiers_and_anonymous_are_refused(cashier_client, api_client, path) -> None:
    assert cashier_client.get(path).status_code == 403
    assert api_client.get(path).status_code == 401


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_there_are_no_write_routes(admin_client, store, method) -> None:
    entry = sale(store, 1)
    for path in ("/api/v1/ledger/entries/", f"/api/v1/ledger/entries/{entry.id}/"):
        response = getattr(admin_client, method)(path, {}, format="json")
        assert response.status_code in (404, 405)


def test_entries_shape_and_store_scoping(manager_client, admin_client, store, other_store) -> None:
    mine = sale(store, 1)
    sale(other_store, 2)
    response = manager_client.get("/api/v1/ledger/entries/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    entry = body["results"][0]
    assert entry == {
        "id": mine.id,
        "date": "2026-11-20",
        "store": store.id,
        "memo": mine.memo,
        "source": "sale",
        "source_id": 1,
        "lines": [
            {"account": "1000", "debit": "10.80", "credit": "0.00"},
            {"account": "4000", "debit": "0.00", "credit": "10.00"},
            {"account": "2100", "debit": "0.00", "credit": "0.80"},
            {"account": "5000", "debit": "4.00", "credit": "0.00"},
            {"account": "1200", "debit": "0.00", "credit": "4.00"},
        ],
    }
    assert admin_client.get("/api/v1/ledger/entries/").json()["count"] == 2


def test_entries_of_another_store_are_404(manager_client, other_store) -> None:
    sale(other_store, 2)
    response = manager_client.get(f"/api/v1/ledger/entries/?store={other_store.id}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert manager_client.get("/api/v1/ledger/entries/?store=999999").status_code == 404


def test_entries_filters(manager_client, store) -> None:
    sale(store, 1, DAY1)
    sale(store, 2, DAY2)
    services.post_refund(
        store=store,
        date=DAY2,
        refund_id=9,
        tenders={"cash": D("1.08")},
        net=D("1.00"),
        tax=D("0.08"),
        restocked_cost=D("0"),
        created_by=None,
    )

    def sources(query: str) -> list[tuple[str, int]]:
        response = manager_client.get(f"/api/v1/ledger/entries/?{query}")
        assert response.status_code == 200, response.content
        return [(e["source"], e["source_id"]) for e in response.json()["results"]]

    assert sources(f"store={store.id}") == [("sale", 1), ("sale", 2), ("refund", 9)]
    assert sources("order=2") == [("sale", 2)]
    assert sources("date_from=2026-11-21") == [("sale", 2), ("refund", 9)]
    assert sources("date_to=2026-11-20") == [("sale", 1)]
    assert sources("source=refund&source_id=9") == [("refund", 9)]
    bad = manager_client.get("/api/v1/ledger/entries/?date_from=yesterday")
    assert bad.status_code == 400
    assert "date_from" in bad.json()["errors"]


def test_entries_list_costs_constant_queries(
    manager_client, store, django_assert_max_num_queries
) -> None:
    for n in range(30):
        sale(store, n)
    # auth user + store scope + count + entries + lines (with accounts)
    with django_assert_max_num_queries(6):
        response = manager_client.get("/api/v1/ledger/entries/?page_size=30")
    assert len(response.json()["results"]) == 30


def test_trial_balance(manager_client, store, other_store) -> None:
    sale(store, 1, DAY1)
    sale(store, 2, DAY2, amount="21.60")
    sale(other_store, 3, DAY1, amount="99.80")
    services.post_shift_close(
        store=store, date=DAY2, shift_id=1, difference=D("-0.50"), created_by=None
    )

    response = manager_client.get(f"/api/v1/ledger/trial-balance/?store={store.id}")
    assert response.status_code == 200
    body = response.json()
    rows = {row["code"]: row for row in body["accounts"]}
    assert len(rows) == 18
    assert rows["1000"] == {
        "code": "1000",
        "name": "Cash",
        "debit": "32.40",
        "credit": "0.50",
        "balance": "31.90",
    }
    assert rows["4000"]["balance"] == "-30.80"
    assert rows["6900"]["balance"] == "0.50"
    assert rows["1050"] == {
        "code": "1050",
        "name": "Cash transfers",
        "debit": "0.00",
        "credit": "0.00",
        "balance": "0.00",
    }
    assert body["total_debit"] == body["total_credit"] == "40.90"

    up_to_day1 = manager_client.get(
        f"/api/v1/ledger/trial-balance/?store={store.id}&date_to=2026-11-20"
    ).json()
    assert up_to_day1["total_debit"] == up_to_day1["total_credit"] == "14.80"
    # Without a store: all the user's stores (the manager has one), by currency.
    assert manager_client.get("/api/v1/ledger/trial-balance/").json() == {
        "currencies": {"USD": body}
    }


def test_trial_balance_scoping(manager_client, admin_client, client_for, store, other_store):
    sale(store, 1)
    sale(other_store, 2)
    assert (
        manager_client.get(f"/api/v1/ledger/trial-balance/?store={other_store.id}").status_code
        == 404
    )
    everything = admin_client.get("/api/v1/ledger/trial-balance/").json()["currencies"]
    assert everything["USD"]["total_debit"] == everything["USD"]["total_credit"] == "29.60"
    storeless = client_for(ManagerFactory())
    assert storeless.get("/api/v1/ledger/trial-balance/").json() == {"currencies": {}}
    bad = manager_client.get("/api/v1/ledger/trial-balance/?date_to=2026-13-01")
    assert bad.status_code == 400
    assert "date_to" in bad.json()["errors"]


def test_trial_balance_is_one_query(store, django_assert_num_queries) -> None:
    from ledger.selectors import trial_balance

    sale(store, 1)
    with django_assert_num_queries(1):
        balance = trial_balance(store_id=store.id, date_to=None)
    assert balance is not None
    assert balance.total_debit == balance.total_credit == D("14.80")


# --- Money per currency: never summed across currencies ---------------------------------------


@pytest.fixture
def yen_store(db: None):
    from tests.factories import StoreFactory

    return StoreFactory(currency="JPY", timezone="Asia/Tokyo")


def yen_sale(store, order_id: int, amount: str = "1080"):
    return services.post_sale(
        store=store,
        date=DAY1,
        order_id=order_id,
        tenders={"cash": D(amount)},
        net=D(amount) - D("80"),
        tax=D("80"),
        cost=D("400"),
        created_by=None,
    )


def test_trial_balance_without_store_is_one_balance_per_currency(
    client_for, store, yen_store
) -> None:
    # Given a manager of a USD store and a JPY store, each with a sale
    sale(store, 1)
    yen_sale(yen_store, 2)
    client = client_for(ManagerFactory(stores=[store, yen_store]))

    # When the trial balance is asked for without a store
    body = client.get("/api/v1/ledger/trial-balance/").json()

    # Then each currency has its own balanced totals: 10.80 + 4.00 in USD, 1080 + 400 in JPY,
    # never 1494.80 of a mixed sum
    assert set(body) == {"currencies"}
    assert set(body["currencies"]) == {"USD", "JPY"}
    usd, jpy = body["currencies"]["USD"], body["currencies"]["JPY"]
    assert usd["total_debit"] == usd["total_credit"] == "14.80"
    assert jpy["total_debit"] == jpy["total_credit"] == "1480"
    for balance in (usd, jpy):
        assert [row["code"] for row in balance["accounts"]] == [
            row["code"] for row in usd["accounts"]
        ]
        assert len(balance["accounts"]) == 18
    yen_cash = {row["code"]: row for row in jpy["accounts"]}["1000"]
    assert yen_cash == {
        "code": "1000",
        "name": "Cash",
        "debit": "1080",
        "credit": "0",
        "balance": "1080",
    }


def test_trial_balance_of_one_store_keeps_its_shape_and_currency_decimals(
    client_for, store, yen_store
) -> None:
    sale(store, 1)
    yen_sale(yen_store, 2)
    client = client_for(ManagerFactory(stores=[store, yen_store]))

    yen = client.get(f"/api/v1/ledger/trial-balance/?store={yen_store.id}").json()
    assert set(yen) == {"accounts", "total_debit", "total_credit"}
    assert yen["total_debit"] == yen["total_credit"] == "1480"
    dollars = client.get(f"/api/v1/ledger/trial-balance/?store={store.id}").json()
    assert dollars["total_debit"] == dollars["total_credit"] == "14.80"


def test_trial_balance_of_a_user_with_one_store_has_only_its_currency(
    client_for, store, yen_store
) -> None:
    sale(store, 1)
    yen_sale(yen_store, 2)
    body = client_for(ManagerFactory(stores=[yen_store])).get("/api/v1/ledger/trial-balance/")
    assert list(body.json()["currencies"]) == ["JPY"]
    assert body.json()["currencies"]["JPY"]["total_debit"] == "1480"


def test_trial_balance_lists_the_currency_of_a_store_without_entries(client_for, yen_store):
    body = client_for(ManagerFactory(stores=[yen_store])).get("/api/v1/ledger/trial-balance/")
    jpy = body.json()["currencies"]["JPY"]
    assert jpy["total_debit"] == jpy["total_credit"] == "0"
    assert len(jpy["accounts"]) == 18


def test_trial_balance_of_a_store_that_does_not_exist_is_404(admin_client) -> None:
    assert admin_client.get("/api/v1/ledger/trial-balance/?store=999999").status_code == 404


def test_trial_balances_over_currencies_is_one_query(
    store, yen_store, other_store, django_assert_num_queries
) -> None:
    from ledger.selectors import trial_balances

    sale(store, 1)
    sale(other_store, 2)
    yen_sale(yen_store, 3)
    with django_assert_num_queries(1):
        balances = trial_balances(store_ids=None, date_to=None)
    assert sorted(balances) == ["JPY", "USD"]
    assert balances["USD"].total_debit == balances["USD"].total_credit == D("29.60")
    assert balances["JPY"].total_debit == balances["JPY"].total_credit == D("1480")


def test_the_schema_describes_both_shapes_of_the_trial_balance() -> None:
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"]["/api/v1/ledger/trial-balance/"]["get"]
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    components = schema["components"]["schemas"]
    shapes = [
        ref["$ref"].rsplit("/", 1)[1] for ref in components[ok["$ref"].rsplit("/")[-1]]["oneOf"]
    ]
    assert shapes == ["TrialBalance", "TrialBalanceByCurrency"]
    assert set(components["TrialBalance"]["required"]) == {
        "accounts",
        "total_debit",
        "total_credit",
    }
    by_currency = components["TrialBalanceByCurrency"]["properties"]["currencies"]
    assert by_currency["additionalProperties"] == {"$ref": "#/components/schemas/TrialBalance"}


def test_trial_balance_by_currency_costs_the_same_queries_for_any_number_of_stores(
    client_for, store, yen_store, django_assert_max_num_queries
) -> None:
    from tests.factories import StoreFactory

    more = [StoreFactory(currency=code) for code in ("EUR", "KWD", "USD", "GBP")]
    for n, each in enumerate([store, *more], start=1):
        sale(each, n)
    yen_sale(yen_store, 99)
    client = client_for(ManagerFactory(stores=[store, yen_store, *more]))
    # auth user + the user's stores + the grouped aggregate
    with django_assert_max_num_queries(3):
        body = client.get("/api/v1/ledger/trial-balance/").json()
    assert sorted(body["currencies"]) == ["EUR", "GBP", "JPY", "KWD", "USD"]
    assert body["currencies"]["KWD"]["total_debit"] == "14.800"
    assert body["currencies"]["USD"]["total_debit"] == "29.60"
    assert body["currencies"]["JPY"]["total_debit"] == "1480"
