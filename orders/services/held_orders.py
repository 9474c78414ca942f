"""Held (parked) orders: a basket put aside at the register and completed later by a sale
(`orders.services.sales.order_create` with `held_order_id`).

A held order is priced exactly like a quote (`order_quote`, the sale's own pricing path) and
reserves no stock. Its lines are kept as requested (product, quantity, the line's own discount)
beside the priced figures, so that the sale completing it re-prices the same request at the
prices of that moment.

A completed or deleted held order keeps its row with its status (`HeldOrderStatus`): whatever
comes later for it — a second completion, a change, a deletion — answers `409 held_order_gone`
rather than a 404 that would tell the register nothing. Every change locks the row first
(`held_order_locked`), so it serialises with a concurrent completion.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.services import audit_record
from domain.errors import InvalidInput, ObjectNotFound
from money.currencies import quantum
from money.fields import amount_text
from orders.exceptions import HeldOrderGone
from orders.models import HeldOrder, HeldOrderStatus
from orders.selectors.held_orders import held_order_locked
from orders.services.sales import SaleLineRequest, SaleQuote, order_quote

__all__ = [
    "held_order_create",
    "held_order_delete",
    "held_order_update",
]


def held_order_create(
    *,
    user: User,
    register_id: int,
    lines: Sequence[SaleLineRequest],
    discount: Decimal,
    note: str = "",
    customer_id: int | None = None,
) -> HeldOrder:
    """Park a priced basket on a register of the user's stores. Errors as `order_quote`'s:
    register not in the user's stores → `ObjectNotFound`; inactive register, unknown or
    inactive product, a discount above what it applies to, an unknown or erased customer →
    `InvalidInput`."""
    with transaction.atomic():
        quote = order_quote(
            user=user,
            register_id=register_id,
            lines=lines,
            discount=discount,
            customer_id=customer_id,
        )
        now = timezone.now()
        held = HeldOrder.objects.create(
            store=quote.store,
            register=quote.register,
            held_by=user,
            held_at=now,
            updated_at=now,
            note=note,
            customer=quote.customer,
            **_priced_fields(quote, lines),
        )
        _audit(held, user=user, action="held_order.created")
    return held


def held_order_update(
    *,
    user: User,
    held_order_id: int,
    register_id: int,
    lines: Sequence[SaleLineRequest],
    discount: Decimal,
    note: str = "",
    customer_id: int | None = None,
) -> HeldOrder:
    """Replace the held order's register, lines, discount, note and customer, re-priced now. The
    register must be one of the held order's store (400 otherwise); one that is gone →
    `HeldOrderGone`."""
    with transaction.atomic():
        held = _held_for_change(user=user, held_order_id=held_order_id)
        quote = order_quote(
            user=user,
            register_id=register_id,
            lines=lines,
            discount=discount,
            customer_id=customer_id,
        )
        if quote.store.pk != held.store_id:
            raise InvalidInput(errors={"register": ["A register of the held order's store."]})
        for name, value in _priced_fields(quote, lines).items():
            setattr(held, name, value)
        held.register = quote.register
        held.note = note
        held.customer = quote.customer
        held.updated_at = timezone.now()
        held.save(
            update_fields=[
                "register",
                "note",
                "customer",
                "updated_at",
                "currency",
                "prices_include_tax",
                "lines",
                "order_discount",
                "subtotal",
                "discount_total",
                "tax_total",
                "total",
            ]
        )
        _audit(held, user=user, action="held_order.updated")
    return held


def held_order_delete(*, user: User, held_order_id: int) -> None:
    """Discard the held order (its row stays, marked deleted); one that is gone →
    `HeldOrderGone`."""
    with transaction.atomic():
        held = _held_for_change(user=user, held_order_id=held_order_id)
        held.status = HeldOrderStatus.DELETED
        held.closed_at = held.updated_at = timezone.now()
        held.closed_by = user
        held.save(update_fields=["status", "closed_at", "closed_by", "updated_at"])
        _audit(held, user=user, action="held_order.deleted")


def _held_for_change(*, user: User, held_order_id: int) -> HeldOrder:
    """The held order, locked; not the user's → `ObjectNotFound`, no longer held →
    `HeldOrderGone`."""
    held = held_order_locked(user=user, held_order_id=held_order_id)
    if held is None:
        raise ObjectNotFound("Held order not found.")
    if held.status != HeldOrderStatus.HELD:
        raise HeldOrderGone()
    return held


def _priced_fields(quote: SaleQuote, requests: Sequence[SaleLineRequest]) -> dict[str, Any]:
    """The model's priced columns from a quote; each line keeps its own requested discount."""
    priced = quote.priced
    return {
        "currency": quote.store.currency,
        "prices_include_tax": priced.prices_include_tax,
        "lines": [
            {
                "product": product.pk,
                "sku": product.sku,
                "name": product.name,
                "quantity": str(line.quantity),
                "line_discount": str(line.line_discount),
                "unit_price": str(line.unit_price),
                "modifiers": modifiers,
                **({"barcode": request.barcode} if request.barcode else {}),
                "gross": str(line.gross),
                "promotion": line.promotion.id if line.promotion is not None else None,
                "promotion_name": line.promotion.name if line.promotion is not None else "",
                "promotion_discount": str(line.promotion_discount),
                "discount": str(line.discount),
                "net": str(line.net),
                "tax_rate": str(line.tax_rate),
                "tax": str(line.tax),
                "total": str(line.total),
            }
            for product, line, modifiers, request in zip(
                quote.products, priced.lines, quote.modifiers, requests, strict=True
            )
        ],
        "order_discount": priced.order_discount,
        "subtotal": priced.subtotal,
        "discount_total": priced.discount_total,
        "tax_total": priced.tax_total,
        "total": priced.total,
    }


def _audit(held: HeldOrder, *, user: User, action: str) -> None:
    audit_record(
        action=action,
        actor=user,
        store_id=held.store_id,
        object_type="held_order",
        object_id=held.pk,
        changes={
            "register": held.register_id,
            "status": held.status,
            "lines": len(held.lines),
            "total": amount_text(held.total, quantum(held.currency)),
            "note": held.note,
            # By id only: a customer's personal data never enters the audit trail.
            **({"customer": held.customer_id} if held.customer_id is not None else {}),
        },
    )
