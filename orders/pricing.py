"""The one pricing function of the product: a quote and a sale are priced by the same code.

Pure functions on `Decimal` (no ORM, no I/O), following the contract (shared/API.md, "Orders"),
with every rounding half-up to `quantum`, the minor unit of the store's currency (0.01 for USD,
1 for JPY, 0.001 for KWD: `money.currencies.quantum`); "cent" below means that unit:

* line `gross = round(unit_price × quantity)`; `amount = gross − line discount` (a line discount
  above its gross is refused);
* the order discount is spread over the lines: every line but the one with the largest `amount`
  (the first one on ties) gets `round(order_discount × amount / Σ amount)`, the largest gets the
  rest, so the shares always add up to the order discount exactly (an order discount above
  Σ amount is refused);
* a line's `discount` is its own discount plus its share;
* tax-exclusive: `net = gross − discount`, `tax = round(net × rate)`, `total = net + tax`;
* tax-inclusive: `total = gross − discount`, `tax = round(total − total / (1 + rate))`,
  `net = total − tax`;
* order `subtotal = Σ gross`, `discount_total = Σ discount`, `tax_total = Σ tax`,
  `total = Σ total`.

One case the contract's spreading rule does not cover: with many small lines, each share rounded
up can leave the largest line a *negative* rest (seven lines of 1.00 and an order discount of
0.05: six shares of 0.01, rest −0.01), or rounded down a rest above that line's own amount. A
discount can never raise a price nor push a line below zero, so only then the rest is brought
back into `[0, amount]` by moving single cents to or from the other lines whose share was rounded
the most (ties: the first line). Every other case follows the contract's rule to the letter.

Rates are in per cent, as stored (`Decimal("8.250")` is 8.25 %).

Catalog depth (API v1.1), before the rules above:

* a line's base price is its price-list price in the store when it has one (`list_price`), else
  the product's own; its `unit_price` is that plus the deltas of its chosen modifiers (a unit
  price below zero is refused);
* automatic promotions (`pricebook.rules.PromotionRule`, those whose schedule covers `at`, the
  store's local time) take their `promotion_discount` off the line's gross before anything else:
  `percent_off` `round(gross × value / 100)`, `amount_off` `round(min(value, unit_price) ×
  quantity)`, `buy_x_get_y` over the units of every line that takes part (whole units only):
  for every `x + y` of them, the `y` cheapest at `value` per cent off, each line
  `round(free units × unit_price × value / 100)`. Each line takes at most one promotion, the one
  worth most to it (ties: higher `priority`, then lower id; `promotion_choose`). A line's own
  discount may then take at most what the promotion left (`gross − promotion_discount`), and the
  order discount is spread over what both left, by the contract's rule;
* `net` and `tax` are then computed as above from `gross − promotion_discount − discount`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from domain.errors import InvalidInput
from money import CENT, ZERO, rate_fraction
from pricebook.rules import AMOUNT_OFF, BUY_X_GET_Y, PERCENT_OFF, PromotionRule

__all__ = [
    "LineInput",
    "PricedLine",
    "PricedOrder",
    "line_gross",
    "price_order",
    "promotion_choose",
    "spread_discount",
    "tax_exclusive",
    "tax_inclusive",
]


@dataclass(frozen=True, slots=True)
class LineInput:
    """What pricing needs of one line: the catalog's price and rate, the requested quantity and
    the line's own discount."""

    unit_price: Decimal
    quantity: Decimal
    tax_rate: Decimal
    discount: Decimal = ZERO
    #: The price-list price in the store, when a price list has the product (else `unit_price`).
    list_price: Decimal | None = None
    #: The price deltas of the chosen modifiers.
    modifier_deltas: tuple[Decimal, ...] = ()
    #: What promotions match on.
    product_id: int = 0
    category_id: int | None = None
    template_id: int | None = None  # a variant's template

    @property
    def base_price(self) -> Decimal:
        return self.unit_price if self.list_price is None else self.list_price

    @property
    def full_unit_price(self) -> Decimal:
        """The unit price the line is sold at: the base price plus the modifiers' deltas."""
        return self.base_price + sum(self.modifier_deltas, ZERO)


