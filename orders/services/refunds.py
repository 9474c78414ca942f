"""Refunds: give back part or all of an order's lines, to the original tenders.

One transaction, locks taken in one fixed order (order → its lines by id → its payments by id →
the register's open shift → the register's sequence row), so two refunds of the same order queue
up behind each other and the second one sees what the first took. The money comes from the pure
functions of `orders.refund_pricing`; counters move with `F()` updates; the check constraints on
`OrderLine`/`Payment`/`Order` are the backstop against any over-refund.

Which drawer pays out the cash part: the open shift of the paying register at the time of the
refund: the request's `register` (an active register of the order's store, API v1.1), by default
the order's register (for a refund on the day of the sale that is the order's own shift). The
refund is attached to that shift (`Refund.shift`) and its cash counts as that shift's "cash
refunded" and in its X/Z report. A refund with a cash part while that register has no open shift
→ `409 shift_not_open` (cash cannot leave a drawer that is not open); a refund entirely to
card/other tenders needs no open shift. The refund number stays in the ORDER's register sequence
whichever register pays out: the refunds of one order read as one series next to the sale's
number, and the paying register is on the refund anyway (its shift, the receipt, the audit).

Which tenders: by default the v1 rule (card, then other, then cash, each capped at what it paid
less what was already returned to it). A request may choose them (`tenders: [{method, amount}]`,
`orders.refund_pricing.allocate_chosen_tenders`): each method's amount within what it paid less
what was returned, spread over its payments by id, adding up exactly to the refund's total.
`store_credit` may be chosen whatever paid the order: that part raises the customer's store
credit (the order's customer, or the request's `customer` for an order without one; Cr 2310).
By default, what store credit paid goes back to store credit.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from accounts.models import Register, User
from audit.services import audit_record
from catalog.models import StockReason
from catalog.services import StockChange, stock_apply
from customers.selectors import customer_named
from domain.errors import InvalidInput
from giftcards.redemption import gift_cards_give_back
from ledger.services import post_refund
from money import (
    MILLI,
    MONEY_DECIMAL_PLACES,
    MONEY_MAX_DIGITS,
    ZERO,
)
from money.currencies import quantum
from money.fields import MoneyField, QuantityField
from monitoring.metrics import REFUND_AMOUNT, REFUNDS
from orders.exceptions import RefundExceedsSold, ShiftNotOpen
from orders.models import (
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentMethod,
    Refund,
    RefundLine,
    RefundPayment,
    Shift,
    ShiftStatus,
)
from orders.refund_pricing import (
    LineSnapshot,
    RefundPiece,
    Tender,
    TenderChoiceInvalid,
    TenderRefund,
    TenderRequest,
    TenderShortfall,
    allocate_chosen_tenders,
    allocate_to_tenders,
    refund_piece,
)
from orders.services.numbering import next_number
from storedvalue.balances import PointsChange, StoreCreditChange, customer_balances_move
from storedvalue.models import LoyaltyMovement, LoyaltyMovementKind, StoreCreditMovementKind
from storedvalue.points import points_due

#: The only legal moves of an order's status. `refunded` and `voided` are final (a void:
#: `orders.services.voids`).
ORDER_TRANSITIONS: dict[str, frozenset[str]] = {
    OrderStatus.COMPLETED: frozenset(
        {OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED, OrderStatus.VOIDED}
    ),
    OrderStatus.PARTIALLY_REFUNDED: frozenset(
        {OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED}
    ),
    OrderStatus.REFUNDED: frozenset(),
    OrderStatus.VOIDED: frozenset(),
}


def order_status_transition(*, order: Order, to: OrderStatus) -> None:
    """Move `order` to status `to` in memory, refusing an illegal move (nothing leaves
    `refunded`). The caller saves it under the row lock it holds."""
    if to not in ORDER_TRANSITIONS[OrderStatus(order.status)]:
        raise RefundExceedsSold(f"An order that is {order.status} cannot become {to}.")
    order.status = to


@dataclass(frozen=True, slots=True)
class RefundLineRequest:
    """One line of a refund request: the order line's id and the quantity to give back."""

    line_id: int
    quantity: Decimal


