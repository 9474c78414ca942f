"""Input and output shapes of price lists and promotions. No side effects: the views call the
services. Prices and money values render like product prices (two decimals, three when the
third is significant)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from accounts.models import Store
from apitools.fields import StrictBooleanField, StrictCharField
from apitools.validators import refuse_card_number
from catalog.models import Category, Product
from money.fields import catalog_price_field
from pricebook.models import PriceList, PriceListItem, Promotion, PromotionKind


class PriceListItemSerializer(serializers.ModelSerializer):
    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all())
    price = catalog_price_field(min_value=Decimal("0"))

    class Meta:
        model = PriceListItem
        fields = ("product", "price")


class PriceListSerializer(serializers.ModelSerializer):
    stores = serializers.PrimaryKeyRelatedField(
        queryset=Store.objects.all(),
        many=True,
        required=False,
        help_text="The stores it applies in; empty: every store.",
    )
    name = StrictCharField(max_length=120)
    is_active = StrictBooleanField(required=False, default=True)
    items = PriceListItemSerializer(
        many=True,
        required=False,
        help_text="Each product at most once. On update, `items` replaces the whole set.",
    )

    class Meta:
        model = PriceList
        fields = (
            "id",
            "name",
            "stores",
            "priority",
            "valid_from",
            "valid_to",
            "is_active",
            "version",
            "items",
        )
        read_only_fields = ("id", "version")

    def validate_name(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError("This field may not be blank.")
        refuse_card_number(value)
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _check_range(attrs, self.instance)
        return attrs


class PromotionSerializer(serializers.ModelSerializer):
    stores = serializers.PrimaryKeyRelatedField(
        queryset=Store.objects.all(),
        many=True,
        required=False,
        help_text="The stores it applies in; empty: every store.",
    )
    name = StrictCharField(max_length=120)
    kind = serializers.ChoiceField(choices=PromotionKind.choices)
    is_active = StrictBooleanField(required=False, default=True)
    products = serializers.PrimaryKeyRelatedField(
        queryset=Product.objects.all(), many=True, required=False
    )
    categories = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.all(),
        many=True,
        required=False,
        help_text="Every product of these categories and of their subcategories is eligible.",
    )
    value = catalog_price_field(
        min_value=Decimal("0"),
        help_text="`percent_off`, `buy_x_get_y`: per cent (0 < value ≤ 100, `100` = free); "
        "`amount_off`: money off each unit (> 0).",
    )
    days_of_week = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=7),
        required=False,
        help_text="ISO weekdays (1 = Monday … 7 = Sunday) in the store's local time; empty: "
        "every day.",
    )

    class Meta:
        model = Promotion
        fields = (
            "id",
            "name",
            "stores",
            "kind",
            "products",
            "categories",
            "x",
            "y",
            "value",
            "valid_from",
            "valid_to",
            "days_of_week",
            "start_time",
            "end_time",
            "priority",
            "is_active",
            "version",
        )
        read_only_fields = ("id", "version")
        extra_kwargs = {
            "start_time": {"help_text": "Store local time; open when null."},
            "end_time": {
                "help_text": "Store local time, exclusive; before `start_time` it spans midnight."
            },
        }

    def validate_name(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError("This field may not be blank.")
        refuse_card_number(value)
        return value

    def validate_days_of_week(self, value: list[int]) -> list[int]:
        return sorted(set(value))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        _check_range(attrs, self.instance)
        return attrs


def _check_range(attrs: dict[str, Any], instance: Any) -> None:
    start = attrs.get("valid_from", getattr(instance, "valid_from", None))
    end = attrs.get("valid_to", getattr(instance, "valid_to", None))
    if start is not None and end is not None and start >= end:
        raise serializers.ValidationError({"valid_to": ["Must be after valid_from."]})