@dataclass(frozen=True, slots=True)
class PromotionDiscount:
    """The promotion a line takes (`None`: none) and what it takes off the line's gross."""

    promotion: PromotionRule | None
    amount: Decimal


NO_PROMOTION = PromotionDiscount(None, ZERO)


@dataclass(frozen=True, slots=True)
class PricedLine:
    unit_price: Decimal
    quantity: Decimal
    tax_rate: Decimal
    gross: Decimal
    base_price: Decimal
    promotion: PromotionRule | None
    promotion_discount: Decimal
    line_discount: Decimal
    discount_share: Decimal
    discount: Decimal
    net: Decimal
    tax: Decimal
    total: Decimal


@dataclass(frozen=True, slots=True)
class PricedOrder:
    lines: tuple[PricedLine, ...]
    prices_include_tax: bool
    order_discount: Decimal
    subtotal: Decimal
    promotion_total: Decimal
    discount_total: Decimal
    net_total: Decimal
    tax_total: Decimal
    total: Decimal

    def tax_by_rate(self) -> list[tuple[Decimal, Decimal, Decimal]]:
        """`[(rate, net, tax)]` grouped by rate, in ascending rate order (for receipts)."""
        groups: dict[Decimal, tuple[Decimal, Decimal]] = {}
        for line in self.lines:
            net, tax = groups.get(line.tax_rate, (ZERO, ZERO))
            groups[line.tax_rate] = (net + line.net, tax + line.tax)
        return [(rate, *groups[rate]) for rate in sorted(groups)]

    def promotions(self) -> list[tuple[PromotionRule, Decimal]]:
        """`[(promotion, Σ its lines' promotion_discount)]` in the order the lines first took
        them (what the order snapshots and the receipt shows)."""
        found: dict[int, tuple[PromotionRule, Decimal]] = {}
        for line in self.lines:
            if line.promotion is not None:
                rule, amount = found.get(line.promotion.id, (line.promotion, ZERO))
                found[rule.id] = (rule, amount + line.promotion_discount)
        return list(found.values())


def _round(value: Decimal, quantum: Decimal) -> Decimal:
    return value.quantize(quantum, rounding=ROUND_HALF_UP)


def line_gross(*, unit_price: Decimal, quantity: Decimal, quantum: Decimal = CENT) -> Decimal:
    return _round(unit_price * quantity, quantum)


def tax_exclusive(
    *, gross: Decimal, discount: Decimal, rate: Decimal, quantum: Decimal = CENT
) -> tuple[Decimal, ...]:
    """`(net, tax, total)` for a store whose prices exclude tax."""
    net = gross - discount
    tax = _round(net * rate_fraction(rate), quantum)
    return net, tax, net + tax


def tax_inclusive(
    *, gross: Decimal, discount: Decimal, rate: Decimal, quantum: Decimal = CENT
) -> tuple[Decimal, ...]:
    """`(net, tax, total)` for a store whose prices include tax: the customer pays `total`."""
    total = gross - discount
    tax = _round(total - total / (1 + rate_fraction(rate)), quantum)
    return total - tax, tax, total


def spread_discount(
    *, order_discount: Decimal, amounts: Sequence[Decimal], quantum: Decimal = CENT
) -> list[Decimal]:
    """Each line's share of the order discount (see the module docstring). The shares add up to
    `order_discount` exactly and each lies within `[0, amount]`."""
    if order_discount < 0:
        raise InvalidInput(errors={"discount": ["The discount may not be negative."]})
    total_amount = sum(amounts, ZERO)
    if order_discount > total_amount:
        raise InvalidInput(
            errors={"discount": ["The order discount exceeds the lines' amounts after discounts."]}
        )
    if not amounts:
        return []
    if order_discount == 0:
        return [ZERO for _ in amounts]

    largest = max(range(len(amounts)), key=lambda i: (amounts[i], -i))
    exact = [order_discount * amount / total_amount for amount in amounts]
    shares = [ZERO if i == largest else _round(exact[i], quantum) for i in range(len(amounts))]
    rest = order_discount - sum(shares, ZERO)

    if rest < 0 or rest > amounts[largest]:
        # Outside what the contract's rule can mean (see the module docstring): move single cents
        # between the rest and the lines rounded furthest in the offending direction.
        others = [i for i in range(len(amounts)) if i != largest]
        if rest < 0:
            order = sorted(others, key=lambda i: (exact[i] - shares[i], i))  # most rounded up
            for i in order:
                if rest >= 0:
                    break
                if shares[i] > exact[i]:
                    shares[i] -= quantum
                    rest += quantum
        else:
            order = sorted(others, key=lambda i: (shares[i] - exact[i], i))  # most rounded down
            for i in order:
                if rest <= amounts[largest]:
                    break
                if shares[i] < exact[i] and shares[i] + quantum <= amounts[i]:
                    shares[i] += quantum
                    rest -= quantum
    shares[largest] = rest
    return shares


