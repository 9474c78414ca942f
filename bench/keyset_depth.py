"""Does a page cost the same at any depth? Page numbers against keyset cursors (`?cursor=`).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pos .venv/bin/python bench/keyset_depth.py
    (options: --orders 200000 --page-size 50 --runs 7 --share 2)

On a throwaway PostgreSQL database (created and dropped here): two stores' orders, one in
`--share` (default every other one) in the measured store, seeded with one set-based insert
(orders only, every other column at its default: a page's lines and payments are read by the
page's ids, the same at any depth).
Through the real stack (`GET /api/v1/orders/?store=` as the store's manager) it times the first
page and a page three quarters deep, by page number and by cursor. The deep cursor is the one
the walk would have reached there (`p=<id of the row before the page>`, what every `next` link
holds), built directly rather than by following thousands of links. Medians over `--runs` runs
after a warm-up, the fewest queries a run took, and the plans of the two deep pages' queries.
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "posproject.settings")
os.environ.setdefault("DJANGO_DEBUG", "true")
os.environ["DJANGO_TEST_DB_NAME"] = f"bench_keyset_{os.getpid()}"  # never the test suite's
os.environ.setdefault("DB_STATEMENT_TIMEOUT_MS", "0")  # seeding takes longer than the app's 5 s
os.environ["LOG_LEVEL"] = "WARNING"
os.environ["ACCESS_LOG_LEVEL"] = "WARNING"

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402


def _literal(field) -> str:  # type: ignore[no-untyped-def]
    """An SQL literal for a column the seed does not set: its default, NULL, or a zero."""
    import json

    from django.db import models

    if field.has_default():
        value = field.get_default()
        if isinstance(field, models.JSONField):
            return f"'{json.dumps(value)}'::jsonb"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float) or type(value).__name__ == "Decimal":
            return str(value)
        return "'" + str(value).replace("'", "''") + "'"
    if field.null:
        return "NULL"
    if isinstance(field, models.BooleanField):
        return "false"
    if isinstance(field, models.CharField | models.TextField):
        return "''"
    return "0"


def seed(*, count: int, share: int):  # type: ignore[no-untyped-def]
    """Two stores (a register and a shift each) and `count` completed orders one second apart,
    one in `share` of them in the measured store: its list is a filtered scan."""
    from decimal import Decimal

    from accounts.models import Register, Role, Store, User
    from orders.models import Order, Shift

    cashier = User.objects.create(username="keyset-cashier", role=Role.CASHIER)
    stores, registers, shifts = [], [], []
    for code in ("KEYSET", "OTHER"):
        store = Store.objects.create(code=code, name=f"{code} store", timezone="UTC")
        register = Register.objects.create(store=store, code="R1")
        shift = Shift.objects.create(
            store=store, register=register, opened_by=cashier, opening_float=Decimal("0")
        )
        stores.append(store.pk)
        registers.append(register.pk)
        shifts.append(shift.pk)
    given = {
        "store_id": "(%(stores)s::bigint[])[1 + least(i %% %(share)s, 1)]",
        "register_id": "(%(registers)s::bigint[])[1 + least(i %% %(share)s, 1)]",
        "shift_id": "(%(shifts)s::bigint[])[1 + least(i %% %(share)s, 1)]",
        "cashier_id": "%(cashier)s",
        "number": "'R1-' || lpad(i::text, 7, '0')",
        "sequence": "i",
        "status": "'completed'",
        "created_at": "now() - (%(count)s - i) * interval '1 second'",
        "currency": "'USD'",
    }
    fields = [f for f in Order._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(f.column for f in fields)
    values = ", ".join(given.get(f.attname) or _literal(f) for f in fields)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO orders_order ({columns}) SELECT {values} "  # nosec B608
            "FROM generate_series(1, %(count)s) AS i",
            {
                "stores": stores,
                "registers": registers,
                "shifts": shifts,
                "cashier": cashier.pk,
                "count": count,
                "share": share,
            },
        )
        cursor.execute("VACUUM ANALYZE orders_order")
    return Store.objects.get(pk=stores[0])


def _cursor_at(*, store_id: int, depth: int) -> str:
    """The cursor whose page starts `depth` rows into the newest-first walk."""
    from orders.models import Order

    before = (
        Order.objects.filter(store_id=store_id)
        .order_by("-id")
        .values_list("id", flat=True)[depth - 1]
    )
    return base64.b64encode(f"p={before}".encode("ascii")).decode("ascii")


def _plan(sql: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql)
        return [line for (line,) in cursor.fetchall()]


def _page_query(client: Client, params: dict) -> str:
    """The SQL that read the page's orders."""
    with CaptureQueriesContext(connection) as ctx:
        client.get("/api/v1/orders/", params)
    return next(
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].startswith('SELECT "orders_order"') and "LIMIT" in q["sql"]
    )


def _timed(client: Client, params: dict, runs: int) -> tuple[float, int, int]:
    """Median ms, queries per request (the fewest of the runs), rows on the page."""
    response = client.get("/api/v1/orders/", params)  # warm
    assert response.status_code == 200, response.content
    timings = []
    queries = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as ctx:
            started = time.perf_counter()
            response = client.get("/api/v1/orders/", params)
            timings.append(time.perf_counter() - started)
        queries.append(len(ctx.captured_queries))
    # The fewest: a run now and then also re-reads the user when its cached copy expires.
    return statistics.median(timings) * 1000, min(queries), len(response.json()["results"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--page-size", type=int, default=50)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--share", type=int, default=2, help="one order in SHARE is the listed store's"
    )
    args = parser.parse_args()

    from accounts.models import Role, User
    from accounts.tokens import tokens_for

    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    print(f"database: {connection.settings_dict['NAME']} (throwaway)")
    try:
        started = time.perf_counter()
        store = seed(count=args.orders, share=args.share)
        print(f"seeded {args.orders:,} orders in {time.perf_counter() - started:.1f} s")
        manager = User.objects.create(username="keyset-manager", role=Role.MANAGER)
        manager.stores.set([store])
        client = Client(HTTP_AUTHORIZATION=f"Bearer {tokens_for(manager).access_token}")

        size = args.page_size
        in_store = args.orders // args.share
        depth = (in_store * 3 // 4) // size * size  # three quarters into the store
        deep_page = depth // size + 1
        base = {"store": store.pk, "page_size": size}
        cases = (
            ("page number, page 1", {**base}),
            (f"page number, page {deep_page:,} (offset {depth:,})", {**base, "page": deep_page}),
            ("cursor, first page (`?cursor=`)", {**base, "cursor": ""}),
            (
                f"cursor, page {deep_page:,} (the walk's cursor there)",
                {**base, "cursor": _cursor_at(store_id=store.pk, depth=depth)},
            ),
        )
        rows = [(name, *_timed(client, params, args.runs)) for name, params in cases]
        plans = [(name, _plan(_page_query(client, params))) for name, params in cases[1::2]]
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)

    print(
        f"\n{args.orders:,} orders, {in_store:,} of them in the listed store, {size} per page, "
        f"median of {args.runs} runs\n"
    )
    print("| request (GET /api/v1/orders/?store=) | median ms | queries | rows |")
    print("|---|--:|--:|--:|")
    for name, ms, queries, count in rows:
        print(f"| {name} | {ms:.1f} | {queries} | {count} |")
    for name, plan in plans:
        print(f"\n{name}: the page's query plan\n```\n" + "\n".join(plan) + "\n```")


if __name__ == "__main__":
    main()
