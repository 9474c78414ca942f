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
- Money goes back to the original tenders, non-cash first, cash last (card, then other, then
  cash), each tender capped at what it paid minus what was already refunded to it.

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

#: The order in which tenders are paid back: non-cash first, cash last.
TENDER_REFUND_ORDER: tuple[str, ...] = ("card", "other", "cash")


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


def allocate_to_tenders(amount: Decimal, tenders: Sequence[Tender]) -> list[TenderRefund]:
    """Spread `amount` over the original tenders, card first, then other, then cash (by payment
    id within a method), each capped at what is still refundable on it. Tenders that get nothing
    are left out."""
    if amount < 0:
        raise ValueError("A refund amount cannot be negative.")

    def sort_key(tender: Tender) -> tuple[int, int]:
        rank = (
            TENDER_REFUND_ORDER.index(tender.method)
            if tender.method in TENDER_REFUND_ORDER
            else len(TENDER_REFUND_ORDER)
        )
        return rank, tender.payment_id

    left = amount
    allocations: list[TenderRefund] = []
    for tender in sorted(tenders, key=sort_key):
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
