"""Input and output shapes of `/api/v1/customers/`. No side effects: the views call the
services, which normalise and check the same rules again for the admin's sake."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rest_framework import serializers

from apitools.validators import refuse_card_number
from customers.contact import (
    CODE_MAX_LENGTH,
    EMAIL_MAX_LENGTH,
    normalize_code,
    normalize_email,
    normalize_phone,
)
from customers.models import Customer
from money.fields import CurrencyScoped, money_field

__all__ = ["CustomerSerializer"]

_TEXT_FIELDS = ("code", "name", "email", "phone", "tax_exempt_id")


def _normalized(clean: Callable[[str], str], value: str) -> str:
    try:
        return clean(value)
    except ValueError as exc:
        raise serializers.ValidationError(str(exc)) from None


class CustomerSerializer(CurrencyScoped, serializers.ModelSerializer):
    # The store credit renders in its own currency's minor units once it has one.
    currency_source = "store_credit_currency"

    code = serializers.CharField(
        max_length=CODE_MAX_LENGTH,
        required=False,
        allow_blank=True,
        help_text="Unique, any case (stored upper case): letters, digits, - and _. Generated "
        "(`C` + 8 characters) when left out or blank on creation.",
    )
    name = serializers.CharField(max_length=200, validators=[refuse_card_number])
    email = serializers.CharField(
        max_length=EMAIL_MAX_LENGTH,
        required=False,
        allow_blank=True,
        help_text="A valid address, or blank; the domain is stored in lower case.",
    )
    phone = serializers.CharField(
        max_length=32,
        required=False,
        allow_blank=True,
        help_text="Digits with spaces, ( ) . / - between them and an optional leading +; "
        "stored as + and 5–15 digits (`+1 (555) 010-0199` → `+15550100199`), or blank.",
    )
    tax_exempt = serializers.BooleanField(
        required=False,
        help_text="Sales and quotes naming this customer carry no tax (every line at 0 %).",
    )
    tax_exempt_id = serializers.CharField(
        max_length=64,
        required=False,
        allow_blank=True,
        validators=[refuse_card_number],
        help_text="The exemption certificate or number; required when `tax_exempt`. Kept on "
        "each tax-exempt order.",
    )
    store_credit = money_field(
        read_only=True, help_text="The customer's store-credit balance (read-only)."
    )
    loyalty_points = serializers.IntegerField(
        read_only=True, help_text="The customer's points balance (read-only)."
    )
    erased_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="When the customer was erased (`DELETE`); null otherwise.",
    )

    class Meta:
        model = Customer
        fields = (
            "id",
            "code",
            "name",
            "email",
            "phone",
            "tax_exempt",
            "tax_exempt_id",
            "store_credit",
            "loyalty_points",
            "created_at",
            "erased_at",
        )
        read_only_fields = ("id", "store_credit", "loyalty_points", "created_at", "erased_at")

    def to_internal_value(self, data: Any) -> Any:
        # JSON types as the schema says them: DRF would take `"name": 7` as "7" and
        # `"tax_exempt": "yes"` as true; a register sending those has a bug worth hearing of.
        if isinstance(data, dict):
            errors = {
                name: [f"Must be {kind}."]
                for name, kind, ok in (
                    *((name, "a string", str) for name in _TEXT_FIELDS),
                    ("tax_exempt", "true or false", bool),
                )
                if name in data and data[name] is not None and not isinstance(data[name], ok)
            }
            if errors:
                raise serializers.ValidationError(errors)
        return super().to_internal_value(data)

    def validate_code(self, value: str) -> str | None:
        if not value.strip():
            return None if self.instance is None else self.instance.code
        return _normalized(normalize_code, value)

    def validate_name(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError("This field may not be blank.")
        return value

    def validate_email(self, value: str) -> str:
        return _normalized(normalize_email, value)

    def validate_phone(self, value: str) -> str:
        return _normalized(normalize_phone, value)

    def validate_tax_exempt_id(self, value: str) -> str:
        return value.strip()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        instance = self.instance

        def final(field: str) -> Any:
            if field in attrs:
                return attrs[field]
            return getattr(instance, field) if instance is not None else None

        if final("tax_exempt") and not final("tax_exempt_id"):
            raise serializers.ValidationError(
                {"tax_exempt_id": ["Required when the customer is tax exempt."]}
            )
        return attrs
