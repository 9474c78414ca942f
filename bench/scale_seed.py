"""Seed a database with a merchant's history at scale: N orders in seconds per 100k, not hours.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pos_bench_scale \
        .venv/bin/python bench/scale_seed.py --orders 1000000 [--stores 50] [--months 6]

What N orders bring (defaults; per order on average):

* the order, 2.67 lines (2, 3, 3, …) of 500 products, one payment (cash, card, other);
* one posted journal entry of 10 lines on average: the tender (debit), revenue per line
  (credit), the tax (credit), cost of goods sold (debit) and inventory (credit) per line —
  balanced, written with the ledger's balance and append-only triggers left ON (the deferred
  balance trigger checks every line at each batch's commit: that is part of the seed's time);
* one stock movement per line, an idempotency key for each sale of the seed's last
  `IDEMPOTENCY_KEY_TTL_HOURS` (older keys' partitions are dropped), and
  `--audit-per-order` audit events (5 → 5M events for 1M orders) on the store's chain, hashed in
  SQL with the project's own `audit.hashing.chain_hash_sql` and the canonical JSON that
  `audit.verification` recomputes, continuing each chain from its head — `verify_audit` passes.

Orders are spread evenly over the last `--months` months (up to yesterday), over `--stores`
stores of `--registers` registers each (one cashier and one open shift per register).

Resumable: orders are written in batches of `--batch`, one transaction each, in order; a rerun
continues after the last committed batch (the highest order sequence seeded). Progress and an
ETA are printed per batch. The bases (stores, products …) are created once, by code `S001`….

The set-based SQL is also what tests/test_bench_scale_seed.py runs on the test database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PRODUCTS = 500
TAX_RATE = Decimal("10.000")
STORE_PREFIX = "S"
ACTIONS = ("order.create", "payment.capture", "stock.sale", "ledger.post", "receipt.print")


@dataclass
class Base:
    store_ids: list[int]
    register_ids: list[int]  # registers in order; register k belongs to store_of[k]
    store_of: list[int]
    shift_of: list[int]
    cashier_of: list[int]
    product_ids: list[int]
    accounts: dict[str, int]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def seed_base(*, stores: int, registers: int, manager_username: str | None = None) -> Base:
    """Stores S001…, their registers, a cashier and an open shift per register, one tax rate and
    the products (shared by every store). Idempotent: reuses what an earlier run created."""
    from django.db import transaction

    from accounts.models import Register, Role, Store, User
    from catalog.models import Product, TaxRate
    from ledger.models import Account
    from orders.models import Shift

    with transaction.atomic():
        tax, _ = TaxRate.objects.get_or_create(name="Scale 10", defaults={"rate": TAX_RATE})
        existing = set(
            Product.objects.filter(sku__startswith="SCALE-").values_list("sku", flat=True)
        )
        Product.objects.bulk_create(
            Product(
                sku=f"SCALE-{n:04d}",
                name=f"Scale product {n}",
                price=Decimal(100 + n * 37 % 4900) / 100,  # 1.00 … 49.99: tax is never zero
                cost=Decimal(50 + n * 13 % 1500) / 100,
                tax_rate=tax,
            )
            for n in range(PRODUCTS)
            if f"SCALE-{n:04d}" not in existing
        )
        manager = (
            User.objects.filter(username=manager_username).first() if manager_username else None
        )
        base = Base([], [], [], [], [], [], {})
        for s in range(1, stores + 1):
            store, _ = Store.objects.get_or_create(
                code=f"{STORE_PREFIX}{s:03d}",
                defaults={"name": f"Scale store {s}", "timezone": "America/New_York"},
            )
            base.store_ids.append(store.pk)
            if manager is not None:
                manager.stores.add(store)
            for r in range(1, registers + 1):
                register, _ = Register.objects.get_or_create(
                    store=store, code=f"SR{r}", defaults={"name": f"Scale register {r}"}
                )
                cashier, created = User.objects.get_or_create(
                    username=f"scale-{store.code.lower()}-r{r}", defaults={"role": Role.CASHIER}
                )
                if created:
                    cashier.stores.add(store)
                shift = Shift.objects.filter(register=register).order_by("id").first()
                if shift is None:
                    shift = Shift.objects.create(
                        store=store, register=register, opened_by=cashier, opening_float=0
                    )
                base.register_ids.append(register.pk)
                base.store_of.append(store.pk)
                base.shift_of.append(shift.pk)
                base.cashier_of.append(cashier.pk)
        base.product_ids = list(
            Product.objects.filter(sku__startswith="SCALE-")
            .order_by("sku")
            .values_list("pk", flat=True)
        )
        base.accounts = dict(Account.objects.values_list("code", "pk"))
    return base


def seeded_orders(base: Base) -> int:
    """The highest order sequence seeded so far (orders are numbered 1…N across registers)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(max(sequence), 0) FROM orders_order WHERE register_id = ANY(%s)",
            [base.register_ids],
        )
        return int(cursor.fetchone()[0])


