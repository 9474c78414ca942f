"""Selling fixtures: a taxed and an untaxed product with stock in `store`, an open shift on
`register`, and the `sell` helper (a real sale through the service)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from accounts.models import Register, Store, User
from catalog.models import Product, TaxRate
from orders.models import Order, Shift
from tests.catalog.factories import ProductFactory, TaxRateFactory, set_stock
from tests.orders.factories import open_shift_on, sell


@pytest.fixture
def tax_rate(db: None) -> TaxRate:
    return TaxRateFactory(name="Standard 8.25", rate=Decimal("8.250"))


@pytest.fixture
def zero_rate(db: None) -> TaxRate:
    return TaxRateFactory(name="Zero", rate=Decimal("0.000"))


@pytest.fixture
def product(store: Store, tax_rate: TaxRate) -> Product:
    """4.99 at 8.25 %, cost 2.00, 100 in stock in `store`."""
    item = ProductFactory(price=Decimal("4.99"), cost=Decimal("2.00"), tax_rate=tax_rate)
    set_stock(store, item, 100)
    return item


@pytest.fixture
def loose_product(store: Store, zero_rate: TaxRate) -> Product:
    """2.50 per kg at 0 %, cost 1.00, 100 kg in stock in `store`."""
    item = ProductFactory(price=Decimal("2.50"), cost=Decimal("1.00"), tax_rate=zero_rate)
    set_stock(store, item, 100)
    return item


@pytest.fixture
def open_shift(register: Register, cashier: User) -> Shift:
    """An open shift on `register` (opened by `cashier`, float 100.00)."""
    return open_shift_on(register, cashier)


@pytest.fixture
def sell_as(open_shift: Shift, register: Register, cashier: User) -> Callable[..., Order]:
    """`sell_as(lines=[(product, 2)], ...)`: a real sale by `cashier` on `register`'s open
    shift; any keyword of `tests.orders.factories.sell` may be overridden."""

    def make(**kwargs: Any) -> Order:
        kwargs.setdefault("user", cashier)
        kwargs.setdefault("register", register)
        return sell(**kwargs)

    return make
