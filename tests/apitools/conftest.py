from __future__ import annotations

from collections.abc import Callable

import pytest

from accounts.models import Register, User
from orders.models import Order, Shift
from tests.orders.conftest import loose_product, open_shift, product, tax_rate, zero_rate
from tests.orders.factories import sell

__all__ = ["loose_product", "open_shift", "product", "tax_rate", "zero_rate"]


@pytest.fixture
def sell_orders(
    open_shift: Shift, register: Register, cashier: User, product: object
) -> Callable[[int], list[Order]]:
    """`sell_orders(n)`: n real sales of one `product` on `register`, oldest first."""

    def make(count: int) -> list[Order]:
        return [
            sell(user=cashier, register=register, lines=[(product, 1)])  # type: ignore[list-item]
            for _ in range(count)
        ]

    return make
