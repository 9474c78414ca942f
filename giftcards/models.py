"""Gift cards: stored value sold at the counter and spent as a tender.

A card's code is shown once, when it is issued; the database keeps only its SHA-256
(`code_hash`) and last four characters, so a database reader cannot spend a card. Every change of
a balance is a `GiftCardMovement` (issue, redeem, refund, expire), append-only like the ledger.

Layering: the gift cards' core (these models, `giftcards.codes`, `giftcards.redemption`) sits
on `orders.models` (a redemption names its payment, an issue its shift) and is what the sale,
refund and void services call; issuing (`giftcards.services`) and the API sit on the orders'
services and selectors (the register's open shift). Nothing in `orders` imports them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.models import Store
from ledger.models import AppendOnlyModel
from money.fields import MoneyField
from orders.models import Payment, Refund, Shift


class GiftCardStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    EXPIRED = "expired", "Expired"


class GiftCard(models.Model):
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="gift_cards")
    code_hash = models.CharField(
        max_length=64, unique=True, help_text="SHA-256 (hex) of the code; the code is not kept."
    )
    last4 = models.CharField(max_length=4)
    currency = models.CharField(max_length=3)
    initial_amount = MoneyField()
    balance = MoneyField()
    status = models.CharField(max_length=8, choices=GiftCardStatus, default=GiftCardStatus.ACTIVE)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Null: never expires.")
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    register = models.ForeignKey(
        "accounts.Register", on_delete=models.PROTECT, related_name="gift_cards"
    )
    shift = models.ForeignKey(Shift, on_delete=models.PROTECT, related_name="gift_cards")

    class Meta:
        ordering = ("-issued_at", "-id")
        indexes = [
            models.Index(fields=("store", "issued_at"), name="giftcard_store_issued"),
            models.Index(
                fields=("expires_at",),
                condition=Q(status="active"),
                name="giftcard_active_expiry",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(balance__gte=0), name="giftcard_balance_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(initial_amount__gt=0), name="giftcard_initial_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"Gift card ····{self.last4}"


class GiftCardMovementKind(models.TextChoices):
    ISSUE = "issue", "Issue"
    REDEEM = "redeem", "Redeem"
    REFUND = "refund", "Refund"
    EXPIRE = "expire", "Expire"


class GiftCardMovement(AppendOnlyModel):
    """One change of a card's balance: `amount` is signed (issue and refund add, redeem and
    expire take), `balance_after` the balance it left. A redemption names its sale `payment`
    (a voided sale's card gets a `refund` movement naming the same payment), a refund its
    `refund`."""

    card = models.ForeignKey(GiftCard, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=8, choices=GiftCardMovementKind)
    amount = MoneyField()
    balance_after = MoneyField()
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    refund = models.ForeignKey(
        Refund, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ("card_id", "id")
        constraints = [
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="giftcardmovement_balance_nonnegative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount}"


class GiftCardPayment(models.Model):
    """A tender that paid for a card when it was issued (cash goes into the shift's drawer)."""

    card = models.ForeignKey(GiftCard, on_delete=models.PROTECT, related_name="payments")
    shift = models.ForeignKey(Shift, on_delete=models.PROTECT, related_name="gift_card_payments")
    method = models.CharField(max_length=8)
    amount = MoneyField()
    reference = models.CharField(max_length=64, blank=True, default="")
    card_last4 = models.CharField(max_length=4, blank=True, default="")

    class Meta:
        ordering = ("card_id", "id")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="giftcardpayment_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.amount}"
