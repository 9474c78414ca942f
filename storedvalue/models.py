"""Store credit and loyalty points.

Store credit: the money a merchant owes a customer, kept on `customers.Customer.store_credit`
and changed only by `storedvalue.balances.customer_balances_move`, one `StoreCreditMovement` per
change (append-only, like the ledger and the gift card movements).

A customer is merchant-wide (`customers`), the ledger per store. Each movement records the
store whose entry posted it (Dr or Cr 2310 in that store's books), so the store's 2310 is always
Σ its movements — and credit given in store A and spent in store B leaves A's 2310 in credit and
B's in debit: per store, 2310 may legitimately go below zero; merchant-wide (per currency) it is
Σ the customers' balances. A customer's store credit has one currency
(`Customer.store_credit_currency`, fixed by its first credit), usable in the stores of that
currency only.

Loyalty points: `customers.Customer.loyalty_points`, changed with the store credit by the same
function (one lock of the customer), one `LoyaltyMovement` per change. Two tables, not one with a
`balance` kind: points are whole numbers with a money `value` beside them (the ledger's amount,
fixed when the movement is made), store credit is money; each table keeps its own simple checks
and `reconcile` sums one plain column of each. 2320 per store is Σ the store's movements' values,
like 2310 (points earned in one store may be spent in another).

Layering: like the gift cards' core, this sits on `orders.models` (a movement names its payment,
refund or return) and is what the sale, refund, return and void services call.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.models import Store
from customers.models import Customer
from ledger.models import AppendOnlyModel
from money.fields import MoneyField
from orders.models import Order, Payment, Refund, Return


class StoreCreditMovementKind(models.TextChoices):
    #: Reserved for credit given outside a refund (goodwill); no service issues it yet.
    ISSUE = "issue", "Issue"
    REDEEM = "redeem", "Redeem"
    REFUND = "refund", "Refund"
    ADJUST = "adjust", "Adjust"


class StoreCreditMovement(AppendOnlyModel):
    """One change of a customer's store credit: `amount` is signed (a refund adds, a redemption
    takes), `balance_after` the balance it left. Its source: a sale `payment` (a redemption, or
    the negative payment of an exchange's payback, or — with kind `refund` — a voided sale's
    redemption given back), a `refund`, or a `return_doc` (a return without a receipt)."""

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="store_credit_movements"
    )
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=8, choices=StoreCreditMovementKind)
    currency = models.CharField(max_length=3)
    amount = MoneyField()
    balance_after = MoneyField()
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    refund = models.ForeignKey(
        Refund, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    return_doc = models.ForeignKey(
        Return, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        ordering = ("customer_id", "id")
        indexes = [
            models.Index(fields=("store", "created_at"), name="storecredit_store_created"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(balance_after__gte=0), name="storecreditmovement_balance_nonnegative"
            ),
            models.CheckConstraint(
                condition=~Q(amount=0), name="storecreditmovement_amount_nonzero"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount}"


class LoyaltyMovementKind(models.TextChoices):
    #: Points a sale earned (Dr 4000 / Cr 2320).
    EARN = "earn", "Earn"
    #: Points a sale redeemed as a payment (Dr 2320).
    REDEEM = "redeem", "Redeem"
    #: Earned points a refund or a void takes back (Dr 2320 / Cr 4000).
    TAKE_BACK = "take_back", "Take back"
    #: Redeemed points a refund or a void gives back (Cr 2320).
    GIVE_BACK = "give_back", "Give back"


class LoyaltyMovement(AppendOnlyModel):
    """One change of a customer's points: `points` signed, `points_after` the balance it left,
    `value` the signed money of the ledger (+: the liability grew). A `take_back` may come short
    of what was due when the customer has spent the points already: `shortfall` is what could not
    be taken (the balance never goes below zero; the ledger moves by what was taken)."""

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="loyalty_movements"
    )
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=9, choices=LoyaltyMovementKind)
    points = models.BigIntegerField()
    points_after = models.BigIntegerField()
    value = MoneyField()
    shortfall = models.BigIntegerField(default=0)
    order = models.ForeignKey(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
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
        ordering = ("customer_id", "id")
        indexes = [
            models.Index(fields=("store", "created_at"), name="loyalty_store_created"),
            models.Index(fields=("order", "kind"), name="loyalty_order_kind"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(points_after__gte=0), name="loyaltymovement_points_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(shortfall__gte=0), name="loyaltymovement_shortfall_nonnegative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.points}"
