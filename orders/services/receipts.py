"""Receipts: plain text for an 80 mm thermal printer (48 columns of Font A) and printable HTML,
for a sale, a refund and a return without a receipt.

All are built from snapshots only (lines, payments, totals as sold; a refund's or a return's own
lines, tenders and totals): a receipt reprinted after a catalog edit is the receipt the customer
got. Dates are in the store's time zone, amounts in the store currency's minor units. A refund and
a return print the same way (money given back): one context shape, one text layout, one template.
"""

from __future__ import annotations

import datetime as dt
import textwrap
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import Register, Store, User
from money import ZERO
from money.currencies import minor_units
from orders.models import Order, OrderStatus, PaymentMethod, Refund, Return

RECEIPT_WIDTH = 48

__all__ = [
    "RECEIPT_WIDTH",
    "receipt_context",
    "receipt_html",
    "receipt_text",
    "refund_receipt_context",
    "refund_receipt_html",
    "refund_receipt_text",
    "return_receipt_context",
    "return_receipt_html",
    "return_receipt_text",
]


@dataclass(frozen=True, slots=True)
class TaxGroup:
    rate: Decimal
    net: Decimal
    tax: Decimal

    @property
    def label(self) -> str:
        rate = self.rate.normalize()
        text = f"{rate:f}" if rate != rate.to_integral() else f"{rate.to_integral():f}"
        return f"{text}%"


def _tax_groups(order: Order) -> list[TaxGroup]:
    groups: dict[Decimal, tuple[Decimal, Decimal]] = {}
    for line in order.lines.all():
        net, tax = groups.get(line.tax_rate, (ZERO, ZERO))
        groups[line.tax_rate] = (net + line.net, tax + line.tax)
    return [TaxGroup(rate, *groups[rate]) for rate in sorted(groups)]


def _signed(value: Decimal, currency: str) -> str:
    """A modifier's delta on the receipt: `+0.60`, `-0.50`."""
    return ("-" if value < 0 else "+") + _money(abs(value), currency)


def _money(value: Decimal, currency: str) -> str:
    """With thousands separators and the currency's minor units (`1,234.50`, `1,235` JPY)."""
    return f"{value:,.{minor_units(currency)}f}"


def _quantity(value: Decimal) -> str:
    return f"{value.normalize():f}" if value == value.to_integral() else f"{value:.3f}"


def _tender_label(method: str, card_last4: str = "", points: int | None = None) -> str:
    label = PaymentMethod(method).label
    if method in (PaymentMethod.CARD, PaymentMethod.GIFT_CARD) and card_last4:
        label += f" ****{card_last4}"
    if method == PaymentMethod.POINTS and points:
        label += f" ({points})"
    return label