__all__ = [
    "ORDER_TRANSITIONS",
    "ExchangeReturnRequest",
    "ExchangeReturns",
    "RefundLineRequest",
    "TenderRequest",
    "exchange_refunds_write",
    "exchange_returns_lock",
    "order_status_transition",
    "refund_create",
    "refund_paying_register",
]


def refund_paying_register(*, order: Order, register_id: int | None) -> Register:
    """The register whose drawer pays out the refund's cash part: `register_id` when given (an
    active register of the order's store), else the order's register. Another store's register
    gets the same 400 as an unknown one, so it tells nothing about other stores."""
    if register_id is None or register_id == order.register_id:
        return order.register
    register = Register.objects.filter(
        pk=register_id, store_id=order.store_id, is_active=True
    ).first()
    if register is None:
        raise InvalidInput(errors={"register": ["Not an active register of the order's store."]})
    return register


def _validate_requests(requests: Sequence[RefundLineRequest], lines: dict[int, OrderLine]) -> None:
    errors: dict[str, list[str]] = {}
    if not requests:
        errors["lines"] = ["At least one line is required."]
    seen: set[int] = set()
    for index, request in enumerate(requests):
        if request.line_id not in lines:
            errors[f"lines.{index}.line"] = ["Not a line of this order."]
        elif request.line_id in seen:
            errors[f"lines.{index}.line"] = ["This line is listed twice."]
        seen.add(request.line_id)
        if request.quantity <= 0:
            errors[f"lines.{index}.quantity"] = ["Must be more than zero."]
        elif request.quantity != request.quantity.quantize(MILLI):
            errors[f"lines.{index}.quantity"] = ["At most 3 decimal places."]
    if errors:
        raise InvalidInput(errors=errors)


def _case(values: dict[int, Decimal], field: MoneyField | QuantityField) -> Case:
    return Case(
        *(When(pk=pk, then=Value(value)) for pk, value in values.items()),
        default=Value(ZERO),
        output_field=field,
    )


