"""Input and output shapes of the catalog API. No side effects: the views call the services."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from rest_framework import serializers

from accounts.models import Role
from apitools.fields import StrictBooleanField, StrictCharField
from apitools.rendering import CompiledRepresentation
from apitools.validators import refuse_card_number
from catalog.models import (
    ADJUSTMENT_REASONS,
    Category,
    Modifier,
    ModifierGroup,
    Product,
    StockLevel,
    StockMovement,
    TaxRate,
)
from catalog.services.products import EDITABLE_FIELDS
from money.fields import (
    CurrencyScoped,
    catalog_price_field,
    money_field,
    quantity_field,
    rate_field,
)


def can_see_cost(context: Mapping[str, Any]) -> bool:
    """Cost is for managers and admins. Without a request (admin, import, cache fill) the full
    shape is produced and the view strips it for cashiers."""
    if context.get("include_cost"):
        return True
    request = context.get("request")
    if request is None:
        return True
    return getattr(request.user, "role", None) in (Role.ADMIN, Role.MANAGER)


class TaxRateSerializer(serializers.ModelSerializer):
    rate = rate_field(
        min_value=Decimal("0"),
        max_value=Decimal("99.999"),
        help_text='Per cent, as a string: "8.250" is 8.25 %.',
    )

    class Meta:
        model = TaxRate
        fields = ("id", "name", "rate")
        read_only_fields = ("id",)

    def validate_name(self, value: str) -> str:
        refuse_card_number(value)
        return value


class CategorySerializer(serializers.ModelSerializer):
    # The field is called `parent` by the contract; the stubs also know `Field.parent`.
    parent = serializers.PrimaryKeyRelatedField(  # type: ignore[assignment]
        queryset=Category.objects.all(), allow_null=True, required=False
    )

    class Meta:
        model = Category
        fields = ("id", "name", "parent")
        read_only_fields = ("id",)

    def validate_name(self, value: str) -> str:
        refuse_card_number(value)
        return value

    def validate_parent(self, parent: Category | None) -> Category | None:
        if parent is not None and self.instance is not None and parent.pk == self.instance.pk:
            raise serializers.ValidationError("A category cannot be its own parent.")
        return parent


class ProductSerializer(CompiledRepresentation, serializers.ModelSerializer):
    """`cost` is left out for cashiers (field-level, by role); `version` and `updated_at` are
    read-only (the server takes the version from the catalog counter)."""

    barcode = serializers.CharField(
        max_length=64, allow_null=True, allow_blank=True, required=False, default=None
    )
    price = catalog_price_field(min_value=Decimal("0"))
    cost = catalog_price_field(min_value=Decimal("0"), required=False)
    category = serializers.PrimaryKeyRelatedField(
        queryset=Category.objects.all(), allow_null=True, required=False
    )
    tax_rate = serializers.PrimaryKeyRelatedField(queryset=TaxRate.objects.all())
    variant_of = serializers.PrimaryKeyRelatedField(
        queryset=Product.objects.all(),
        allow_null=True,
        required=False,
        help_text="The template product this one is a variant of (one level only).",
    )
    options = serializers.DictField(
        child=serializers.CharField(max_length=120),
        required=False,
        help_text='What sets a variant apart from its siblings: {"size": "M", "color": "red"}.',
    )
    scale_code = serializers.CharField(
        max_length=12,
        allow_null=True,
        allow_blank=True,
        required=False,
        help_text="The item code a scale label carries (the store's `scale_barcode_layout`).",
    )
    is_template = serializers.BooleanField(
        read_only=True, help_text="Some product is a variant of this one: not sellable."
    )
    modifier_groups = serializers.PrimaryKeyRelatedField(
        many=True,
        queryset=ModifierGroup.objects.all(),
        required=False,
        help_text="Ids of the modifier groups a sale line of this product chooses from.",
    )

    class Meta:
        model = Product
        fields: tuple[str, ...] = (
            "id",
            *EDITABLE_FIELDS,
            "is_template",
            "version",
            "updated_at",
        )
        read_only_fields = ("id", "is_template", "version", "updated_at")

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        if not can_see_cost(self.context):
            fields.pop("cost", None)
        return fields

    def hidden_fields(self) -> frozenset[str]:
        # Rendered through `CompiledRepresentation` (a sync page of 200 products spent most of
        # its time in DRF's generic field walk); leaves out what `get_fields` drops.
        return frozenset() if self._shows_cost() else frozenset({"cost"})

    def _shows_cost(self) -> bool:
        # Decided once per serializer: a page of products shares one child serializer.
        shows = getattr(self, "_shows_cost_cached", None)
        if shows is None:
            shows = self._shows_cost_cached = can_see_cost(self.context)
        return shows

    def validate_sku(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError("This field may not be blank.")
        return value

    def validate_name(self, value: str) -> str:
        value = value.strip()
        if not value:
            raise serializers.ValidationError("This field may not be blank.")
        refuse_card_number(value)
        return value

    def validate_barcode(self, value: str | None) -> str | None:
        value = (value or "").strip() or None
        if value is not None:
            clash = Product.objects.filter(barcode=value)
            if self.instance is not None:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                raise serializers.ValidationError("A product with this barcode already exists.")
        return value

    def validate_scale_code(self, value: str | None) -> str | None:
        value = (value or "").strip() or None
        if value is not None:
            if not value.isdigit():
                raise serializers.ValidationError("Digits only.")
            clash = Product.objects.filter(scale_code=value)
            if self.instance is not None:
                clash = clash.exclude(pk=self.instance.pk)
            if clash.exists():
                raise serializers.ValidationError("A product with this scale code already exists.")
        return value

    def validate_options(self, value: dict[str, str]) -> dict[str, str]:
        for key, text in value.items():
            if not key.strip():
                raise serializers.ValidationError("Option names may not be blank.")
            refuse_card_number(key)
            refuse_card_number(text)
        return value


class ModifierSerializer(serializers.ModelSerializer):
    """A modifier in its group; on write, `id` names an existing one of the group (updated),
    without it one is created."""

    id = serializers.IntegerField(required=False)
    price_delta = catalog_price_field(help_text="Added to the unit price; may be negative.")
    name = StrictCharField(max_length=120)
    is_active = StrictBooleanField(required=False, default=True)

    class Meta:
        model = Modifier
        fields = ("id", "name", "price_delta", "is_active")

    def validate_name(self, value: str) -> str:
        refuse_card_number(value)
        return value


class ModifierGroupSerializer(serializers.ModelSerializer):
    """`modifiers` is the group's whole list on write: listed ones (by `id`) are updated, new
    ones (no `id`) created, the others deactivated (never deleted: sales name them)."""

    modifiers = ModifierSerializer(many=True, required=False)
    min_choices = serializers.IntegerField(min_value=0, max_value=100, required=False)
    max_choices = serializers.IntegerField(min_value=1, max_value=100, required=False)
    name = StrictCharField(max_length=120)
    is_active = StrictBooleanField(required=False, default=True)

    class Meta:
        model = ModifierGroup
        fields = ("id", "name", "min_choices", "max_choices", "is_active", "version", "modifiers")
        read_only_fields = ("id", "version")

    def validate_name(self, value: str) -> str:
        refuse_card_number(value)
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        current = self.instance
        low = attrs.get("min_choices", current.min_choices if current else 0)
        high = attrs.get("max_choices", current.max_choices if current else 1)
        if low > high:
            raise serializers.ValidationError({"min_choices": ["Must not exceed max_choices."]})
        return attrs


class StockLevelSerializer(serializers.ModelSerializer):
    quantity = quantity_field(read_only=True)

    class Meta:
        model = StockLevel
        fields = ("store", "product", "quantity", "updated_at")
        read_only_fields = fields


class StockMovementSerializer(CurrencyScoped, serializers.ModelSerializer):
    currency_source = "store.currency"

    quantity_delta = quantity_field(read_only=True)
    quantity_after = quantity_field(read_only=True)
    unit_cost = money_field(read_only=True)

    class Meta:
        model = StockMovement
        fields = (
            "id",
            "store",
            "product",
            "quantity_delta",
            "quantity_after",
            "reason",
            "source_type",
            "source_id",
            "unit_cost",
            "note",
            "flagged",
            "user",
            "created_at",
        )
        read_only_fields = fields


class StockAdjustmentInputSerializer(serializers.Serializer):
    store = serializers.IntegerField(min_value=1)
    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all())
    quantity_delta = quantity_field()
    reason = serializers.ChoiceField(choices=[(r.value, r.label) for r in ADJUSTMENT_REASONS])
    note = serializers.CharField(
        max_length=255,
        allow_blank=True,
        required=False,
        default="",
        validators=[refuse_card_number],
    )

    def validate_quantity_delta(self, value: Decimal) -> Decimal:
        if value == 0:
            raise serializers.ValidationError("Must not be zero.")
        return value

    def validate_product(self, product: Product) -> Product:
        if not product.track_stock:
            raise serializers.ValidationError("This product does not track stock.")
        return product
