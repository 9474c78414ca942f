"""Price lists (a store's own price for some products) and automatic promotions.

Both may name stores; none named means every store. Their schedules are aware datetimes
(`valid_from` ≤ t < `valid_to`, either open); a promotion's weekdays and times of day are read in
the store's local time by `pricebook.rules.PromotionRule.applies_at`.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from accounts.models import Store
from catalog.models import Category, Product
from money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS
from money.fields import MoneyField
from pricebook import rules


class PriceList(models.Model):
    name = models.CharField(max_length=120)
    stores = models.ManyToManyField(
        Store, blank=True, related_name="price_lists", help_text="None: every store."
    )
    priority = models.IntegerField(
        default=0, help_text="The highest-priority list that has a product sets its price."
    )
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_to = models.DateTimeField(null=True, blank=True, help_text="Exclusive.")
    is_active = models.BooleanField(default=True)
    version = models.BigIntegerField(default=0, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("id",)
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_to__isnull=True)
                | Q(valid_from__lt=F("valid_to")),
                name="pricelist_valid_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PriceListItem(models.Model):
    price_list = models.ForeignKey(PriceList, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="price_list_items")
    price = MoneyField()

    class Meta:
        ordering = ("price_list_id", "product_id")
        constraints = [
            models.UniqueConstraint(fields=("price_list", "product"), name="pricelistitem_unique"),
            models.CheckConstraint(
                condition=Q(price__gte=0), name="pricelistitem_price_nonnegative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} at {self.price} in list {self.price_list_id}"


class PromotionKind(models.TextChoices):
    PERCENT_OFF = rules.PERCENT_OFF, "Per cent off"
    AMOUNT_OFF = rules.AMOUNT_OFF, "Amount off"
    BUY_X_GET_Y = rules.BUY_X_GET_Y, "Buy x, get y"


class Promotion(models.Model):
    """Applied by the pricing engine by itself (see `pricebook.rules.PromotionRule` for what
    each kind means)."""

    name = models.CharField(max_length=120)
    stores = models.ManyToManyField(
        Store, blank=True, related_name="promotions", help_text="None: every store."
    )
    kind = models.CharField(max_length=16, choices=PromotionKind)
    products = models.ManyToManyField(Product, blank=True, related_name="promotions")
    categories = models.ManyToManyField(
        Category,
        blank=True,
        related_name="promotions",
        help_text="Every product of these categories and of their subcategories.",
    )
    x = models.PositiveIntegerField(default=0, help_text="buy_x_get_y: units bought.")
    y = models.PositiveIntegerField(default=0, help_text="buy_x_get_y: units discounted.")
    value = models.DecimalField(
        max_digits=MONEY_MAX_DIGITS,
        decimal_places=MONEY_DECIMAL_PLACES,
        help_text="Per cent (percent_off, buy_x_get_y: 100 = free) or money off (amount_off).",
    )
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_to = models.DateTimeField(null=True, blank=True, help_text="Exclusive.")
    days_of_week = ArrayField(
        models.PositiveSmallIntegerField(validators=[MinValueValidator(1), MaxValueValidator(7)]),
        blank=True,
        default=list,
        help_text="ISO weekdays, 1 = Monday … 7 = Sunday; empty: every day.",
    )
    start_time = models.TimeField(null=True, blank=True, help_text="Store local time.")
    end_time = models.TimeField(
        null=True,
        blank=True,
        help_text="Store local time, exclusive; before start_time: spans midnight.",
    )
    priority = models.IntegerField(default=0)
    is_active = models.BooleanField(default=True)
    version = models.BigIntegerField(default=0, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("id",)
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in PromotionKind]), name="promotion_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(valid_from__isnull=True)
                | Q(valid_to__isnull=True)
                | Q(valid_from__lt=F("valid_to")),
                name="promotion_valid_range",
            ),
            models.CheckConstraint(
                condition=~Q(kind=rules.BUY_X_GET_Y) | (Q(x__gte=1) & Q(y__gte=1)),
                name="promotion_buy_x_get_y_counts",
            ),
            models.CheckConstraint(
                condition=Q(value__gt=0) & (Q(kind=rules.AMOUNT_OFF) | Q(value__lte=100)),
                name="promotion_value_range",
            ),
            models.CheckConstraint(
                condition=Q(days_of_week__contained_by=[1, 2, 3, 4, 5, 6, 7]),
                name="promotion_days_of_week_iso",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PriceBookClock(models.Model):
    """Up to when the price lists' coming into and going out of force (`valid_from`,
    `valid_to` passing) has been followed (`pricebook.services.price_lists_follow_clock`)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    checked_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="pricebookclock_singleton")
        ]

    def __str__(self) -> str:
        return f"price lists followed up to {self.checked_at:%Y-%m-%d %H:%M:%S}"