def refund_create(
    *,
    order: Order,
    lines: Sequence[RefundLineRequest],
    restock: bool,
    reason: str,
    user: User,
    now: dt.datetime | None = None,
    approved_by: int | None = None,
    register_id: int | None = None,
    tenders: Sequence[TenderRequest] | None = None,
    customer_id: int | None = None,
) -> Refund:
    """Refund `lines` of `order` (see the module docstring). Raises `InvalidInput` (400) for a
    line not of this order, a `register_id` that is not an active register of the order's store
    or chosen `tenders` that are wrong (see `allocate_chosen_tenders`), `RefundExceedsSold`
    (409) for more than is left on a line or on a chosen tender, and `ShiftNotOpen` (409) when
    cash must be paid out and the paying register has no open shift. `now` is the refund's time
    (`timezone.now()` by default; tests pin it). `customer_id` receives the store credit part of
    an order without a customer (400 on `customer` when it names another customer than the
    order's, or an unknown or erased one; on `tenders` when store credit has nobody to go to)."""
    with transaction.atomic():
        order, locked_lines = _lock_order_and_lines(order)
        paying = refund_paying_register(order=order, register_id=register_id)
        pieces = _refund_pieces(lines, locked_lines, order.currency)
        net_total = sum((piece.net for _, piece in pieces), ZERO)
        tax_total = sum((piece.tax for _, piece in pieces), ZERO)
        total = net_total + tax_total
        allocations = _allocate_to_tenders(order=order, total=total, chosen=tenders)
        shift = _lock_shift_for_cash(register=paying, allocations=allocations)
        refund = _write_refund(
            order=order,
            shift=shift,
            pieces=pieces,
            allocations=allocations,
            user=user,
            reason=reason,
            restock=restock,
            net_total=net_total,
            tax_total=tax_total,
            created_at=now or timezone.now(),
        )
        _move_refunded_counters(
            order=order,
            locked_lines=locked_lines,
            pieces=pieces,
            allocations=allocations,
            total=total,
        )
        restocked_cost = _restock(
            order=order, refund=refund, pieces=pieces, restock=restock, user=user
        )
        # What goes back to a gift card goes back onto the card that paid (Cr 2300 below).
        gift_cards_give_back(
            amounts_by_payment={
                a.payment_id: a.amount for a in allocations if a.method == PaymentMethod.GIFT_CARD
            },
            user=user,
            refund_id=refund.pk,
            now=refund.created_at,
        )
        loyalty = _move_balances(
            order=order,
            refund=refund,
            allocations=allocations,
            customer_id=customer_id,
            refund_total=total,
            user=user,
        )
        by_method: dict[str, Decimal] = {}
        for allocation in allocations:
            by_method[allocation.method] = (
                by_method.get(allocation.method, ZERO) + allocation.amount
            )
        post_refund(
            store=order.store,
            date=timezone.localdate(refund.created_at, timezone=order.store.tzinfo),
            refund_id=refund.pk,
            tenders=by_method,
            net=net_total,
            tax=tax_total,
            restocked_cost=restocked_cost,
            created_by=user,
            loyalty=loyalty,
        )
        _audit_refund(
            order=order,
            refund=refund,
            pieces=pieces,
            tenders=by_method,
            register=paying,
            tenders_chosen=tenders is not None,
            user=user,
            approved_by=approved_by,
        )
        transaction.on_commit(
            lambda: _count_refund(store_code=order.store.code, currency=order.currency, total=total)
        )
    return refund


def _move_balances(
    *,
    order: Order,
    refund: Refund,
    allocations: Sequence[TenderRefund],
    customer_id: int | None,
    refund_total: Decimal,
    user: User,
) -> Decimal:
    """Under the customer's lock (taken last, `storedvalue.balances`): raise the store credit by
    the refund's `store_credit` part (one movement), give back the points of its `points` part,
    and take back the points the order earned, pro rata (`storedvalue.points.points_due`; what
    the customer has spent already is the movement's `shortfall`). The value of the points taken
    back: the refund's Dr 2320 / Cr 4000."""
    if customer_id is not None and order.customer_id not in (None, customer_id):
        raise InvalidInput(errors={"customer": ["The order is of another customer."]})
    credit = sum((a.amount for a in allocations if a.method == PaymentMethod.STORE_CREDIT), ZERO)
    points = order_points_back(
        order=order,
        allocations=allocations,
        refunded_after=order.refunded_total + refund_total,
        refund_id=refund.pk,
        # `_move_refunded_counters` has added this refund to its payments already.
        counted=True,
    )
    if not credit and not points:
        return ZERO
    to = order.customer_id
    if to is None and customer_id is not None:
        named = customer_named(customer_id)
        to = named.pk if named is not None else None
    if to is None:
        raise InvalidInput(
            errors={"tenders": ["Store credit goes to a customer: the order has none; name one."]}
        )
    moved = customer_balances_move(
        customer_id=to,
        store=order.store,
        credit=[
            StoreCreditChange(
                amount=credit,
                kind=StoreCreditMovementKind.REFUND,
                field="tenders",
                refund_id=refund.pk,
            )
        ],
        points=points,
        user=user,
        now=refund.created_at,
    )
    return -moved.points_value.get(LoyaltyMovementKind.TAKE_BACK, ZERO)