def _columns(cursor: Any, table: str) -> set[str]:
    cursor.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s", [table]
    )
    return {row[0] for row in cursor.fetchall()}


def seed_batch(
    *,
    base: Base,
    lo: int,
    hi: int,
    total: int,
    start: dt.datetime,
    span_s: float,
    audit_per_order: int,
) -> None:
    """Orders lo…hi (of `total`) with everything they bring, in one transaction."""
    from django.conf import settings
    from django.db import connection, transaction

    from audit.hashing import chain_hash_sql
    from audit.models import GENESIS_HASH

    params: dict[str, Any] = {
        "lo": lo,
        "hi": hi,
        "total": total,
        "start": start,
        "span": span_s,
        "regs": base.register_ids,
        "stores": base.store_of,
        "shifts": base.shift_of,
        "cashiers": base.cashier_of,
        "nreg": len(base.register_ids),
        "products": base.product_ids,
        "nprod": len(base.product_ids),
        "per": audit_per_order,
        "actions": list(ACTIONS),
        "genesis": GENESIS_HASH,
        # Keys live as long as their retention: older ones are gone (their month's partition
        # dropped by `manage.py partitions`), so only a sale of the last TTL hours keeps one.
        "keys_from": start
        + dt.timedelta(seconds=span_s)
        - dt.timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS),
        **{f"a{code}": pk for code, pk in base.accounts.items()},
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 0")
        jl_columns = _columns(cursor, "ledger_journalline")
        # The batch's lines, priced tax-exclusive at 10 %, and its orders (one per i).
        cursor.execute(
            """
            CREATE TEMP TABLE _o ON COMMIT DROP AS
            SELECT i, 1 + i %% %(nreg)s AS k,
                   %(start)s::timestamptz
                     + (%(span)s * (i - 0.5) / %(total)s) * interval '1 second' AS at
            FROM generate_series(%(lo)s::bigint, %(hi)s::bigint) AS i;
            CREATE TEMP TABLE _l ON COMMIT DROP AS
            SELECT o.i, j, p.id AS product_id, p.sku, p.name, q.qty, p.price, p.cost,
                   round(p.price * q.qty, 2) AS net,
                   round(round(p.price * q.qty, 2) * 0.1, 2) AS tax,
                   round(p.cost * q.qty, 2) AS cogs
            FROM _o o
            CROSS JOIN LATERAL generate_series(1, CASE WHEN o.i %% 3 = 0 THEN 2 ELSE 3 END) AS j
            CROSS JOIN LATERAL (SELECT 1 + (o.i + j) %% 3 AS qty) AS q
            JOIN catalog_product p
              ON p.id = (%(products)s::bigint[])[1 + (o.i * 7 + j * 13) %% %(nprod)s];
            CREATE TEMP TABLE _t ON COMMIT DROP AS
            SELECT i, sum(net) AS net, sum(tax) AS tax, sum(net + tax) AS total
            FROM _l GROUP BY i;
            """,
            params,
        )
        cursor.execute(
            """
            CREATE TEMP TABLE _m ON COMMIT DROP AS
            WITH ins AS (
                INSERT INTO orders_order (store_id, register_id, shift_id, cashier_id, number,
                    sequence, status, created_at, offline, currency, prices_include_tax,
                    order_discount, subtotal, discount_total, tax_total, total, paid_total,
                    change_due, refunded_total, rounding, tips_total, total_due, late,
                    returned_total, points_earned, promotion_total, promotions)
                SELECT (%(stores)s::bigint[])[o.k], (%(regs)s::bigint[])[o.k],
                       (%(shifts)s::bigint[])[o.k], (%(cashiers)s::bigint[])[o.k],
                       'S' || o.i, o.i, 'completed', o.at, false, 'USD', false,
                       0, t.net, 0, t.tax, t.total, t.total, 0, 0, 0, 0, t.total, false,
                       0, 0, 0, '[]'
                FROM _o o JOIN _t t USING (i)
                ORDER BY o.i
                RETURNING id, sequence, store_id, cashier_id, created_at, total
            )
            SELECT sequence::bigint AS i, id, store_id, cashier_id, created_at, total FROM ins;
            """,
            params,
        )
        cursor.execute(
            """
            INSERT INTO orders_orderline (order_id, position, product_id, sku, name, quantity,
                unit_price, unit_cost, gross, line_discount, discount, net, tax_rate, tax, total,
                refunded_quantity, refunded_net, refunded_tax, refunded_total, cost,
                refunded_cost, modifiers, promotion_discount, promotion_name)
            SELECT m.id, l.j - 1, l.product_id, l.sku, l.name, l.qty, l.price, l.cost, l.net,
                   0, 0, l.net, 10.000, l.tax, l.net + l.tax, 0, 0, 0, 0, l.cogs, 0, '[]', 0, ''
            FROM _l l JOIN _m m USING (i) ORDER BY l.i, l.j;
            INSERT INTO orders_payment (order_id, method, amount, change, reference, card_last4,
                refunded_amount, tip)
            SELECT m.id, (ARRAY['cash', 'card', 'other'])[1 + m.i %% 3], m.total, 0, '',
                   CASE WHEN m.i %% 3 = 1 THEN lpad((m.i %% 10000)::text, 4, '0') ELSE '' END,
                   0, 0
            FROM _m m ORDER BY m.i;
            INSERT INTO catalog_stockmovement (product_id, store_id, user_id, quantity_delta,
                quantity_after, reason, source_type, source_id, unit_cost, value, note, flagged,
                created_at)
            SELECT l.product_id, m.store_id, m.cashier_id, -l.qty, 100000 - m.i %% 1000, 'sale',
                   'order', m.id, l.cost, -l.cogs, '', false, m.created_at
            FROM _l l JOIN _m m USING (i) ORDER BY l.i, l.j;
            INSERT INTO orders_idempotencykey (user_id, key, endpoint, fingerprint, state,
                response_status, response_body, created_at, expires_at)
            SELECT m.cashier_id, 'scale-' || m.i, 'orders.create', md5(m.i::text), 'done', 201,
                   '{"id":' || m.id || ',"number":"S' || m.i || '","total":"' || m.total
                     || '","status":"completed"}',
                   m.created_at, m.created_at + interval '1 day'
            FROM _m m WHERE m.created_at > %(keys_from)s ORDER BY m.i;
            """,
            params,
        )
        # The journal: one entry per order, ten lines on average, balanced.
        cursor.execute(
            """
            CREATE TEMP TABLE _e ON COMMIT DROP AS
            WITH ins AS (
                INSERT INTO ledger_journalentry (store_id, date, memo, source, source_id,
                    created_at, created_by_id)
                SELECT m.store_id, (m.created_at AT TIME ZONE 'America/New_York')::date,
                       'Sale S' || m.i, 'sale', m.id, m.created_at, m.cashier_id
                FROM _m m ORDER BY m.i
                RETURNING id, source_id, created_at
            )
            SELECT m.i, ins.id, ins.created_at FROM ins JOIN _m m ON m.id = ins.source_id;
            """,
            params,
        )
        created = ", created_at" if "created_at" in jl_columns else ""
        created_value = ", e.created_at" if created else ""
        cursor.execute(
            f"""
            INSERT INTO ledger_journalline (entry_id, account_id, debit, credit{created})
            SELECT e.id, x.account, x.debit, x.credit{created_value}
            FROM (
                SELECT i, 0 AS ord, (ARRAY[%(a1000)s, %(a1010)s, %(a1020)s])[1 + i %% 3] AS account,
                       total AS debit, 0 AS credit FROM _t
                UNION ALL SELECT i, 1, %(a2100)s, 0, tax FROM _t
                UNION ALL SELECT i, 10 + j, %(a4000)s, 0, net FROM _l
                UNION ALL SELECT i, 20 + j, %(a5000)s, cogs, 0 FROM _l
                UNION ALL SELECT i, 30 + j, %(a1200)s, 0, cogs FROM _l
            ) x JOIN _e e USING (i)
            ORDER BY x.i, x.ord
            """,
            params,
        )
        if audit_per_order:
            _seed_audit(cursor, params, chain_hash_sql)