def _rule_discounts(
    rule: PromotionRule,
    members: Sequence[int],
    lines: Sequence[LineInput],
    grosses: Sequence[Decimal],
    quantum: Decimal,
) -> dict[int, Decimal]:
    """What `rule` takes off each of `members` (line indexes), when exactly those lines take
    part in it. Never negative, never above a line's gross."""
    hundred = Decimal(100)
    found: dict[int, Decimal] = {}
    if rule.kind == PERCENT_OFF:
        for i in members:
            found[i] = _round(grosses[i] * rule.value / hundred, quantum)
    elif rule.kind == AMOUNT_OFF:
        for i in members:
            off = min(rule.value, lines[i].full_unit_price) * lines[i].quantity
            found[i] = _round(off, quantum)
    elif rule.kind == BUY_X_GET_Y and rule.x >= 1 and rule.y >= 1:
        whole = {i: int(lines[i].quantity) for i in members if lines[i].quantity >= 1}
        units = sum(whole.values())
        free = units // (rule.x + rule.y) * rule.y
        # The cheapest units go at `value` per cent off: cheapest line first (ties: the later
        # line, so the first-rung line keeps its price).
        for i in sorted(whole, key=lambda i: (lines[i].full_unit_price, -i)):
            if free <= 0:
                break
            taken = min(free, whole[i])
            free -= taken
            found[i] = _round(taken * lines[i].full_unit_price * rule.value / hundred, quantum)
    return {i: max(ZERO, min(amount, grosses[i])) for i, amount in found.items()}


def _takes_none_or(pick: PromotionDiscount, rule_id: int) -> bool:
    return pick.promotion is None or pick.promotion.id == rule_id


def promotion_choose(
    *,
    lines: Sequence[LineInput],
    grosses: Sequence[Decimal],
    promotions: Sequence[PromotionRule],
    at: dt.datetime | None,
    quantum: Decimal = CENT,
) -> list[PromotionDiscount]:
    """Each line's promotion: of the promotions whose schedule covers `at` and for which the
    line is eligible, the one worth most to it (ties: higher priority, then lower id).

    A `buy_x_get_y` is worth what it gives when every line that takes it takes part, so the
    choice is repeated until it settles: a line that leaves a promotion for a better one no
    longer counts towards it, and the others' share is recomputed. Lines only ever leave
    (membership shrinks), so it ends within as many rounds as there are lines."""
    if at is None or not promotions:
        return [NO_PROMOTION for _ in lines]
    rules = [rule for rule in promotions if rule.applies_at(at)]
    members: dict[int, list[int]] = {
        rule.id: [
            i
            for i, line in enumerate(lines)
            if rule.eligible(
                product_id=line.product_id,
                category_id=line.category_id,
                template_id=line.template_id,
            )
        ]
        for rule in rules
    }
    chosen: list[PromotionDiscount] = [NO_PROMOTION for _ in lines]
    for _ in range(len(lines) + 1):
        worth = {
            rule.id: _rule_discounts(rule, members[rule.id], lines, grosses, quantum)
            for rule in rules
        }
        picks: list[PromotionDiscount] = []
        for i in range(len(lines)):
            best: PromotionDiscount = NO_PROMOTION
            for rule in rules:
                amount = worth[rule.id].get(i)
                if amount is None or amount <= 0:
                    continue
                if best.promotion is None or (amount, rule.priority, -rule.id) > (
                    best.amount,
                    best.promotion.priority,
                    -best.promotion.id,
                ):
                    best = PromotionDiscount(rule, amount)
            picks.append(best)
        shrunk = False
        for rule_id, indexes in members.items():
            # A line that took another promotion leaves this one; one that took none stays
            # (a `buy_x_get_y`'s paid units count without a discount of their own).
            kept = [i for i in indexes if _takes_none_or(picks[i], rule_id)]
            shrunk = shrunk or len(kept) != len(indexes)
            members[rule_id] = kept
        chosen = picks
        if not shrunk:
            break
    # The final figures, with the settled membership.
    final = {
        rule.id: _rule_discounts(rule, members[rule.id], lines, grosses, quantum) for rule in rules
    }
    settled: list[PromotionDiscount] = []
    for i, pick in enumerate(chosen):
        if pick.promotion is None:
            settled.append(NO_PROMOTION)
            continue
        amount = final[pick.promotion.id].get(i, ZERO)
        settled.append(PromotionDiscount(pick.promotion, amount) if amount > 0 else NO_PROMOTION)
    return settled