def order_points_back(
    *,
    order: Order,
    allocations: Sequence[TenderRefund],
    refunded_after: Decimal,
    refund_id: int | None = None,
    counted: bool = False,
) -> list[PointsChange]:
    """The points changes of refunding `order` up to `refunded_after` (from its
    `refunded_total`): the earned points taken back pro rata, at the value they were earned at,
    and the redeemed points of its `points` allocations given back pro rata to each payment
    (valued at the money given back, which is what 2320 is credited); `counted`: the payments'
    `refunded_amount` already count `allocations`. One query for each kind that applies, none
    otherwise."""
    changes: list[PointsChange] = []
    if order.customer_id is None:
        return changes
    due = points_due(
        earned=order.points_earned,
        total=order.total,
        refunded_before=order.refunded_total,
        refunded_after=refunded_after,
    )
    if due:
        earn = (
            LoyaltyMovement.objects.filter(order_id=order.pk, kind=LoyaltyMovementKind.EARN)
            .values_list("points", "value")
            .first()
        )
        point_value = earn[1] / earn[0] if earn else ZERO
        changes.append(
            PointsChange(
                points=-due,
                point_value=point_value,
                kind=LoyaltyMovementKind.TAKE_BACK,
                field="lines",
                order_id=order.pk,
                refund_id=refund_id,
                may_fall_short=True,
            )
        )
    spent = {a.payment_id: a.amount for a in allocations if a.method == PaymentMethod.POINTS}
    if spent:
        for payment_id, points, amount, refunded in (
            Payment.objects.filter(pk__in=spent)
            .order_by("id")
            .values_list("id", "points", "amount", "refunded_amount")
        ):
            before = refunded - spent[payment_id] if counted else refunded
            back = points_due(
                earned=points or 0,
                total=amount,
                refunded_before=before,
                refunded_after=before + spent[payment_id],
            )
            changes.append(
                PointsChange(
                    points=back,
                    point_value=ZERO,
                    value=spent[payment_id],
                    kind=LoyaltyMovementKind.GIVE_BACK,
                    field="tenders",
                    order_id=order.pk,
                    payment_id=payment_id,
                    refund_id=refund_id,
                )
            )
    return changes


def _lock_order_and_lines(order: Order) -> tuple[Order, dict[int, OrderLine]]:
    """The order (with store and register) and its lines (with their product), locked in that
    order, the lines by id: two refunds of one order queue here."""
    locked = (
        Order.objects.select_for_update(of=("self",))
        .select_related("store", "register")
        .get(pk=order.pk)
    )
    lines = {
        line.pk: line
        for line in OrderLine.objects.select_for_update(of=("self",))
        .select_related("product")
        .filter(order=locked)
        .order_by("id")
    }
    return locked, lines


def _refund_pieces(
    requests: Sequence[RefundLineRequest], locked_lines: dict[int, OrderLine], currency: str
) -> list[tuple[OrderLine, RefundPiece]]:
    """Each requested line with the money it gives back, by line id; refuses a line not of the
    order (400) or more than is left on it (409)."""
    _validate_requests(requests, locked_lines)
    over = [
        r.line_id
        for r in requests
        if r.quantity > locked_lines[r.line_id].quantity - locked_lines[r.line_id].refunded_quantity
    ]
    if over:
        raise RefundExceedsSold(extra={"lines": sorted(over)})
    pieces: list[tuple[OrderLine, RefundPiece]] = []
    for request in sorted(requests, key=lambda r: r.line_id):
        line = locked_lines[request.line_id]
        snapshot = LineSnapshot(
            quantity=line.quantity,
            net=line.net,
            tax=line.tax,
            cost=line.cost,
            refunded_quantity=line.refunded_quantity,
            refunded_net=line.refunded_net,
            refunded_tax=line.refunded_tax,
            refunded_cost=line.refunded_cost,
        )
        pieces.append((line, refund_piece(snapshot, request.quantity, quantum(currency))))
    return pieces


