"""Products, taxes, categories, and stock per store with a movement row for every change."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from accounts.models import Store
from money.fields import MoneyField, QuantityField, RateField


class TaxRate(models.Model):
    name = models.CharField(max_length=64, unique=True)
    rate = RateField(help_text="Per cent: 8.250 means 8.25 %.")
    version = models.BigIntegerField(default=0, db_index=True, editable=False)

    class Meta:
        ordering = ("id",)
        constraints = [
            models.CheckConstraint(
                condition=Q(rate__gte=0) & Q(rate__lt=100), name="taxrate_rate_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.rate} %)"


class Category(models.Model):
    name = models.CharField(max_length=120)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    version = models.BigIntegerField(default=0, db_index=True, editable=False)

    class Meta:
        ordering = ("id",)
        verbose_name_plural = "categories"
        constraints = [
            models.CheckConstraint(condition=~Q(parent=F("id")), name="category_not_own_parent"),
        ]

    def __str__(self) -> str:
        return self.name


class CatalogVersion(models.Model):
    """The single catalog-wide version counter (row id 1).

    Every product write increments it with a locked `UPDATE … RETURNING` inside the writing
    transaction, so product writes take versions in commit order and a register's watermark can
    never skip a change that commits later with a lower version.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="catalogversion_singleton")]

    def __str__(self) -> str:
        return f"catalog version {self.value}"


class SyncTombstone(models.Model):
    """A deleted object of a type registers sync (`GET /api/v1/sync/changes/`): written, with a
    catalog version, in the transaction that deletes it. Append-only. `store_id`: the store of a
    store-scoped object (a register), null for the catalog-wide ones."""

    version = models.BigIntegerField(db_index=True)
    kind = models.CharField(max_length=32)
    object_id = models.BigIntegerField()
    store_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ("version", "id")

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id} deleted at version {self.version}"


class ProductQuerySet(models.QuerySet["Product"]):
    def active(self) -> ProductQuerySet:
        return self.filter(is_active=True)