def _seed_audit(cursor: Any, params: dict[str, Any], chain_hash_sql: Any) -> None:
    """`per` events per order on the store's chain; each chain continues from its head."""
    cursor.execute(
        """
        CREATE TEMP TABLE _a ON COMMIT DROP AS
        SELECT m.i * 16 + n AS seq, m.store_id AS chain, m.store_id, m.cashier_id AS actor_id,
               (%(actions)s::text[])[1 + (n - 1) %% 5] AS action,
               m.created_at + n * interval '1 millisecond' AS at,
               'order' AS object_type, m.id::text AS object_id,
               jsonb_build_object('total', m.total::text, 'n', n) AS changes,
               'scale-' || m.i || '-' || n AS request_id
        FROM _m m CROSS JOIN generate_series(1, %(per)s) AS n;
        ALTER TABLE _a ADD COLUMN content text;
        UPDATE _a SET content =
            '{"action":"' || action || '","actor":' || actor_id
            || ',"at":"' || to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')
            || '+00:00","changes":{"n":' || (changes->>'n') || ',"total":"'
            || (changes->>'total') || '"},"ip":null,"object_id":"' || object_id
            || '","object_type":"' || object_type || '","request_id":"' || request_id
            || '","store_id":' || store_id || '}';
        CREATE TEMP TABLE _h (seq bigint, prev_hash text, hash text) ON COMMIT DROP;
        """,
        params,
    )
    # The chain is sequential by nature: one pass in chain order, arrays flushed per chain.
    hash_expr = chain_hash_sql("prev", "r.content")
    cursor.execute(
        f"""
        DO $$
        DECLARE
            r record;
            cur bigint := NULL;
            prev text;
            seqs bigint[] := '{{}}';
            prevs text[] := '{{}}';
            hashes text[] := '{{}}';
        BEGIN
            FOR r IN SELECT seq, chain, content FROM _a ORDER BY chain, seq LOOP
                IF cur IS DISTINCT FROM r.chain THEN
                    INSERT INTO _h SELECT * FROM unnest(seqs, prevs, hashes);
                    seqs := '{{}}'; prevs := '{{}}'; hashes := '{{}}';
                    cur := r.chain;
                    SELECT last_hash INTO prev FROM audit_auditchainhead WHERE chain = r.chain;
                    prev := coalesce(prev, '{params["genesis"]}');
                END IF;
                seqs := seqs || r.seq;
                prevs := prevs || prev;
                prev := {hash_expr};
                hashes := hashes || prev;
            END LOOP;
            INSERT INTO _h SELECT * FROM unnest(seqs, prevs, hashes);
        END
        $$;
        """
    )
    cursor.execute(
        """
        CREATE TEMP TABLE _ai ON COMMIT DROP AS
        WITH ins AS (
            INSERT INTO audit_auditevent (at, actor_id, action, store_id, chain, object_type,
                object_id, changes, ip, request_id, prev_hash, hash)
            SELECT a.at, a.actor_id, a.action, a.store_id, a.chain, a.object_type, a.object_id,
                   a.changes, NULL, a.request_id, h.prev_hash, h.hash
            FROM _a a JOIN _h h USING (seq)
            ORDER BY a.seq
            RETURNING id, chain, at, prev_hash, hash
        )
        SELECT * FROM ins;
        INSERT INTO audit_auditchainhead (chain, last_hash, last_event_id, length)
        SELECT DISTINCT ON (chain) chain, hash, id, count(*) OVER (PARTITION BY chain)
        FROM _ai ORDER BY chain, id DESC
        ON CONFLICT (chain) DO UPDATE
        SET last_hash = EXCLUDED.last_hash, last_event_id = EXCLUDED.last_event_id,
            length = audit_auditchainhead.length + EXCLUDED.length;
        """
    )
    cursor.execute("SELECT to_regclass('audit_auditchainanchor') IS NOT NULL")
    if cursor.fetchone()[0]:
        # Partitioned history: the first event of each chain in each month is anchored, as the
        # app's append does, so `verify_audit --month` works on the seeded data too.
        cursor.execute(
            """
            INSERT INTO audit_auditchainanchor (chain, month, first_event_id, prev_hash, hash)
            SELECT DISTINCT ON (chain, date_trunc('month', at AT TIME ZONE 'UTC'))
                   chain, date_trunc('month', at AT TIME ZONE 'UTC')::date, id, prev_hash, hash
            FROM _ai
            ORDER BY chain, date_trunc('month', at AT TIME ZONE 'UTC'), id
            ON CONFLICT (chain, month) DO NOTHING
            """
        )


