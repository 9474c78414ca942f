"""The money of a refund, as pure functions on Decimals (no ORM), so the rules can be checked by
property tests.

Two rules from the contract:

- A part of a line is refunded pro rata from the line's snapshotted `net` and `tax`:
  `net part = round(line.net × q / line.quantity)`, the tax part likewise, `total = net + tax`.
  The refund that completes the line takes exactly what is left of it, so a line refunded in full,
  in any number of steps, returns exactly its `net`, `tax` and `total`.
- The line's cost of goods (`cost`, what the sale took out of inventory) is shared out by the
  same rule, so a line refunded in full returns exactly its cost; whether a piece's cost goes
  back into inventory (restocked) or stays in cost of goods is the caller's business.
- Money goes back to the original tenders, non-cash first, cash last (card, gift card, store
  credit, other, then cash), each tender capped at what it paid minus what was already refunded
  to it.
- Unless the request chooses the tenders (`tenders: [{method, amount}]`, API v1.1): then each
  chosen method gives back exactly its amount, spread over that method's payments by payment id,
  each capped the same way (`allocate_chosen_tenders`). `store_credit` may be chosen whatever
  paid the order (the money becomes the customer's credit): it takes its amount from what the
  other chosen methods left, store credit payments first, then in the default order.

A pro rata piece is also capped at what is left of the line: with tiny amounts spread over many
partial refunds, half-up rounding could otherwise let the partial pieces overshoot the line (e.g.
0.05 over 4 units refunded 1.3 at a time: 0.02 + 0.02 + 0.02), leaving the completing refund a
negative remainder.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from money import CENT, ZERO
from money.currencies import fits_currency, round_money

#: The order in which tenders are paid back: non-cash first, cash last. A gift card's part goes
#: back onto the card that paid it, a store credit part to the customer's credit, a points part
#: to the customer's points (never in cash, unless the refund chooses cash).
TENDER_REFUND_ORDER: tuple[str, ...] = (
    "card",
    "gift_card",
    "store_credit",
    "points",
    "other",
    "cash",
)


@dataclass(frozen=True, slots=True)
class LineSnapshot:
    """What a sold line was, and what refunds have taken from it so far."""

    quantity: Decimal
    net: Decimal
    tax: Decimal
    cost: Decimal = ZERO
    refunded_quantity: Decimal = ZERO
    refunded_net: Decimal = ZERO
    refunded_tax: Decimal = ZERO
    refunded_cost: Decimal = ZERO

    @property
    def remaining_quantity(self) -> Decimal:
        return self.quantity - self.refunded_quantity


@dataclass(frozen=True, slots=True)
class RefundPiece:
    """The money one refund takes from one line, and its share of the line's cost of goods."""

    quantity: Decimal
    net: Decimal
    tax: Decimal
    cost: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.net + self.tax


class RefundQuantityError(ValueError):
    """The quantity is not positive or is more than is left on the line."""


def refund_piece(line: LineSnapshot, quantity: Decimal, quantum: Decimal = CENT) -> RefundPiece:
    """The net, tax and total that refunding `quantity` of `line` gives back, and its cost, in
    the currency whose minor unit is `quantum`."""
    if quantity <= 0:
        raise RefundQuantityError("A refunded quantity must be positive.")
    remaining = line.remaining_quantity
    if quantity > remaining:
        raise RefundQuantityError(f"Only {remaining} is left to refund on this line.")
    # Exact (stored amounts are whole minor units): only the scale becomes the currency's.
    left_net = (line.net - line.refunded_net).quantize(quantum)
    left_tax = (line.tax - line.refunded_tax).quantize(quantum)
    left_cost = (line.cost - line.refunded_cost).quantize(quantum)
    if quantity == remaining:
        return RefundPiece(quantity=quantity, net=left_net, tax=left_tax, cost=left_cost)

    def share(amount: Decimal) -> Decimal:
        # Pro rata, half-up to the currency's minor unit (`quantum`).
        return (amount * quantity / line.quantity).quantize(quantum, rounding=ROUND_HALF_UP)

    net = min(share(line.net), left_net)
    tax = min(share(line.tax), left_tax)
    cost = min(share(line.cost), left_cost)
    return RefundPiece(quantity=quantity, net=net, tax=tax, cost=cost)


@dataclass(frozen=True, slots=True)
class Tender:
    """One original payment: its id, method, the amount it paid and what was refunded to it."""

    payment_id: int
    method: str
    amount: Decimal
    refunded_amount: Decimal = ZERO

    @property
    def refundable(self) -> Decimal:
        return self.amount - self.refunded_amount


@dataclass(frozen=True, slots=True)
class TenderRefund:
    payment_id: int
    method: str
    amount: Decimal


class TenderShortfall(ValueError):
    """The tenders cannot cover the amount (what was paid is already refunded)."""


def _in_refund_order(tenders: Sequence[Tender], first: str | None = None) -> list[Tender]:
    """`tenders` in the order money goes back to them (`TENDER_REFUND_ORDER`, then payment id),
    those of method `first` before all others."""

    def sort_key(tender: Tender) -> tuple[bool, int, int]:
        rank = (
            TENDER_REFUND_ORDER.index(tender.method)
            if tender.method in TENDER_REFUND_ORDER
            else len(TENDER_REFUND_ORDER)
        )
        return tender.method != first, rank, tender.payment_id

    return sorted(tenders, key=sort_key)


