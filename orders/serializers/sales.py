"""Input and output shapes of sales (contract: shared/API.md "Orders (sales)").

Inputs carry only what a client may decide — register, products, quantities, discounts, tenders,
its own timestamp and the offline flag. Totals, prices, status and store are never read from the
body (unknown fields are ignored). Outputs render money as strings with two decimals, quantities
and rates with three.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apitools.rendering import CompiledRepresentation, FilteredListSerializer
from catalog.scale_barcodes import ean13_check_digit
from domain.card_numbers import contains_digit_run, redact_card_numbers
from money import (
    ZERO,
)
from money.fields import CurrencyScoped, money_field, quantity_field, rate_field
from orders.exceptions import CardNumberRefused
from orders.models import (
    MAX_ORDER_AMOUNT,
    MIN_ORDER_AMOUNT,
    SALE_TENDERS,
    Order,
    OrderLine,
    Payment,
    PaymentMethod,
)
from orders.services.refunds import ExchangeReturnRequest
from orders.services.sales import PaymentRequest, SaleLineRequest

MAX_QUANTITY = Decimal("99999.999")
MAX_PAYMENTS = 20
#: At most this many lines of earlier orders given back in one exchange.
MAX_EXCHANGE_RETURNS = 100


_LINE_BARCODE = re.compile(r"^lines\.[0-9]+\.barcode$")


def _is_scale_label(where: str, value: Any) -> bool:
    """A sale line's `barcode`: a scale label is an EAN-13 of 13 digits starting with `2` whose
    check digit is right — never a card number (no card scheme issues 13-digit numbers
    starting with 2: the 2-series are Mastercard's 16 digits). Only that exact shape, only in
    that field, passes the card-number guard."""
    return (
        _LINE_BARCODE.match(where) is not None
        and isinstance(value, str)
        and len(value) == 13
        and value.isdigit()
        and value.startswith("2")
        and ean13_check_digit(value[:12]) == value[12]
    )


def refuse_card_numbers(payload: Any, path: str = "") -> None:
    """Refuse a body in which any value holds a full card number: a 13-19 digit run (spaces or
    dashes allowed, Luhn or not) or a Luhn-valid one with any separators (`domain.card_numbers`).
    Runs on the raw body before any other validation, so the number is never stored, logged,
    fingerprinted or echoed back: the error names only the field."""
    found: list[str] = []

    def walk(value: Any, where: str) -> None:
        if isinstance(value, dict):
            for key, sub in value.items():
                name = redact_card_numbers(str(key), "[card number]")
                inner = f"{where}.{name}" if where else name
                if name != str(key):
                    found.append(inner)
                walk(sub, inner)
        elif isinstance(value, (list, tuple)):
            for index, sub in enumerate(value):
                walk(sub, f"{where}.{index}" if where else str(index))
        elif (
            isinstance(value, (str, int, float, Decimal))
            and not isinstance(value, bool)
            and contains_digit_run(str(value))
            and not _is_scale_label(where, value)
        ):
            found.append(where or "non_field_errors")

    walk(payload, path)
    if found:
        raise CardNumberRefused(
            errors={
                where: ["A full card number is not accepted; send reference and card_last4."]
                for where in dict.fromkeys(found)
            }
        )


# --- input ---------------------------------------------------------------------------------------


class OffsetDateTimeField(serializers.DateTimeField):
    """ISO 8601 *with* an offset on input (a naive time is ambiguous across time zones);
    rendered in UTC."""

    default_error_messages = {"naive": "Include a UTC offset (e.g. +01:00 or Z)."}

    def enforce_timezone(self, value: dt.datetime) -> dt.datetime:
        if timezone.is_naive(value):
            self.fail("naive")
        return super().enforce_timezone(value)


#: The most modifiers one line may choose.
MAX_LINE_MODIFIERS = 50


class SaleLineInputSerializer(serializers.Serializer):
    product = serializers.IntegerField(
        min_value=1,
        max_value=2**63 - 1,
        required=False,
        allow_null=True,
        default=None,
        help_text="The product's id. Required unless the line is a scale label (`barcode`).",
    )
    barcode = serializers.RegexField(
        r"^[0-9]{13}$",
        required=False,
        allow_blank=True,
        default="",
        help_text="A scale label (EAN-13 starting with 2, read with the store's "
        "`scale_barcode_layout`) instead of `product` and `quantity`: the product is the one "
        "whose `scale_code` the label carries; a weight label sells its weight at the store's "
        "price, a price label one unit at the printed price. A label the store cannot read, a "
        "wrong check digit or an unknown item code → 400 on `lines.<i>.barcode`.",
    )
    quantity = quantity_field(
        min_value=Decimal("0.001"),
        max_value=MAX_QUANTITY,
        required=False,
        allow_null=True,
        default=None,
        help_text="Required with `product`; left out with a scale label (it carries its own).",
    )
    discount = money_field(min_value=MIN_ORDER_AMOUNT, max_value=MAX_ORDER_AMOUNT, default=ZERO)
    modifiers = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        default=list,
        max_length=MAX_LINE_MODIFIERS,
        help_text="The chosen modifiers' ids (`/api/v1/modifier-groups/`), within each of the "
        "product's groups' `min_choices`/`max_choices` (else 400). The line's `unit_price` is "
        "the product's price in the store plus their `price_delta`s.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["barcode"]:
            refused = {
                name: [f"Leave `{name}` out with a scale label's `barcode`: the label says it."]
                for name in ("product", "quantity")
                if attrs[name] is not None
            }
            if refused:
                raise serializers.ValidationError(refused)
            return attrs
        missing = {
            name: ["This field is required."]
            for name in ("product", "quantity")
            if attrs[name] is None
        }
        if missing:
            raise serializers.ValidationError(missing)
        return attrs


_INTEGER, _TEXT, _DECIMAL = (
    {"type": "integer"},
    {"type": "string"},
    {"type": "string", "format": "decimal"},
)


def _list_of(**properties: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI schema of a JSON snapshot: a list of objects with all of `properties`."""
    return {
        "type": "array",
        "items": {"type": "object", "properties": properties, "required": list(properties)},
    }


@extend_schema_field(_list_of(id=_INTEGER, name=_TEXT, price_delta=_DECIMAL))
class ModifierSnapshotField(serializers.JSONField):
    """The line's chosen modifiers as sold (names and deltas snapshotted)."""


@extend_schema_field(
    _list_of(
        id=_INTEGER,
        name=_TEXT,
        kind={"type": "string", "enum": ["percent_off", "amount_off", "buy_x_get_y"]},
        value=_DECIMAL,
        x=_INTEGER,
        y=_INTEGER,
        discount=_DECIMAL,
    )
)
class PromotionSnapshotField(serializers.JSONField):
    """The automatic promotions the order took, as they were, with what each took off."""


class PaymentInputSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=SALE_TENDERS)
    amount = money_field(
        min_value=-MAX_ORDER_AMOUNT,
        max_value=MAX_ORDER_AMOUNT,
        required=False,
        default=None,
        help_text="≥ 0, except in an exchange whose returned goods are worth more than the "
        "sale: then the cash or store credit that goes back, as a negative amount. "
        "`store_credit` draws the order's `customer`'s store credit down (no customer → 400; "
        "not enough → 409 `insufficient_balance`). Required, except for `points`: their "
        "amount is `points × loyalty_point_value` (when given, it must be that).",
    )
    tendered = money_field(
        min_value=MIN_ORDER_AMOUNT,
        max_value=MAX_ORDER_AMOUNT,
        required=False,
        allow_null=True,
        default=None,
        help_text="Cash only: what the customer handed over (≥ amount + tip); "
        "change = tendered − amount − tip.",
    )
    tip = money_field(
        min_value=MIN_ORDER_AMOUNT,
        max_value=MAX_ORDER_AMOUNT,
        required=False,
        default=ZERO,
        help_text="Cash or card: a tip taken with the amount, outside the order total "
        "(the tender takes amount + tip; never refunded).",
    )
    reference = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        default="",
        help_text="The processor's authorisation reference (card) or a voucher number (other).",
    )
    card_last4 = serializers.RegexField(
        r"^[0-9]{4}$",
        required=False,
        allow_blank=True,
        default="",
        help_text="Card only: the last four digits. Never send the full card number (→ 400).",
    )
    code = serializers.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        default="",
        help_text="Gift card only (`method: gift_card`): the card's code (16 letters; case, "
        "spaces and dashes do not matter). The payment keeps only its last four characters "
        "(`reference`). Unknown, expired or another store's card → 400 `gift_card_invalid`; "
        "less on the card than `amount` → 409 `insufficient_balance`.",
    )
    points = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        max_value=10**12,
        help_text="Points only (`method: points`): the customer's loyalty points redeemed, at "
        "the store's `loyalty_point_value` each (no customer → 400; not enough → 409 "
        "`insufficient_balance`).",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["method"] != "points" and attrs.get("amount") is None:
            raise serializers.ValidationError({"amount": ["This field is required."]})
        return attrs


