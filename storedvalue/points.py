"""The arithmetic of loyalty points, as pure functions (no ORM), so the rules can be checked by
property tests.

- A sale earns `floor(paid with money × rate)` points, where money is what the tenders other than
  gift cards, store credit, points and an exchange's returned goods paid.
- Their value is `points × loyalty_point_value`; the store's point value is a whole number of
  the currency's minor units (`accounts.Store.clean`), so the product is exact: nothing is
  rounded between earning, redeeming and taking back.
- A refund takes back the points its order earned, pro rata to the money refunded, as the
  difference of two floors: `floor(earned × refunded after / total) − floor(earned × refunded
  before / total)`, with the refund that completes the order (refunded = total) taking the rest.
  So the refunds of an order, in any steps, take back exactly what it earned.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

__all__ = ["points_due", "points_earned"]

_SCALE = 1000  # money columns keep 3 decimals: × 1000 is an exact integer


def _minor(value: Decimal) -> int:
    return int((value * _SCALE).to_integral_value())


def points_earned(*, money_paid: Decimal, rate: Decimal) -> int:
    """`floor(money_paid × rate)`, 0 for nothing paid or a rate of 0 (loyalty off)."""
    if money_paid <= 0 or rate <= 0:
        return 0
    return int((money_paid * rate).to_integral_value(rounding=ROUND_FLOOR))


def points_due(
    *, earned: int, total: Decimal, refunded_before: Decimal, refunded_after: Decimal
) -> int:
    """The points a refund takes back: its order `earned` them on `total`; the order's refunded
    money goes from `refunded_before` to `refunded_after` (integer arithmetic: no rounding of
    a quotient)."""
    if earned <= 0 or total <= 0:
        return 0
    whole = _minor(total)

    def upto(refunded: Decimal) -> int:
        part = _minor(refunded)
        return earned if part >= whole else earned * part // whole

    return upto(refunded_after) - upto(refunded_before)
