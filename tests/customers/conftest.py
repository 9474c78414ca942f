"""Fixtures of the customer tests that sell: a taxed product with stock and an open shift."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.models import Register, Store, User
from catalog.models import Product
from customers.models import Customer
from orders.models import Shift
from tests.catalog.factories import ProductFactory, TaxRateFactory, set_stock
from tests.customers.factories import CustomerFactory, TaxExemptCustomerFactory
from tests.orders.factories import open_shift_on


@pytest.fixture
def product(store: Store) -> Product:
    """4.99 at 8.25 %, cost 2.00, 100 in stock in `store`."""
    rate = TaxRateFactory(name="Standard 8.25", rate=Decimal("8.250"))
    item = ProductFactory(price=Decimal("4.99"), cost=Decimal("2.00"), tax_rate=rate)
    set_stock(store, item, 100)
    return item


@pytest.fixture
def open_shift(register: Register, cashier: User) -> Shift:
    return open_shift_on(register, cashier)


@pytest.fixture
def exempt(db: None) -> Customer:
    return TaxExemptCustomerFactory(tax_exempt_id="EX-2041")


@pytest.fixture
def taxed(db: None) -> Customer:
    return CustomerFactory()
