"""Ledger test fixtures: a store with stock brought in through the services (so the ledger's
inventory account holds its value), and an open shift."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.models import Register, Store, User
from catalog.models import Product
from catalog.services import stock_adjust
from orders.models import Shift
from orders.services.shifts import shift_open
from tests.catalog.factories import ProductFactory, TaxRateFactory


@pytest.fixture
def stocked_product(store: Store, manager: User) -> Product:
    """4.99 at 8.25 %, cost 2.00; 50 received into `store` through `stock_adjust` (the ledger's
    inventory holds 100.00)."""
    product = ProductFactory(
        price=Decimal("4.99"),
        cost=Decimal("2.00"),
        tax_rate=TaxRateFactory(name="Standard 8.25", rate=Decimal("8.250")),
    )
    stock_adjust(
        store=store, product=product, quantity_delta=Decimal(50), reason="receive", user=manager
    )
    return product


@pytest.fixture
def shift(register: Register, cashier: User) -> Shift:
    return shift_open(register=register, opening_float=Decimal("100.00"), user=cashier)
