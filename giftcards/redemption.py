"""Spending and giving back gift cards inside a sale, a refund or a void (their transaction).

Each card is locked (`SELECT … FOR UPDATE`) before its balance is read, in the order of the
codes' hashes, after the locks the sale already holds (shift, counters, stock come before, see
`orders.services.sales`): two sales spending one card queue, and the second sees what the first
left — it never overspends (the `balance >= 0` check constraint is the backstop).

A card is spent only in the store that issued it: its liability is in that store's ledger
(2300), which a redemption elsewhere would take below zero.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F
from django.utils import timezone

from accounts.models import Store, User
from giftcards.codes import code_hash, code_normalise
from giftcards.exceptions import GiftCardInvalid, InsufficientBalance
from giftcards.models import GiftCard, GiftCardMovement, GiftCardMovementKind, GiftCardStatus
from money.currencies import round_money

__all__ = [
    "GiftCardSpend",
    "gift_card_find",
    "gift_cards_give_back",
    "gift_cards_spend",
    "is_usable",
]


@dataclass(frozen=True, slots=True)
class GiftCardSpend:
    """A sale payment by gift card: the code as typed, the payment row and the amount."""

    code: str
    payment_id: int
    amount: Decimal
    field: str  # the request's field, for errors: `payments.<i>.code`


def is_usable(card: GiftCard, *, store_id: int, currency: str, now: dt.datetime) -> bool:
    return (
        card.status == GiftCardStatus.ACTIVE
        and card.store_id == store_id
        and card.currency == currency
        and (card.expires_at is None or card.expires_at > now)
    )


def gift_card_find(*, code: str, lock: bool = False) -> GiftCard | None:
    """The card of `code` (any store), or None for a code that is not one."""
    normal = code_normalise(code)
    if normal is None:
        return None
    queryset = GiftCard.objects.all()
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    return queryset.filter(code_hash=code_hash(normal)).first()


def gift_cards_spend(
    *, store: Store, spends: Sequence[GiftCardSpend], user: User, now: dt.datetime | None = None
) -> None:
    """Draw each card down by its payment's amount (two queries a card: the lock, then the
    balance and its `redeem` movement). `GiftCardInvalid` (400) for a code that is no usable
    card of `store`, `InsufficientBalance` (409) when the card holds less than the amount."""
    now = now or timezone.now()
    by_hash: dict[str, list[GiftCardSpend]] = {}
    for spend in spends:
        normal = code_normalise(spend.code)
        if normal is None:
            raise GiftCardInvalid(errors={spend.field: [GiftCardInvalid.default_detail]})
        by_hash.setdefault(code_hash(normal), []).append(spend)
    for digest in sorted(by_hash):
        card = GiftCard.objects.select_for_update(of=("self",)).filter(code_hash=digest).first()
        first = by_hash[digest][0]
        if card is None or not is_usable(card, store_id=store.pk, currency=store.currency, now=now):
            raise GiftCardInvalid(errors={first.field: [GiftCardInvalid.default_detail]})
        balance = card.balance
        movements = []
        for spend in by_hash[digest]:
            if spend.amount > balance:
                # In the currency's minor units (the column keeps 3 decimals for every currency).
                holds = round_money(balance, card.currency)
                asked = round_money(spend.amount, card.currency)
                raise InsufficientBalance(
                    f"The gift card ····{card.last4} holds {holds}; {asked} asked.",
                    errors={spend.field: [f"The card holds {holds}."]},
                )
            balance -= spend.amount
            movements.append(
                GiftCardMovement(
                    card=card,
                    kind=GiftCardMovementKind.REDEEM,
                    amount=-spend.amount,
                    balance_after=balance,
                    payment_id=spend.payment_id,
                    created_by=user,
                    created_at=now,
                )
            )
        GiftCard.objects.filter(pk=card.pk).update(balance=balance)
        GiftCardMovement.objects.bulk_create(movements)


def gift_cards_give_back(
    *,
    amounts_by_payment: dict[int, Decimal],
    user: User,
    refund_id: int | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Put money back on the cards that paid the sale payments `amounts_by_payment` (a refund
    to `gift_card`, or a void): each card locked, its balance raised, a `refund` movement. An
    expired card gets the money back too (it expired with the balance it had; the next
    `expire_gift_cards` run takes the rest as breakage)."""
    amounts = {pk: amount for pk, amount in amounts_by_payment.items() if amount > 0}
    if not amounts:
        return
    now = now or timezone.now()
    card_of_payment = dict(
        GiftCardMovement.objects.filter(
            payment_id__in=amounts, kind=GiftCardMovementKind.REDEEM
        ).values_list("payment_id", "card_id")
    )
    by_card: dict[int, list[tuple[int, Decimal]]] = {}
    for payment_id, amount in sorted(amounts.items()):
        by_card.setdefault(card_of_payment[payment_id], []).append((payment_id, amount))
    cards = {
        card.pk: card
        for card in GiftCard.objects.select_for_update(of=("self",))
        .filter(pk__in=by_card)
        .order_by("pk")
    }
    movements = []
    for card_id in sorted(by_card):
        balance = cards[card_id].balance
        for payment_id, amount in by_card[card_id]:
            balance += amount
            movements.append(
                GiftCardMovement(
                    card_id=card_id,
                    kind=GiftCardMovementKind.REFUND,
                    amount=amount,
                    balance_after=balance,
                    payment_id=payment_id,
                    refund_id=refund_id,
                    created_by=user,
                    created_at=now,
                )
            )
        GiftCard.objects.filter(pk=card_id).update(
            balance=F("balance") + (balance - cards[card_id].balance)
        )
    GiftCardMovement.objects.bulk_create(movements)