def _allocate_to_tenders(
    *, order: Order, total: Decimal, chosen: Sequence[TenderRequest] | None
) -> list[TenderRefund]:
    """Lock the order's payments (by id) and spread `total` over what is left on them: over the
    `chosen` tenders when the request gives them, else card, then other, then cash. Locking the
    payments is what makes two refunds choosing the same tender queue, the second seeing what
    the first took (409 when it is no longer there)."""
    payments = list(Payment.objects.select_for_update().filter(order=order).order_by("id"))
    tenders = [
        Tender(
            payment_id=p.pk,
            # What an exchange's returned goods paid of this sale goes back in cash.
            method=PaymentMethod.CASH if p.method == PaymentMethod.EXCHANGE else p.method,
            amount=p.amount,
            refunded_amount=p.refunded_amount,
        )
        for p in payments
        # The cash an exchange paid back (a negative payment) is nothing to give back.
        if p.amount > 0
    ]
    try:
        if chosen is None:
            return allocate_to_tenders(total, tenders)
        return allocate_chosen_tenders(total, chosen, tenders, order.currency)
    except TenderChoiceInvalid as invalid:
        raise InvalidInput(errors=invalid.errors) from None
    except TenderShortfall as short:
        if chosen is None:
            raise RefundExceedsSold("The order's tenders have already been refunded.") from None
        raise RefundExceedsSold(f"A chosen tender was already refunded: {short}") from None


def _lock_shift_for_cash(
    *, register: Register, allocations: Sequence[TenderRefund]
) -> Shift | None:
    """The open shift of the paying register, locked like a sale locks it (no-key update of
    the shift row only), so a concurrent close either sums this refund or makes this refund see
    no open shift. Cash paid out needs one (409 otherwise)."""
    shift = (
        Shift.objects.select_for_update(no_key=True, of=("self",))
        .filter(register_id=register.pk, status=ShiftStatus.OPEN)
        .first()
    )
    cash_out = sum((a.amount for a in allocations if a.method == PaymentMethod.CASH), ZERO)
    if cash_out > 0 and shift is None:
        raise ShiftNotOpen(
            f"Cash is refunded from the register's drawer, and register {register.code} has no "
            "open shift. Open a shift on it first."
        )
    return shift


def _write_refund(
    *,
    order: Order,
    shift: Shift | None,
    pieces: Sequence[tuple[OrderLine, RefundPiece]],
    allocations: Sequence[TenderRefund],
    user: User,
    reason: str,
    restock: bool,
    net_total: Decimal,
    tax_total: Decimal,
    created_at: dt.datetime,
    exchange_order: Order | None = None,
) -> Refund:
    """The refund (numbered: the register's next refund number), its lines and its payments."""
    _, number = next_number(
        kind="refund", register_id=order.register_id, register_code=order.register.code
    )
    refund = Refund(
        order=order,
        store_id=order.store_id,
        shift=shift,
        exchange_order=exchange_order,
        number=number,
        created_by=user,
        created_at=created_at,
        reason=reason,
        restock=restock,
        net_total=net_total,
        tax_total=tax_total,
        total=net_total + tax_total,
    )
    # `raw`: written as given. `created_at` is `auto_now_add`, which would otherwise put the
    # wall clock in place of the refund's `now`.
    refund.save_base(raw=True)
    RefundLine.objects.bulk_create(
        RefundLine(
            refund=refund,
            order_line=line,
            quantity=piece.quantity,
            net=piece.net,
            tax=piece.tax,
            total=piece.total,
            cost=piece.cost,
        )
        for line, piece in pieces
    )
    RefundPayment.objects.bulk_create(
        RefundPayment(refund=refund, payment_id=a.payment_id, method=a.method, amount=a.amount)
        for a in allocations
    )
    return refund