class ExchangeReturnInputSerializer(serializers.Serializer):
    line = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, help_text="An order line of an earlier order."
    )
    quantity = quantity_field(min_value=Decimal("0.001"), max_value=MAX_QUANTITY)
    restock = serializers.BooleanField(
        default=True, help_text="Back on the shelf (default) or not (damaged goods)."
    )


class QuoteInputSerializer(serializers.Serializer):
    register = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    lines = serializers.ListField(
        child=SaleLineInputSerializer(),
        allow_empty=False,
        help_text="At most `API_MAX_ORDER_LINES` (500 by default) lines.",
    )
    discount = money_field(
        min_value=MIN_ORDER_AMOUNT,
        max_value=MAX_ORDER_AMOUNT,
        default=ZERO,
        help_text="Order discount, spread over the lines (see the contract's spreading rule).",
    )
    client_created_at = OffsetDateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="When the register rang the sale up: ISO 8601 with an offset; returned in UTC.",
    )
    offline = serializers.BooleanField(
        default=False,
        help_text="Goods already handed over while offline: never refused for stock; the stock "
        "may go negative and its movement is flagged.",
    )
    customer = serializers.IntegerField(
        min_value=1,
        max_value=2**63 - 1,
        required=False,
        allow_null=True,
        default=None,
        help_text="The customer's id (`/api/v1/customers/`); unknown or erased → 400. A "
        "tax-exempt customer's lines carry no tax (every line at 0 %).",
    )

    def validate_lines(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(value) > settings.API_MAX_ORDER_LINES:
            raise serializers.ValidationError(
                f"At most {settings.API_MAX_ORDER_LINES} lines per order."
            )
        return value

    def line_requests(self) -> list[SaleLineRequest]:
        return sale_line_requests(self.validated_data["lines"])


class OrderCreateInputSerializer(QuoteInputSerializer):
    # With `held_order`, `lines` and `discount` left out are the held order's: neither is
    # required nor defaulted here (`validate` requires `lines` without a held order).
    lines = serializers.ListField(
        child=SaleLineInputSerializer(),
        allow_empty=False,
        required=False,
        help_text="At most `API_MAX_ORDER_LINES` (500 by default) lines. Required unless "
        "`held_order` is given (then the held order's lines when left out).",
    )
    discount = money_field(
        min_value=MIN_ORDER_AMOUNT,
        max_value=MAX_ORDER_AMOUNT,
        required=False,
        help_text="Order discount, spread over the lines (see the contract's spreading rule). "
        "`0` when left out, or the held order's with `held_order`.",
    )
    payments = serializers.ListField(
        child=PaymentInputSerializer(),
        allow_empty=True,
        max_length=MAX_PAYMENTS,
        help_text="Tenders; their amounts add up to the total exactly (empty for a zero total).",
    )
    returns = serializers.ListField(
        child=ExchangeReturnInputSerializer(),
        required=False,
        allow_empty=True,
        max_length=MAX_EXCHANGE_RETURNS,
        help_text="An exchange: lines of earlier orders of the same store given back with this "
        "sale, refunded in its transaction exactly as a refund would be (a refund linked to "
        "both orders). The payments then add up to `total − returned_total` (+ cash "
        "rounding); when that is negative, the payments are the cash that goes back, as "
        "negative amounts. Same approval as a refund.",
    )
    held_order = serializers.IntegerField(
        min_value=1,
        max_value=2**63 - 1,
        required=False,
        allow_null=True,
        default=None,
        help_text="Completes this held order (`/api/v1/held-orders/`) of the register's store: "
        "its lines and discount unless the body gives them, re-priced now; the held order is "
        "gone with the sale. Already completed or deleted → 409 `held_order_gone`.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("held_order") is None and "lines" not in attrs:
            raise serializers.ValidationError({"lines": ["This field is required."]})
        return attrs

    def payment_requests(self) -> list[PaymentRequest]:
        return payment_requests(self.validated_data["payments"])


def sale_line_requests(lines: list[dict[str, Any]]) -> list[SaleLineRequest]:
    """`SaleLineInputSerializer`'s validated lines → the service's requests."""
    return [
        SaleLineRequest(
            product_id=line["product"] or 0,
            quantity=line["quantity"] if line["quantity"] is not None else ZERO,
            discount=line["discount"],
            modifiers=tuple(line.get("modifiers", ())),
            barcode=line.get("barcode", ""),
        )
        for line in lines
    ]


def exchange_return_requests(returns: list[dict[str, Any]]) -> list[ExchangeReturnRequest]:
    """`ExchangeReturnInputSerializer`'s validated items → the service's requests."""
    return [
        ExchangeReturnRequest(
            line_id=item["line"], quantity=item["quantity"], restock=item["restock"]
        )
        for item in returns
    ]


def payment_requests(payments: list[dict[str, Any]]) -> list[PaymentRequest]:
    """`PaymentInputSerializer`'s validated tenders → the service's requests."""
    return [
        PaymentRequest(
            method=payment["method"],
            # A points payment's amount is the points' value (left out: 0, then computed).
            amount=payment["amount"] if payment["amount"] is not None else ZERO,
            tendered=payment["tendered"],
            reference=payment["reference"],
            card_last4=payment["card_last4"],
            tip=payment["tip"],
            code=payment["code"],
            points=payment["points"],
        )
        for payment in payments
    ]


MODIFIERS_HELP = "The chosen modifiers as sold: `[{id, name, price_delta}]`."
PROMOTION_HELP = (
    "The automatic promotion the line took (at most one: the one worth most to the customer; "
    "ties: higher priority); null without one."
)
PROMOTION_TOTAL_HELP = "Σ the lines' `promotion_discount`s (outside `discount_total`)."
PROMOTIONS_HELP = (
    "The promotions the sale took, as they were: `[{id, name, kind, value, x, y, discount}]`."
)

# --- output --------------------------------------------------------------------------------------
#
# The declared fields below are the contract (and the OpenAPI schema). The model serializers
# render through a `to_representation` compiled once from them (`CompiledRepresentation`): DRF's
# generic path deep-copies every declared field for each serializer instance and walks them one
# by one, which cost a sale more Python than its whole pricing, stock, ledger and audit work
# together, and an order list 50 times that. The output is the same, byte for byte
# (tests/orders/test_order_representation.py, tests/test_compiled_rendering.py).


class OrderLineSerializer(CompiledRepresentation, serializers.ModelSerializer):
    product = serializers.IntegerField(source="product_id", read_only=True)
    quantity = quantity_field(read_only=True)
    unit_price = money_field(
        read_only=True, help_text="The product's price in the store plus the modifiers' deltas."
    )
    modifiers = ModifierSnapshotField(read_only=True, help_text=MODIFIERS_HELP)
    gross = money_field(read_only=True)
    promotion = serializers.IntegerField(
        source="promotion_id", read_only=True, allow_null=True, help_text=PROMOTION_HELP
    )
    promotion_name = serializers.CharField(read_only=True, help_text="The promotion's name.")
    promotion_discount = money_field(
        read_only=True, help_text="What the promotion took off the line's gross."
    )
    discount = money_field(read_only=True, help_text="The line's own discount plus its share.")
    net = money_field(read_only=True)
    tax_rate = rate_field(read_only=True)
    tax = money_field(read_only=True)
    total = money_field(read_only=True)
    refunded_quantity = quantity_field(
        read_only=True, help_text="How much of the line refunds have taken back so far."
    )
    refunded_total = money_field(
        read_only=True, help_text="What refunds have returned for this line so far (net + tax)."
    )

    class Meta:
        model = OrderLine
        fields = (
            "id",
            "product",
            "sku",
            "name",
            "quantity",
            "unit_price",
            "modifiers",
            "gross",
            "promotion",
            "promotion_name",
            "promotion_discount",
            "discount",
            "net",
            "tax_rate",
            "tax",
            "total",
            "refunded_quantity",
            "refunded_total",
        )
        read_only_fields = fields


class MoneyPaymentList(FilteredListSerializer):
    """An order's payments as the contract shows them: the money tenders. The `exchange` row
    (what an exchange's returned goods paid: `returned_total`) is left out."""

    @staticmethod
    def keep(row: Any) -> bool:
        return bool(row.method != PaymentMethod.EXCHANGE)


class PaymentSerializer(CompiledRepresentation, serializers.ModelSerializer):
    amount = money_field(read_only=True)
    tendered = money_field(read_only=True, allow_null=True)
    change = money_field(read_only=True)
    tip = money_field(read_only=True, help_text="Outside the order total.")
    points = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text="A `points` payment: the loyalty points redeemed (`amount` is their value); "
        "null otherwise.",
    )

    class Meta:
        model = Payment
        fields = (
            "id",
            "method",
            "amount",
            "tendered",
            "change",
            "tip",
            "reference",
            "card_last4",
            "points",
        )
        read_only_fields = fields
        list_serializer_class = MoneyPaymentList


class OrderSerializer(CurrencyScoped, CompiledRepresentation, serializers.ModelSerializer):
    store = serializers.IntegerField(source="store_id", read_only=True)
    register = serializers.IntegerField(source="register_id", read_only=True)
    shift = serializers.IntegerField(source="shift_id", read_only=True)
    cashier = serializers.IntegerField(source="cashier_id", read_only=True)
    lines = OrderLineSerializer(many=True, read_only=True)
    subtotal = money_field(read_only=True)
    promotion_total = money_field(read_only=True, help_text=PROMOTION_TOTAL_HELP)
    promotions = PromotionSnapshotField(read_only=True, help_text=PROMOTIONS_HELP)
    discount_total = money_field(read_only=True)
    tax_total = money_field(read_only=True)
    total = money_field(read_only=True)
    rounding = money_field(
        read_only=True,
        help_text="Cash rounding (signed; 0 without cash or with the store's rounding off).",
    )
    returned_total = money_field(
        read_only=True,
        help_text="An exchange (`returns` on the sale): what the returned goods were worth, "
        "which paid that much of the sale; 0 otherwise.",
    )
    total_due = money_field(
        read_only=True,
        help_text="total − returned_total + rounding: what the payments add up to (negative: "
        "what an exchange paid back).",
    )
    payments = PaymentSerializer(many=True, read_only=True)
    paid_total = money_field(read_only=True)
    tips_total = money_field(read_only=True, help_text="Σ tips (outside the total).")
    change_due = money_field(read_only=True)
    refunded_total = money_field(
        read_only=True, help_text="What refunds of this order have returned so far."
    )
    voided_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When the order was voided; null otherwise."
    )
    voided_by = serializers.IntegerField(
        source="voided_by_id",
        read_only=True,
        allow_null=True,
        help_text="Who voided it (user id); null unless voided.",
    )
    void_reason = serializers.CharField(
        read_only=True, allow_null=True, help_text="Why it was voided; null unless voided."
    )
    customer = serializers.IntegerField(
        source="customer_id", read_only=True, allow_null=True, help_text="The customer's id."
    )
    tax_exempt_id = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="The tax exemption id the sale was made under (no tax on any line); null "
        "for a taxed sale.",
    )
    points_earned = serializers.IntegerField(
        read_only=True,
        help_text="Loyalty points the customer earned with this sale: floor((total − what gift "
        "cards, store credit, points and returned goods paid) × the store's "
        "`loyalty_points_per_unit`); refunds take them back pro rata.",
    )

    class Meta:
        model = Order
        fields = (
            "id",
            "number",
            "store",
            "register",
            "shift",
            "cashier",
            "status",
            "created_at",
            "client_created_at",
            "late",
            "currency",
            "prices_include_tax",
            "lines",
            "subtotal",
            "promotion_total",
            "promotions",
            "discount_total",
            "tax_total",
            "total",
            "returned_total",
            "rounding",
            "total_due",
            "payments",
            "paid_total",
            "tips_total",
            "change_due",
            "refunded_total",
            "voided_at",
            "voided_by",
            "void_reason",
            "customer",
            "tax_exempt_id",
            "points_earned",
        )
        read_only_fields = fields


