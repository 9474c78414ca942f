"""Input and output shapes of returns without a receipt. No side effects: the view hands
validated data to `orders.services.returns.return_create`."""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from apitools.validators import refuse_card_number
from money.fields import CurrencyScoped, money_field, quantity_field, rate_field
from orders.models import Return, ReturnLine, ReturnPayment


class ReturnLineInputSerializer(serializers.Serializer):
    product = serializers.IntegerField(min_value=1, help_text="The returned product's id.")
    quantity = quantity_field(
        min_value=Decimal("0.001"), help_text="How much comes back (≤ 3 decimals)."
    )
    unit_price = money_field(
        required=False,
        allow_null=True,
        min_value=Decimal("0"),
        help_text="The price per unit paid back; default and maximum: the product's current "
        "price. In the store currency's minor units.",
    )


class ReturnTenderInputSerializer(serializers.Serializer):
    # A plain string, so the service names what is wrong with it.
    method = serializers.CharField(
        max_length=32,
        help_text="`cash`, `card`, `other` or `store_credit` (onto the return's `customer`'s "
        "store credit; without `customer` → 400).",
    )
    amount = money_field(min_value=Decimal("0"), help_text="More than zero.")


class ReturnCreateSerializer(serializers.Serializer):
    register = serializers.IntegerField(min_value=1, help_text="The register taking it back.")
    # A ListField (not `many=True`) so an empty list is reported on `lines` itself.
    lines = serializers.ListField(
        child=ReturnLineInputSerializer(), allow_empty=False, max_length=1000
    )
    restock = serializers.BooleanField(
        required=False,
        default=True,
        help_text="Put stock-tracked products back into stock (default true).",
    )
    reason = serializers.CharField(
        max_length=255,
        required=False,
        allow_blank=True,
        default="",
        validators=[refuse_card_number],
    )
    customer = serializers.IntegerField(
        min_value=1,
        max_value=2**63 - 1,
        required=False,
        allow_null=True,
        default=None,
        help_text="The customer's id; unknown or erased → 400. A tax-exempt customer's return "
        "gives back no tax.",
    )
    tenders = serializers.ListField(
        child=ReturnTenderInputSerializer(),
        required=False,
        allow_empty=False,
        max_length=20,
        help_text="Where the money goes, adding up to the total exactly; default: all cash.",
    )


class ReturnLineSerializer(serializers.ModelSerializer):
    product = serializers.IntegerField(source="product_id", read_only=True)
    quantity = quantity_field(read_only=True)
    unit_price = money_field(read_only=True)
    tax_rate = rate_field(read_only=True)
    net = money_field(read_only=True)
    tax = money_field(read_only=True)
    total = money_field(read_only=True)

    class Meta:
        model = ReturnLine
        fields = ("product", "quantity", "unit_price", "tax_rate", "net", "tax", "total")
        read_only_fields = fields


class ReturnTenderSerializer(serializers.ModelSerializer):
    amount = money_field(read_only=True)

    class Meta:
        model = ReturnPayment
        fields = ("method", "amount")
        read_only_fields = fields


class ReturnSerializer(CurrencyScoped, serializers.ModelSerializer):
    currency_source = "store.currency"

    lines = ReturnLineSerializer(many=True, read_only=True)
    tenders = ReturnTenderSerializer(
        source="payments", many=True, read_only=True, help_text="Where the money went."
    )
    net_total = money_field(read_only=True)
    tax_total = money_field(read_only=True)
    total = money_field(read_only=True)
    shift = serializers.IntegerField(
        source="shift_id",
        read_only=True,
        allow_null=True,
        help_text="The register's open shift at the time; its drawer paid out the cash part. "
        "Null when it had none (nothing paid in cash).",
    )
    customer = serializers.IntegerField(
        source="customer_id", read_only=True, allow_null=True, help_text="The customer's id."
    )

    class Meta:
        model = Return
        fields = (
            "id",
            "number",
            "store",
            "register",
            "shift",
            "lines",
            "net_total",
            "tax_total",
            "total",
            "tenders",
            "restock",
            "reason",
            "customer",
            "created_by",
            "created_at",
        )
        read_only_fields = fields
