"""Fixtures of the report tests: a New York store with one register, two cashiers, two products
(10 % tax, prices without tax) and an open shift."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest

from accounts.models import Register, Store, User
from catalog.models import Product
from orders.models import Shift
from tests.catalog.factories import ProductFactory, TaxRateFactory
from tests.factories import CashierFactory, RegisterFactory
from tests.reports.factories import open_shift

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def ny(*args: int) -> dt.datetime:
    """A New York wall-clock time (`ny(2026, 3, 10, 23, 30)`)."""
    return dt.datetime(*args, tzinfo=NEW_YORK)


@pytest.fixture
def tax10(db: None):
    return TaxRateFactory(name="VAT 10", rate=Decimal("10.000"))


@pytest.fixture
def coffee(tax10) -> Product:
    return ProductFactory(sku="COFFEE", name="Coffee beans", price=Decimal("10.00"), tax_rate=tax10)


@pytest.fixture
def mug(tax10) -> Product:
    return ProductFactory(sku="MUG", name="Mug", price=Decimal("5.00"), tax_rate=tax10)


@pytest.fixture
def till(store: Store) -> Register:
    return RegisterFactory(store=store, code="T1")


@pytest.fixture
def second_cashier(store: Store) -> User:
    return CashierFactory(stores=[store], username="bob")


@pytest.fixture
def shift(store: Store, till: Register, cashier: User) -> Shift:
    return open_shift(store=store, register=till, cashier=cashier)
