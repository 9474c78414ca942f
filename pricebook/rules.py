"""What the pricing engine (`orders.pricing`) knows of a promotion: plain, frozen data with no
ORM, so the engine stays a pure function of its inputs. `pricebook.selectors` loads them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

__all__ = ["AMOUNT_OFF", "BUY_X_GET_Y", "PERCENT_OFF", "PromotionRule"]

PERCENT_OFF = "percent_off"
AMOUNT_OFF = "amount_off"
BUY_X_GET_Y = "buy_x_get_y"


@dataclass(frozen=True, slots=True)
class PromotionRule:
    """One promotion as the engine applies it.

    `percent_off`: `value` per cent off each eligible unit; `amount_off`: `value` (money) off
    each eligible unit, never below zero; `buy_x_get_y`: for every `x` eligible units bought, the
    `y` cheapest further eligible units at `value` per cent off (`100` = free).

    A product is eligible when its id or its template's (a variant's `variant_of`) is in
    `product_ids`, or its category is in `category_ids` (which the loader expands with every
    descendant category). The schedule is read in the
    store's local time: `valid_from ≤ at < valid_to` (either open), the ISO weekday (1 = Monday
    … 7 = Sunday) in `days_of_week` (empty: every day), and the local time in
    `[start_time, end_time)` (either open; a start after the end spans midnight)."""

    id: int
    name: str
    kind: str
    value: Decimal
    x: int = 0
    y: int = 0
    priority: int = 0
    product_ids: frozenset[int] = frozenset()
    category_ids: frozenset[int] = frozenset()
    valid_from: dt.datetime | None = None
    valid_to: dt.datetime | None = None
    days_of_week: frozenset[int] = frozenset()
    start_time: dt.time | None = None
    end_time: dt.time | None = None

    def eligible(
        self, *, product_id: int, category_id: int | None, template_id: int | None = None
    ) -> bool:
        """Named itself, through its template (a promotion on a T-shirt covers every size), or
        through its category."""
        return (
            product_id in self.product_ids
            or (template_id is not None and template_id in self.product_ids)
            or (category_id is not None and category_id in self.category_ids)
        )

    def applies_at(self, local: dt.datetime) -> bool:
        """Whether the schedule covers `local`, an aware datetime in the store's time zone."""
        if self.valid_from is not None and local < self.valid_from:
            return False
        if self.valid_to is not None and local >= self.valid_to:
            return False
        if self.days_of_week and local.isoweekday() not in self.days_of_week:
            return False
        now = local.timetz().replace(tzinfo=None)
        start, end = self.start_time, self.end_time
        if start is None and end is None:
            return True
        if start is None:
            return now < end  # type: ignore[operator]
        if end is None:
            return now >= start
        if start <= end:
            return start <= now < end
        return now >= start or now < end  # spans midnight
