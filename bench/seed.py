"""Seeding of the benchmark database (`make bench`): fast, set-based, deterministic.

Called in-process by `bench/run.py` after `migrate`, with Django configured on the throwaway
`pos_bench` database. Everything volume-related is bulk-inserted (`bulk_create` in batches, or
`INSERT … SELECT generate_series`), so the whole seed takes seconds, not minutes:

* one selling store `MAIN` (America/New_York, tax-exclusive, negative stock refused) with
  registers `R1`…`R8` (one per cashier, for the sale scenario) and `P1`…`P8` (for pgbench, each
  with an open shift and a number counter, so pgbench's orders look like the app's);
* one tax rate (8.25 %), 1,000 sellable products with EAN-13 barcodes and 1,000,000 units of
  stock each in `MAIN` (no sale ever runs out), and 50,000 more products for the delta-sync
  scenario, all with distinct catalog versions (the catalog counter is moved past them);
* eight cashiers `cashier-r1`…`cashier-r8` of `MAIN` and a manager `bench-manager` of `MAIN` and
  of the report store;
* the report store `BENCH` with 100,000 orders on today's local date (and `--report-noise` more
  on the ten days before), seeded by `bench/bench_daily_report.py`'s `seed()` (its owner's code,
  reused as is): today's report is computed on every request, never read back from storage.

Shifts of `R1`…`R8` are *not* opened here: the harness opens them over the API
(`POST /api/v1/shifts/`), as a register would.
"""

from __future__ import annotations

import datetime as dt
import time
import zoneinfo
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

SELL_PRODUCTS = 1_000
SYNC_PRODUCTS = 50_000
REGISTERS = 8
STOCK_PER_PRODUCT = Decimal("1000000")
BATCH = 5_000
TAX_RATE = Decimal("8.250")
STORE_TZ = "America/New_York"


@dataclass
class Seeded:
    store_id: int
    report_store_id: int
    report_date: dt.date
    register_ids: list[int]
    pgbench_register_ids: list[int]
    pgbench_shift_ids: list[int]
    cashier_usernames: list[str]
    cashier_ids: list[int]
    manager_username: str
    password: str
    tax_rate: Decimal
    #: (id, barcode, price, cost) of the sellable products, by id.
    products: list[tuple[int, str, Decimal, Decimal]] = field(repr=False)
    sync_products: int = 0
    timings: dict[str, float] = field(default_factory=dict)


def _ean13(n: int) -> str:
    body = f"20{n:010d}"
    checksum = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body)) % 10) % 10
    return body + str(checksum)


def _price(n: int) -> Decimal:
    return Decimal(99 + (n * 7919) % 4900) / 100  # 0.99 … 49.98, deterministic


def seed(*, password: str, report_orders: int, report_noise: int) -> Seeded:
    from accounts.models import Register, Role, Store, User
    from catalog.models import CatalogVersion, Product, StockLevel, TaxRate
    from orders.models import RegisterSequence, Shift

    timings: dict[str, float] = {}
    started = time.perf_counter()
    password_hash = make_password(password)  # hashed once, shared by every bench user

    with transaction.atomic():
        store = Store.objects.create(
            code="MAIN", name="Bench main store", timezone=STORE_TZ, prices_include_tax=False
        )
        registers = [
            Register.objects.create(store=store, code=f"R{n}", name=f"Register {n}")
            for n in range(1, REGISTERS + 1)
        ]
        pg_registers = [
            Register.objects.create(store=store, code=f"P{n}", name=f"pgbench {n}")
            for n in range(1, REGISTERS + 1)
        ]
        cashiers = []
        for n in range(1, REGISTERS + 1):
            user = User(username=f"cashier-r{n}", role=Role.CASHIER, password=password_hash)
            user.save()
            user.stores.set([store])
            cashiers.append(user)
        manager = User(username="bench-manager", role=Role.MANAGER, password=password_hash)
        manager.save()
        manager.stores.set([store])
        pg_shifts = [
            Shift.objects.create(
                store=store, register=reg, opened_by=cashiers[0], opening_float=Decimal("100.00")
            )
            for reg in pg_registers
        ]
        RegisterSequence.objects.bulk_create(
            [RegisterSequence(register=reg, last_order_number=0) for reg in pg_registers]
        )
        tax = TaxRate.objects.create(name="Bench 8.25", rate=TAX_RATE)
    timings["store, users, registers"] = time.perf_counter() - started

    # Products: distinct, increasing versions (as product writes would have given them), then the
    # catalog counter moved past them, so delta sync sees a consistent catalog.
    started = time.perf_counter()
    now = timezone.now()
    version = 0

    def products(prefix: str, start: int, count: int, with_barcode: bool) -> list[Product]:
        nonlocal version
        rows = []
        for n in range(start, start + count):
            version += 1
            rows.append(
                Product(
                    sku=f"{prefix}-{n:05d}",
                    barcode=_ean13(n) if with_barcode else None,
                    name=f"{prefix.title()} product {n}",
                    price=_price(n),
                    cost=(_price(n) * Decimal("0.6")).quantize(Decimal("0.01")),
                    tax_rate=tax,
                    version=version,
                    created_at=now,
                    updated_at=now,
                )
            )
        return rows

    with transaction.atomic():
        sellable = Product.objects.bulk_create(products("SELL", 0, SELL_PRODUCTS, True))
        for offset in range(0, SYNC_PRODUCTS, BATCH):
            Product.objects.bulk_create(
                products("SYNC", offset, min(BATCH, SYNC_PRODUCTS - offset), False),
                batch_size=BATCH,
            )
        CatalogVersion.objects.update_or_create(id=1, defaults={"value": version})
        StockLevel.objects.bulk_create(
            [
                StockLevel(store=store, product=p, quantity=STOCK_PER_PRODUCT, updated_at=now)
                for p in sellable
            ]
        )
    timings["51,000 products, 1,000 stock levels"] = time.perf_counter() - started

    # The report store: 100,000 orders today (local), by the daily report benchmark's seeding.
    started = time.perf_counter()
    import bench.bench_daily_report as report_bench

    report_date = timezone.now().astimezone(zoneinfo.ZoneInfo(STORE_TZ)).date()
    report_bench.DAY = report_date  # its seed() spreads the orders over this local day
    report_store = report_bench.seed(orders=report_orders, noise=report_noise)["store"]
    manager.stores.add(report_store)
    timings[f"report store: {report_orders:,} orders today + {report_noise:,} before"] = (
        time.perf_counter() - started
    )

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 0")
        cursor.execute("VACUUM ANALYZE")  # autocommit here: fresh statistics, visibility map
        cursor.execute("RESET statement_timeout")
    timings["vacuum analyze"] = time.perf_counter() - started

    return Seeded(
        store_id=store.pk,
        report_store_id=report_store.pk,
        report_date=report_date,
        register_ids=[r.pk for r in registers],
        pgbench_register_ids=[r.pk for r in pg_registers],
        pgbench_shift_ids=[s.pk for s in pg_shifts],
        cashier_usernames=[c.username for c in cashiers],
        cashier_ids=[c.pk for c in cashiers],
        manager_username=manager.username,
        password=password,
        tax_rate=TAX_RATE,
        products=[(p.pk, p.barcode or "", p.price, p.cost) for p in sellable],
        sync_products=SYNC_PRODUCTS,
        timings=timings,
    )
