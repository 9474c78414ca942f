"""Shifts (cash drawer sessions), orders with snapshotted lines and payments, refunds, the
per-register number sequence, idempotency records and stored daily reports."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from accounts.models import Register, Store
from catalog.models import Product
from customers.models import Customer
from money.fields import MoneyField, QuantityField, RateField


class ShiftStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class Shift(models.Model):
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="shifts")
    register = models.ForeignKey(Register, on_delete=models.PROTECT, related_name="shifts")
    status = models.CharField(max_length=8, choices=ShiftStatus, default=ShiftStatus.OPEN)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="shifts_opened"
    )
    opened_at = models.DateTimeField(auto_now_add=True)
    opening_float = MoneyField()
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="shifts_closed",
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    expected_cash = MoneyField(null=True, blank=True)
    counted_cash = MoneyField(null=True, blank=True)
    difference = MoneyField(null=True, blank=True)

    class Meta:
        ordering = ("id",)
        indexes = [models.Index(fields=("store", "opened_at"), name="shift_store_opened")]
        constraints = [
            models.UniqueConstraint(
                fields=("register",),
                condition=Q(status="open"),
                name="shift_one_open_per_register",
            ),
            models.CheckConstraint(
                condition=Q(opening_float__gte=0), name="shift_opening_float_nonnegative"
            ),
            models.CheckConstraint(
                condition=Q(status="open", closed_at__isnull=True)
                | Q(status="closed", closed_at__isnull=False, counted_cash__isnull=False),
                name="shift_closed_fields_consistent",
            ),
        ]

    def __str__(self) -> str:
        return f"Shift {self.pk} on register {self.register_id} ({self.status})"


class CashMovementKind(models.TextChoices):
    IN = "in", "Cash in"
    OUT = "out", "Cash out"


class CashMovement(models.Model):
    shift = models.ForeignKey(Shift, on_delete=models.PROTECT, related_name="cash_movements")
    kind = models.CharField(max_length=3, choices=CashMovementKind)
    amount = MoneyField()
    reason = models.CharField(max_length=255, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("id",)
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="cashmovement_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"Cash {self.kind} {self.amount} (shift {self.shift_id})"


class RegisterSequence(models.Model):
    """The gapless per-register counters. Locked (`select_for_update`) and incremented inside the
    sale's transaction: a rolled-back sale gives its number back."""

    register = models.OneToOneField(
        Register, primary_key=True, on_delete=models.PROTECT, related_name="sequence"
    )
    last_order_number = models.PositiveIntegerField(default=0)
    last_refund_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Sequence of register {self.register_id}: {self.last_order_number}"


class OrderStatus(models.TextChoices):
    COMPLETED = "completed", "Completed"
    PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
    REFUNDED = "refunded", "Refunded"
    VOIDED = "voided", "Voided"


