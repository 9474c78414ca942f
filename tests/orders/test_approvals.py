"""Manager approvals (API.md, Version 1.1, "Approvals (manager override)"): PINs, single-use
120 s tokens bound to an action and a register, `403 approval_required`, `approved_by` in the
audit event."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.hashers import check_password
from django.db import connections
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Register, Store, User
from audit.models import AuditEvent
from catalog.models import Product
from orders.models import Approval, Order, Refund
from tests.factories import DEFAULT_PASSWORD, ManagerFactory, RegisterFactory
from tests.orders.factories import ORDERS_URL, QUOTE_URL, open_shift_on, sale_body

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

APPROVALS = "/api/v1/approvals/"
PIN = "/api/v1/auth/pin/"
PASSWORD = DEFAULT_PASSWORD


@pytest.fixture
def boss(store: Store) -> User:
    return ManagerFactory(stores=[store])


@pytest.fixture
def boss_pin(client_for, boss: User) -> str:
    response = client_for(boss).post(PIN, {"password": PASSWORD, "pin": "2468"}, format="json")
    assert response.status_code == 204, response.content
    return "2468"


@pytest.fixture
def limited(store: Store) -> Store:
    store.cashier_max_discount_percent = Decimal("10.000")
    store.save()
    return store


def _approve(client: APIClient, boss: User, action: str, register: Register, pin: str = "2468"):
    return client.post(
        APPROVALS,
        {"username": boss.username, "pin": pin, "action": action, "register": register.pk},
        format="json",
    )


def _discounted(register: Register, product: Product, discount: str) -> dict[str, Any]:
    # 3 × 4.99 = 14.97 subtotal at 8.25 %.
    return sale_body(register, [(product, 3)], discount=discount)


def _sell(client: APIClient, body: dict[str, Any], approval: str | None = None):
    quote = client.post(QUOTE_URL, body, format="json", HTTP_X_APPROVAL=approval or "")
    if quote.status_code != 200:
        return quote
    body = {**body, "payments": [{"method": "card", "amount": quote.json()["total"]}]}
    headers = {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}
    if approval:
        headers["HTTP_X_APPROVAL"] = approval
    return client.post(ORDERS_URL, body, format="json", **headers)


def test_a_pin_is_stored_hashed_and_needs_the_password(client_for, boss: User) -> None:
    client = client_for(boss)
    wrong = client.post(PIN, {"password": "nope", "pin": "2468"}, format="json")
    assert wrong.status_code == 400
    assert "password" in wrong.json()["errors"]
    bad = client.post(PIN, {"password": PASSWORD, "pin": "12ab"}, format="json")
    assert bad.status_code == 400
    assert client.post(PIN, {"password": PASSWORD, "pin": "2468"}, format="json").status_code == 204
    boss.refresh_from_db()
    assert "2468" not in boss.pin
    assert check_password("2468", boss.pin)


def test_a_cashier_discount_within_the_limit_needs_nothing(
    cashier_client: APIClient, open_shift, register: Register, product: Product, limited
) -> None:
    response = _sell(cashier_client, _discounted(register, product, "1.00"))
    assert response.status_code == 201, response.content


def test_a_cashier_discount_over_the_limit_needs_an_approval_that_works_once(
    cashier_client: APIClient,
    open_shift,
    register: Register,
    product: Product,
    limited,
    boss: User,
    boss_pin: str,
) -> None:
    body = _discounted(register, product, "3.00")  # 20 % > 10 %
    refused = _sell(cashier_client, body)
    assert refused.status_code == 403, refused.content
    assert refused.json()["code"] == "approval_required"

    granted = _approve(cashier_client, boss, "discount", register)
    assert granted.status_code == 201, granted.content
    token = granted.json()["token"]
    assert granted.json()["approved_by"] == boss.pk

    sold = _sell(cashier_client, body, approval=token)
    assert sold.status_code == 201, sold.content
    event = AuditEvent.objects.get(action="order.created", object_id=str(sold.json()["id"]))
    assert event.changes["approved_by"] == boss.pk
    # Used once: the next sale needs another.
    again = _sell(cashier_client, body, approval=token)
    assert again.status_code == 403
    assert again.json()["code"] == "approval_required"
    assert Order.objects.count() == 1
    assert token not in str(list(Approval.objects.values()))  # only its hash is kept


def test_a_manager_discount_needs_no_approval(
    manager_client: APIClient, manager: User, register: Register, product: Product, limited
) -> None:
    open_shift_on(register, manager)
    assert _sell(manager_client, _discounted(register, product, "5.00")).status_code == 201


@pytest.mark.parametrize("case", ["wrong_action", "other_register", "expired"])
def test_a_token_is_bound_to_its_action_register_and_time(
    cashier_client: APIClient,
    open_shift,
    register: Register,
    product: Product,
    limited,
    boss: User,
    boss_pin: str,
    case: str,
) -> None:
    other = RegisterFactory(store=register.store, code="R9")
    action = "void" if case == "wrong_action" else "discount"
    token = _approve(
        cashier_client, boss, action, other if case == "other_register" else register
    ).json()["token"]
    if case == "expired":
        Approval.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    response = _sell(cashier_client, _discounted(register, product, "3.00"), approval=token)

    assert response.status_code == 403
    assert response.json()["code"] == "approval_required"


def test_a_wrong_pin_or_a_cashier_cannot_approve(
    cashier_client: APIClient, cashier: User, register: Register, boss: User, boss_pin: str
) -> None:
    wrong = _approve(cashier_client, boss, "discount", register, pin="1357")
    assert wrong.status_code == 403
    assert wrong.json()["code"] == "permission_denied"
    assert _approve(cashier_client, cashier, "discount", register).status_code == 403
    stranger = ManagerFactory(stores=[RegisterFactory().store])
    stranger.pin = boss.pin
    stranger.save()
    assert _approve(cashier_client, stranger, "discount", register).status_code == 403
    assert not Approval.objects.exists()


def test_wrong_pins_are_throttled_like_logins(
    cashier_client: APIClient, register: Register, boss: User, boss_pin: str, settings
) -> None:
    settings.LOGIN_RATE_PER_USERNAME = "3/5m"
    statuses = [
        _approve(cashier_client, boss, "discount", register, pin="0000").status_code
        for _ in range(4)
    ]
    assert statuses[-1] == 429
    # Locked: even the right PIN waits.
    assert _approve(cashier_client, boss, "discount", register).status_code == 429


def test_a_cashier_refund_needs_an_approval_unless_the_store_allows_it(
    cashier_client: APIClient,
    open_shift,
    register: Register,
    store: Store,
    product: Product,
    boss: User,
    boss_pin: str,
) -> None:
    order = _sell(cashier_client, sale_body(register, [(product, 2)])).json()
    line = order["lines"][0]["id"]

    def refund(approval: str | None = None, quantity: str = "1"):
        headers = {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}
        if approval:
            headers["HTTP_X_APPROVAL"] = approval
        return cashier_client.post(
            f"{ORDERS_URL}{order['id']}/refunds/",
            {"lines": [{"line": line, "quantity": quantity}]},
            format="json",
            **headers,
        )

    assert refund().json()["code"] == "approval_required"
    token = _approve(cashier_client, boss, "refund", register).json()["token"]
    approved = refund(token)
    assert approved.status_code == 201, approved.content
    event = AuditEvent.objects.get(action="order.refunded")
    assert event.changes["approved_by"] == boss.pk

    store.cashier_can_refund = True
    store.save()
    assert refund().status_code == 201
    assert Refund.objects.count() == 2


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_a_token_used_twice_at_once_is_used_once(
    client_for, register: Register, product: Product, store: Store, cashier: User, boss: User
) -> None:
    store.cashier_max_discount_percent = Decimal("10.000")
    store.save()
    open_shift_on(register, cashier)
    client_for(boss).post(PIN, {"password": PASSWORD, "pin": "2468"}, format="json")
    token = _approve(client_for(cashier), boss, "discount", register).json()["token"]
    body = _discounted(register, product, "3.00")
    total = client_for(cashier).post(QUOTE_URL, body, format="json", HTTP_X_APPROVAL=token)
    body["payments"] = [{"method": "card", "amount": total.json()["total"]}]
    statuses: list[int] = []

    def sell() -> None:
        try:
            response = client_for(cashier).post(
                ORDERS_URL,
                body,
                format="json",
                HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
                HTTP_X_APPROVAL=token,
            )
            statuses.append(response.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sell) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [201, 403, 403]
    assert Order.objects.count() == 1
