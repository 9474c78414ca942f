"""Customers: the people a merchant knows by name, across all of its stores.

A customer is merchant-wide, not per store (docs/API.md, "Customers"): one deployment is one
merchant, its stores are branches, and a customer who buys in one branch and returns in another
is the same person with one store-credit balance and one points balance (as in Square and Odoo).
Nothing about a customer is store-scoped; what *is* store-scoped — the orders, held orders and
returns that name a customer — keeps its own store filter.

Personal data (name, email, phone, tax exemption id) lives only here, so that erasing a customer
(`customers.services.customer_erase`) erases the person: the row stays, pseudonymous, so every
sale's foreign key keeps pointing at it. `__str__` is the code, never the name: the admin's log
and the audit trail record an object's `str()`, and they are never rewritten.

`store_credit` and `loyalty_points` are balances that only their own services change (store
credit and loyalty, docs/API.md "Customers, stored value and loyalty"), each change with its
ledger entry and audit event; the API and the admin show them read-only.
"""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper

from customers.contact import (
    CODE_MAX_LENGTH,
    EMAIL_MAX_LENGTH,
    normalize_code,
    normalize_phone,
)
from money.fields import MoneyField

ERASED_NAME = "Erased customer"


def validate_phone_text(value: str) -> None:
    """The admin form's check of a phone number (the services normalise it)."""
    try:
        normalize_phone(value)
    except ValueError as exc:
        raise ValidationError(str(exc), code="invalid_phone") from None


def validate_code_text(value: str) -> None:
    try:
        normalize_code(value)
    except ValueError as exc:
        raise ValidationError(str(exc), code="invalid_code") from None


class CustomerQuerySet(models.QuerySet["Customer"]):
    def not_erased(self) -> CustomerQuerySet:
        return self.filter(erased_at__isnull=True)


def _trigram_index(field: str, *, upper: bool = True) -> GinIndex:
    """A trigram index serving `icontains` (`UPPER(col) LIKE UPPER('%…%')`) on `field`, or
    `contains` with `upper=False`; partial, like the list it serves (erased customers are left
    out of search)."""
    expression: Any = Upper(field) if upper else models.F(field)
    return GinIndex(
        OpClass(expression, name="gin_trgm_ops"),
        name=f"customer_{field}_trgm",
        condition=Q(erased_at__isnull=True),
    )


class Customer(models.Model):
    code = models.CharField(
        max_length=CODE_MAX_LENGTH,
        validators=[validate_code_text],
        help_text="Unique, upper case; generated (C + 8 characters) when not given.",
    )
    name = models.CharField(max_length=200)
    email = models.EmailField(max_length=EMAIL_MAX_LENGTH, blank=True, default="")
    phone = models.CharField(
        max_length=16,
        blank=True,
        default="",
        validators=[validate_phone_text],
        help_text="Stored as + and digits only (+15550100199).",
    )
    tax_exempt = models.BooleanField(default=False)
    tax_exempt_id = models.CharField(
        max_length=64,
        blank=True,
        default="",
        help_text="The exemption certificate or number; required when tax exempt. Each of the "
        "customer's orders keeps its own copy.",
    )
    store_credit = MoneyField(
        default=0, help_text="Changed only by store-credit tenders and refunds (never below 0)."
    )
    store_credit_currency = models.CharField(
        max_length=3,
        null=True,
        blank=True,
        help_text="The currency of the store credit, fixed by its first credit (null: none yet).",
    )
    loyalty_points = models.BigIntegerField(
        default=0, help_text="Changed only by earning and redeeming points (never below 0)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    erased_at = models.DateTimeField(
        null=True, blank=True, help_text="When the person was erased (the row stays for history)."
    )

    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ("name", "id")
        indexes = [
            # The list (`?search=` or not) is of customers not erased, by name.
            models.Index(
                fields=("name", "id"),
                condition=Q(erased_at__isnull=True),
                name="customer_by_name",
            ),
            _trigram_index("name"),
            _trigram_index("email"),
            _trigram_index("code"),
            _trigram_index("phone", upper=False),
        ]
        constraints = [
            models.UniqueConstraint(fields=("code",), name="customer_code_unique"),
            models.CheckConstraint(
                condition=Q(store_credit__gte=0), name="customer_store_credit_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(store_credit=0) | Q(store_credit_currency__isnull=False),
                name="customer_store_credit_has_currency",
            ),
            models.CheckConstraint(
                condition=Q(loyalty_points__gte=0), name="customer_loyalty_points_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(tax_exempt=False) | ~Q(tax_exempt_id=""),
                name="customer_tax_exempt_has_id",
            ),
            models.CheckConstraint(
                condition=Q(erased_at__isnull=True)
                | Q(name=ERASED_NAME, email="", phone="", tax_exempt=False, tax_exempt_id=""),
                name="customer_erased_keeps_nothing_personal",
            ),
        ]

    def __str__(self) -> str:
        return f"Customer {self.code}"

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None
