"""Input and output shapes of held (parked) orders (contract: docs/API.md "Register flows").

The input is a quote's basket plus a note and a customer (`/api/v1/customers/`; a tax-exempt one's
basket is priced without tax, as a quote is). The output is the held order as priced, its money
with the store currency's minor units."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

from money import ZERO
from money.fields import CurrencyScoped, money_field
from orders.models import MAX_ORDER_AMOUNT, MIN_ORDER_AMOUNT, HeldOrder
from orders.serializers.sales import (
    QuoteLineSerializer,
    SaleLineInputSerializer,
    sale_line_requests,
)
from orders.services.sales import SaleLineRequest

__all__ = ["HeldOrderInputSerializer", "HeldOrderSerializer"]


class HeldOrderInputSerializer(serializers.Serializer):
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
        help_text="Order discount, spread over the lines as on a sale.",
    )
    customer = serializers.IntegerField(
        min_value=1,
        max_value=2**63 - 1,
        required=False,
        allow_null=True,
        default=None,
        help_text="The customer's id; unknown or erased → 400. The completing sale is the "
        "customer's unless it names another.",
    )
    note = serializers.CharField(max_length=255, allow_blank=True, default="")

    def validate_lines(self, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if len(value) > settings.API_MAX_ORDER_LINES:
            raise serializers.ValidationError(
                f"At most {settings.API_MAX_ORDER_LINES} lines per order."
            )
        return value

    def line_requests(self) -> list[SaleLineRequest]:
        return sale_line_requests(self.validated_data["lines"])


class HeldOrderLineSerializer(QuoteLineSerializer):
    line_discount = money_field(help_text="The line's own discount, as requested.")


class HeldOrderSerializer(CurrencyScoped, serializers.ModelSerializer):
    register = serializers.IntegerField(source="register_id", read_only=True)
    lines = HeldOrderLineSerializer(many=True, read_only=True)
    subtotal = money_field(read_only=True)
    discount_total = money_field(read_only=True)
    tax_total = money_field(read_only=True)
    total = money_field(read_only=True)
    customer = serializers.IntegerField(
        source="customer_id", read_only=True, allow_null=True, help_text="The customer's id."
    )
    held_by = serializers.IntegerField(source="held_by_id", read_only=True)

    class Meta:
        model = HeldOrder
        fields = (
            "id",
            "register",
            "lines",
            "subtotal",
            "discount_total",
            "tax_total",
            "total",
            "note",
            "customer",
            "held_by",
            "held_at",
        )
        read_only_fields = fields
