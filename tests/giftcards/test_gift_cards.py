"""Gift cards end to end through the API: issue → lookup → redeem → refund to the card → void →
expire, with the ledger (2300 = Σ the cards' balances, every entry balanced), the drawer, the
audit trail and the logs (never the code)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from audit.models import AuditEvent
from giftcards.codes import ALPHABET, code_hash
from giftcards.models import GiftCard, GiftCardMovement, GiftCardPayment, GiftCardStatus
from ledger.models import JournalEntry, JournalLine
from ledger.selectors import account_balances
from orders.models import IdempotencyKey, Order, Payment
from orders.reconciliation import reconcile_store_day, store_today
from orders.selectors.shifts import shift_cash_summary
from orders.serializers.sales import refuse_card_numbers
from tests.factories import ManagerFactory, RegisterFactory, StoreFactory
from tests.giftcards.conftest import LOOKUP_URL, issue, sell_with_card
from tests.orders.factories import open_shift_on
from tests.orders.selling import entry_lines

D = Decimal
pytestmark = pytest.mark.django_db


def _card(body: dict) -> GiftCard:
    return GiftCard.objects.get(pk=body["id"])


def _ledger_matches_cards(store) -> None:
    """Every entry balanced, and 2300 holds exactly what the store's cards hold."""
    for entry in JournalEntry.objects.filter(store=store):
        lines = list(entry.lines.all())
        assert sum(line.debit for line in lines) == sum(line.credit for line in lines)
    outstanding = account_balances(store_id=store.pk, codes=["2300"])["2300"]
    held = sum((c.balance for c in GiftCard.objects.filter(store=store)), D("0"))
    assert -outstanding == held
    for card in GiftCard.objects.filter(store=store):
        assert sum((m.amount for m in card.movements.all()), D("0")) == card.balance


def test_issuing_answers_the_code_once_and_keeps_only_its_hash(
    cashier_client, register, open_shift, store
) -> None:
    response = issue(cashier_client, register, "50.00")

    assert response.status_code == 201, response.content
    body = response.json()
    code = body["code"]
    assert len(code) == 16
    assert set(code) <= set(ALPHABET)
    assert body["last4"] == code[-4:]
    assert body["balance"] == "50.00"
    assert body["currency"] == store.currency
    assert body["expires_at"] is not None
    card = _card(body)
    assert card.code_hash == code_hash(code)
    assert card.balance == D("50.00")
    assert card.store_id == store.pk
    assert card.shift_id == open_shift.pk
    # A code is never taken for a card number.
    refuse_card_numbers({"payments": [{"code": code}]})
    # Afterwards: last4 only.
    detail = cashier_client.get(f"/api/v1/gift-cards/{card.pk}/").json()
    listed = cashier_client.get("/api/v1/gift-cards/").json()["results"]
    assert "code" not in detail
    assert detail["last4"] == code[-4:]
    assert code not in json.dumps(detail) + json.dumps(listed)


def test_issuing_posts_the_tenders_against_2300_and_puts_the_cash_in_the_drawer(
    cashier_client, register, open_shift, store
) -> None:
    drawer_before = shift_cash_summary(shift=open_shift).expected_cash

    body = issue(
        cashier_client,
        register,
        "80.00",
        payments=[{"method": "cash", "amount": "30.00"}, {"method": "card", "amount": "50.00"}],
    ).json()

    entry = JournalEntry.objects.get(source="gift_card_issue")
    assert entry_lines(entry) == {
        "1000": (D("30.00"), D("0")),
        "1010": (D("50.00"), D("0")),
        "2300": (D("0"), D("80.00")),
    }
    assert not JournalLine.objects.filter(account__code__in=["4000", "2100"]).exists()
    assert shift_cash_summary(shift=open_shift).expected_cash == drawer_before + D("30.00")
    assert GiftCardPayment.objects.filter(card_id=body["id"]).count() == 2
    report = cashier_client.get(f"/api/v1/shifts/{open_shift.pk}/report/").json()
    assert report["cash"]["gift_card_cash"] == "30.00"
    assert report["orders_count"] == 0  # not a sale
    _ledger_matches_cards(store)


def test_tenders_that_do_not_add_up_are_refused(cashier_client, register, open_shift) -> None:
    response = issue(
        cashier_client, register, "50.00", payments=[{"method": "cash", "amount": "40.00"}]
    )

    assert response.status_code == 400
    assert "payments" in response.json()["errors"]
    assert not GiftCard.objects.exists()


