"""`orders.pricing`: the contract's worked example, tax-inclusive pricing, the spreading rule,
refusals, and properties that hold for any basket."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import InvalidInput
from orders.pricing import LineInput, price_order, spread_discount

D = Decimal


def test_contract_worked_example_tax_exclusive() -> None:
    """3 × 4.99 at 8.25 % with line discount 0.50, plus 1.250 × 2.50 at 0 %, order discount
    1.00 → shares 0.82 / 0.18, taxes 1.13 / 0.00, total 17.73."""
    order = price_order(
        lines=[
            LineInput(
                unit_price=D("4.99"), quantity=D("3"), tax_rate=D("8.250"), discount=D("0.50")
            ),
            LineInput(unit_price=D("2.50"), quantity=D("1.250"), tax_rate=D("0.000")),
        ],
        order_discount=D("1.00"),
        prices_include_tax=False,
    )
    first, second = order.lines
    assert (first.gross, second.gross) == (D("14.97"), D("3.13"))  # 3.125 rounds half-up
    assert (first.discount_share, second.discount_share) == (D("0.82"), D("0.18"))
    assert (first.discount, second.discount) == (D("1.32"), D("0.18"))
    assert (first.net, second.net) == (D("13.65"), D("2.95"))
    assert (first.tax, second.tax) == (D("1.13"), D("0.00"))
    assert (first.total, second.total) == (D("14.78"), D("2.95"))
    assert order.subtotal == D("18.10")
    assert order.discount_total == D("1.50")
    assert order.tax_total == D("1.13")
    assert order.total == D("17.73")


def test_tax_inclusive_example() -> None:
    """Inclusive store: the shelf price is what the customer pays; tax is carved out of it.
    2 × 10.00 at 20 % with an order discount 2.00 → total 18.00, tax round(18 − 18/1.2) = 3.00."""
    order = price_order(
        lines=[LineInput(unit_price=D("10.00"), quantity=D("2"), tax_rate=D("20.000"))],
        order_discount=D("2.00"),
        prices_include_tax=True,
    )
    (line,) = order.lines
    assert line.gross == D("20.00")
    assert line.discount == D("2.00")
    assert line.total == D("18.00")
    assert line.tax == D("3.00")
    assert line.net == D("15.00")
    assert order.total == D("18.00")


def test_tax_inclusive_rounding_half_up() -> None:
    # 4.99 at 8.25 % inclusive: 4.99 − 4.99/1.0825 = 0.38030… → 0.38
    order = price_order(
        lines=[LineInput(unit_price=D("4.99"), quantity=D("1"), tax_rate=D("8.250"))],
        prices_include_tax=True,
    )
    assert order.lines[0].tax == D("0.38")
    assert order.lines[0].net == D("4.61")
    assert order.total == D("4.99")


def test_tax_exclusive_half_up_at_the_cent() -> None:
    # 1.00 at 12.5 % → 0.125 → 0.13 (half-up, not banker's 0.12)
    order = price_order(
        lines=[LineInput(unit_price=D("1.00"), quantity=D("1"), tax_rate=D("12.500"))],
        prices_include_tax=False,
    )
    assert order.lines[0].tax == D("0.13")
    assert order.total == D("1.13")


def test_largest_amount_takes_the_rest_first_on_ties() -> None:
    shares = spread_discount(order_discount=D("1.00"), amounts=[D("3.00"), D("3.00"), D("3.00")])
    # others: round(1/3) = 0.33 each; the first of the tied largest gets the rest 0.34
    assert shares == [D("0.34"), D("0.33"), D("0.33")]


def test_spread_never_gives_a_negative_share() -> None:
    """Seven lines of 1.00 and 0.05 off: the literal rule would give the largest −0.01."""
    shares = spread_discount(order_discount=D("0.05"), amounts=[D("1.00")] * 7)
    assert sum(shares) == D("0.05")
    assert all(D("0") <= share <= D("1.00") for share in shares)


def test_spread_with_zero_amount_lines() -> None:
    shares = spread_discount(order_discount=D("0.50"), amounts=[D("0.00"), D("2.00")])
    assert shares == [D("0.00"), D("0.50")]
    assert spread_discount(order_discount=D("0"), amounts=[D("0.00")]) == [D("0")]


def test_line_discount_above_gross_is_refused_naming_the_line() -> None:
    with pytest.raises(InvalidInput) as info:
        price_order(
            lines=[
                LineInput(unit_price=D("1.00"), quantity=D("1"), tax_rate=D("0")),
                LineInput(
                    unit_price=D("1.00"), quantity=D("1"), tax_rate=D("0"), discount=D("1.01")
                ),
            ],
            prices_include_tax=False,
        )
    assert info.value.code == "validation_error"
    assert list(info.value.errors) == ["lines.1.discount"]


def test_order_discount_above_amounts_is_refused() -> None:
    with pytest.raises(InvalidInput) as info:
        price_order(
            lines=[
                LineInput(
                    unit_price=D("1.00"), quantity=D("1"), tax_rate=D("0"), discount=D("0.50")
                )
            ],
            order_discount=D("0.51"),
            prices_include_tax=False,
        )
    assert list(info.value.errors) == ["discount"]


def test_full_discount_is_allowed() -> None:
    order = price_order(
        lines=[LineInput(unit_price=D("5.00"), quantity=D("1"), tax_rate=D("8.250"))],
        order_discount=D("5.00"),
        prices_include_tax=False,
    )
    assert order.total == D("0.00")
    assert order.tax_total == D("0.00")


# --- properties -------------------------------------------------------------------------------

cents = st.integers(min_value=0, max_value=500_000).map(lambda n: D(n) / 100)
quantities = st.integers(min_value=1, max_value=50_000).map(lambda n: D(n) / 1000)
rates = st.sampled_from([D("0.000"), D("5.000"), D("7.250"), D("8.250"), D("19.000"), D("20.000")])


@st.composite
def baskets(draw: st.DrawFn) -> tuple[list[LineInput], Decimal]:
    count = draw(st.integers(min_value=1, max_value=12))
    lines = []
    for _ in range(count):
        price = draw(cents)
        quantity = draw(quantities)
        gross = (price * quantity).quantize(D("0.01"), rounding="ROUND_HALF_UP")
        discount = draw(
            st.integers(min_value=0, max_value=int(gross * 100)).map(lambda n: D(n) / 100)
        )
        lines.append(
            LineInput(unit_price=price, quantity=quantity, tax_rate=draw(rates), discount=discount)
        )
    amount = sum(
        (
            (line.unit_price * line.quantity).quantize(D("0.01"), rounding="ROUND_HALF_UP")
            - line.discount
            for line in lines
        ),
        D("0"),
    )
    order_discount = draw(
        st.integers(min_value=0, max_value=int(amount * 100)).map(lambda n: D(n) / 100)
    )
    return lines, order_discount


@settings(max_examples=300, deadline=None)
@given(basket=baskets(), inclusive=st.booleans())
def test_properties_of_any_basket(basket: tuple[list[LineInput], Decimal], inclusive: bool) -> None:
    lines, order_discount = basket
    order = price_order(lines=lines, order_discount=order_discount, prices_include_tax=inclusive)

    # totals are the sums of the lines
    assert order.subtotal == sum(line.gross for line in order.lines)
    assert order.discount_total == sum(line.discount for line in order.lines)
    assert order.tax_total == sum(line.tax for line in order.lines)
    assert order.total == sum(line.total for line in order.lines)
    # the shares add up to the order discount, and no share is negative or above its line
    assert sum(line.discount_share for line in order.lines) == order_discount
    for line in order.lines:
        assert D("0") <= line.discount <= line.gross
        assert line.tax >= 0
        assert line.net >= 0
        assert line.net + line.tax == line.total
        for value in (line.gross, line.discount, line.net, line.tax, line.total):
            assert value == value.quantize(D("0.01"))
        if inclusive:
            # what the customer pays is the shelf price less discounts, tax included
            assert line.total == line.gross - line.discount
        else:
            assert line.net == line.gross - line.discount
    if inclusive:
        assert order.total == order.subtotal - order.discount_total


@settings(max_examples=300, deadline=None)
@given(
    amounts=st.lists(cents, min_size=1, max_size=30),
    fraction=st.integers(min_value=0, max_value=100),
)
def test_spread_shares_add_up_and_follow_the_rule(amounts: list[Decimal], fraction: int) -> None:
    total = sum(amounts, D("0"))
    order_discount = (total * fraction / 100).quantize(D("0.01"), rounding="ROUND_DOWN")
    shares = spread_discount(order_discount=order_discount, amounts=amounts)
    assert sum(shares, D("0")) == order_discount
    assert all(D("0") <= share <= amount for share, amount in zip(shares, amounts, strict=True))
    if total and order_discount:
        largest = max(range(len(amounts)), key=lambda i: (amounts[i], -i))
        literal = [
            (order_discount * amounts[i] / total).quantize(D("0.01"), rounding="ROUND_HALF_UP")
            for i in range(len(amounts))
            if i != largest
        ]
        literal_rest = order_discount - sum(literal, D("0"))
        if D("0") <= literal_rest <= amounts[largest]:
            # whenever the contract's rule gives a sane answer, it is exactly the answer
            expected = list(literal)
            expected.insert(largest, literal_rest)
            assert shares == expected


# --- other minor units (JPY 0 decimals, KWD 3) ---------------------------------------------------

minor_unit_quanta = st.sampled_from([D("1"), D("0.01"), D("0.001")])


@st.composite
def baskets_in(draw: st.DrawFn) -> tuple[Decimal, list[LineInput], Decimal]:
    """A basket in a currency with `quantum` as its minor unit: prices, discounts in whole
    minor units."""
    quantum = draw(minor_unit_quanta)
    units = st.integers(min_value=0, max_value=500_000).map(lambda n: D(n) * quantum)
    lines = []
    amount = D("0")
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        price = draw(units)
        quantity = draw(quantities)
        gross = (price * quantity).quantize(quantum, rounding="ROUND_HALF_UP")
        discount = draw(st.integers(min_value=0, max_value=int(gross / quantum))) * quantum
        amount += gross - discount
        lines.append(
            LineInput(unit_price=price, quantity=quantity, tax_rate=draw(rates), discount=discount)
        )
    order_discount = draw(st.integers(min_value=0, max_value=int(amount / quantum))) * quantum
    return quantum, lines, order_discount


@settings(max_examples=300, deadline=None)
@given(basket=baskets_in(), inclusive=st.booleans())
def test_every_amount_is_in_whole_minor_units_of_the_currency(
    basket: tuple[Decimal, list[LineInput], Decimal], inclusive: bool
) -> None:
    quantum, lines, order_discount = basket
    order = price_order(
        lines=lines, order_discount=order_discount, prices_include_tax=inclusive, quantum=quantum
    )

    assert sum(line.discount_share for line in order.lines) == order_discount
    assert order.total == sum(line.total for line in order.lines)
    for line in order.lines:
        assert D("0") <= line.discount <= line.gross
        assert line.net >= 0
        assert line.tax >= 0
        for value in (line.gross, line.discount_share, line.net, line.tax, line.total):
            assert value == value.quantize(quantum), (quantum, value)


def test_a_yen_basket_rounds_to_whole_yen() -> None:
    order = price_order(
        lines=[LineInput(unit_price=D("333"), quantity=D("1.5"), tax_rate=D("10.000"))],
        order_discount=D("10"),
        prices_include_tax=False,
        quantum=D("1"),
    )
    [line] = order.lines
    assert (line.gross, line.net, line.tax, line.total) == (D(500), D(490), D(49), D(539))