class OrderVoidInputSerializer(serializers.Serializer):
    reason = serializers.CharField(
        max_length=255, help_text="Why the sale is voided (kept on the order and in the audit)."
    )


class QuoteLineSerializer(serializers.Serializer):
    product = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = quantity_field()
    unit_price = money_field(help_text="The product's price in the store plus the modifiers'.")
    modifiers = ModifierSnapshotField(help_text=MODIFIERS_HELP)
    gross = money_field()
    promotion = serializers.IntegerField(allow_null=True, help_text=PROMOTION_HELP)
    promotion_name = serializers.CharField(help_text="The promotion's name.")
    promotion_discount = money_field(help_text="What the promotion took off the line's gross.")
    discount = money_field(help_text="The line's own discount plus its share.")
    net = money_field()
    tax_rate = rate_field()
    tax = money_field()
    total = money_field()


class QuoteSerializer(CurrencyScoped, serializers.Serializer):
    """What a sale of this basket would be now: the same lines and totals as the order."""

    store = serializers.IntegerField()
    register = serializers.IntegerField()
    currency = serializers.CharField()
    prices_include_tax = serializers.BooleanField()
    lines = QuoteLineSerializer(many=True)
    subtotal = money_field()
    promotion_total = money_field(help_text=PROMOTION_TOTAL_HELP)
    promotions = PromotionSnapshotField(help_text=PROMOTIONS_HELP)
    discount_total = money_field()
    tax_total = money_field()
    total = money_field()
    rounding = money_field(
        help_text="The rounding a payment all in cash would get (the store's cash_rounding)."
    )
    total_due = money_field(help_text="total + rounding: what an all-cash payment would be.")
    customer = serializers.IntegerField(allow_null=True, help_text="The customer's id.")
    tax_exempt_id = serializers.CharField(
        allow_null=True,
        help_text="The customer's tax exemption id when they are exempt (no tax); else null.",
    )


