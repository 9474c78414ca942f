"""The app through a PgBouncer in transaction mode: server connections are lent per transaction,
the timeouts come from the role, no server-side cursor or prepared statement outlives its
transaction, and a sale with its idempotency key goes through as it does directly."""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal
from typing import Any

import pytest
from django.db import OperationalError, connection, transaction
from psycopg import sql
from rest_framework.test import APIClient

from accounts.models import Store, User
from accounts.tokens import tokens_for
from catalog.models import StockLevel
from dbtools import pgbouncer
from monitoring import db_session
from orders.models import IdempotencyKey, Order
from tests.catalog.factories import ProductFactory, set_stock
from tests.factories import RegisterFactory, StoreFactory
from tests.orders.factories import ORDERS_URL, open_shift_on
from tests.pgbouncer.conftest import admin_console, raw_pooled

pytestmark = [pytest.mark.postgres, pytest.mark.pgbouncer]


def test_pgbouncer_runs_in_transaction_mode(pooled: pgbouncer.Config) -> None:
    with admin_console(pooled) as console:
        rows = console.execute("SHOW CONFIG").fetchall()
    config = {row[0]: row[1] for row in rows}
    assert config["pool_mode"] == "transaction"
    assert str(connection.settings_dict["PORT"]) == str(pooled.port)


def test_a_server_connection_is_lent_per_transaction(pooled: pgbouncer.Config) -> None:
    """Client A's server connection goes back to the pool when A's transaction ends, although A
    stays connected: client B's next statement runs on that same backend (the pool hands out the
    most recently released server first). In session mode A would keep it until it hangs up."""
    with raw_pooled(pooled) as a, raw_pooled(pooled) as b:
        first = a.execute("SELECT pg_backend_pid()").fetchone()
        second = b.execute("SELECT pg_backend_pid()").fetchone()
        with a.transaction():
            held = a.execute("SELECT pg_backend_pid()").fetchone()
            # While A holds its server inside a transaction, B gets another one.
            other = b.execute("SELECT pg_backend_pid()").fetchone()
    assert first == second
    assert held != other


def test_the_role_settings_are_the_sessions_timeouts(pooled: pgbouncer.Config) -> None:
    assert "options" not in connection.settings_dict["OPTIONS"]
    assert db_session.session_timeouts(connection) == db_session.expected_timeouts()
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == pooled.role


def test_a_statement_beyond_the_role_statement_timeout_is_cancelled(
    pooled: pgbouncer.Config,
) -> None:
    limit_ms = db_session.expected_timeouts()["statement_timeout"]
    with pytest.raises(OperationalError, match="statement timeout"), connection.cursor() as cur:
        cur.execute("SELECT pg_sleep(%s)", [limit_ms / 1000 + 0.5])
    # The pooled connection is fine afterwards.
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def test_a_lock_wait_beyond_the_role_lock_timeout_fails(
    pooled: pgbouncer.Config, store: Store
) -> None:
    with raw_pooled(pooled) as holder, holder.transaction():
        holder.execute(
            sql.SQL("SELECT 1 FROM {} WHERE id = %s FOR UPDATE").format(
                sql.Identifier(Store._meta.db_table)
            ),
            [store.pk],
        )
        with pytest.raises(OperationalError, match="lock timeout"), transaction.atomic():
            Store.objects.select_for_update().get(pk=store.pk)


def test_no_server_side_cursor_is_declared(pooled: pgbouncer.Config, store: Store) -> None:
    """`.iterator()` outside a transaction would DECLARE … WITH HOLD on one server connection
    and FETCH on whichever the next statement gets; behind PgBouncer it reads client-side. (In a
    transaction the server stays the same, so pg_cursors would show a declared cursor.)"""
    assert connection.settings_dict["DISABLE_SERVER_SIDE_CURSORS"] is True
    StoreFactory()
    with transaction.atomic():
        rows = Store.objects.order_by("pk").iterator(chunk_size=1)
        first = next(rows)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_cursors")
            declared = cursor.fetchone()
        rest = list(rows)
    assert first.pk == store.pk
    assert len(rest) == 1
    assert declared == (0,)
    # Outside a transaction, through the pool, it reads every row too.
    assert len(list(Store.objects.iterator(chunk_size=1))) == 2


def test_nothing_is_prepared_on_the_server(pooled: pgbouncer.Config, store: Store) -> None:
    assert connection.settings_dict["OPTIONS"]["prepare_threshold"] is None
    for _ in range(10):  # a server-binding cursor with a threshold would prepare from the 5th
        assert Store.objects.filter(pk=store.pk).exists()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone() == (0,)


def _client(user: User) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens_for(user).access_token}")
    return client


@pytest.fixture
def selling(pooled: pgbouncer.Config, store: Store, cashier: User) -> dict[str, Any]:
    register = RegisterFactory(store=store, code="P1")
    open_shift_on(register, cashier)
    product = ProductFactory(price=Decimal("4.99"), tax_rate__rate=Decimal("8.250"))
    set_stock(store, product, 10)
    body = {
        "register": register.pk,
        "lines": [{"product": product.pk, "quantity": 2}],
        "payments": [{"method": "cash", "amount": "10.80"}],
    }
    return {"register": register, "product": product, "body": body}


def test_a_sale_and_its_retry_through_pgbouncer(
    selling: dict[str, Any], cashier: User, store: Store
) -> None:
    client, key = _client(cashier), str(uuid.uuid4())
    first = client.post(ORDERS_URL, selling["body"], format="json", HTTP_IDEMPOTENCY_KEY=key)
    again = client.post(ORDERS_URL, selling["body"], format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert first.status_code == 201, first.content
    assert first.json()["number"] == "P1-000001"
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert Order.objects.count() == 1
    assert IdempotencyKey.objects.count() == 1
    level = StockLevel.objects.get(store=store, product=selling["product"])
    assert level.quantity == Decimal("8")


def test_duplicate_sales_at_once_through_pgbouncer_make_one_order(
    selling: dict[str, Any], cashier: User
) -> None:
    key, barrier, results = str(uuid.uuid4()), threading.Barrier(4), []

    def send() -> None:
        try:
            barrier.wait(timeout=30)
            results.append(
                _client(cashier).post(
                    ORDERS_URL, selling["body"], format="json", HTTP_IDEMPOTENCY_KEY=key
                )
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(results) == 4
    assert {r.status_code for r in results} <= {201, 409}, [r.content for r in results]
    assert sum(1 for r in results if r.status_code == 201 and "Idempotent-Replayed" not in r) == 1
    assert Order.objects.count() == 1