class ModifierGroup(models.Model):
    """A set of choices a product's line may carry (sizes of a shot, extra toppings), of which
    a sale line picks between `min_choices` and `max_choices`. Versioned like products, so
    registers' delta sync sees it."""

    name = models.CharField(max_length=120)
    min_choices = models.PositiveSmallIntegerField(default=0)
    max_choices = models.PositiveSmallIntegerField(default=1)
    is_active = models.BooleanField(default=True)
    version = models.BigIntegerField(default=0, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("id",)
        constraints = [
            models.CheckConstraint(
                condition=Q(min_choices__gte=0), name="modifiergroup_min_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(max_choices__gte=1) & Q(max_choices__gte=F("min_choices")),
                name="modifiergroup_max_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Modifier(models.Model):
    """One choice of a group. Never deleted (sale lines snapshot its name and delta): a
    modifier that leaves its group is deactivated."""

    group = models.ForeignKey(ModifierGroup, on_delete=models.CASCADE, related_name="modifiers")
    name = models.CharField(max_length=120)
    price_delta = MoneyField(default=0, help_text="Added to the line's unit price; may be < 0.")
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ("group_id", "position", "id")

    def __str__(self) -> str:
        return f"{self.name} ({self.price_delta:+})"


class Product(models.Model):
    sku = models.CharField(max_length=64, unique=True)
    barcode = models.CharField(max_length=64, unique=True, null=True, blank=True)
    scale_code = models.CharField(
        max_length=12,
        unique=True,
        null=True,
        blank=True,
        help_text="The item code a scale label carries in its barcode (the store's layout).",
    )
    name = models.CharField(max_length=200)
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="products"
    )
    price = MoneyField()
    cost = MoneyField(default=0)
    tax_rate = models.ForeignKey(TaxRate, on_delete=models.PROTECT, related_name="products")
    track_stock = models.BooleanField(default=True)
    is_active = models.BooleanField(default=True)
    variant_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="variants",
        help_text="The template this product is a variant of (one level only).",
    )
    options = models.JSONField(
        default=dict, blank=True, help_text='What sets this variant apart: {"size": "M"}.'
    )
    is_template = models.BooleanField(
        default=False,
        editable=False,
        help_text="Some product names it as `variant_of` (kept by the services); not sellable.",
    )
    modifier_groups = models.ManyToManyField(ModifierGroup, blank=True, related_name="products")
    version = models.BigIntegerField(default=0, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ProductQuerySet.as_manager()

    class Meta:
        ordering = ("id",)
        constraints = [
            models.CheckConstraint(
                condition=~Q(variant_of=F("id")), name="product_not_own_template"
            ),
            models.CheckConstraint(condition=Q(price__gte=0), name="product_price_nonnegative"),
            models.CheckConstraint(condition=Q(cost__gte=0), name="product_cost_nonnegative"),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class StockReason(models.TextChoices):
    SALE = "sale", "Sale"
    REFUND = "refund", "Refund"
    RECEIVE = "receive", "Receive"
    COUNT = "count", "Count"
    DAMAGE = "damage", "Damage"
    CORRECTION = "correction", "Correction"
    VOID = "void", "Void"
    RETURN = "return", "Return without receipt"


ADJUSTMENT_REASONS = (
    StockReason.RECEIVE,
    StockReason.COUNT,
    StockReason.DAMAGE,
    StockReason.CORRECTION,
)


class StockLevel(models.Model):
    """On-hand quantity of one product in one store. Changed only by `catalog.services`.

    `allow_negative` mirrors the store's setting; `offline_deficit` is set when an offline sale
    (goods already handed over) took the level below zero. The check constraint is the database's
    backstop behind the service's conditional update.

    `value` is the book value of the stock on hand: Σ the values of the level's movements, moved
    in the same statement as `quantity`, so it equals what the ledger's inventory account (1200)
    holds for it (perpetual inventory at standard cost; docs/API.md, "Stock valuation").
    """

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="stock_levels")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="stock_levels")
    quantity = QuantityField(default=0)
    value = MoneyField(default=0, help_text="Book value: Σ the movements' values (= ledger 1200).")
    allow_negative = models.BooleanField(default=False)
    offline_deficit = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("store_id", "product_id")
        constraints = [
            models.UniqueConstraint(fields=("store", "product"), name="stocklevel_unique"),
            models.CheckConstraint(
                condition=Q(quantity__gte=0) | Q(allow_negative=True) | Q(offline_deficit=True),
                name="stocklevel_nonnegative_unless_allowed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} @ store {self.store_id}: {self.quantity}"


class StockMovement(models.Model):
    """One row per change of stock, with its reason and source (`order`, `refund`,
    `adjustment`), the unit cost it was valued at and `value`, the money it moved into (+) or out
    of (−) inventory: exactly the amount posted to the ledger's 1200 for it."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="stock_movements")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="stock_movements")
    quantity_delta = QuantityField()
    quantity_after = QuantityField()
    reason = models.CharField(max_length=16, choices=StockReason)
    source_type = models.CharField(max_length=32, blank=True, default="")
    source_id = models.BigIntegerField(null=True, blank=True)
    unit_cost = MoneyField(default=0)
    value = MoneyField(default=0, help_text="Inventory value moved, signed (posted to 1200).")
    note = models.CharField(max_length=255, blank=True, default="")
    flagged = models.BooleanField(default=False, help_text="An offline sale took stock below zero.")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("id",)
        indexes = [
            models.Index(fields=("store", "product", "id"), name="stockmove_store_product"),
            models.Index(fields=("source_type", "source_id"), name="stockmove_source"),
            models.Index(fields=("store", "id"), name="stockmove_store_id"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~Q(quantity_delta=0), name="stockmovement_delta_nonzero"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reason} {self.quantity_delta:+} of {self.product_id} @ store {self.store_id}"