def price_order(
    *,
    lines: Sequence[LineInput],
    order_discount: Decimal = ZERO,
    prices_include_tax: bool,
    quantum: Decimal = CENT,
    promotions: Sequence[PromotionRule] = (),
    at: dt.datetime | None = None,
) -> PricedOrder:
    """Price an order in a currency whose minor unit is `quantum`, with the `promotions` whose
    schedule covers `at` (the store's local time). Raises `InvalidInput` (400
    `validation_error`) naming the offending field (`lines.<i>.discount`, `lines.<i>.modifiers`,
    `discount`) when a discount exceeds what it applies to or modifiers take a price below
    zero."""
    errors: dict[str, list[str]] = {}
    grosses: list[Decimal] = []
    for index, line in enumerate(lines):
        unit_price = line.full_unit_price
        if unit_price < 0:
            errors[f"lines.{index}.modifiers"] = [
                f"The modifiers take the unit price below zero ({unit_price})."
            ]
        grosses.append(line_gross(unit_price=unit_price, quantity=line.quantity, quantum=quantum))
    if errors:
        raise InvalidInput(errors=errors)

    promoted = promotion_choose(
        lines=lines, grosses=grosses, promotions=promotions, at=at, quantum=quantum
    )
    amounts: list[Decimal] = []
    for index, (line, gross, promotion) in enumerate(zip(lines, grosses, promoted, strict=True)):
        left = gross - promotion.amount
        if line.discount < 0:
            errors[f"lines.{index}.discount"] = ["The discount may not be negative."]
        elif line.discount > left:
            errors[f"lines.{index}.discount"] = [
                f"The line discount {line.discount} exceeds the line's gross {gross}"
                + (f" less its promotion {promotion.amount}." if promotion.amount else ".")
            ]
        amounts.append(left - line.discount)
    if errors:
        raise InvalidInput(errors=errors)

    shares = spread_discount(order_discount=order_discount, amounts=amounts, quantum=quantum)
    compute = tax_inclusive if prices_include_tax else tax_exclusive
    priced: list[PricedLine] = []
    for line, gross, promotion, share in zip(lines, grosses, promoted, shares, strict=True):
        discount = line.discount + share
        net, tax, total = compute(
            gross=gross, discount=promotion.amount + discount, rate=line.tax_rate, quantum=quantum
        )
        priced.append(
            PricedLine(
                unit_price=line.full_unit_price,
                quantity=line.quantity,
                tax_rate=line.tax_rate,
                gross=gross,
                base_price=line.base_price,
                promotion=promotion.promotion,
                promotion_discount=promotion.amount,
                line_discount=line.discount,
                discount_share=share,
                discount=discount,
                net=net,
                tax=tax,
                total=total,
            )
        )
    return PricedOrder(
        lines=tuple(priced),
        prices_include_tax=prices_include_tax,
        order_discount=order_discount,
        subtotal=sum((p.gross for p in priced), ZERO),
        promotion_total=sum((p.promotion_discount for p in priced), ZERO),
        discount_total=sum((p.discount for p in priced), ZERO),
        net_total=sum((p.net for p in priced), ZERO),
        tax_total=sum((p.tax for p in priced), ZERO),
        total=sum((p.total for p in priced), ZERO),
    )
