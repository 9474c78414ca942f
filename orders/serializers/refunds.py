"""Input and output shapes of refunds. No side effects: the view hands validated data to
`orders.services.refunds.refund_create`."""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from apitools.validators import refuse_card_number
from money.fields import CurrencyScoped, money_field, quantity_field
from orders.models import Refund, RefundLine, RefundPayment


class RefundLineInputSerializer(serializers.Serializer):
    line = serializers.IntegerField(min_value=1, help_text="The id of a line of this order.")
    quantity = quantity_field(
        min_value=Decimal("0.001"), help_text="How much of the line to refund (≤ 3 decimals)."
    )


#: The methods a refund may name in `tenders` (the schema's `RefundTenderMethodEnum`).
REFUND_TENDER_METHODS: tuple[str, ...] = (
    "cash",
    "card",
    "other",
    "gift_card",
    "store_credit",
    "points",
)


class RefundTenderInputSerializer(serializers.Serializer):
    method = serializers.ChoiceField(
        choices=REFUND_TENDER_METHODS,
        help_text="`cash`, `card`, `other` or `gift_card` (back onto the card that paid): up to "
        "what that tender paid less what was already returned to it. `store_credit`: onto the "
        "customer's store credit (the order's customer, or `customer`), whatever paid.",
    )
    amount = money_field(
        min_value=Decimal("0.001"),
        help_text="What goes back to this tender, in the store currency's minor units.",
    )


class RefundCreateSerializer(serializers.Serializer):
    # A ListField (not `many=True`) so an empty list is reported on `lines` itself.
    lines = serializers.ListField(
        child=RefundLineInputSerializer(), allow_empty=False, max_length=1000
    )
    restock = serializers.BooleanField(
        required=False,
        default=True,
        help_text="Put the refunded quantities back into stock (default true).",
    )
    reason = serializers.CharField(
        max_length=255,
        required=False,
        allow_blank=True,
        default="",
        validators=[refuse_card_number],
    )
    register = serializers.IntegerField(
        required=False,
        min_value=1,
        help_text="The register whose open shift's drawer pays out the cash part (an active "
        "register of the order's store); default: the order's register.",
    )
    tenders = serializers.ListField(
        child=RefundTenderInputSerializer(),
        required=False,
        allow_empty=True,
        max_length=10,
        help_text="Where the money goes back, adding up exactly to the refund's total, each "
        "method at most once. Without it: card, gift card, store credit, other, then cash.",
    )
    customer = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=2**63 - 1,
        help_text="Who receives the `store_credit` part of an order without a customer (the "
        "order's customer otherwise; another one → 400).",
    )


class RefundLineSerializer(serializers.ModelSerializer):
    line = serializers.IntegerField(source="order_line_id", read_only=True)
    quantity = quantity_field(read_only=True)
    net = money_field(read_only=True)
    tax = money_field(read_only=True)
    total = money_field(read_only=True)

    class Meta:
        model = RefundLine
        fields = ("line", "quantity", "net", "tax", "total")
        read_only_fields = fields


class RefundPaymentSerializer(serializers.ModelSerializer):
    amount = money_field(read_only=True)

    class Meta:
        model = RefundPayment
        fields = ("method", "amount")
        read_only_fields = fields


class RefundSerializer(CurrencyScoped, serializers.ModelSerializer):
    currency_source = "order.currency"

    lines = RefundLineSerializer(many=True, read_only=True)
    payments = RefundPaymentSerializer(
        many=True,
        read_only=True,
        help_text="Where the money went back: the tenders the request chose, else the original "
        "tenders, card, then other, then cash; `exchange` for the goods an exchange returned "
        "(their value paid the `exchange_order`).",
    )
    exchange_order = serializers.IntegerField(
        source="exchange_order_id",
        read_only=True,
        allow_null=True,
        help_text="An exchange: the sale these returned goods paid for; null for a refund.",
    )
    net_total = money_field(read_only=True)
    tax_total = money_field(read_only=True)
    total = money_field(read_only=True)
    shift = serializers.IntegerField(
        source="shift_id",
        read_only=True,
        allow_null=True,
        help_text=(
            "The open shift of the register that paid out (the request's `register`, default the "
            "order's) when the refund was issued; its drawer paid out the cash part. Null when "
            "that register had no open shift (no cash refunded)."
        ),
    )

    class Meta:
        model = Refund
        fields = (
            "id",
            "number",
            "order",
            "exchange_order",
            "store",
            "shift",
            "lines",
            "net_total",
            "tax_total",
            "total",
            "payments",
            "restock",
            "reason",
            "created_by",
            "created_at",
        )
        read_only_fields = fields