def receipt_context(order: Order) -> dict[str, Any]:
    """Everything a receipt shows, formatted (the HTML template and the text share it)."""
    store = order.store
    created_local = timezone.localtime(order.created_at, store.tzinfo)
    lines = []
    for line in order.lines.all():
        lines.append(
            {
                "name": line.name,
                "sku": line.sku,
                "detail": f"{_quantity(line.quantity)} x {_money(line.unit_price, order.currency)}",
                "gross": _money(line.gross, order.currency),
                "modifiers": [
                    {
                        "name": modifier["name"],
                        "delta": _signed(Decimal(modifier["price_delta"]), order.currency),
                    }
                    for modifier in line.modifiers
                ],
                "promotion": line.promotion_name if line.promotion_discount else "",
                "promotion_discount": _money(line.promotion_discount, order.currency)
                if line.promotion_discount
                else "",
                "discount": _money(line.discount, order.currency) if line.discount else "",
                "total": _money(
                    line.gross - line.promotion_discount - line.discount, order.currency
                ),
            }
        )
    tenders = [
        {
            # A gift card's last four characters are its payment's `reference`.
            "label": _tender_label(
                payment.method,
                payment.reference
                if payment.method == PaymentMethod.GIFT_CARD
                else payment.card_last4,
                payment.points,
            ),
            "amount": _money(payment.amount, order.currency),
            "tip": _money(payment.tip, order.currency) if payment.tip else "",
            "tendered": _money(payment.tendered, order.currency)
            if payment.tendered is not None and payment.tendered != payment.amount
            else "",
            "reference": payment.reference,
        }
        for payment in order.payments.all()
        # An exchange's returned goods are shown above the total due, not as a tender.
        if payment.method != PaymentMethod.EXCHANGE
    ]
    return {
        "store_name": store.name,
        "store_code": store.code,
        "register": order.register.name or order.register.code,
        "register_code": order.register.code,
        "number": order.number,
        "date": created_local.strftime("%Y-%m-%d %H:%M"),
        "tz": store.timezone,
        "cashier": order.cashier.get_username(),
        "currency": order.currency,
        "prices_include_tax": order.prices_include_tax,
        "lines": lines,
        "subtotal": _money(order.subtotal, order.currency),
        "promotion_total": _money(order.promotion_total, order.currency)
        if order.promotion_total
        else "",
        "discount_total": _money(order.discount_total, order.currency)
        if order.discount_total
        else "",
        "taxes": [
            {
                "label": group.label,
                "net": _money(group.net, order.currency),
                "tax": _money(group.tax, order.currency),
            }
            for group in _tax_groups(order)
        ],
        "tax_total": _money(order.tax_total, order.currency),
        "total": _money(order.total, order.currency),
        "returned": _money(-order.returned_total, order.currency) if order.returned_total else "",
        "rounding": _money(order.rounding, order.currency) if order.rounding else "",
        "total_due": _money(order.total_due, order.currency),
        "tenders": tenders,
        "change_due": _money(order.change_due, order.currency),
        "status": OrderStatus(order.status).label if order.status != OrderStatus.COMPLETED else "",
        "offline": order.offline,
    }


def _pair(left: str, right: str, width: int = RECEIPT_WIDTH) -> list[str]:
    """`left ........ right` on one line; a left part too long wraps above the amount."""
    room = width - len(right) - 1
    if len(left) <= room:
        return [left + " " * (width - len(left) - len(right)) + right]
    wrapped = textwrap.wrap(left, width) or [""]
    if len(wrapped[-1]) > room:
        return [*wrapped, " " * (width - len(right)) + right]
    return [*wrapped[:-1], *_pair(wrapped[-1], right, width)]


def _center(text: str) -> list[str]:
    return [part.center(RECEIPT_WIDTH).rstrip() for part in textwrap.wrap(text, RECEIPT_WIDTH)]