class Order(models.Model):
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="orders")
    register = models.ForeignKey(Register, on_delete=models.PROTECT, related_name="orders")
    shift = models.ForeignKey(Shift, on_delete=models.PROTECT, related_name="orders")
    cashier = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="orders"
    )
    number = models.CharField(max_length=32)
    sequence = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=OrderStatus, default=OrderStatus.COMPLETED)
    created_at = models.DateTimeField(auto_now_add=True)
    client_created_at = models.DateTimeField(null=True, blank=True)
    offline = models.BooleanField(default=False)
    late = models.BooleanField(
        default=False,
        help_text="An offline sale synced when its register had no open shift: it went onto "
        "the register's last (closed) shift.",
    )
    currency = models.CharField(max_length=3)
    prices_include_tax = models.BooleanField()
    order_discount = MoneyField(default=0, help_text="The order-level discount as requested.")
    subtotal = MoneyField()
    promotion_total = MoneyField(
        default=0, help_text="Σ the lines' promotion discounts (automatic promotions)."
    )
    discount_total = MoneyField()
    tax_total = MoneyField()
    total = MoneyField()
    rounding = MoneyField(
        default=0, help_text="Cash rounding of the sale (signed): total_due = total + rounding."
    )
    total_due = MoneyField(
        default=0,
        help_text="What the money payments add up to: total − returned_total + rounding.",
    )
    returned_total = MoneyField(
        default=0,
        help_text="An exchange: the value of the goods returned with this sale (its exchange "
        "refunds' totals), which paid that much of it.",
    )
    paid_total = MoneyField()
    tips_total = MoneyField(default=0, help_text="Σ tips of the payments (outside the total).")
    change_due = MoneyField(default=0)
    refunded_total = MoneyField(default=0)
    # Set together, once, by the void service (`orders.services.voids`); null otherwise. Null
    # rather than "" for the reason: the API renders "not voided" as null, and the check
    # constraint below ties all three to the status.
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="orders_voided",
    )
    void_reason = models.CharField(max_length=255, null=True, blank=True)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    tax_exempt_id = models.CharField(
        max_length=64,
        null=True,
        blank=True,
        help_text="The customer's tax exemption id the sale was made under (its tax is 0.00); "
        "null for a taxed sale. A copy: the merchant's tax record, kept when the customer is "
        "erased.",
    )
    points_earned = models.BigIntegerField(
        default=0,
        help_text="Loyalty points the customer earned with this sale (refunds take them back "
        "pro rata).",
    )
    promotions = models.JSONField(
        default=list,
        blank=True,
        help_text='Snapshot of the automatic promotions the sale took: [{"id", "name", "kind", '
        '"value", "x", "y", "discount"}].',
    )

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [
            models.Index(fields=("store", "created_at", "id"), name="order_store_created"),
            models.Index(fields=("store", "id"), name="order_store_id"),
            models.Index(fields=("shift", "id"), name="order_shift"),
            models.Index(fields=("cashier", "created_at"), name="order_cashier_created"),
            models.Index(fields=("number",), name="order_number"),
        ]
        constraints = [
            models.UniqueConstraint(fields=("register", "number"), name="order_number_unique"),
            models.UniqueConstraint(fields=("register", "sequence"), name="order_sequence_unique"),
            models.CheckConstraint(condition=Q(total__gte=0), name="order_total_nonnegative"),
            models.CheckConstraint(
                condition=Q(refunded_total__lte=F("total")), name="order_refund_not_over_total"
            ),
            models.CheckConstraint(
                condition=Q(
                    status="voided",
                    voided_at__isnull=False,
                    voided_by__isnull=False,
                    void_reason__isnull=False,
                    refunded_total=0,
                )
                | (
                    ~Q(status="voided")
                    & Q(voided_at__isnull=True, voided_by__isnull=True, void_reason__isnull=True)
                ),
                name="order_void_fields_consistent",
            ),
            models.CheckConstraint(
                condition=Q(tax_exempt_id__isnull=True) | Q(customer__isnull=False),
                name="order_tax_exempt_with_customer",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    """A sold line with its catalog data snapshotted: later catalog edits never change it.

    `refunded_*` accumulate what refunds have taken so far; they are changed only under a row
    lock by the refund service, and the check constraints refuse any over-refund.

    `cost` is the line's cost of goods, `round(unit_cost × quantity)` half-up for a stock-tracked
    product (0 for an untracked one): what the sale took out of inventory, and what its refunds
    take back pro rata (`refunded_cost` counts every refunded piece, restocked or not, so a line
    refunded in full has `refunded_cost == cost`).
    """

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="lines")
    position = models.PositiveIntegerField()
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    quantity = QuantityField()
    unit_price = MoneyField()
    unit_cost = MoneyField(default=0)
    gross = MoneyField()
    modifiers = models.JSONField(
        default=list,
        blank=True,
        help_text='Snapshot of the chosen modifiers: [{"id", "name", "price_delta"}] (unit_price '
        "includes the deltas).",
    )
    promotion_id = models.BigIntegerField(
        null=True, blank=True, help_text="The automatic promotion the line took (its id then)."
    )
    promotion_name = models.CharField(max_length=200, blank=True, default="")
    promotion_discount = MoneyField(default=0, help_text="What the promotion took off the gross.")
    line_discount = MoneyField(default=0, help_text="The line's own discount as requested.")
    discount = MoneyField(help_text="Own discount plus the line's share of the order discount.")
    net = MoneyField()
    tax_rate = RateField()
    tax = MoneyField()
    total = MoneyField()
    refunded_quantity = QuantityField(default=0)
    refunded_net = MoneyField(default=0)
    refunded_tax = MoneyField(default=0)
    refunded_total = MoneyField(default=0)
    cost = MoneyField(default=0, help_text="Cost of goods: round(unit cost × quantity), tracked.")
    refunded_cost = MoneyField(default=0)

    class Meta:
        ordering = ("order_id", "position")
        constraints = [
            models.UniqueConstraint(fields=("order", "position"), name="orderline_position_unique"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="orderline_quantity_positive"),
            models.CheckConstraint(
                condition=Q(refunded_quantity__lte=F("quantity")),
                name="orderline_refund_qty_not_over_sold",
            ),
            models.CheckConstraint(
                condition=Q(refunded_total__lte=F("total")),
                name="orderline_refund_total_not_over_sold",
            ),
            models.CheckConstraint(condition=Q(cost__gte=0), name="orderline_cost_nonnegative"),
            models.CheckConstraint(
                condition=Q(refunded_cost__gte=0) & Q(refunded_cost__lte=F("cost")),
                name="orderline_refund_cost_not_over_cost",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku} {self.name}"


class PaymentMethod(models.TextChoices):
    CASH = "cash", "Cash"
    CARD = "card", "Card"
    OTHER = "other", "Other"
    #: Never sent by a client: the part of an exchange sale paid by the goods it returned (one
    #: row, `amount = returned_total`, posted to 1090 Exchange clearing). Left out of the order's
    #: `payments`; a later refund of the sale pays this part back in cash.
    EXCHANGE = "exchange", "Exchange"
    #: A gift card (`giftcards`): the payment's `reference` keeps the card's last four
    #: characters, never its code; posted to 2300 Gift cards outstanding.
    GIFT_CARD = "gift_card", "Gift card"
    #: The order's customer's store credit (`storedvalue`): posted to 2310 Store credit. Negative
    #: only as the payback of an exchange whose returned goods are worth more than the sale.
    STORE_CREDIT = "store_credit", "Store credit"
    #: The order's customer's loyalty points (`storedvalue`): `points` redeemed at the store's
    #: `loyalty_point_value` (the payment's `amount`); posted to 2320 Loyalty points.
    POINTS = "points", "Loyalty points"


#: The tenders a sale's body may use.
SALE_TENDERS: tuple[str, ...] = (
    PaymentMethod.CASH,
    PaymentMethod.CARD,
    PaymentMethod.OTHER,
    PaymentMethod.GIFT_CARD,
    PaymentMethod.STORE_CREDIT,
    PaymentMethod.POINTS,
)


#: The range of every amount a sale takes or computes — a tender, a discount, an order's
#: subtotal and total — bounds included: it keeps every sum inside the 14-digit money columns.
#: The input serializers declare it on their fields; the sale service guards it for callers
#: that skip the API.
MIN_ORDER_AMOUNT = Decimal("0.00")
MAX_ORDER_AMOUNT = Decimal("9999999999.99")


class Payment(models.Model):
    """A tender. A card payment keeps only the processor reference and the last four digits."""

    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="payments")
    method = models.CharField(max_length=12, choices=PaymentMethod)
    amount = MoneyField()
    tendered = MoneyField(null=True, blank=True)
    change = MoneyField(default=0)
    tip = MoneyField(default=0, help_text="Taken with the amount, outside the order total.")
    reference = models.CharField(max_length=64, blank=True, default="")
    card_last4 = models.CharField(max_length=4, blank=True, default="")
    refunded_amount = MoneyField(default=0)
    points = models.BigIntegerField(
        null=True, blank=True, help_text="A `points` payment: the points redeemed (else null)."
    )

    class Meta:
        ordering = ("order_id", "id")
        constraints = [
            # Negative only for the cash or store credit an exchange pays back (API v1.1: payments
            # are then "what goes back"): no tendered, change or tip, and never refunded.
            models.CheckConstraint(
                condition=Q(amount__gte=0)
                | Q(
                    method__in=("cash", "store_credit"),
                    tendered__isnull=True,
                    change=0,
                    tip=0,
                    refunded_amount=0,
                ),
                name="payment_amount_nonnegative_unless_cash_back",
            ),
            models.CheckConstraint(condition=Q(tip__gte=0), name="payment_tip_nonnegative"),
            models.CheckConstraint(
                condition=Q(method="points", points__gt=0)
                | (~Q(method="points") & Q(points__isnull=True)),
                name="payment_points_only_for_points",
            ),
            models.CheckConstraint(
                condition=Q(refunded_amount__lte=F("amount")) | Q(amount__lt=0, refunded_amount=0),
                name="payment_refund_not_over_amount",
            ),
            models.CheckConstraint(
                condition=Q(card_last4="") | Q(card_last4__regex=r"^[0-9]{4}$"),
                name="payment_card_last4_digits",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.amount}"


class Refund(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="refunds")
    shift = models.ForeignKey(
        Shift,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="refunds",
        help_text="The open shift of the order's register when refunded: its drawer paid out "
        "the cash part (counted as its cash refunded). Null if that register had none.",
    )
    exchange_order = models.ForeignKey(
        Order,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="exchange_refunds",
        help_text="An exchange: the sale these returned goods paid for (null for a refund).",
    )
    number = models.CharField(max_length=32)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="refunds"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    reason = models.CharField(max_length=255, blank=True, default="")
    restock = models.BooleanField(default=True)
    net_total = MoneyField()
    tax_total = MoneyField()
    total = MoneyField()

    class Meta:
        ordering = ("id",)
        indexes = [
            models.Index(fields=("store", "created_at"), name="refund_store_created"),
            models.Index(fields=("store", "id"), name="refund_store_id"),
        ]
        constraints = [
            models.UniqueConstraint(fields=("store", "number"), name="refund_number_unique"),
        ]

    def __str__(self) -> str:
        return self.number


class RefundLine(models.Model):
    refund = models.ForeignKey(Refund, on_delete=models.PROTECT, related_name="lines")
    order_line = models.ForeignKey(OrderLine, on_delete=models.PROTECT, related_name="refund_lines")
    quantity = QuantityField()
    net = MoneyField()
    tax = MoneyField()
    total = MoneyField()
    cost = MoneyField(
        default=0,
        help_text="The piece of the line's cost of goods; back into inventory if restocked.",
    )

    class Meta:
        ordering = ("refund_id", "id")
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="refundline_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} of line {self.order_line_id}"


class RefundPayment(models.Model):
    refund = models.ForeignKey(Refund, on_delete=models.PROTECT, related_name="payments")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    method = models.CharField(max_length=12, choices=PaymentMethod)
    amount = MoneyField()

    class Meta:
        ordering = ("refund_id", "id")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="refundpayment_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.amount}"


class Return(models.Model):
    """A return without a receipt (`POST /api/v1/returns/`): goods given back that no order of
    ours is known for, priced at the product's current price (or less) and current tax rate.
    Numbered in its register's refund sequence (the same counter as refunds: the numbers never
    collide); posted like a refund (source `return`)."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="returns")
    register = models.ForeignKey(Register, on_delete=models.PROTECT, related_name="returns")
    shift = models.ForeignKey(
        Shift,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="returns",
        help_text="The register's open shift at the time: its drawer paid out the cash part. "
        "Null if the register had none (then nothing was paid in cash).",
    )
    number = models.CharField(max_length=32)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="returns"
    )
    created_at = models.DateTimeField()
    reason = models.CharField(max_length=255, blank=True, default="")
    restock = models.BooleanField(default=True)
    net_total = MoneyField()
    tax_total = MoneyField()
    total = MoneyField()
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="returns"
    )

    class Meta:
        ordering = ("id",)
        indexes = [models.Index(fields=("store", "created_at"), name="return_store_created")]
        constraints = [
            models.UniqueConstraint(fields=("store", "number"), name="return_number_unique"),
        ]

    def __str__(self) -> str:
        return self.number


class ReturnLine(models.Model):
    """A returned product, with the catalog's `sku` and `name` of the time snapshotted (as a sold
    line's are): a receipt reprinted after a catalog edit is the one the customer got."""

    return_doc = models.ForeignKey(Return, on_delete=models.PROTECT, related_name="lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="return_lines")
    sku = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    quantity = QuantityField()
    unit_price = MoneyField()
    tax_rate = RateField()
    net = MoneyField()
    tax = MoneyField()
    total = MoneyField()
    cost = MoneyField(
        default=0,
        help_text="round(product cost × quantity) put back into inventory (0 if not restocked "
        "or not tracked).",
    )

    class Meta:
        ordering = ("return_doc_id", "id")
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="returnline_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} of product {self.product_id}"


class ReturnPayment(models.Model):
    return_doc = models.ForeignKey(Return, on_delete=models.PROTECT, related_name="payments")
    method = models.CharField(max_length=12, choices=PaymentMethod)
    amount = MoneyField()

    class Meta:
        ordering = ("return_doc_id", "id")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="returnpayment_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.amount}"


class IdempotencyState(models.TextChoices):
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"


class IdempotencyKey(models.Model):
    """The first response to (user, key), stored in the same transaction as what it created."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="idempotency_keys"
    )
    key = models.CharField(max_length=255)
    endpoint = models.CharField(max_length=128)
    fingerprint = models.CharField(max_length=64)
    state = models.CharField(
        max_length=12, choices=IdempotencyState, default=IdempotencyState.PROCESSING
    )
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    # JSON text rather than jsonb: a replay answers byte for byte what the first request did
    # (jsonb would reorder the keys).
    response_body = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ("id",)
        # (user, key) is unique among the unexpired keys: the database function
        # `orders_idempotency_key_claim` checks and inserts under an advisory lock (a unique
        # index on a partitioned table would have to include `created_at`).
        indexes = [models.Index(fields=("user", "key"), name="idempotencykey_user_key")]

    def __str__(self) -> str:
        return f"{self.endpoint} {self.key} ({self.state})"


class DailyReport(models.Model):
    """A store's figures for one local day, as served by `GET /api/v1/reports/daily/`.
    Regenerating replaces the row (unique per store and date)."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="daily_reports")
    date = models.DateField()
    data = models.JSONField()
    generated_at = models.DateTimeField()

    class Meta:
        ordering = ("-date", "store_id")
        constraints = [
            models.UniqueConstraint(fields=("store", "date"), name="dailyreport_unique"),
        ]

    def __str__(self) -> str:
        return f"Daily report {self.store_id} {self.date}"


class ApprovalAction(models.TextChoices):
    DISCOUNT = "discount", "Discount beyond the cashier's limit"
    VOID = "void", "Void"
    REFUND = "refund", "Refund"
    RETURN = "return", "Return without receipt"


class Approval(models.Model):
    """A manager's approval of one action on one register: a single-use token, short-lived.
    Only a hash of the token is kept (a database reader cannot use it)."""

    token_hash = models.CharField(max_length=64, unique=True)
    action = models.CharField(max_length=16, choices=ApprovalAction)
    register = models.ForeignKey(Register, on_delete=models.PROTECT, related_name="+")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.action} on {self.register_id} by {self.approved_by_id}"


class HeldOrderStatus(models.TextChoices):
    HELD = "held", "Held"
    COMPLETED = "completed", "Completed by a sale"
    DELETED = "deleted", "Deleted"


class HeldOrder(models.Model):
    """A parked basket (`/api/v1/held-orders/`): priced like a quote, nothing sold or reserved.

    A completed or deleted one is kept, not removed, with its status (and the completing order):
    a later completion, change or deletion of it must answer `409 held_order_gone`, which a
    missing row could not tell from an id that never existed (404).

    `lines` holds the priced lines as the API renders them (decimals as strings), each with the
    line's own `line_discount` as requested, so completing it re-prices the same request."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="held_orders")
    register = models.ForeignKey(Register, on_delete=models.PROTECT, related_name="held_orders")
    status = models.CharField(max_length=10, choices=HeldOrderStatus, default=HeldOrderStatus.HELD)
    currency = models.CharField(max_length=3)
    prices_include_tax = models.BooleanField()
    lines = models.JSONField()
    order_discount = MoneyField(default=0, help_text="The order-level discount as requested.")
    subtotal = MoneyField()
    discount_total = MoneyField()
    tax_total = MoneyField()
    total = MoneyField()
    note = models.CharField(max_length=255, blank=True, default="")
    held_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="held_orders"
    )
    held_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    order = models.OneToOneField(
        Order, null=True, blank=True, on_delete=models.PROTECT, related_name="held_order"
    )
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="held_orders"
    )

    class Meta:
        ordering = ("-held_at", "-id")
        indexes = [
            models.Index(
                fields=("store", "held_at"),
                condition=Q(status="held"),
                name="heldorder_store_held",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="held", closed_at__isnull=True, order__isnull=True)
                | Q(status="completed", closed_at__isnull=False, order__isnull=False)
                | Q(status="deleted", closed_at__isnull=False, order__isnull=True),
                name="heldorder_closed_fields_consistent",
            ),
        ]

    def __str__(self) -> str:
        return f"Held order {self.pk} on register {self.register_id} ({self.status})"

    def requested_lines(self) -> list[tuple[int, Decimal, Decimal, list[int], str]]:
        """`(product id, quantity, the line's own discount, the chosen modifiers' ids, the scale
        label)` of each line, as requested: what the completing sale re-prices (a scale label's
        line by its label again)."""
        return [
            (
                line["product"],
                Decimal(line["quantity"]),
                Decimal(line["line_discount"]),
                [modifier["id"] for modifier in line.get("modifiers", [])],
                line.get("barcode", ""),
            )
            for line in self.lines
        ]
