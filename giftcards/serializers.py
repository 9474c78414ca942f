"""Gift cards in the API. Only the issuing answer carries the full `code`."""

from __future__ import annotations

from rest_framework import serializers

from giftcards.models import GiftCard, GiftCardStatus
from giftcards.services import ISSUE_TENDERS
from money.fields import CurrencyScoped, money_field
from orders.models import MAX_ORDER_AMOUNT


class GiftCardIssuePaymentSerializer(serializers.Serializer):
    method = serializers.ChoiceField(choices=ISSUE_TENDERS)
    amount = money_field(min_value=0, max_value=MAX_ORDER_AMOUNT)
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


class GiftCardIssueSerializer(serializers.Serializer):
    register = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    amount = money_field(
        min_value=0, max_value=MAX_ORDER_AMOUNT, help_text="The card's value (> 0)."
    )
    payments = serializers.ListField(
        child=GiftCardIssuePaymentSerializer(),
        min_length=1,
        max_length=20,
        help_text="What paid for the card (cash, card or other); the amounts add up to `amount`.",
    )


class GiftCardSerializer(CurrencyScoped, serializers.ModelSerializer):
    balance = money_field(read_only=True)
    initial_amount = money_field(read_only=True)
    store = serializers.IntegerField(source="store_id", read_only=True)
    register = serializers.IntegerField(source="register_id", read_only=True)
    issued_by = serializers.IntegerField(source="issued_by_id", read_only=True)

    class Meta:
        model = GiftCard
        fields = (
            "id",
            "store",
            "register",
            "last4",
            "currency",
            "initial_amount",
            "balance",
            "status",
            "issued_at",
            "expires_at",
            "issued_by",
        )
        read_only_fields = fields


class GiftCardIssuedSerializer(CurrencyScoped, serializers.ModelSerializer):
    code = serializers.CharField(
        read_only=True,
        help_text="The full code (16 letters). Shown here only (and in this request's idempotent "
        "replay to the same user); afterwards only `last4`.",
    )
    balance = money_field(read_only=True)

    class Meta:
        model = GiftCard
        fields = ("id", "code", "last4", "balance", "currency", "issued_at", "expires_at")
        read_only_fields = fields


class GiftCardLookupSerializer(CurrencyScoped, serializers.Serializer):
    last4 = serializers.CharField(read_only=True)
    balance = money_field(read_only=True)
    currency = serializers.CharField(read_only=True)
    expires_at = serializers.DateTimeField(read_only=True, allow_null=True)
    status = serializers.ChoiceField(choices=GiftCardStatus.choices, read_only=True)
