"""Issuing gift cards (`POST /api/v1/gift-cards/`) and expiring them (`expire_gift_cards`).

Issuing is not a sale: no order, no revenue, no tax. The card is sold on a register's open shift
(locked like a sale locks it, so a concurrent close either counts the card's cash or refuses
it): its cash goes into that drawer (`orders.selectors.shifts.shift_cash_summary` counts
`GiftCardPayment` rows), the ledger gets Dr the tenders / Cr 2300 Gift cards outstanding.
The code is made here, returned once, and never stored, logged or audited (only its hash and
last four characters).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.services import audit_record
from domain.errors import InvalidInput, ObjectNotFound
from giftcards.codes import code_generate, code_hash
from giftcards.models import (
    GiftCard,
    GiftCardMovement,
    GiftCardMovementKind,
    GiftCardPayment,
    GiftCardStatus,
)
from ledger.services import post_gift_card_expiry, post_gift_card_issue
from money.currencies import fits_currency, minor_units, round_money
from orders.exceptions import PaymentMismatch, ShiftNotOpen
from orders.models import MAX_ORDER_AMOUNT, PaymentMethod
from orders.selectors.sales import register_for_sale, sale_shift_locked

__all__ = [
    "ISSUE_TENDERS",
    "IssuePayment",
    "IssuedGiftCard",
    "gift_card_issue",
    "gift_cards_expire",
]

#: What may pay for a gift card (not a gift card).
ISSUE_TENDERS: tuple[str, ...] = (PaymentMethod.CASH, PaymentMethod.CARD, PaymentMethod.OTHER)


@dataclass(frozen=True, slots=True)
class IssuePayment:
    method: str
    amount: Decimal
    reference: str = ""
    card_last4: str = ""


@dataclass(frozen=True, slots=True)
class IssuedGiftCard:
    card: GiftCard
    code: str  # shown once


def default_expiry(issued_at: dt.datetime) -> dt.datetime | None:
    days = settings.GIFT_CARD_VALIDITY_DAYS
    return issued_at + dt.timedelta(days=days) if days > 0 else None


def _validated_payments(
    *, amount: Decimal, payments: Sequence[IssuePayment], currency: str
) -> list[IssuePayment]:
    errors: dict[str, list[str]] = {}
    if not Decimal("0") < amount <= MAX_ORDER_AMOUNT:
        errors["amount"] = ["Must be more than zero."]
    elif not fits_currency(amount, currency):
        errors["amount"] = [f"More decimals than {currency} allows ({minor_units(currency)})."]
    if not payments:
        errors["payments"] = ["At least one payment is required."]
    rows = []
    for index, payment in enumerate(payments):
        if payment.method not in ISSUE_TENDERS:
            errors[f"payments.{index}.method"] = ["A gift card is paid by cash, card or other."]
        elif not Decimal("0") < payment.amount <= MAX_ORDER_AMOUNT:
            errors[f"payments.{index}.amount"] = ["Must be more than zero."]
        elif not fits_currency(payment.amount, currency):
            errors[f"payments.{index}.amount"] = [
                f"More decimals than {currency} allows ({minor_units(currency)})."
            ]
        elif payment.card_last4 and payment.method != PaymentMethod.CARD:
            errors[f"payments.{index}.card_last4"] = ["Only a card payment has card_last4."]
        else:
            rows.append(
                IssuePayment(
                    method=payment.method,
                    amount=round_money(payment.amount, currency),
                    reference=payment.reference,
                    card_last4=payment.card_last4,
                )
            )
    if errors:
        raise InvalidInput(errors=errors)
    paid = sum((row.amount for row in rows), Decimal("0"))
    if paid != amount:
        message = f"The payments add up to {paid}; the gift card is {amount}."
        raise PaymentMismatch(message, errors={"payments": [message]})
    return rows


def gift_card_issue(
    *,
    user: User,
    register_id: int,
    amount: Decimal,
    payments: Sequence[IssuePayment],
    now: dt.datetime | None = None,
) -> IssuedGiftCard:
    """Sell a gift card of `amount` on the register's open shift, in one transaction: the card
    (code hashed), its `issue` movement, its payments, the journal entry (Dr tenders, Cr 2300)
    and the audit event `gift_card.issued` (last four characters only).

    Register not in the user's stores → `ObjectNotFound`; no open shift → `ShiftNotOpen`;
    inactive register, bad amount or tender → `InvalidInput`; tenders ≠ amount →
    `PaymentMismatch`."""
    with transaction.atomic(savepoint=False):
        shift = sale_shift_locked(user=user, register_id=register_id)
        if shift is None:
            if register_for_sale(user=user, register_id=register_id) is None:
                raise ObjectNotFound("Register not found.")
            raise ShiftNotOpen()
        register = shift.register
        if not register.is_active:
            raise InvalidInput(errors={"register": ["This register is not active."]})
        store = register.store
        currency = store.currency
        rows = _validated_payments(amount=amount, payments=payments, currency=currency)
        amount = round_money(amount, currency)
        issued_at = now or timezone.now()
        code = code_generate()
        card = GiftCard.objects.create(
            store=store,
            code_hash=code_hash(code),
            last4=code[-4:],
            currency=currency,
            initial_amount=amount,
            balance=amount,
            issued_at=issued_at,
            expires_at=default_expiry(issued_at),
            issued_by=user,
            register=register,
            shift=shift,
        )
        movement = GiftCardMovement.objects.create(
            card=card,
            kind=GiftCardMovementKind.ISSUE,
            amount=amount,
            balance_after=amount,
            created_by=user,
            created_at=issued_at,
        )
        GiftCardPayment.objects.bulk_create(
            GiftCardPayment(
                card=card,
                shift=shift,
                method=row.method,
                amount=row.amount,
                reference=row.reference,
                card_last4=row.card_last4,
            )
            for row in rows
        )
        tenders: dict[str, Decimal] = {}
        for row in rows:
            tenders[row.method] = tenders.get(row.method, Decimal("0")) + row.amount
        post_gift_card_issue(
            store=store,
            date=timezone.localdate(issued_at, store.tzinfo),
            movement_id=movement.pk,
            tenders=tenders,
            created_by=user,
        )
        audit_record(
            action="gift_card.issued",
            actor=user,
            store_id=store.pk,
            object_type="gift_card",
            object_id=card.pk,
            changes={
                "last4": card.last4,
                "amount": str(amount),
                "currency": currency,
                "register": register.pk,
                "shift": shift.pk,
                "tenders": {method: str(value) for method, value in sorted(tenders.items())},
                "expires_at": card.expires_at.isoformat() if card.expires_at else None,
            },
        )
    return IssuedGiftCard(card=card, code=code)


def gift_cards_expire(*, now: dt.datetime | None = None) -> int:
    """Expire every card past its `expires_at` (and take what a refund put back on an expired
    card): balance → 0, an `expire` movement, Dr 2300 / Cr 4010 Gift card breakage, audit
    `gift_card.expired`. One transaction per card (a card locked, re-checked, then written), so
    a redemption in flight either commits first or sees the card expired. How many expired."""
    now = now or timezone.now()
    candidates = list(
        GiftCard.objects.filter(status=GiftCardStatus.ACTIVE, expires_at__lte=now).values_list(
            "pk", flat=True
        )
    ) + list(
        GiftCard.objects.filter(status=GiftCardStatus.EXPIRED, balance__gt=0).values_list(
            "pk", flat=True
        )
    )
    expired = 0
    for card_id in sorted(set(candidates)):
        with transaction.atomic():
            card = (
                GiftCard.objects.select_for_update(of=("self",))
                .select_related("store")
                .get(pk=card_id)
            )
            if card.status == GiftCardStatus.ACTIVE and (
                card.expires_at is None or card.expires_at > now
            ):
                continue
            left = card.balance
            GiftCard.objects.filter(pk=card.pk).update(
                status=GiftCardStatus.EXPIRED, balance=Decimal("0")
            )
            movement = GiftCardMovement.objects.create(
                card=card,
                kind=GiftCardMovementKind.EXPIRE,
                amount=-left,
                balance_after=Decimal("0"),
                created_by=None,
                created_at=now,
            )
            if left:
                post_gift_card_expiry(
                    store=card.store,
                    date=timezone.localdate(now, card.store.tzinfo),
                    movement_id=movement.pk,
                    amount=left,
                    created_by=None,
                )
            audit_record(
                action="gift_card.expired",
                actor=None,
                store_id=card.store_id,
                object_type="gift_card",
                object_id=card.pk,
                changes={"last4": card.last4, "breakage": str(left)},
            )
            expired += 1
    return expired
