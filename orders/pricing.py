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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from domain.errors import InvalidInput
from money import CENT, ZERO, rate_fraction

__all__ = [
    "LineInput",
    "PricedLine",
    "PricedOrder",
    "line_gross",
    "price_order",
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


@dataclass(frozen=True, slots=True)
class PricedLine:
    unit_price: Decimal
    quantity: Decimal
    tax_rate: Decimal
    gross: Decimal
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


def price_order(
    *,
    lines: Sequence[LineInput],
    order_discount: Decimal = ZERO,
    prices_include_tax: bool,
    quantum: Decimal = CENT,
) -> PricedOrder:
    """Price an order in a currency whose minor unit is `quantum`. Raises `InvalidInput` (400
    `validation_error`) naming the offending field (`lines.<i>.discount`, `discount`) when a
    discount exceeds what it applies to."""
    errors: dict[str, list[str]] = {}
    grosses: list[Decimal] = []
    amounts: list[Decimal] = []
    for index, line in enumerate(lines):
        gross = line_gross(unit_price=line.unit_price, quantity=line.quantity, quantum=quantum)
        if line.discount < 0:
            errors[f"lines.{index}.discount"] = ["The discount may not be negative."]
        elif line.discount > gross:
            errors[f"lines.{index}.discount"] = [
                f"The line discount {line.discount} exceeds the line's gross {gross}."
            ]
        grosses.append(gross)
        amounts.append(gross - line.discount)
    if errors:
        raise InvalidInput(errors=errors)

    shares = spread_discount(order_discount=order_discount, amounts=amounts, quantum=quantum)
    compute = tax_inclusive if prices_include_tax else tax_exclusive
    priced: list[PricedLine] = []
    for line, gross, share in zip(lines, grosses, shares, strict=True):
        discount = line.discount + share
        net, tax, total = compute(
            gross=gross, discount=discount, rate=line.tax_rate, quantum=quantum
        )
        priced.append(
            PricedLine(
                unit_price=line.unit_price,
                quantity=line.quantity,
                tax_rate=line.tax_rate,
                gross=gross,
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
        discount_total=sum((p.discount for p in priced), ZERO),
        net_total=sum((p.net for p in priced), ZERO),
        tax_total=sum((p.tax for p in priced), ZERO),
        total=sum((p.total for p in priced), ZERO),
    )
