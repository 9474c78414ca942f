"""Helpers for the shift and refund tests: ring up sales through the real sale service, refund
through the real API, read journal entries back as `{account code: (debit, credit)}`."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from accounts.models import Register, User
from catalog.models import Product
from ledger.models import JournalEntry
from orders.models import Order, OrderLine
from orders.services.sales import PaymentRequest, SaleLineRequest, order_create


def idem(key: str) -> dict[str, str]:
    """Request kwargs that send `Idempotency-Key: key`."""
    return {"HTTP_IDEMPOTENCY_KEY": key}


def sell(
    user: User,
    register: Register,
    lines: Sequence[tuple[Product, str] | tuple[Product, str, str]],
    payments: Sequence[tuple[str, str] | tuple[str, str, str]],
    *,
    discount: str = "0",
) -> Order:
    """`sell(cashier, register, [(product, "2")], [("cash", "10.80", "20.00")])` — a sale on the
    register's open shift through `order_create`, with its lines and payments prefetched. Lines
    are `(product, quantity[, line discount])`, tenders `(method, amount[, tendered])`."""
    order = order_create(
        user=user,
        register_id=register.pk,
        lines=[
            SaleLineRequest(
                product_id=row[0].pk,
                quantity=Decimal(row[1]),
                discount=Decimal(row[2]) if len(row) > 2 else Decimal("0"),  # type: ignore[misc]
            )
            for row in lines
        ],
        payments=[
            PaymentRequest(
                method=row[0],
                amount=Decimal(row[1]),
                tendered=Decimal(row[2]) if len(row) > 2 else None,
            )
            for row in payments
        ],
        discount=Decimal(discount),
    )
    return Order.objects.prefetch_related("lines", "payments").get(pk=order.pk)


def refund_via_api(
    client,
    order: Order,
    lines: Sequence[tuple[OrderLine, str]],
    *,
    key: str,
    restock: bool = True,
    reason: str = "",
):
    return client.post(
        f"/api/v1/orders/{order.pk}/refunds/",
        {
            "lines": [{"line": line.pk, "quantity": quantity} for line, quantity in lines],
            "restock": restock,
            "reason": reason,
        },
        format="json",
        **idem(key),
    )


def entry_lines(entry: JournalEntry) -> dict[str, tuple[Decimal, Decimal]]:
    """A journal entry as `{account code: (debit, credit)}` (one line per account)."""
    return {
        line.account.code: (line.debit, line.credit)
        for line in entry.lines.select_related("account")
    }