def allocate_to_tenders(amount: Decimal, tenders: Sequence[Tender]) -> list[TenderRefund]:
    """Spread `amount` over the original tenders, card first, then other, then cash (by payment
    id within a method), each capped at what is still refundable on it. Tenders that get nothing
    are left out."""
    if amount < 0:
        raise ValueError("A refund amount cannot be negative.")

    left = amount
    allocations: list[TenderRefund] = []
    for tender in _in_refund_order(tenders):
        if left <= 0:
            break
        take = min(left, tender.refundable)
        if take > 0:
            allocations.append(
                TenderRefund(payment_id=tender.payment_id, method=tender.method, amount=take)
            )
            left -= take
    if left > 0:
        raise TenderShortfall(f"The tenders are {left} short of the refund.")
    return allocations


#: The methods a request may choose to give money back to.
CHOOSABLE_TENDERS: frozenset[str] = frozenset(TENDER_REFUND_ORDER)
#: Chosen, it needs no payment of its own: it is where the money goes, whatever paid.
STORE_CREDIT = "store_credit"


@dataclass(frozen=True, slots=True)
class TenderRequest:
    """One tender chosen by a refund request: a method and the amount to give back to it."""

    method: str
    amount: Decimal


class TenderChoiceInvalid(ValueError):
    """The chosen tenders are malformed whatever the state of the order (a 400): `errors` maps
    the request's field (`tenders`, `tenders.<i>.method`, `tenders.<i>.amount`) to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def allocate_chosen_tenders(
    total: Decimal,
    choices: Sequence[TenderRequest],
    tenders: Sequence[Tender],
    currency: str,
) -> list[TenderRefund]:
    """Give `total` back to the chosen methods: each choice's amount spread over the order's
    payments of that method by payment id, each capped at what is still refundable on it.

    `TenderChoiceInvalid` (400) when the request itself is wrong: a method other than cash, card,
    gift card, store credit or other, a method listed twice, an amount that is not positive or
    finer than the currency's minor unit, a method the order was not paid with or more than that
    method ever paid, amounts that do not add up to `total`. `TenderShortfall` (409) when the
    method paid that much but earlier refunds already took part of it: that depends on what
    other refunds did, like the v1 over-refund. The allocations come card, other, cash (then by
    payment id), as `allocate_to_tenders` lists them."""
    errors: dict[str, list[str]] = {}
    paid: dict[str, Decimal] = {}
    for tender in tenders:
        paid[tender.method] = paid.get(tender.method, ZERO) + tender.amount
    seen: set[str] = set()
    for index, choice in enumerate(choices):
        method_key, amount_key = f"tenders.{index}.method", f"tenders.{index}.amount"
        if choice.method not in CHOOSABLE_TENDERS:
            errors[method_key] = [
                "Not a refund tender: cash, card, gift_card, store_credit or other."
            ]
        elif choice.method in seen:
            errors[method_key] = ["This method is listed twice."]
        elif choice.method == STORE_CREDIT:
            pass  # any payment may become store credit: only the total bounds it
        elif choice.method not in paid:
            errors[method_key] = [f"The order was not paid by {choice.method}."]
        seen.add(choice.method)
        if choice.amount <= 0:
            errors[amount_key] = ["Must be more than zero."]
        elif not fits_currency(choice.amount, currency):
            errors[amount_key] = [f"Finer than the minor unit of {currency}."]
        elif (
            method_key not in errors
            and choice.method != STORE_CREDIT
            and choice.amount > paid[choice.method]
        ):
            errors[amount_key] = [
                f"More than the order was paid by {choice.method} "
                f"({round_money(paid[choice.method], currency)})."
            ]
    chosen_total = sum((choice.amount for choice in choices), ZERO)
    if chosen_total != total:
        errors.setdefault("tenders", []).append(
            f"The tenders add up to {round_money(chosen_total, currency)}; the refund is "
            f"{round_money(total, currency)}."
        )
    if errors:
        raise TenderChoiceInvalid(errors)

    allocations: list[TenderRefund] = []
    taken: dict[int, Decimal] = {}  # payment id → what earlier choices took of it
    # Store credit last: it takes what the other choices left, its own payments first.
    for choice in sorted(choices, key=lambda c: c.method == STORE_CREDIT):
        left = choice.amount
        if choice.method == STORE_CREDIT:
            sources = _in_refund_order(tenders, first=STORE_CREDIT)
        else:
            sources = sorted(
                (t for t in tenders if t.method == choice.method), key=lambda t: t.payment_id
            )
        for tender in sources:
            take = min(left, tender.refundable - taken.get(tender.payment_id, ZERO))
            if take > 0:
                allocations.append(
                    TenderRefund(payment_id=tender.payment_id, method=choice.method, amount=take)
                )
                taken[tender.payment_id] = taken.get(tender.payment_id, ZERO) + take
                left -= take
            if left <= 0:
                break
        if left > 0:
            raise TenderShortfall(
                f"{choice.method} has only {choice.amount - left} left to give back."
            )
    rank = {method: i for i, method in enumerate(TENDER_REFUND_ORDER)}
    return sorted(allocations, key=lambda a: (rank[a.method], a.payment_id))