def _move_refunded_counters(
    *,
    order: Order,
    locked_lines: dict[int, OrderLine],
    pieces: Sequence[tuple[OrderLine, RefundPiece]],
    allocations: Sequence[TenderRefund],
    total: Decimal,
) -> None:
    """Add the refund to the lines', payments' and order's refunded counters (relative `F()`
    updates) and move the order's status; the check constraints are the backstop."""
    money = MoneyField(max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES)
    quantity_field = QuantityField()
    try:
        with transaction.atomic():
            OrderLine.objects.filter(pk__in=[line.pk for line, _ in pieces]).update(
                refunded_quantity=F("refunded_quantity")
                + _case({ln.pk: p.quantity for ln, p in pieces}, quantity_field),
                refunded_net=F("refunded_net") + _case({ln.pk: p.net for ln, p in pieces}, money),
                refunded_tax=F("refunded_tax") + _case({ln.pk: p.tax for ln, p in pieces}, money),
                refunded_total=F("refunded_total")
                + _case({ln.pk: p.total for ln, p in pieces}, money),
                # Every piece's cost, restocked or not: a line refunded in full has given back
                # all of its cost (`refund_pricing`), whichever account it went back to.
                refunded_cost=F("refunded_cost")
                + _case({ln.pk: p.cost for ln, p in pieces}, money),
            )
            if allocations:
                # Summed per payment: a payment may give to two methods (part of a cash
                # payment back in cash, part as store credit).
                by_payment: dict[int, Decimal] = {}
                for a in allocations:
                    by_payment[a.payment_id] = by_payment.get(a.payment_id, ZERO) + a.amount
                Payment.objects.filter(pk__in=list(by_payment)).update(
                    refunded_amount=F("refunded_amount") + _case(by_payment, money)
                )
            refunded_now = {line.pk: piece.quantity for line, piece in pieces}
            fully_refunded = all(
                line.refunded_quantity + refunded_now.get(pk, ZERO) == line.quantity
                for pk, line in locked_lines.items()
            )
            order_status_transition(
                order=order,
                to=OrderStatus.REFUNDED if fully_refunded else OrderStatus.PARTIALLY_REFUNDED,
            )
            Order.objects.filter(pk=order.pk).update(
                refunded_total=F("refunded_total") + total, status=order.status
            )
    except IntegrityError:
        # The row locks make this unreachable; the check constraints are the backstop.
        raise RefundExceedsSold() from None


def _restock(
    *,
    order: Order,
    refund: Refund,
    pieces: Sequence[tuple[OrderLine, RefundPiece]],
    restock: bool,
    user: User,
) -> Decimal:
    """Put stock-tracked products back on the shelf (when `restock`), each piece valued at its
    pro rata share of the line's cost of goods (`RefundPiece.cost`); the value that goes back
    into inventory, which is what the stock's book value moved by. A piece not restocked leaves
    its cost in cost of goods: the goods did not come back to the shelf."""
    restocked = [(line, piece) for line, piece in pieces if restock and line.product.track_stock]
    if restocked:
        stock_apply(
            store=order.store,
            changes=[
                StockChange(
                    product=line.product,
                    quantity_delta=piece.quantity,
                    unit_cost=line.unit_cost,
                    value=piece.cost,
                )
                for line, piece in restocked
            ],
            reason=StockReason.REFUND,
            source_type="refund",
            source_id=refund.pk,
            user=user,
            note=refund.reason,
            now=refund.created_at,
        )
    return sum((piece.cost for _, piece in restocked), ZERO)


def _audit_refund(
    *,
    order: Order,
    refund: Refund,
    pieces: Sequence[tuple[OrderLine, RefundPiece]],
    tenders: dict[str, Decimal],
    register: Register,
    tenders_chosen: bool,
    user: User,
    approved_by: int | None = None,
    exchange_order: Order | None = None,
) -> None:
    exchange = {} if exchange_order is None else {"exchange_order": exchange_order.pk}
    audit_record(
        action="order.refunded",
        actor=user,
        store_id=order.store_id,
        object_type="order",
        object_id=order.pk,
        changes={
            "refund": refund.pk,
            "number": refund.number,
            "total": str(refund.total),
            "status": order.status,
            "restock": refund.restock,
            "reason": refund.reason,
            "lines": [
                {"line": line.pk, "quantity": str(piece.quantity), "total": str(piece.total)}
                for line, piece in pieces
            ],
            "tenders": {
                method: str(amount.quantize(quantum(order.currency)))
                for method, amount in tenders.items()
            },
            # The register that paid out (default the order's) and whether the request chose
            # the tenders (else the v1 rule picked them).
            "register": register.pk,
            "tenders_chosen": tenders_chosen,
            **({"approved_by": approved_by} if approved_by is not None else {}),
            **exchange,
        },
    )


