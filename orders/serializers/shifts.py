"""Input and output shapes of shifts, cash movements and the X/Z report. No side effects here:
views pass validated data to `orders.services.shifts`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from accounts.models import Register
from accounts.selectors import register_list
from apitools.validators import refuse_card_number
from money.fields import CurrencyScoped, money_field, rate_field
from orders.models import CashMovement, CashMovementKind, Shift


class ShiftSerializer(CurrencyScoped, serializers.ModelSerializer):
    """A shift as answered by every shift endpoint. The close fields are `null` while open."""

    currency_source = "store.currency"

    opening_float = money_field(read_only=True)
    expected_cash = money_field(read_only=True, allow_null=True)
    counted_cash = money_field(read_only=True, allow_null=True)
    difference = money_field(
        read_only=True,
        allow_null=True,
        help_text="counted_cash − expected_cash: positive is over, negative is short.",
    )

    class Meta:
        model = Shift
        fields = (
            "id",
            "store",
            "register",
            "status",
            "opened_by",
            "opened_at",
            "opening_float",
            "closed_by",
            "closed_at",
            "expected_cash",
            "counted_cash",
            "difference",
        )
        read_only_fields = fields


class ShiftOpenSerializer(serializers.Serializer):
    register = serializers.PrimaryKeyRelatedField(
        queryset=Register.objects.none(),
        help_text="An active register of one of your stores.",
    )
    opening_float = money_field(min_value=Decimal("0.00"), help_text="Cash in the drawer.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        field = self.fields["register"]
        if request is not None and request.user.is_authenticated:
            # Another store's register does not exist for this user (no leak of its existence).
            field.queryset = register_list(user=request.user)  # type: ignore[attr-defined]

    def validate_register(self, register: Register) -> Register:
        if not register.is_active:
            raise serializers.ValidationError("This register is not active.")
        return register


class CashMovementCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=CashMovementKind.choices)
    amount = money_field(min_value=Decimal("0.01"))
    reason = serializers.CharField(
        max_length=255,
        allow_blank=True,
        required=False,
        default="",
        validators=[refuse_card_number],
    )


class CashMovementSerializer(CurrencyScoped, serializers.ModelSerializer):
    currency_source = "shift.store.currency"

    amount = money_field(read_only=True)

    class Meta:
        model = CashMovement
        fields = ("id", "shift", "kind", "amount", "reason", "created_by", "created_at")
        read_only_fields = fields


class ShiftCloseSerializer(serializers.Serializer):
    counted_cash = money_field(
        min_value=Decimal("0.00"), help_text="The cash counted in the drawer at close."
    )


class ShiftTenderTotalsSerializer(serializers.Serializer):
    cash = money_field()
    card = money_field()
    other = money_field()
    gift_card = money_field()
    store_credit = money_field()
    points = money_field()


class ShiftTaxRateTotalSerializer(serializers.Serializer):
    rate = rate_field()
    net = money_field()
    tax = money_field()


class ShiftRefundsSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    net = money_field()
    tax = money_field()
    total = money_field()
    by_tender = ShiftTenderTotalsSerializer()


class ShiftReturnsSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Returns without a receipt taken on this shift.")
    total = money_field(help_text="Σ their totals.")
    cash = money_field(help_text="The cash they paid out of this drawer.")


class ShiftLateSaleSerializer(serializers.Serializer):
    order = serializers.IntegerField()
    number = serializers.CharField()
    total = money_field()
    created_at = serializers.DateTimeField(help_text="When it reached the server.")
    client_created_at = serializers.DateTimeField(allow_null=True)


class ShiftCashierTipsSerializer(serializers.Serializer):
    cashier = serializers.IntegerField()
    tips = money_field()


class ShiftCashSerializer(serializers.Serializer):
    opening_float = money_field()
    cash_sales = money_field(help_text="Σ cash tender amounts (tips excluded).")
    cash_tips = money_field(help_text="Σ tips paid in cash (they stay in the drawer).")
    cash_tendered = money_field(help_text="Cash taken from customers.")
    change_given = money_field()
    cash_refunded = money_field(help_text="Cash paid out by refunds attached to this shift.")
    cash_in = money_field()
    cash_out = money_field()
    gift_card_cash = money_field(
        help_text="Cash that paid for gift cards sold on this shift (in the drawer; not sales)."
    )


class ShiftReportSerializer(CurrencyScoped, serializers.Serializer):
    """The X report (`type: "X"`, shift open, figures so far) or Z report (`type: "Z"`, shift
    closed, final). Sales figures cover the shift's orders; refunds cover the refunds attached to
    the shift (those issued while it was the open shift of the order's register)."""

    type = serializers.ChoiceField(choices=(("X", "X report"), ("Z", "Z report")))
    shift = serializers.IntegerField()
    store = serializers.IntegerField()
    register = serializers.IntegerField()
    status = serializers.CharField()
    opened_by = serializers.IntegerField()
    opened_at = serializers.DateTimeField()
    closed_by = serializers.IntegerField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    generated_at = serializers.DateTimeField()
    orders_count = serializers.IntegerField(help_text="The shift's orders, voided ones left out.")
    subtotal = money_field(help_text="Σ gross of the shift's orders (voided ones left out).")
    discount_total = money_field()
    tax_total = money_field()
    total = money_field(help_text="Σ order totals (before refunds), voided orders left out.")
    voids_count = serializers.IntegerField(help_text="Orders of the shift that were voided.")
    voids_total = money_field(help_text="Σ totals of the voided orders (not in `total`).")
    rounding_total = money_field(help_text="Σ cash rounding of the shift's orders (signed).")
    tips_total = money_field(help_text="Σ tips, every tender (outside the order totals).")
    tips_by_cashier = ShiftCashierTipsSerializer(many=True)
    late_sales = ShiftLateSaleSerializer(
        many=True,
        help_text="Offline sales synced after the shift closed (their cash was in the count; "
        "each posted Dr 6900 / Cr 1000 for it). Not in the cash figures.",
    )
    by_tender = ShiftTenderTotalsSerializer(help_text="Sales by tender (amount applied).")
    tax_by_rate = ShiftTaxRateTotalSerializer(many=True)
    refunds = ShiftRefundsSerializer()
    returns = ShiftReturnsSerializer(
        help_text="Returns without a receipt attached to the shift (`POST /returns/`)."
    )
    cash = ShiftCashSerializer()
    expected_cash = money_field(
        help_text="opening float + cash taken (amounts and tips) − change given − cash refunded "
        "− cash paid out by returns (`returns.cash`) + cash in − cash out"
    )
    counted_cash = money_field(allow_null=True, help_text="Z report only.")
    difference = money_field(allow_null=True, help_text="counted − expected; Z report only.")
