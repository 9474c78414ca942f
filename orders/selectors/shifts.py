"""Reads about shifts: the store-scoped list, the drawer's cash figures and the X/Z report.

Every figure is summed by the database (a constant number of aggregate queries, whatever the
number of orders); nothing loops over orders in Python.

Which shift a refund belongs to: the refund service attaches a refund to the open shift of the
order's register at the time of the refund (`Refund.shift`; for a refund on the day of the sale
that is the order's own shift). Its cash part is paid out of that drawer, so it is that shift's
"cash refunded", and the refund appears in that shift's report.

A return without a receipt (`orders.services.returns`) is attached to the register's open shift
when it is taken (`Return.shift`): its cash is paid out of that drawer and it is counted in that
shift's report (`returns`).

A voided order (`orders.services.voids`, only while its own shift is open) never happened for
the drawer or the sales figures: its payments are left out of the cash summary and its totals
out of the report's sales, which count it instead in `voids_count` / `voids_total`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import User
from accounts.selectors import scope_to_user_stores
from giftcards.models import GiftCardPayment
from money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS, ZERO
from money.currencies import round_money
from orders.models import (
    SALE_TENDERS,
    CashMovement,
    CashMovementKind,
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    PaymentMethod,
    Refund,
    RefundPayment,
    ReturnPayment,
    Shift,
    ShiftStatus,
)


def _sum(expression: Any, **kwargs: Any) -> Coalesce:
    return Coalesce(
        Sum(expression, **kwargs),
        Value(ZERO),
        output_field=DecimalField(max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES),
    )


def shift_list(*, user: User) -> QuerySet[Shift]:
    """The shifts of the user's stores, newest first."""
    queryset = Shift.objects.select_related("store", "register", "opened_by", "closed_by")
    return scope_to_user_stores(queryset, user).order_by("-opened_at", "-id")


@dataclass(frozen=True, slots=True)
class ShiftCash:
    """The drawer's cash over a shift. `cash_sales` is what cash paid for (Σ cash `amount`),
    `cash_tips` the tips paid in cash; `cash_tendered − change_given` is their sum."""

    opening_float: Decimal
    cash_sales: Decimal
    cash_tips: Decimal
    cash_tendered: Decimal
    change_given: Decimal
    cash_refunded: Decimal
    cash_in: Decimal
    cash_out: Decimal
    #: The shift's returns without a receipt (`Return.shift`): how many, their total and the
    #: cash their drawer paid out. Summed with the cash, so the report needs no query of its own.
    returns_count: int = 0
    returns_total: Decimal = ZERO
    cash_returned: Decimal = ZERO
    #: Cash that paid for gift cards sold on the shift (`giftcards.GiftCardPayment`).
    gift_card_cash: Decimal = ZERO

    @property
    def expected_cash(self) -> Decimal:
        """opening float + cash taken − change given − cash refunded − cash paid out by returns
        + cash in − cash out + cash that paid for gift cards."""
        return (
            self.opening_float
            + self.gift_card_cash
            + self.cash_tendered
            - self.change_given
            - self.cash_refunded
            - self.cash_returned
            + self.cash_in
            - self.cash_out
        )


def shift_cash_summary(*, shift: Shift) -> ShiftCash:
    """Five aggregate queries: cash tenders of the shift's orders (voided ones left out: the
    void gave their cash back; late ones too: their cash was in the drawer when it was counted
    and their ledger entry takes it back out against 6900), cash refunded out of the shift's
    drawer, the tenders of the shift's returns (every return has at least one: its total is
    never zero, and its tenders add up to it), the shift's cash movements, and the cash that
    paid for gift cards sold on it (not a sale: not in the sales figures)."""
    sales = (
        Payment.objects.filter(order__shift=shift, order__late=False, method=PaymentMethod.CASH)
        .exclude(order__status=OrderStatus.VOIDED)
        .aggregate(amount=_sum("amount"), change=_sum("change"), tip=_sum("tip"))
    )
    refunded = RefundPayment.objects.filter(
        refund__shift=shift, method=PaymentMethod.CASH
    ).aggregate(amount=_sum("amount"))
    returns = ReturnPayment.objects.filter(return_doc__shift=shift).aggregate(
        count=Count("return_doc", distinct=True),
        total=_sum("amount"),
        cash=_sum("amount", filter=Q(method=PaymentMethod.CASH)),
    )
    movements = CashMovement.objects.filter(shift=shift).aggregate(
        cash_in=_sum("amount", filter=Q(kind=CashMovementKind.IN)),
        cash_out=_sum("amount", filter=Q(kind=CashMovementKind.OUT)),
    )
    gift_cards = GiftCardPayment.objects.filter(shift=shift, method=PaymentMethod.CASH).aggregate(
        cash=_sum("amount")
    )
    # change = tendered − amount − tip for every cash tender (0 when nothing was tendered over
    # the amount and tip), so cash taken = Σ amount + Σ tip + Σ change. Cash tips stay in the
    # drawer (owed to staff: 2150) until paid out as a cash movement.
    # Sums of amounts in the currency's minor units are whole minor units; quantizing keeps
    # the scale at the currency's whatever the sum's scale.
    currency = shift.store.currency
    change_given = round_money(sales["change"], currency)
    cash_sales = round_money(sales["amount"], currency)
    cash_tips = round_money(sales["tip"], currency)
    return ShiftCash(
        opening_float=round_money(shift.opening_float, currency),
        cash_sales=cash_sales,
        cash_tips=cash_tips,
        cash_tendered=cash_sales + cash_tips + change_given,
        change_given=change_given,
        cash_refunded=round_money(refunded["amount"], currency),
        cash_in=round_money(movements["cash_in"], currency),
        cash_out=round_money(movements["cash_out"], currency),
        returns_count=returns["count"],
        returns_total=round_money(returns["total"], currency),
        cash_returned=round_money(returns["cash"], currency),
        gift_card_cash=round_money(gift_cards["cash"], currency),
    )


