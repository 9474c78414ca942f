"""Users, their roles, and the stores and registers they work in.

`Store` and `Register` live here because every other domain app scopes by store and `accounts`
depends on no other domain app (see STYLE: direction of dependencies).
"""

from __future__ import annotations

import re
import zoneinfo
from decimal import Decimal

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q

from money.currencies import fits_currency, validate_currency


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"Unknown time zone {value!r}.")


#: A scale label's EAN-13 layout: `2` and more prefix digits, a run of `I` (item code) and one
#: run of `P` (price, minor units) or `W` (weight, grams) in either order, the check digit `C`.
SCALE_BARCODE_LAYOUT = re.compile(r"^(2[0-9]*)(?:(I+)(P+|W+)|(P+|W+)(I+))C$")


def validate_scale_barcode_layout(value: str) -> None:
    if value and (len(value) != 13 or not SCALE_BARCODE_LAYOUT.match(value)):
        raise ValidationError(
            "13 characters: a leading 2 (and more prefix digits), a run of I (item code), "
            'one run of P (price) or W (weight), and a final C; e.g. "20IIIIIPPPPPC".',
            code="invalid_scale_barcode_layout",
        )


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    CASHIER = "cashier", "Cashier"


ROLE_RANK = {Role.CASHIER: 1, Role.MANAGER: 2, Role.ADMIN: 3}


class Store(models.Model):
    code = models.CharField(
        max_length=16,
        unique=True,
        validators=[RegexValidator(r"^[A-Za-z0-9_-]+$", "Letters, digits, - and _ only.")],
    )
    name = models.CharField(max_length=120)
    currency = models.CharField(
        max_length=3,
        default="USD",
        validators=[validate_currency],
        help_text="ISO 4217; decides the minor units of every amount of the store (JPY 0, "
        "USD 2, KWD 3). Fixed once the store has booked money.",
    )
    timezone = models.CharField(
        max_length=64, default="America/New_York", validators=[validate_timezone]
    )
    prices_include_tax = models.BooleanField(default=False)
    allow_negative_stock = models.BooleanField(default=False)
    cashier_max_discount_percent = models.DecimalField(
        max_digits=6,
        decimal_places=3,
        default=Decimal("100.000"),
        help_text="The most a cashier may discount a sale (Σ discounts / subtotal, in per "
        "cent) without a manager's approval.",
    )
    cashier_can_refund = models.BooleanField(
        default=False, help_text="Cashiers may refund and return without a manager's approval."
    )
    cash_rounding = models.DecimalField(
        max_digits=6,
        decimal_places=3,
        default=0,
        help_text="The step the cash part of a sale is rounded to (0.05, 0.10, 1 …); 0 is off. "
        "A multiple of the currency's minor unit.",
    )
    loyalty_points_per_unit = models.DecimalField(
        max_digits=9,
        decimal_places=3,
        default=Decimal("0"),
        help_text="Loyalty points a customer earns per 1 unit of currency paid with money "
        "(not with gift cards, store credit or points); 0 is off.",
    )
    loyalty_point_value = models.DecimalField(
        max_digits=9,
        decimal_places=3,
        default=Decimal("0"),
        help_text="What one point is worth, in the store's currency (0.01: 100 points are "
        "1.00). The liability of points earned and the amount of points redeemed.",
    )
    scale_barcode_layout = models.CharField(
        max_length=13,
        blank=True,
        default="",
        validators=[validate_scale_barcode_layout],
        help_text="The EAN-13 layout of the store's scale labels: a leading 2 and prefix "
        "digits, I item code, P price (minor units) or W weight (grams), C check digit; e.g. "
        '"20IIIIIPPPPPC". Empty: no scale barcodes.',
    )
    version = models.BigIntegerField(
        default=0, db_index=True, editable=False, help_text="Catalog version of the last write."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("id",)
        constraints = [
            models.CheckConstraint(
                condition=Q(loyalty_points_per_unit__gte=0) & Q(loyalty_point_value__gte=0),
                name="store_loyalty_nonnegative",
            ),
            models.CheckConstraint(
                condition=Q(cash_rounding__gte=0), name="store_cash_rounding_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(cashier_max_discount_percent__gte=0)
                & Q(cashier_max_discount_percent__lte=100),
                name="store_cashier_max_discount_percent_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} — {self.name}"

    def clean(self) -> None:
        super().clean()
        if self.cash_rounding and not fits_currency(self.cash_rounding, self.currency):
            raise ValidationError(
                {"cash_rounding": f"Must be a multiple of {self.currency}'s minor unit."}
            )
        if self.loyalty_point_value and not fits_currency(self.loyalty_point_value, self.currency):
            # Then points × value is exact: no rounding between earning and taking back.
            raise ValidationError(
                {"loyalty_point_value": f"Must be a multiple of {self.currency}'s minor unit."}
            )
        if self.loyalty_points_per_unit and not self.loyalty_point_value:
            raise ValidationError(
                {"loyalty_point_value": "Points are earned: give them a value (more than 0)."}
            )

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class Register(models.Model):
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="registers")
    code = models.CharField(
        max_length=16,
        validators=[RegexValidator(r"^[A-Za-z0-9_-]+$", "Letters, digits, - and _ only.")],
    )
    name = models.CharField(max_length=120, blank=True, default="")
    is_active = models.BooleanField(default=True)
    version = models.BigIntegerField(
        default=0, db_index=True, editable=False, help_text="Catalog version of the last write."
    )

    class Meta:
        ordering = ("id",)
        constraints = [
            models.UniqueConstraint(
                fields=("store", "code"), name="register_code_unique_per_store"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.store.code}/{self.code}"


class User(AbstractUser):
    """A person who signs in. Exactly one role; superusers are always admins.

    `token_version` is bumped on password change and deactivation: tokens carry the version they
    were issued under and are refused once it moves on (closing simplejwt's revocation gap).
    """

    role = models.CharField(max_length=16, choices=Role, default=Role.CASHIER)
    stores = models.ManyToManyField(Store, related_name="users", blank=True)
    token_version = models.PositiveIntegerField(default=0)
    pin = models.CharField(
        max_length=128,
        blank=True,
        default="",
        help_text="A hash of the 4–8 digit PIN that approves a cashier's action (set through "
        "POST /api/v1/auth/pin/); empty: none.",
    )

    class Meta:
        ordering = ("id",)
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=[r.value for r in Role]), name="user_role_valid"
            ),
        ]

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.is_superuser:
            self.role = Role.ADMIN
        # Managers and admins work in the Django admin; cashiers only through the API.
        self.is_staff = self.role in (Role.ADMIN, Role.MANAGER)
        # Any password change (API, admin, `manage.py changepassword`) revokes every token issued
        # before, as Django does for sessions. `_password` is set by `set_password()` only; hash
        # upgrades on login clear it, so they revoke nothing.
        # The bump is part of this same UPDATE (an F() expression, no read-modify-write), so
        # whoever watches `post_save` sees the row with its new version already written.
        password_changed = getattr(self, "_password", None) is not None and not self._state.adding
        if password_changed:
            self.token_version = F("token_version") + 1  # type: ignore[assignment]
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "token_version"}
        super().save(*args, **kwargs)
        if password_changed:
            self.refresh_from_db(fields=["token_version"])

    @property
    def is_admin(self) -> bool:
        return self.is_superuser or self.role == Role.ADMIN

    @property
    def is_manager_or_admin(self) -> bool:
        return self.is_admin or self.role == Role.MANAGER
