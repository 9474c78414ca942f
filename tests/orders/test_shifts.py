"""Shifts: open (one per register, also under a race), cash in/out, close with the expected-cash
formula and its ledger difference, X and Z reports, store scoping and roles."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from ledger.models import JournalEntry
from orders.exceptions import ShiftNotOpen
from orders.models import CashMovement, Shift, ShiftStatus
from orders.services.shifts import shift_close, shift_open, shift_transition
from tests.factories import CashierFactory, ManagerFactory, RegisterFactory
from tests.orders.selling import entry_lines, idem, refund_via_api, sell

D = Decimal
pytestmark = pytest.mark.django_db


def open_via_api(client, register, opening_float="100.00"):
    return client.post(
        "/api/v1/shifts/",
        {"register": register.pk, "opening_float": opening_float},
        format="json",
    )


# --- open ---------------------------------------------------------------------------------------


def test_cashier_opens_a_shift(cashier_client, cashier, register) -> None:
    response = open_via_api(cashier_client, register, "150.00")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["register"] == register.pk
    assert body["opened_by"] == cashier.pk
    assert body["opening_float"] == "150.00"
    assert body["status"] == "open"
    assert body["opened_at"]
    assert body["closed_at"] is None
    shift = Shift.objects.get(pk=body["id"])
    assert shift.store_id == register.store_id
    event = AuditEvent.objects.get(action="shift.opened", object_id=str(shift.pk))
    assert event.store_id == register.store_id
    assert event.actor_id == cashier.pk


def test_second_open_shift_on_a_register_is_409(cashier_client, register) -> None:
    assert open_via_api(cashier_client, register).status_code == 201

    response = open_via_api(cashier_client, register)

    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "shift_already_open"
    assert Shift.objects.filter(register=register).count() == 1


def test_a_register_can_reopen_after_close(cashier, register) -> None:
    first = shift_open(register=register, opening_float=D("10.00"), user=cashier)
    shift_close(shift=first, counted_cash=D("10.00"), user=cashier)

    second = shift_open(register=register, opening_float=D("20.00"), user=cashier)

    assert second.pk != first.pk
    assert second.status == ShiftStatus.OPEN


def test_other_stores_register_is_refused(cashier_client, other_store) -> None:
    foreign = RegisterFactory(store=other_store)

    response = open_via_api(cashier_client, foreign)

    assert response.status_code == 400
    assert "register" in response.json()["errors"]
    assert not Shift.objects.exists()


@pytest.mark.parametrize(
    ("opening_float", "field"),
    [("-1.00", "opening_float"), ("1.001", "opening_float"), (None, "opening_float")],
)
def test_bad_opening_float_is_400(cashier_client, register, opening_float, field) -> None:
    payload = {"register": register.pk}
    if opening_float is not None:
        payload["opening_float"] = opening_float
    response = cashier_client.post("/api/v1/shifts/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_inactive_register_is_refused(cashier_client, store) -> None:
    closed_till = RegisterFactory(store=store, is_active=False)
    response = open_via_api(cashier_client, closed_till)
    assert response.status_code == 400
    assert response.json()["errors"]["register"] == ["This register is not active."]


def test_anonymous_cannot_open(api_client, register) -> None:
    assert open_via_api(api_client, register).status_code == 401


# --- list / retrieve ----------------------------------------------------------------------------


def test_list_is_store_scoped_and_filtered(client_for, store, other_store, cashier) -> None:
    r1 = RegisterFactory(store=store, code="A1")
    r2 = RegisterFactory(store=store, code="A2")
    foreign = RegisterFactory(store=other_store, code="B1")
    s1 = shift_open(register=r1, opening_float=D("0"), user=cashier)
    shift_close(shift=s1, counted_cash=D("0"), user=cashier)
    s2 = shift_open(register=r1, opening_float=D("0"), user=cashier)
    s3 = shift_open(register=r2, opening_float=D("0"), user=cashier)
    outsider = CashierFactory(stores=[other_store])
    s4 = shift_open(register=foreign, opening_float=D("0"), user=outsider)
    client = client_for(cashier)

    everything = client.get("/api/v1/shifts/").json()
    assert everything["count"] == 3
    assert [row["id"] for row in everything["results"]] == [s3.pk, s2.pk, s1.pk]
    by_register = client.get(f"/api/v1/shifts/?register={r1.pk}").json()
    assert {row["id"] for row in by_register["results"]} == {s1.pk, s2.pk}
    open_only = client.get("/api/v1/shifts/?status=open").json()
    assert {row["id"] for row in open_only["results"]} == {s2.pk, s3.pk}
    assert client.get(f"/api/v1/shifts/{s2.pk}/").json()["status"] == "open"
    assert client.get(f"/api/v1/shifts/{s4.pk}/").status_code == 404


def test_admin_sees_every_store(admin_client, register, other_store, cashier) -> None:
    shift_open(register=register, opening_float=D("0"), user=cashier)
    foreign = RegisterFactory(store=other_store)
    shift_open(register=foreign, opening_float=D("0"), user=CashierFactory(stores=[other_store]))
    assert admin_client.get("/api/v1/shifts/").json()["count"] == 2


# --- cash movements -----------------------------------------------------------------------------


def test_cash_movements_are_recorded_and_posted(cashier_client, cashier, register) -> None:
    shift = shift_open(register=register, opening_float=D("100.00"), user=cashier)

    response = cashier_client.post(
        f"/api/v1/shifts/{shift.pk}/cash-movements/",
        {"kind": "out", "amount": "40.00", "reason": "bank drop"},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "out"
    assert body["amount"] == "40.00"
    assert body["reason"] == "bank drop"
    assert body["shift"] == shift.pk
    entry = JournalEntry.objects.get(source="cash_movement", source_id=body["id"])
    assert entry_lines(entry) == {"1050": (D("40.00"), D("0")), "1000": (D("0"), D("40.00"))}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "in", "amount": "0.00"}, "amount"),
        ({"kind": "in", "amount": "-5.00"}, "amount"),
        ({"kind": "sideways", "amount": "5.00"}, "kind"),
        ({"kind": "in"}, "amount"),
    ],
)
def test_bad_cash_movement_is_400(cashier_client, cashier, register, payload, field) -> None:
    shift = shift_open(register=register, opening_float=D("0"), user=cashier)
    response = cashier_client.post(
        f"/api/v1/shifts/{shift.pk}/cash-movements/", payload, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not CashMovement.objects.exists()


def test_cash_movement_on_a_closed_shift_is_409(cashier_client, cashier, register) -> None:
    shift = shift_open(register=register, opening_float=D("0"), user=cashier)
    shift_close(shift=shift, counted_cash=D("0"), user=cashier)

    response = cashier_client.post(
        f"/api/v1/shifts/{shift.pk}/cash-movements/",
        {"kind": "in", "amount": "5.00"},
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["code"] == "shift_not_open"


def test_cash_movement_with_an_idempotency_key_happens_once(
    cashier_client, cashier, register
) -> None:
    shift = shift_open(register=register, opening_float=D("0"), user=cashier)
    url = f"/api/v1/shifts/{shift.pk}/cash-movements/"
    payload = {"kind": "in", "amount": "5.00", "reason": "float top-up"}

    first = cashier_client.post(url, payload, format="json", **idem("cm-1"))
    again = cashier_client.post(url, payload, format="json", **idem("cm-1"))

    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert CashMovement.objects.filter(shift=shift).count() == 1


# --- close --------------------------------------------------------------------------------------


def test_close_computes_expected_cash_from_every_component(
    client_for, cashier, manager, register, product
) -> None:
    """expected = float 100.00 + cash taken 20.00 − change 9.20 − cash refunded 5.40
    + cash in 50.00 − cash out 30.00 = 125.40; counted 124.40 → difference −1.00."""
    client = client_for(cashier)
    shift_id = open_via_api(client, register, "100.00").json()["id"]
    # 2 × 4.99 = 9.98 + 8.25 % tax 0.82 = 10.80, paid with a 20 → change 9.20
    cash_sale = sell(cashier, register, [(product, "2")], [("cash", "10.80", "20.00")])
    # a card sale never touches the drawer
    sell(cashier, register, [(product, "1")], [("card", "5.40")])
    # a cash refund of one unit: 4.99 + 0.41 = 5.40 paid out of this drawer
    refund = refund_via_api(
        client_for(manager), cash_sale, [(cash_sale.lines.get(), "1")], key="r-1"
    )
    assert refund.status_code == 201, refund.content
    assert refund.json()["payments"] == [{"method": "cash", "amount": "5.40"}]
    for kind, amount in (("in", "50.00"), ("out", "30.00")):
        moved = client.post(
            f"/api/v1/shifts/{shift_id}/cash-movements/",
            {"kind": kind, "amount": amount},
            format="json",
        )
        assert moved.status_code == 201

    response = client.post(
        f"/api/v1/shifts/{shift_id}/close/", {"counted_cash": "124.40"}, format="json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "closed"
    assert body["closed_at"]
    assert body["expected_cash"] == "125.40"
    assert body["counted_cash"] == "124.40"
    assert body["difference"] == "-1.00"
    entry = JournalEntry.objects.get(source="shift_close", source_id=shift_id)
    assert entry_lines(entry) == {"6900": (D("1.00"), D("0")), "1000": (D("0"), D("1.00"))}
    closed_event = AuditEvent.objects.get(action="shift.closed", object_id=str(shift_id))
    assert closed_event.changes["difference"] == "-1.00"


def test_close_over_posts_to_cash_over_and_exact_posts_nothing(cashier, register) -> None:
    over = shift_open(register=register, opening_float=D("50.00"), user=cashier)
    over = shift_close(shift=over, counted_cash=D("50.25"), user=cashier)
    assert over.difference == D("0.25")
    entry = JournalEntry.objects.get(source="shift_close", source_id=over.pk)
    assert entry_lines(entry) == {"1000": (D("0.25"), D("0")), "6900": (D("0"), D("0.25"))}

    exact = shift_open(register=register, opening_float=D("50.00"), user=cashier)
    exact = shift_close(shift=exact, counted_cash=D("50.00"), user=cashier)
    assert exact.difference == D("0.00")
    assert not JournalEntry.objects.filter(source="shift_close", source_id=exact.pk).exists()


def test_closing_twice_is_409(cashier_client, cashier, register) -> None:
    shift = shift_open(register=register, opening_float=D("0"), user=cashier)
    url = f"/api/v1/shifts/{shift.pk}/close/"
    assert cashier_client.post(url, {"counted_cash": "0.00"}, format="json").status_code == 200

    response = cashier_client.post(url, {"counted_cash": "0.00"}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "shift_not_open"


def test_a_closed_shift_cannot_transition_again(cashier, register) -> None:
    shift = shift_open(register=register, opening_float=D("0"), user=cashier)
    shift = shift_close(shift=shift, counted_cash=D("0"), user=cashier)
    with pytest.raises(ShiftNotOpen):
        shift_transition(shift=shift, to=ShiftStatus.OPEN)
    with pytest.raises(ShiftNotOpen):
        shift_transition(shift=shift, to=ShiftStatus.CLOSED)


def test_sales_after_close_need_a_new_shift(cashier, register, product) -> None:
    shift = shift_open(register=register, opening_float=D("0"), user=cashier)
    shift_close(shift=shift, counted_cash=D("0"), user=cashier)
    with pytest.raises(ShiftNotOpen):
        sell(cashier, register, [(product, "1")], [("card", "5.40")])


def test_managers_close_and_other_stores_get_404(client_for, cashier, manager, register) -> None:
    shift = shift_open(register=register, opening_float=D("0"), user=cashier)
    stranger = ManagerFactory(stores=[RegisterFactory().store])
    url = f"/api/v1/shifts/{shift.pk}/close/"

    assert client_for(stranger).post(url, {"counted_cash": "0"}, format="json").status_code == 404
    assert client_for(stranger).get(f"/api/v1/shifts/{shift.pk}/report/").status_code == 404
    closed = client_for(manager).post(url, {"counted_cash": "0"}, format="json")
    assert closed.status_code == 200
    assert closed.json()["closed_by"] == manager.pk


def test_counted_cash_is_required(cashier_client, cashier, register) -> None:
    shift = shift_open(register=register, opening_float=D("0"), user=cashier)
    response = cashier_client.post(f"/api/v1/shifts/{shift.pk}/close/", {}, format="json")
    assert response.status_code == 400
    assert "counted_cash" in response.json()["errors"]


# --- X / Z reports ------------------------------------------------------------------------------


def test_x_then_z_report(client_for, cashier, manager, register, product, loose_product) -> None:
    client = client_for(cashier)
    shift = shift_open(register=register, opening_float=D("100.00"), user=cashier)
    zero_rated = loose_product
    first = sell(cashier, register, [(product, "2")], [("cash", "10.80", "20.00")])
    sell(
        cashier,
        register,
        [(product, "1"), (zero_rated, "1")],
        [("card", "5.00"), ("other", "2.90")],
    )
    refund = refund_via_api(client_for(manager), first, [(first.lines.get(), "1")], key="x-1")
    assert refund.status_code == 201
    client.post(
        f"/api/v1/shifts/{shift.pk}/cash-movements/",
        {"kind": "in", "amount": "10.00"},
        format="json",
    )

    x = client.get(f"/api/v1/shifts/{shift.pk}/report/")

    assert x.status_code == 200, x.content
    report = x.json()
    assert report["type"] == "X"
    assert report["status"] == "open"
    assert report["orders_count"] == 2
    assert report["subtotal"] == "17.47"  # 9.98 + 4.99 + 2.50
    assert report["discount_total"] == "0.00"
    assert report["tax_total"] == "1.23"  # 0.82 + 0.41
    assert report["total"] == "18.70"
    assert report["by_tender"] == {
        "cash": "10.80",
        "card": "5.00",
        "other": "2.90",
        "gift_card": "0.00",
        "store_credit": "0.00",
        "points": "0.00",
    }
    assert report["tax_by_rate"] == [
        {"rate": "0.000", "net": "2.50", "tax": "0.00"},
        {"rate": "8.250", "net": "14.97", "tax": "1.23"},
    ]
    assert report["refunds"] == {
        "count": 1,
        "net": "4.99",
        "tax": "0.41",
        "total": "5.40",
        "by_tender": {
            "cash": "5.40",
            "card": "0.00",
            "other": "0.00",
            "gift_card": "0.00",
            "store_credit": "0.00",
            "points": "0.00",
        },
    }
    assert report["cash"] == {
        "opening_float": "100.00",
        "cash_sales": "10.80",
        "cash_tips": "0.00",
        "cash_tendered": "20.00",
        "change_given": "9.20",
        "cash_refunded": "5.40",
        "cash_in": "10.00",
        "cash_out": "0.00",
        "gift_card_cash": "0.00",
    }
    assert report["expected_cash"] == "115.40"
    assert report["counted_cash"] is None
    assert report["difference"] is None

    client.post(f"/api/v1/shifts/{shift.pk}/close/", {"counted_cash": "115.00"}, format="json")
    z = client.get(f"/api/v1/shifts/{shift.pk}/report/").json()

    assert z["type"] == "Z"
    assert z["status"] == "closed"
    assert z["closed_at"]
    assert z["orders_count"] == 2
    assert z["expected_cash"] == "115.40"
    assert z["counted_cash"] == "115.00"
    assert z["difference"] == "-0.40"


def test_report_of_an_empty_shift(cashier_client, cashier, register) -> None:
    shift = shift_open(register=register, opening_float=D("25.00"), user=cashier)
    report = cashier_client.get(f"/api/v1/shifts/{shift.pk}/report/").json()
    assert report["orders_count"] == 0
    assert report["total"] == "0.00"
    assert report["by_tender"] == {
        "cash": "0.00",
        "card": "0.00",
        "other": "0.00",
        "gift_card": "0.00",
        "store_credit": "0.00",
        "points": "0.00",
    }
    assert report["refunds"]["count"] == 0
    assert report["expected_cash"] == "25.00"


def test_report_query_count_does_not_grow_with_orders(
    cashier_client, cashier, register, product
) -> None:
    shift = shift_open(register=register, opening_float=D("0"), user=cashier)
    url = f"/api/v1/shifts/{shift.pk}/report/"
    sell(cashier, register, [(product, "1")], [("card", "5.40")])
    cashier_client.get(url)  # the first request also loads the token's user into the auth cache
    with CaptureQueriesContext(connection) as one_order:
        assert cashier_client.get(url).status_code == 200
    for _ in range(5):
        sell(cashier, register, [(product, "1")], [("cash", "5.40")])
    with CaptureQueriesContext(connection) as six_orders:
        assert cashier_client.get(url).status_code == 200
    assert len(six_orders.captured_queries) == len(one_order.captured_queries)
    assert len(one_order.captured_queries) <= 13  # 13: the cash that paid for gift cards


# --- concurrency (PostgreSQL) -------------------------------------------------------------------


@pytest.mark.concurrency
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_opens_give_one_shift(client_for, register) -> None:
    cashiers = [CashierFactory(stores=[register.store]) for _ in range(8)]
    clients = [client_for(user) for user in cashiers]
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []
    codes: list[str] = []
    lock = threading.Lock()

    def worker(client) -> None:
        try:
            barrier.wait()
            response = open_via_api(client, register)
            with lock:
                statuses.append(response.status_code)
                if response.status_code != 201:
                    codes.append(response.json()["code"])
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [201] + [409] * 7
    assert set(codes) == {"shift_already_open"}
    assert Shift.objects.filter(register=register, status="open").count() == 1
