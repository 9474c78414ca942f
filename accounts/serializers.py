"""Input and output shapes of accounts and auth. No side effects: views pass `validated_data` to
`accounts.services`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from accounts.models import Register, Role, Store, User
from accounts.selectors import store_list
from accounts.services import STORE_FIELDS
from apitools.validators import refuse_card_number
from money.fields import CurrencyScoped, money_field

# --- Auth ---------------------------------------------------------------------------------------


class TokenObtainSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(
        write_only=True, trim_whitespace=False, max_length=4096, style={"input_type": "password"}
    )


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField(read_only=True, help_text="Access JWT (15 minutes).")
    refresh = serializers.CharField(read_only=True, help_text="Refresh JWT (30 days, one use).")


class TokenRefreshSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096)


class LogoutSerializer(serializers.Serializer):
    refresh = serializers.CharField(max_length=4096)


class PinSetSerializer(serializers.Serializer):
    password = serializers.CharField(write_only=True, style={"input_type": "password"})
    pin = serializers.CharField(
        write_only=True, min_length=4, max_length=8, help_text="4 to 8 digits."
    )


class PasswordChangeSerializer(serializers.Serializer):
    old_password = serializers.CharField(
        write_only=True, trim_whitespace=False, max_length=4096, style={"input_type": "password"}
    )
    new_password = serializers.CharField(
        write_only=True, trim_whitespace=False, max_length=4096, style={"input_type": "password"}
    )


class MeSerializer(serializers.ModelSerializer):
    stores: Any = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = User
        fields = ("id", "username", "role", "stores")
        read_only_fields = fields


# --- Users --------------------------------------------------------------------------------------


class UserSerializer(serializers.ModelSerializer):
    """`password` is write-only and checked by Django's password validators (in the service).
    Whether the caller may set `role`, `stores` and `is_active` is decided by the service."""

    password = serializers.CharField(
        write_only=True,
        required=False,
        trim_whitespace=False,
        max_length=4096,
        style={"input_type": "password"},
    )
    role = serializers.ChoiceField(choices=Role.choices, required=False)
    stores = serializers.PrimaryKeyRelatedField(
        many=True, queryset=Store.objects.all(), required=False
    )
    is_active = serializers.BooleanField(required=False)

    class Meta:
        model = User
        fields = ("id", "username", "password", "role", "stores", "is_active")
        read_only_fields = ("id",)


class UserCreateSerializer(UserSerializer):
    password = serializers.CharField(
        write_only=True,
        required=True,
        trim_whitespace=False,
        max_length=4096,
        style={"input_type": "password"},
    )

    class Meta(UserSerializer.Meta):
        pass


# --- Stores and registers -----------------------------------------------------------------------


class StoreSerializer(CurrencyScoped, serializers.ModelSerializer):
    cash_rounding = money_field(
        min_value=Decimal(0),
        max_digits=6,
        required=False,
        help_text='Step the cash part of a sale is rounded to ("0.05", "1" …); "0.00" '
        "is off (the default).",
    )

    loyalty_points_per_unit = serializers.DecimalField(
        max_digits=9,
        decimal_places=3,
        min_value=Decimal(0),
        required=False,
        help_text='Loyalty points earned per 1 unit of currency paid with money; "0.000" is off '
        "(the default). Needs `loyalty_point_value`.",
    )
    loyalty_point_value = money_field(
        min_value=Decimal(0),
        max_digits=9,
        required=False,
        help_text='What one point is worth in the store\'s currency, in its minor units ("0.01": '
        "100 points are 1.00).",
    )

    class Meta:
        model = Store
        fields = ("id", *STORE_FIELDS)
        read_only_fields = ("id",)

    def validate_name(self, value: str) -> str:
        refuse_card_number(value)
        return value


class RegisterSerializer(serializers.ModelSerializer):
    """`store` must be one of the caller's stores (another store's id is `400`, as if it did not
    exist). A register never moves: on update `store` is ignored."""

    store = serializers.PrimaryKeyRelatedField(queryset=Store.objects.none())

    class Meta:
        model = Register
        fields = ("id", "store", "code", "name", "is_active")
        read_only_fields = ("id",)

    def validate_name(self, value: str) -> str:
        refuse_card_number(value)
        return value

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        store_field = self.fields["store"]
        if self.instance is not None:
            store_field.read_only = True
        elif request is not None and request.user.is_authenticated:
            store_field.queryset = store_list(user=request.user)  # type: ignore[attr-defined]
