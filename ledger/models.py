"""Double-entry ledger: a seeded chart of accounts, journal entries and their lines.

Posted entries are immutable (model, queryset, admin and a PostgreSQL trigger refuse changes);
corrections are new, reversing entries. The ledger knows of its sources only a type and an id.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Store
from ledger.exceptions import ImmutableRecord
from money.fields import MoneyField


class AccountType(models.TextChoices):
    ASSET = "asset", "Asset"
    LIABILITY = "liability", "Liability"
    EQUITY = "equity", "Equity"
    REVENUE = "revenue", "Revenue"
    EXPENSE = "expense", "Expense"


# The seeded chart (contract: "Ledger"). The data migration and the post-migrate hook (which
# restores it after a test flush) both read this tuple.
CHART_OF_ACCOUNTS: tuple[tuple[str, str, str], ...] = (
    ("1000", "Cash", AccountType.ASSET),
    ("1010", "Card clearing", AccountType.ASSET),
    ("1020", "Other tenders", AccountType.ASSET),
    ("1050", "Cash transfers", AccountType.ASSET),
    ("1090", "Exchange clearing", AccountType.ASSET),
    ("1200", "Inventory", AccountType.ASSET),
    ("2100", "Sales tax payable", AccountType.LIABILITY),
    ("2150", "Tips payable", AccountType.LIABILITY),
    ("2300", "Gift cards outstanding", AccountType.LIABILITY),
    ("2310", "Store credit", AccountType.LIABILITY),
    ("2320", "Loyalty points", AccountType.LIABILITY),
    ("4000", "Sales revenue", AccountType.REVENUE),
    ("4010", "Gift card breakage", AccountType.REVENUE),
    ("4900", "Sales returns", AccountType.REVENUE),
    ("5000", "Cost of goods sold", AccountType.EXPENSE),
    ("5100", "Inventory adjustments", AccountType.EXPENSE),
    ("6900", "Cash over/short", AccountType.EXPENSE),
    ("6910", "Cash rounding", AccountType.EXPENSE),
)


class Account(models.Model):
    code = models.CharField(max_length=8, unique=True)
    name = models.CharField(max_length=120)
    type = models.CharField(max_length=10, choices=AccountType)

    class Meta:
        ordering = ("code",)

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class EntrySource(models.TextChoices):
    SALE = "sale", "Sale"
    REFUND = "refund", "Refund"
    SHIFT_CLOSE = "shift_close", "Shift close"
    CASH_MOVEMENT = "cash_movement", "Cash movement"
    STOCK_ADJUSTMENT = "stock_adjustment", "Stock adjustment"
    REVERSAL = "reversal", "Reversal"
    VOID = "void", "Void"
    RETURN = "return", "Return without receipt"
    GIFT_CARD_ISSUE = "gift_card_issue", "Gift card issued"
    GIFT_CARD_EXPIRY = "gift_card_expiry", "Gift card expired"


class AppendOnlyQuerySet(models.QuerySet):
    """Refuses the bulk write paths: posted records are never updated or deleted."""

    def update(self, **kwargs: Any) -> int:
        raise ImmutableRecord(f"{self.model.__name__} rows are immutable; post a reversal.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise ImmutableRecord(f"{self.model.__name__} rows are immutable; post a reversal.")

    delete.queryset_only = True  # type: ignore[attr-defined]

    def bulk_update(self, objs: Any, fields: Any, batch_size: int | None = None) -> int:
        raise ImmutableRecord(f"{self.model.__name__} rows are immutable; post a reversal.")


class AppendOnlyModel(models.Model):
    """Insert once, never update or delete (the PostgreSQL trigger backs this up)."""

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ImmutableRecord(f"{type(self).__name__} {self.pk} is posted and immutable.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ImmutableRecord(f"{type(self).__name__} {self.pk} is posted and immutable.")


class JournalEntry(AppendOnlyModel):
    date = models.DateField(help_text="Business date in the store's time zone.")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="journal_entries")
    memo = models.CharField(max_length=255, blank=True, default="")
    source = models.CharField(max_length=20, choices=EntrySource)
    source_id = models.BigIntegerField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("id",)
        verbose_name_plural = "journal entries"
        indexes = [
            models.Index(fields=("store", "date", "id"), name="journal_store_date"),
            models.Index(fields=("store", "id"), name="journal_store_id"),
            models.Index(fields=("source", "source_id"), name="journal_source"),
        ]

    def __str__(self) -> str:
        return f"JE{self.pk} {self.date} {self.source}#{self.source_id}"


class JournalLine(AppendOnlyModel):
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lines")
    debit = MoneyField(default=0)
    credit = MoneyField(default=0)
    # The entry's `created_at` (the posting service copies it): the month partition the line
    # sits in. The balance trigger refuses a line more than a day away from its entry's time.
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("entry_id", "id")
        indexes = [models.Index(fields=("account", "entry"), name="journalline_account_entry")]
        constraints = [
            models.CheckConstraint(
                condition=Q(debit__gte=0) & Q(credit__gte=0), name="journalline_nonnegative"
            ),
            models.CheckConstraint(
                condition=(Q(debit=0) & Q(credit__gt=0)) | (Q(credit=0) & Q(debit__gt=0)),
                name="journalline_one_side",
            ),
        ]

    def __str__(self) -> str:
        return f"JE{self.entry_id} {self.account_id} Dr {self.debit} Cr {self.credit}"