def _by_method(rows: QuerySet, field: str = "amount") -> dict[str, Decimal]:
    """Σ per money tender. The `exchange` rows (the part of an exchange paid by its returned
    goods, and those refunds' side of it) are no money in or out of the drawer: left out."""
    totals = dict.fromkeys(SALE_TENDERS, ZERO)
    for row in rows:
        if row["method"] in totals:
            totals[row["method"]] = row[field]
    return totals


def shift_report(*, shift: Shift) -> dict[str, Any]:
    """The X report (shift open: figures so far) or Z report (shift closed: final figures, with
    the counted cash and difference recorded at close). Twelve queries. Sales figures leave voided
    orders out; `voids_count` / `voids_total` count them."""
    stood = ~Q(status=OrderStatus.VOIDED)
    voided = Q(status=OrderStatus.VOIDED)
    # The voids first: an aggregate named like a column (`total`) hides it from the ones after.
    orders = Order.objects.filter(shift=shift).aggregate(
        voids_count=Count("id", filter=voided),
        voids_total=_sum("total", filter=voided),
        count=Count("id", filter=stood),
        subtotal=_sum("subtotal", filter=stood),
        discount_total=_sum("discount_total", filter=stood),
        tax_total=_sum("tax_total", filter=stood),
        total=_sum("total", filter=stood),
        rounding=_sum("rounding", filter=stood),
        tips=_sum("tips_total", filter=stood),
    )
    late_sales = list(
        Order.objects.filter(shift=shift, late=True)
        .order_by("id")
        .values("id", "number", "total", "created_at", "client_created_at")
    )
    tips_by_cashier = list(
        Order.objects.filter(stood, shift=shift, tips_total__gt=0)
        .values("cashier")
        .annotate(tips=_sum("tips_total"))
        .order_by("cashier")
    )
    tenders = _by_method(
        Payment.objects.filter(order__shift=shift)
        .exclude(order__status=OrderStatus.VOIDED)
        .values("method")
        .annotate(amount=_sum("amount"))
        .order_by("method")
    )
    tax_by_rate = list(
        OrderLine.objects.filter(order__shift=shift)
        .exclude(order__status=OrderStatus.VOIDED)
        .values("tax_rate")
        .annotate(net=_sum("net"), tax=_sum("tax"))
        .order_by("tax_rate")
    )
    refunds = Refund.objects.filter(shift=shift).aggregate(
        count=Count("id"),
        net=_sum("net_total"),
        tax=_sum("tax_total"),
        total=_sum("total"),
    )
    refund_tenders = _by_method(
        RefundPayment.objects.filter(refund__shift=shift)
        .values("method")
        .annotate(amount=_sum("amount"))
        .order_by("method")
    )
    cash = shift_cash_summary(shift=shift)
    closed = shift.status == ShiftStatus.CLOSED
    expected = shift.expected_cash if closed and shift.expected_cash is not None else None
    expected = cash.expected_cash if expected is None else expected

    return {
        "type": "Z" if closed else "X",
        "shift": shift.pk,
        "store": shift.store_id,
        "currency": shift.store.currency,  # not rendered: the amounts' minor units
        "register": shift.register_id,
        "status": shift.status,
        "opened_by": shift.opened_by_id,
        "opened_at": shift.opened_at,
        "closed_by": shift.closed_by_id,
        "closed_at": shift.closed_at,
        "generated_at": timezone.now(),
        "orders_count": orders["count"],
        "subtotal": orders["subtotal"],
        "discount_total": orders["discount_total"],
        "tax_total": orders["tax_total"],
        "total": orders["total"],
        "rounding_total": orders["rounding"],
        "tips_total": orders["tips"],
        "tips_by_cashier": tips_by_cashier,
        "late_sales": [
            {
                "order": row["id"],
                "number": row["number"],
                "total": row["total"],
                "created_at": row["created_at"],
                "client_created_at": row["client_created_at"],
            }
            for row in late_sales
        ],
        "voids_count": orders["voids_count"],
        "voids_total": orders["voids_total"],
        "by_tender": tenders,
        "tax_by_rate": [
            {"rate": row["tax_rate"], "net": row["net"], "tax": row["tax"]} for row in tax_by_rate
        ],
        "refunds": {
            "count": refunds["count"],
            "net": refunds["net"],
            "tax": refunds["tax"],
            "total": refunds["total"],
            "by_tender": refund_tenders,
        },
        "returns": {
            "count": cash.returns_count,
            "total": cash.returns_total,
            "cash": cash.cash_returned,
        },
        "cash": {
            "opening_float": cash.opening_float,
            "cash_sales": cash.cash_sales,
            "cash_tips": cash.cash_tips,
            "cash_tendered": cash.cash_tendered,
            "change_given": cash.change_given,
            "cash_refunded": cash.cash_refunded,
            "cash_in": cash.cash_in,
            "cash_out": cash.cash_out,
            "gift_card_cash": cash.gift_card_cash,
        },
        "expected_cash": expected,
        "counted_cash": shift.counted_cash if closed else None,
        "difference": shift.difference if closed else None,
    }