def seed_orders(
    *,
    base: Base,
    orders: int,
    months: int,
    batch: int,
    audit_per_order: int,
    end: dt.datetime | None = None,
) -> dict[str, Any]:
    """Orders 1…`orders` (continuing after those already seeded), `batch` per transaction."""
    from django.db import connection
    from django.utils import timezone

    end = end or (timezone.now() - dt.timedelta(days=1)).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    start = end - dt.timedelta(days=30 * months)
    span_s = (end - start).total_seconds()
    done = seeded_orders(base)
    if done:
        log(f"resuming after order {done:,} of {orders:,}")
    started = time.perf_counter()
    first = done
    while done < orders:
        hi = min(done + batch, orders)
        seed_batch(
            base=base, lo=done + 1, hi=hi, total=orders, start=start, span_s=span_s,
            audit_per_order=audit_per_order,
        )  # fmt: skip
        elapsed = time.perf_counter() - started
        rate = (hi - first) / elapsed if elapsed else 0.0
        eta = (orders - hi) / rate if rate else 0.0
        log(f"  {hi:>10,} / {orders:,} orders  {rate:8,.0f} orders/s  ETA {eta:6.0f} s")
        done = hi
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")
        cursor.execute("ANALYZE")
    return {"seconds": time.perf_counter() - started, "orders_seeded": done - first}