def receipt_text(order: Order) -> str:
    """The receipt as text, no line longer than `RECEIPT_WIDTH` characters."""
    ctx = receipt_context(order)
    rule = "-" * RECEIPT_WIDTH
    out: list[str] = []
    out += _center(ctx["store_name"])
    out += _center(f"Store {ctx['store_code']} - Register {ctx['register_code']}")
    out.append("")
    out += _pair("Receipt", ctx["number"])
    out += _pair("Date", ctx["date"])
    out += _pair("Cashier", ctx["cashier"][:30])
    if ctx["status"]:
        out += _pair("Status", ctx["status"])
    if ctx["offline"]:
        out += _pair("Rung up offline", "")
    out.append(rule)
    for line in ctx["lines"]:
        out += textwrap.wrap(line["name"], RECEIPT_WIDTH) or [""]
        for modifier in line["modifiers"]:
            out += _pair(f"  + {modifier['name']}", modifier["delta"])
        out += _pair(f"  {line['detail']}", line["gross"])
        if line["promotion"]:
            out += _pair(f"  {line['promotion']}", f"-{line['promotion_discount']}")
        if line["discount"]:
            out += _pair("  Discount", f"-{line['discount']}")
    out.append(rule)
    out += _pair("Subtotal", ctx["subtotal"])
    if ctx["promotion_total"]:
        out += _pair("Promotions", f"-{ctx['promotion_total']}")
    if ctx["discount_total"]:
        out += _pair("Discounts", f"-{ctx['discount_total']}")
    for tax in ctx["taxes"]:
        kind = "incl." if ctx["prices_include_tax"] else "on"
        out += _pair(f"Tax {tax['label']} {kind} {tax['net']}", tax["tax"])
    if ctx["prices_include_tax"]:
        out += _pair("Tax included", ctx["tax_total"])
    else:
        out += _pair("Tax", ctx["tax_total"])
    out += _pair(f"TOTAL {ctx['currency']}", ctx["total"])
    if ctx["returned"]:
        out += _pair("Returned goods (exchange)", ctx["returned"])
    if ctx["rounding"]:
        out += _pair("Cash rounding", ctx["rounding"])
    if ctx["returned"] or ctx["rounding"]:
        out += _pair(f"TOTAL DUE {ctx['currency']}", ctx["total_due"])
    out.append(rule)
    for tender in ctx["tenders"]:
        out += _pair(tender["label"], tender["amount"])
        if tender["tip"]:
            out += _pair("  Tip", tender["tip"])
        if tender["tendered"]:
            out += _pair("  Tendered", tender["tendered"])
        if tender["reference"]:
            out += _pair("  Ref", tender["reference"][:40])
    out += _pair("Change", ctx["change_due"])
    out.append("")
    out += _center("Thank you!")
    return "\n".join(line.rstrip() for line in out) + "\n"


def receipt_html(order: Order) -> str:
    return render_to_string("orders/receipt.html", receipt_context(order))


# --- Refund and return receipts ----------------------------------------------------------------
#
# Money given back, printed one way: `_money_back_context` is what both show, `_money_back_text`
# the 48-column layout, `orders/refund_receipt.html` the printable page. A refund names the order
# it refunds; a return (no receipt) says it has none.


def _money_back_context(
    *,
    kind: Literal["Refund", "Return"],
    number: str,
    order_number: str,
    store: Store,
    register: Register,
    created_at: dt.datetime,
    created_by: User,
    currency: str,
    lines: list[dict[str, str]],
    net_total: Decimal,
    tax_total: Decimal,
    total: Decimal,
    tenders: list[dict[str, str]],
    reason: str,
    restock: bool,
) -> dict[str, Any]:
    created_local = timezone.localtime(created_at, store.tzinfo)
    return {
        "title": kind.upper(),
        "number_label": kind,
        "store_name": store.name,
        "store_code": store.code,
        "register": register.name or register.code,
        "register_code": register.code,
        "number": number,
        "order_number": order_number,
        "date": created_local.strftime("%Y-%m-%d %H:%M"),
        "tz": store.timezone,
        "refunded_by": created_by.get_username(),
        "currency": currency,
        "lines": lines,
        "net_total": _money(net_total, currency),
        "tax_total": _money(tax_total, currency),
        "total": _money(total, currency),
        "tenders": tenders,
        "reason": reason,
        "restock": restock,
    }


def _money_back_text(ctx: dict[str, Any]) -> str:
    """A refund or return receipt as text, no line longer than `RECEIPT_WIDTH` characters."""
    rule = "-" * RECEIPT_WIDTH
    out: list[str] = []
    out += _center(ctx["store_name"])
    out += _center(f"Store {ctx['store_code']} - Register {ctx['register_code']}")
    out.append("")
    out += _center(ctx["title"])
    out += _pair(ctx["number_label"], ctx["number"])
    out += _pair("Original receipt", ctx["order_number"] or "none")
    out += _pair("Date", ctx["date"])
    out += _pair("Refunded by", ctx["refunded_by"][:30])
    out.append(rule)
    for line in ctx["lines"]:
        out += textwrap.wrap(line["name"], RECEIPT_WIDTH) or [""]
        out += _pair(f"  {line['detail']}", line["total"])
    out.append(rule)
    out += _pair("Net", ctx["net_total"])
    out += _pair("Tax", ctx["tax_total"])
    out += _pair(f"TOTAL REFUNDED {ctx['currency']}", ctx["total"])
    out.append(rule)
    out += _pair("Paid back", "")
    for tender in ctx["tenders"]:
        out += _pair(f"  {tender['label']}", tender["amount"])
    if ctx["reason"]:
        out.append(rule)
        out += textwrap.wrap(f"Reason: {ctx['reason']}", RECEIPT_WIDTH)
    return "\n".join(line.rstrip() for line in out) + "\n"