def _count_refund(*, store_code: str, currency: str, total: Decimal) -> None:
    """The refund's metrics, once it has committed."""
    REFUNDS.labels(store=store_code).inc()
    REFUND_AMOUNT.labels(store=store_code, currency=currency).inc(float(total))


# --- Exchanges (API v1.1): goods returned with a sale, refunded in the sale's transaction -------


@dataclass(frozen=True, slots=True)
class ExchangeReturnRequest:
    """One `returns` item of a sale: a line of an earlier order of the store, the quantity
    given back and whether it goes back on the shelf."""

    line_id: int
    quantity: Decimal
    restock: bool = True


@dataclass(frozen=True, slots=True)
class ExchangeGroup:
    """The returned lines of one earlier order with one `restock`: one refund."""

    order: Order
    restock: bool
    locked_lines: dict[int, OrderLine]
    pieces: list[tuple[OrderLine, RefundPiece]]

    @property
    def net(self) -> Decimal:
        return sum((piece.net for _, piece in self.pieces), ZERO)

    @property
    def tax(self) -> Decimal:
        return sum((piece.tax for _, piece in self.pieces), ZERO)

    @property
    def total(self) -> Decimal:
        return self.net + self.tax


@dataclass(frozen=True, slots=True)
class ExchangeReturns:
    """What an exchange gives back, locked and priced, before the sale is written."""

    groups: list[ExchangeGroup]

    @property
    def total(self) -> Decimal:
        return sum((group.total for group in self.groups), ZERO)

    @property
    def register_ids(self) -> set[int]:
        return {group.order.register_id for group in self.groups}

    @property
    def restocked_product_ids(self) -> set[int]:
        return {
            line.product_id
            for group in self.groups
            if group.restock
            for line, _ in group.pieces
            if line.product.track_stock
        }


def exchange_returns_lock(
    *, store_id: int, currency: str, requests: Sequence[ExchangeReturnRequest]
) -> ExchangeReturns:
    """Lock the earlier orders of the store whose lines `requests` return (by order id), then all
    their lines (by id) — the refund's lock order, taken before the sale's shift so that an
    exchange and a refund of the same order queue instead of deadlocking — and price the pieces
    exactly as a refund would. A line that is not a line of an order of this store, listed
    twice, or a bad quantity → `InvalidInput` naming `returns.<i>.…`; more than is left on a
    line → `RefundExceedsSold` (409) listing the `lines`; a voided order → `RefundExceedsSold`
    when its refund moves the status."""
    errors: dict[str, list[str]] = {}
    seen: set[int] = set()
    for index, request in enumerate(requests):
        if request.line_id in seen:
            errors[f"returns.{index}.line"] = ["This line is listed twice."]
        seen.add(request.line_id)
        if request.quantity <= 0:
            errors[f"returns.{index}.quantity"] = ["Must be more than zero."]
        elif request.quantity != request.quantity.quantize(MILLI):
            errors[f"returns.{index}.quantity"] = ["At most 3 decimal places."]
    orders = {
        order.pk: order
        for order in Order.objects.select_for_update(of=("self",))
        .select_related("store", "register")
        .filter(
            store_id=store_id,
            pk__in=OrderLine.objects.filter(pk__in=sorted(seen)).values("order_id"),
        )
        .order_by("id")
    }
    lines = {
        line.pk: line
        for line in OrderLine.objects.select_for_update(of=("self",))
        .select_related("product")
        .filter(order_id__in=sorted(orders))
        .order_by("id")
    }
    for index, request in enumerate(requests):
        if request.line_id not in lines:
            errors[f"returns.{index}.line"] = ["Not a line of an earlier order of this store."]
    if errors:
        raise InvalidInput(errors=errors)
    by_group: dict[tuple[int, bool], list[RefundLineRequest]] = {}
    for request in requests:
        key = (lines[request.line_id].order_id, request.restock)
        by_group.setdefault(key, []).append(RefundLineRequest(request.line_id, request.quantity))
    groups = []
    for (order_id, restock), group_requests in sorted(by_group.items()):
        order_lines = {pk: line for pk, line in lines.items() if line.order_id == order_id}
        groups.append(
            ExchangeGroup(
                order=orders[order_id],
                restock=restock,
                locked_lines=order_lines,
                pieces=_refund_pieces(group_requests, order_lines, currency),
            )
        )
    return ExchangeReturns(groups=groups)


