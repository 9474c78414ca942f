"""Voids: take back a sale caught at the counter, as if it had never been rung up — except that
its number stays used and the order stays visible, with `status: "voided"`.

Everything the sale did is reversed exactly, by reading what the sale wrote rather than
recomputing it: the stock by the exact negation of the sale's stock movements (same products,
quantities and unit costs; reason `void`), the ledger by one entry that mirrors the sale's entry
line by line (`ledger.services.post_void`), the drawer by leaving the voided order's cash out of
the shift's cash summary (`orders.selectors.shifts`), the metrics by counting the void
(`pos_voids_total`, `pos_void_amount_total`).

Allowed only for a completed order with nothing refunded, while the order's own shift is open
(the drawer still holds the sale's cash). Locks, in the refunds' order: the order row, then its
shift row (`FOR NO KEY UPDATE`, like a sale and a refund). So a void and a refund of one order
queue on the order row and the second sees the first's status (exactly one wins), and a void
racing the shift's close either commits before the close sums the drawer or finds the shift
closed and is refused.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.services import audit_record
from catalog.models import StockMovement, StockReason
from catalog.services import StockChange, stock_apply
from giftcards.redemption import gift_cards_give_back
from ledger.services import post_void
from money.currencies import quantum
from money.fields import amount_text
from monitoring.metrics import VOID_AMOUNT, VOIDS
from orders.exceptions import VoidNotAllowed
from orders.models import (
    ApprovalAction,
    Order,
    OrderStatus,
    Payment,
    PaymentMethod,
    Shift,
    ShiftStatus,
)
from orders.refund_pricing import TenderRefund
from orders.services.approvals import approval_consume
from orders.services.refunds import ORDER_TRANSITIONS, order_points_back
from storedvalue.balances import StoreCreditChange, customer_balances_move
from storedvalue.models import StoreCreditMovementKind

#: `StockMovement.source_type` of a void's movements (`source_id` is the order's id).
VOID_SOURCE = "void"


def may_void(user: User, order: Order, approval: str | None) -> int | None:
    """Let `user` void `order` (an order of one of the user's stores): managers and admins
    freely; a cashier with a manager's approval token for `void` on the order's register (used
    up here; `ApprovalRequired` otherwise). The approver's id, or None."""
    if user.is_manager_or_admin:
        return None
    return approval_consume(
        token=approval, action=ApprovalAction.VOID, register_id=order.register_id
    )


def order_void(
    *,
    order: Order,
    reason: str,
    user: User,
    now: dt.datetime | None = None,
    approval: str | None = None,
) -> Order:
    """Void `order` (see the module docstring) in one transaction: status and void fields,
    stock back, the mirror journal entry, the audit event `order.voided`, and the metrics after
    commit. Raises `ApprovalRequired` (403) for a cashier without a valid approval token and
    `VoidNotAllowed` (409) for an order already voided or (partly) refunded or whose shift is
    closed. `now` is the
    void's time (`timezone.now()` by default; tests pin it)."""
    with transaction.atomic(savepoint=False):
        locked = (
            Order.objects.select_for_update(of=("self",)).select_related("store").get(pk=order.pk)
        )
        approved_by = may_void(user, locked, approval)
        _refuse_unless_voidable(locked)
        locked.status = OrderStatus.VOIDED
        locked.voided_at = now or timezone.now()
        locked.voided_by = user
        locked.void_reason = reason
        Order.objects.filter(pk=locked.pk).update(
            status=locked.status,
            voided_at=locked.voided_at,
            voided_by=user,
            void_reason=reason,
        )
        _put_stock_back(order=locked, user=user, reason=reason)
        # A gift card or store credit that paid gets its money back (the mirror entry credits
        # 2300 or 2310).
        stored_value = list(
            Payment.objects.filter(
                order_id=locked.pk,
                method__in=(
                    PaymentMethod.GIFT_CARD,
                    PaymentMethod.STORE_CREDIT,
                    PaymentMethod.POINTS,
                ),
            )
            .order_by("id")
            .values_list("id", "method", "amount")
        )
        gift_cards_give_back(
            amounts_by_payment={
                pk: amount
                for pk, method, amount in stored_value
                if method == PaymentMethod.GIFT_CARD
            },
            user=user,
            now=locked.voided_at,
        )
        store = locked.store
        _give_balances_back(order=locked, paid=stored_value, user=user)
        post_void(
            store=store,
            date=timezone.localdate(locked.voided_at, timezone=store.tzinfo),
            order_id=locked.pk,
            created_by=user,
        )
        audit_record(
            action="order.voided",
            actor=user,
            store_id=locked.store_id,
            object_type="order",
            object_id=locked.pk,
            changes={
                "number": locked.number,
                "total": amount_text(locked.total, quantum(locked.currency)),
                "reason": reason,
                "shift": locked.shift_id,
                **({"approved_by": approved_by} if approved_by is not None else {}),
            },
        )
        transaction.on_commit(
            lambda: _count_void(store_code=store.code, currency=locked.currency, order=locked)
        )
    return locked


def _give_balances_back(*, order: Order, paid: list[tuple[int, str, Decimal]], user: User) -> None:
    """What the customer's store credit and points paid (`paid`: payment id, method, amount)
    goes back onto them, and the points the sale earned are taken back, all of them (the mirror
    entry credits 2310 and 2320 and debits 2320 what was earned): a customer who has spent them
    already → `409 insufficient_balance` (refund the order instead: a refund may fall short). An
    exchange, whose payback could be store credit, is never voided."""
    if order.customer_id is None or order.voided_at is None:
        return
    points = [
        dataclasses.replace(change, may_fall_short=False, field="order")
        for change in order_points_back(
            order=order,
            allocations=[
                TenderRefund(payment_id=pk, method=method, amount=amount)
                for pk, method, amount in paid
                if method == PaymentMethod.POINTS
            ],
            refunded_after=order.total,
        )
    ]
    customer_balances_move(
        customer_id=order.customer_id,
        store=order.store,
        credit=[
            StoreCreditChange(
                amount=amount,
                kind=StoreCreditMovementKind.REFUND,
                field="payments",
                payment_id=payment_id,
            )
            for payment_id, method, amount in paid
            if method == PaymentMethod.STORE_CREDIT
        ],
        points=points,
        user=user,
        now=order.voided_at,
    )


def _refuse_unless_voidable(order: Order) -> None:
    """409 unless the order may become `voided` (completed, nothing refunded) and its own shift
    is open — the shift row then stays locked (no-key) until the void commits, so a close waits
    for it and counts it."""
    if OrderStatus.VOIDED not in ORDER_TRANSITIONS[OrderStatus(order.status)] or (
        order.refunded_total != 0
    ):
        raise VoidNotAllowed(f"The order is {order.status}: it can no longer be voided.")
    if order.returned_total:
        # Its returned goods' refunds paid part of it (through 1090): voiding the sale alone
        # would leave them paying for nothing. Refund it instead.
        raise VoidNotAllowed("An exchange cannot be voided: refund it instead.")
    shift_open = (
        Shift.objects.select_for_update(no_key=True, of=("self",))
        .filter(pk=order.shift_id, status=ShiftStatus.OPEN)
        .values_list("id", flat=True)
        .first()
    )
    if shift_open is None:
        raise VoidNotAllowed(
            "The order's shift is closed: its drawer was counted. Refund the order instead."
        )


def _put_stock_back(*, order: Order, user: User, reason: str) -> None:
    """The exact negation of the sale's stock movements (same products, quantities, unit
    costs). A product untracked since the sale is skipped by `stock_apply`, as it would be for
    a refund."""
    sold = (
        StockMovement.objects.filter(
            source_type="order", source_id=order.pk, reason=StockReason.SALE
        )
        .select_related("product")
        .order_by("id")
    )
    changes = [
        StockChange(
            product=movement.product,
            quantity_delta=-movement.quantity_delta,
            unit_cost=movement.unit_cost,
            # The sale's movement value (Σ its lines' costs), negated: exact by construction.
            value=-movement.value,
        )
        for movement in sold
    ]
    if changes:
        stock_apply(
            store=order.store,
            changes=changes,
            reason=StockReason.VOID,
            source_type=VOID_SOURCE,
            source_id=order.pk,
            user=user,
            note=reason,
        )


def _count_void(*, store_code: str, currency: str, order: Order) -> None:
    """The void's metrics, once it has committed."""
    VOIDS.labels(store=store_code).inc()
    VOID_AMOUNT.labels(store=store_code, currency=currency).inc(float(order.total))