def quote_representation(quote: Any) -> dict[str, Any]:
    """`orders.services.sales.SaleQuote` → the dict `QuoteSerializer` renders."""
    priced = quote.priced
    return {
        "store": quote.store.pk,
        "register": quote.register.pk,
        "currency": quote.store.currency,
        "prices_include_tax": priced.prices_include_tax,
        "lines": [
            {
                "product": product.pk,
                "sku": product.sku,
                "name": product.name,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "modifiers": modifiers,
                "gross": line.gross,
                "promotion": line.promotion.id if line.promotion is not None else None,
                "promotion_name": line.promotion.name if line.promotion is not None else "",
                "promotion_discount": line.promotion_discount,
                "discount": line.discount,
                "net": line.net,
                "tax_rate": line.tax_rate,
                "tax": line.tax,
                "total": line.total,
            }
            for product, line, modifiers in zip(
                quote.products, priced.lines, quote.modifiers, strict=True
            )
        ],
        "subtotal": priced.subtotal,
        "promotion_total": priced.promotion_total,
        "promotions": quote.promotions_snapshot(),
        "discount_total": priced.discount_total,
        "tax_total": priced.tax_total,
        "total": priced.total,
        "rounding": quote.cash_rounding,
        "total_due": priced.total + quote.cash_rounding,
        "customer": quote.customer.pk if quote.customer is not None else None,
        "tax_exempt_id": quote.customer.tax_exempt_id
        if quote.customer is not None and quote.customer.tax_exempt
        else None,
    }