def counts() -> dict[str, int]:
    from django.db import connection

    tables = {
        "orders": "orders_order",
        "order_lines": "orders_orderline",
        "payments": "orders_payment",
        "journal_entries": "ledger_journalentry",
        "journal_lines": "ledger_journalline",
        "audit_events": "audit_auditevent",
        "stock_movements": "catalog_stockmovement",
        "idempotency_keys": "orders_idempotencykey",
    }
    with connection.cursor() as cursor:
        out = {}
        for name, table in tables.items():
            cursor.execute(f"SELECT count(*) FROM {table}")
            out[name] = int(cursor.fetchone()[0])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--stores", type=int, default=50)
    parser.add_argument("--registers", type=int, default=2, help="registers per store")
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--batch", type=int, default=20_000, help="orders per transaction")
    parser.add_argument("--audit-per-order", type=int, default=5)
    parser.add_argument("--manager", default=None, help="username given access to the stores")
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "posproject.settings")
    import django

    django.setup()
    t = time.perf_counter()
    base = seed_base(stores=args.stores, registers=args.registers, manager_username=args.manager)
    log(f"bases: {args.stores} stores × {args.registers} registers, {PRODUCTS} products "
        f"({time.perf_counter() - t:.1f} s)")  # fmt: skip
    result = seed_orders(
        base=base, orders=args.orders, months=args.months, batch=args.batch,
        audit_per_order=args.audit_per_order,
    )  # fmt: skip
    log(f"seeded {result['orders_seeded']:,} orders in {result['seconds']:.1f} s")
    log(f"rows: {counts()}")


if __name__ == "__main__":
    main()