def exchange_refunds_write(
    *,
    returns: ExchangeReturns,
    exchange_order: Order,
    exchange_payment_id: int | None,
    shift: Shift,
    user: User,
    approved_by: int | None,
) -> list[Refund]:
    """Refund each group of `returns` (one refund per earlier order and `restock`), linked to
    `exchange_order`, whose `exchange` payment (`exchange_payment_id`) their money paid: each
    refund's tender is `exchange` (Cr 1090 Exchange clearing, which the sale debits), counted
    in the exchange's shift; stock, counters, status, ledger and audit exactly as a refund."""
    refunds = []
    store = exchange_order.store
    for group in returns.groups:
        order = group.order
        allocations = (
            [
                TenderRefund(
                    payment_id=exchange_payment_id,
                    method=PaymentMethod.EXCHANGE,
                    amount=group.total,
                )
            ]
            if exchange_payment_id is not None and group.total > 0
            else []
        )
        refund = _write_refund(
            order=order,
            shift=shift,
            pieces=group.pieces,
            allocations=allocations,
            user=user,
            reason=f"Exchange for order {exchange_order.number}",
            restock=group.restock,
            net_total=group.net,
            tax_total=group.tax,
            created_at=exchange_order.created_at,
            exchange_order=exchange_order,
        )
        # The original payments give nothing back: only lines and the order move.
        _move_refunded_counters(
            order=order,
            locked_lines=group.locked_lines,
            pieces=group.pieces,
            allocations=[],
            total=group.total,
        )
        # A second group of the same order (the other `restock`) shares these line objects:
        # it must see this group's quantities to tell whether the order is now fully refunded.
        for line, piece in group.pieces:
            line.refunded_quantity += piece.quantity
        restocked_cost = _restock(
            order=order, refund=refund, pieces=group.pieces, restock=group.restock, user=user
        )
        loyalty = _move_balances(
            order=order,
            refund=refund,
            allocations=[],
            customer_id=None,
            refund_total=group.total,
            user=user,
        )
        # A second group of the same order must see this one's money refunded (its points).
        order.refunded_total += group.total
        tenders = {PaymentMethod.EXCHANGE.value: group.total} if allocations else {}
        post_refund(
            store=store,
            date=timezone.localdate(refund.created_at, timezone=store.tzinfo),
            refund_id=refund.pk,
            tenders=tenders,
            net=group.net,
            tax=group.tax,
            restocked_cost=restocked_cost,
            created_by=user,
            loyalty=loyalty,
        )
        _audit_refund(
            order=order,
            refund=refund,
            pieces=group.pieces,
            tenders=tenders,
            register=exchange_order.register,
            tenders_chosen=False,
            user=user,
            approved_by=approved_by,
            exchange_order=exchange_order,
        )
        transaction.on_commit(
            functools.partial(
                _count_refund,
                store_code=store.code,
                currency=exchange_order.currency,
                total=group.total,
            )
        )
        refunds.append(refund)
    return refunds