def test_issuing_needs_an_open_shift(cashier_client, register) -> None:
    response = issue(cashier_client, register, "50.00")

    assert response.status_code == 409
    assert response.json()["code"] == "shift_not_open"


def test_the_replay_answers_the_same_code_but_the_stored_answer_does_not_hold_it(
    cashier_client, register, open_shift
) -> None:
    key = str(uuid.uuid4())
    first = issue(cashier_client, register, "25.00", key=key)
    replay = issue(cashier_client, register, "25.00", key=key)

    assert first.status_code == replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    assert GiftCard.objects.count() == 1
    stored = IdempotencyKey.objects.get(key=key).response_body
    assert first.json()["code"] not in stored
    assert "gcs2." in stored


def test_the_code_never_reaches_the_audit_trail_or_the_logs(
    cashier_client, register, open_shift, product, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    code = issue(cashier_client, register, "20.00").json()["code"]
    cashier_client.get(LOOKUP_URL, {"code": code})
    sale = sell_with_card(
        cashier_client,
        register,
        product,
        "1",
        [{"method": "gift_card", "code": code, "amount": "5.40"}],
    )
    assert sale.status_code == 201, sale.content

    events = AuditEvent.objects.filter(action__in=["gift_card.issued", "order.created"])
    assert events.count() == 2
    for event in events:
        assert code not in json.dumps(event.changes)
    issued = AuditEvent.objects.get(action="gift_card.issued")
    assert issued.changes["last4"] == code[-4:]
    # The access log names the lookup's path, never its query string.
    assert code not in caplog.text
    assert Payment.objects.get(method="gift_card").reference == code[-4:]


def test_lookup_answers_the_balance_and_refuses_unknown_codes(
    cashier_client, register, open_shift
) -> None:
    code = issue(cashier_client, register, "20.00").json()["code"]

    found = cashier_client.get(LOOKUP_URL, {"code": code.lower()[:8] + "-" + code[8:]})
    unknown = cashier_client.get(LOOKUP_URL, {"code": "A" * 16})

    assert found.status_code == 200
    assert found.json() == {
        "last4": code[-4:],
        "balance": "20.00",
        "currency": "USD",
        "expires_at": found.json()["expires_at"],
        "status": "active",
    }
    assert unknown.status_code == 400
    assert unknown.json()["code"] == "gift_card_invalid"


def test_lookup_of_another_stores_card_is_refused(
    cashier_client, client_for, register, open_shift
) -> None:
    code = issue(cashier_client, register, "20.00").json()["code"]
    elsewhere = client_for(ManagerFactory(stores=[StoreFactory()]))

    assert elsewhere.get(LOOKUP_URL, {"code": code}).status_code == 400


def test_failed_codes_are_throttled_and_then_even_a_good_code_is_refused(
    cashier_client, register, open_shift, gift_card_rates, product
) -> None:
    code = issue(cashier_client, register, "20.00").json()["code"]
    for _ in range(2):
        assert cashier_client.get(LOOKUP_URL, {"code": "B" * 16}).status_code == 400
    # A failed code in a sale counts too.
    sale = sell_with_card(
        cashier_client,
        register,
        product,
        "1",
        [{"method": "gift_card", "code": "C" * 16, "amount": "5.40"}],
    )
    assert sale.status_code == 400
    assert sale.json()["code"] == "gift_card_invalid"

    throttled = cashier_client.get(LOOKUP_URL, {"code": code})
    refused_sale = sell_with_card(
        cashier_client,
        register,
        product,
        "1",
        [{"method": "gift_card", "code": code, "amount": "5.40"}],
    )

    assert throttled.status_code == 429
    assert throttled.json()["code"] == "throttled"
    assert int(throttled["Retry-After"]) >= 1
    assert refused_sale.status_code == 429
    assert GiftCard.objects.get().balance == D("20.00")


def test_a_good_code_does_not_count_toward_the_throttle(
    cashier_client, register, open_shift, gift_card_rates
) -> None:
    code = issue(cashier_client, register, "20.00").json()["code"]

    statuses = [cashier_client.get(LOOKUP_URL, {"code": code}).status_code for _ in range(6)]

    assert statuses == [200] * 6


def test_a_sale_paid_by_gift_card_draws_it_down_and_debits_2300(
    cashier_client, register, open_shift, product, store
) -> None:
    code = issue(cashier_client, register, "20.00").json()["code"]

    sale = sell_with_card(
        cashier_client,
        register,
        product,
        "2",
        [
            {"method": "gift_card", "code": code, "amount": "8.00"},
            {"method": "cash", "amount": "2.80"},
        ],
    )

    assert sale.status_code == 201, sale.content
    order = Order.objects.get(pk=sale.json()["id"])
    card = GiftCard.objects.get()
    assert card.balance == D("12.00")
    payment = order.payments.get(method="gift_card")
    assert payment.reference == code[-4:]
    assert payment.card_last4 == ""
    movement = card.movements.get(kind="redeem")
    assert (movement.amount, movement.balance_after, movement.payment_id) == (
        D("-8.00"),
        D("12.00"),
        payment.pk,
    )
    assert entry_lines(JournalEntry.objects.get(source="sale", source_id=order.pk))["2300"] == (
        D("8.00"),
        D("0"),
    )
    _ledger_matches_cards(store)
    receipt = cashier_client.get(f"/api/v1/orders/{order.pk}/receipt/").content.decode()
    assert f"Gift card ****{code[-4:]}" in receipt
    assert code not in receipt


def test_not_enough_on_the_card_is_409_and_writes_nothing(
    cashier_client, register, open_shift, product
) -> None:
    code = issue(cashier_client, register, "5.00").json()["code"]

    sale = sell_with_card(
        cashier_client,
        register,
        product,
        "1",
        [{"method": "gift_card", "code": code, "amount": "5.40"}],
    )

    assert sale.status_code == 409
    assert sale.json()["code"] == "insufficient_balance"
    # In the currency's minor units, not the column's three decimals.
    assert "holds 5.00; 5.40 asked" in sale.json()["detail"]
    assert not Order.objects.exists()
    assert GiftCard.objects.get().balance == D("5.00")


def test_another_stores_card_is_refused_at_the_counter(
    client_for, cashier_client, register, open_shift, product
) -> None:
    other = StoreFactory(currency="USD")
    other_register = RegisterFactory(store=other)
    manager = ManagerFactory(stores=[other])
    open_shift_on(other_register, manager)
    code = issue(client_for(manager), other_register, "20.00").json()["code"]

    sale = sell_with_card(
        cashier_client,
        register,
        product,
        "1",
        [{"method": "gift_card", "code": code, "amount": "5.40"}],
    )

    assert sale.status_code == 400
    assert sale.json()["code"] == "gift_card_invalid"
    assert "payments.0.code" in sale.json()["errors"]


def test_a_code_on_another_tender_is_refused(cashier_client, register, open_shift, product) -> None:
    sale = sell_with_card(
        cashier_client,
        register,
        product,
        "1",
        [{"method": "cash", "code": "A" * 16, "amount": "5.40"}],
    )

    assert sale.status_code == 400
    assert "payments.0.code" in sale.json()["errors"]


def test_a_refund_goes_back_onto_the_card_not_in_cash(
    cashier_client, manager_client, register, open_shift, product, store
) -> None:
    code = issue(cashier_client, register, "20.00").json()["code"]
    sale = sell_with_card(
        cashier_client,
        register,
        product,
        "2",
        [
            {"method": "gift_card", "code": code, "amount": "10.00"},
            {"method": "cash", "amount": "0.80"},
        ],
    ).json()
    line = sale["lines"][0]["id"]
    drawer_before = shift_cash_summary(shift=open_shift).expected_cash

    refund = manager_client.post(
        f"/api/v1/orders/{sale['id']}/refunds/",
        {"lines": [{"line": line, "quantity": "1"}]},
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )

    assert refund.status_code == 201, refund.content
    assert [(p["method"], p["amount"]) for p in refund.json()["payments"]] == [
        ("gift_card", "5.40")
    ]
    card = GiftCard.objects.get()
    assert card.balance == D("15.40")
    assert card.movements.get(kind="refund").refund_id == refund.json()["id"]
    entry = JournalEntry.objects.get(source="refund")
    assert entry_lines(entry)["2300"] == (D("0"), D("5.40"))
    assert shift_cash_summary(shift=open_shift).expected_cash == drawer_before
    _ledger_matches_cards(store)


def test_a_refund_may_choose_cash_for_the_gift_card_part(
    cashier_client, manager_client, register, open_shift, product
) -> None:
    code = issue(cashier_client, register, "20.00").json()["code"]
    sale = sell_with_card(
        cashier_client,
        register,
        product,
        "1",
        [{"method": "gift_card", "code": code, "amount": "5.40"}],
    ).json()

    chosen = manager_client.post(
        f"/api/v1/orders/{sale['id']}/refunds/",
        {
            "lines": [{"line": sale["lines"][0]["id"], "quantity": "1"}],
            "tenders": [{"method": "gift_card", "amount": "5.40"}],
        },
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )

    assert chosen.status_code == 201, chosen.content
    assert GiftCard.objects.get().balance == D("20.00")


def test_a_void_puts_the_money_back_on_the_card(
    cashier_client, manager_client, register, open_shift, product, store
) -> None:
    code = issue(cashier_client, register, "20.00").json()["code"]
    sale = sell_with_card(
        cashier_client,
        register,
        product,
        "1",
        [{"method": "gift_card", "code": code, "amount": "5.40"}],
    ).json()

    void = manager_client.post(
        f"/api/v1/orders/{sale['id']}/void/",
        {"reason": "wrong item"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )

    assert void.status_code == 200, void.content
    assert GiftCard.objects.get().balance == D("20.00")
    _ledger_matches_cards(store)


def test_expiry_takes_the_balance_as_breakage(
    cashier_client, register, open_shift, product, store
) -> None:
    code = issue(cashier_client, register, "20.00").json()["code"]
    sell_with_card(
        cashier_client,
        register,
        product,
        "1",
        [{"method": "gift_card", "code": code, "amount": "5.40"}],
    )
    GiftCard.objects.update(expires_at=timezone.now() - dt.timedelta(minutes=1))

    call_command("expire_gift_cards")
    call_command("expire_gift_cards")  # twice is harmless

    card = GiftCard.objects.get()
    assert (card.status, card.balance) == (GiftCardStatus.EXPIRED, D("0.00"))
    movement = card.movements.get(kind="expire")
    assert movement.amount == D("-14.60")
    entry = JournalEntry.objects.get(source="gift_card_expiry")
    assert entry_lines(entry) == {"2300": (D("14.60"), D("0")), "4010": (D("0"), D("14.60"))}
    assert AuditEvent.objects.filter(action="gift_card.expired").count() == 1
    lookup = cashier_client.get(LOOKUP_URL, {"code": code})
    assert lookup.status_code == 400
    sale = sell_with_card(
        cashier_client,
        register,
        product,
        "1",
        [
            {"method": "gift_card", "code": code, "amount": "0.00"},
            {"method": "cash", "amount": "5.40"},
        ],
    )
    assert sale.status_code == 400
    _ledger_matches_cards(store)


def test_the_whole_life_of_a_card_reconciles(
    cashier_client, manager_client, register, open_shift, product, store
) -> None:
    code = issue(cashier_client, register, "30.00").json()["code"]
    sale = sell_with_card(
        cashier_client,
        register,
        product,
        "2",
        [{"method": "gift_card", "code": code, "amount": "10.80"}],
    ).json()
    manager_client.post(
        f"/api/v1/orders/{sale['id']}/refunds/",
        {"lines": [{"line": sale["lines"][0]["id"], "quantity": "1"}]},
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    assert GiftCard.objects.get().balance == D("24.60")
    GiftCard.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    call_command("expire_gift_cards")

    _ledger_matches_cards(store)
    totals = JournalLine.objects.filter(entry__store=store)
    assert sum(x.debit for x in totals) == sum(x.credit for x in totals)
    result = reconcile_store_day(store=store, date=store_today(store))
    gift_cards = {c.name: c for c in result.comparisons}["gift_cards"]
    assert gift_cards.ok
    assert gift_cards.expected == D("0.00")
    assert GiftCardMovement.objects.count() == 4  # issue, redeem, refund, expire


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE giftcards_giftcardmovement SET amount = 1000 WHERE card_id = %s",
        "DELETE FROM giftcards_giftcardmovement WHERE card_id = %s",
    ],
    ids=["update", "delete"],
)
def test_movements_are_immutable_in_the_database(cashier_client, register, open_shift, sql) -> None:
    from django.db import IntegrityError, connection, transaction

    from ledger.exceptions import ImmutableRecord

    card = _card(issue(cashier_client, register, "20.00").json())
    movement = card.movements.get()

    with (
        pytest.raises(IntegrityError, match="immutable"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, [card.pk])
    with pytest.raises(ImmutableRecord):
        movement.delete()
    assert card.movements.get().amount == D("20.00")