def refund_receipt_context(refund: Refund) -> dict[str, Any]:
    """Everything a refund receipt shows, formatted. The register is the one whose drawer paid
    the cash back (the refund's shift's), else the order's. Each line shows the quantity given
    back at the sold unit price and what it returned (net + tax); the tenders are those the
    money went back to. Reads `refund_receipt_queryset`'s joins only."""
    order = refund.order
    currency = order.currency
    lines = [
        {
            "name": line.order_line.name,
            "sku": line.order_line.sku,
            "detail": f"{_quantity(line.quantity)} x "
            f"{_money(line.order_line.unit_price, currency)}",
            "total": _money(line.total, currency),
        }
        for line in refund.lines.all()
    ]
    tenders = [
        {
            "label": _tender_label(row.payment.method, row.payment.card_last4),
            "amount": _money(row.amount, currency),
        }
        for row in refund.payments.all()
    ]
    return _money_back_context(
        kind="Refund",
        number=refund.number,
        order_number=order.number,
        store=refund.store,
        register=refund.shift.register if refund.shift is not None else order.register,
        created_at=refund.created_at,
        created_by=refund.created_by,
        currency=currency,
        lines=lines,
        net_total=refund.net_total,
        tax_total=refund.tax_total,
        total=refund.total,
        tenders=tenders,
        reason=refund.reason,
        restock=refund.restock,
    )


def refund_receipt_text(refund: Refund) -> str:
    """The refund receipt as text, no line longer than `RECEIPT_WIDTH` characters."""
    return _money_back_text(refund_receipt_context(refund))


def refund_receipt_html(refund: Refund) -> str:
    return render_to_string("orders/refund_receipt.html", refund_receipt_context(refund))


def return_receipt_context(returned: Return) -> dict[str, Any]:
    """Everything the receipt of a return without a receipt shows, formatted: the register that
    took it back, each line (its snapshotted name, `quantity x unit price paid back`, what it
    returned: net + tax), net, tax, total and the tenders paid back. Reads
    `return_receipt_queryset`'s joins only."""
    store = returned.store
    currency = store.currency
    lines = [
        {
            "name": line.name,
            "sku": line.sku,
            "detail": f"{_quantity(line.quantity)} x {_money(line.unit_price, currency)}",
            "total": _money(line.total, currency),
        }
        for line in returned.lines.all()
    ]
    tenders = [
        {"label": _tender_label(row.method), "amount": _money(row.amount, currency)}
        for row in returned.payments.all()
    ]
    return _money_back_context(
        kind="Return",
        number=returned.number,
        order_number="",
        store=store,
        register=returned.register,
        created_at=returned.created_at,
        created_by=returned.created_by,
        currency=currency,
        lines=lines,
        net_total=returned.net_total,
        tax_total=returned.tax_total,
        total=returned.total,
        tenders=tenders,
        reason=returned.reason,
        restock=returned.restock,
    )


def return_receipt_text(returned: Return) -> str:
    """The return's receipt as text, no line longer than `RECEIPT_WIDTH` characters."""
    return _money_back_text(return_receipt_context(returned))


def return_receipt_html(returned: Return) -> str:
    return render_to_string("orders/refund_receipt.html", return_receipt_context(returned))
