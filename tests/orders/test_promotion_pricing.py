"""The pricing engine with catalog depth (`orders.pricing`, API v1.1): price lists, modifiers
and automatic promotions, by example and by property (hypothesis)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.errors import InvalidInput
from orders.pricing import LineInput, price_order
from orders.refund_pricing import LineSnapshot, refund_piece
from pricebook.rules import AMOUNT_OFF, BUY_X_GET_Y, PERCENT_OFF, PromotionRule

D = Decimal
NY = ZoneInfo("America/New_York")
# A Wednesday, 15:30 in the store's time zone.
AT = dt.datetime(2026, 12, 2, 15, 30, tzinfo=NY)


def rule(
    id: int = 1, kind: str = PERCENT_OFF, value: str = "10", **kwargs: object
) -> PromotionRule:
    kwargs.setdefault("product_ids", frozenset({1}))
    return PromotionRule(id=id, name=f"promo {id}", kind=kind, value=D(value), **kwargs)  # type: ignore[arg-type]


def line(
    product_id: int = 1, price: str = "10.00", quantity: str = "1", **kwargs: object
) -> LineInput:
    kwargs.setdefault("tax_rate", D("0.000"))
    return LineInput(
        unit_price=D(price),
        quantity=D(quantity),
        product_id=product_id,
        **kwargs,  # type: ignore[arg-type]
    )


def test_price_list_modifiers_and_a_promotion_meet_on_one_line() -> None:
    """A latte listed at 4.50 in this store (own price 5.00), with oat milk (+0.60) and an extra
    shot (+0.90): unit 6.00; happy hour takes 20 % of 2 × 6.00; then the tax."""
    order = price_order(
        lines=[
            line(
                price="5.00",
                quantity="2",
                list_price=D("4.50"),
                modifier_deltas=(D("0.60"), D("0.90")),
                tax_rate=D("8.250"),
            )
        ],
        prices_include_tax=False,
        promotions=[rule(value="20")],
        at=AT,
    )
    (priced,) = order.lines
    assert priced.base_price == D("4.50")
    assert priced.unit_price == D("6.00")
    assert priced.gross == D("12.00")
    assert priced.promotion is not None
    assert priced.promotion.id == 1
    assert priced.promotion_discount == D("2.40")
    assert priced.discount == D("0.00")
    assert priced.net == D("9.60")
    assert priced.tax == D("0.79")
    assert order.total == D("10.39")
    assert order.promotion_total == D("2.40")
    assert [(r.id, amount) for r, amount in order.promotions()] == [(1, D("2.40"))]


def test_amount_off_per_unit_never_below_zero() -> None:
    order = price_order(
        lines=[line(price="1.50", quantity="3"), line(product_id=2, price="4.00", quantity="2")],
        prices_include_tax=False,
        promotions=[rule(kind=AMOUNT_OFF, value="2.00", product_ids=frozenset({1, 2}))],
        at=AT,
    )
    assert [p.promotion_discount for p in order.lines] == [D("4.50"), D("4.00")]
    assert [p.total for p in order.lines] == [D("0.00"), D("4.00")]


def test_buy_two_get_one_free_across_lines_takes_the_cheapest_units() -> None:
    """Five eligible units over three lines: one group of three, so the one cheapest unit is
    free; the other two units (of the incomplete group) are paid."""
    bogo = rule(kind=BUY_X_GET_Y, value="100", x=2, y=1, product_ids=frozenset({1, 2, 3}))
    order = price_order(
        lines=[
            line(product_id=1, price="5.00", quantity="2"),
            line(product_id=2, price="3.00", quantity="1"),
            line(product_id=3, price="4.00", quantity="2"),
        ],
        prices_include_tax=False,
        promotions=[bogo],
        at=AT,
    )
    assert [p.promotion_discount for p in order.lines] == [D("0.00"), D("3.00"), D("0.00")]
    assert [p.promotion for p in order.lines] == [None, bogo, None]
    six = price_order(
        lines=[line(price="5.00", quantity="6")], prices_include_tax=False, promotions=[bogo], at=AT
    )
    assert six.lines[0].promotion_discount == D("10.00")  # two free of six


def test_buy_one_get_one_half_price() -> None:
    half = rule(kind=BUY_X_GET_Y, value="50", x=1, y=1)
    order = price_order(
        lines=[line(price="9.99", quantity="3")], prices_include_tax=True, promotions=[half], at=AT
    )
    assert order.lines[0].promotion_discount == D("5.00")  # round(9.99 / 2) for one unit of 3


def test_the_best_promotion_for_the_line_wins_and_ties_go_to_priority() -> None:
    ten, flat, also_flat = (
        rule(id=1, value="10"),
        rule(id=2, kind=AMOUNT_OFF, value="1.50"),
        rule(id=3, kind=AMOUNT_OFF, value="1.50", priority=5),
    )
    order = price_order(
        lines=[line(price="10.00"), line(price="20.00")],
        prices_include_tax=False,
        promotions=[ten, flat, also_flat],
        at=AT,
    )
    # 10.00: 1.00 vs 1.50 → the flat one, the higher priority of the two; 20.00: 2.00 → 10 %.
    assert [(p.promotion.id, p.promotion_discount) for p in order.lines] == [  # type: ignore[union-attr]
        (3, D("1.50")),
        (1, D("2.00")),
    ]


def test_categories_and_schedule() -> None:
    evening = rule(
        product_ids=frozenset(),
        category_ids=frozenset({7}),
        days_of_week=frozenset({3}),  # Wednesday
        start_time=dt.time(22, 0),
        end_time=dt.time(2, 0),  # spans midnight
    )
    lines = [line(category_id=7), line(product_id=2, category_id=8)]

    def off(at: dt.datetime) -> list[Decimal]:
        priced = price_order(lines=lines, prices_include_tax=False, promotions=[evening], at=at)
        return [p.promotion_discount for p in priced.lines]

    assert off(AT) == [D("0.00"), D("0.00")]  # 15:30
    assert off(AT.replace(hour=23)) == [D("1.00"), D("0.00")]
    assert off(AT.replace(day=3, hour=1)) == [D("0.00"), D("0.00")]  # Thursday 01:00
    assert off(AT.replace(day=9, hour=22)) == [D("1.00"), D("0.00")]  # the next Wednesday
    dated = rule(valid_from=AT, valid_to=AT + dt.timedelta(hours=1))
    for at, expected in ((AT - dt.timedelta(seconds=1), D(0)), (AT, D("1.00"))):
        priced = price_order(lines=lines[:1], prices_include_tax=False, promotions=[dated], at=at)
        assert priced.lines[0].promotion_discount == expected
    at_end = price_order(
        lines=lines[:1], prices_include_tax=False, promotions=[dated], at=dated.valid_to
    )
    assert at_end.lines[0].promotion_discount == D(0)  # valid_to is exclusive


def test_the_line_discount_takes_at_most_what_the_promotion_left() -> None:
    with pytest.raises(InvalidInput) as refused:
        price_order(
            lines=[line(discount=D("9.50"))],
            prices_include_tax=False,
            promotions=[rule(value="10")],
            at=AT,
        )
    assert "lines.0.discount" in (refused.value.errors or {})


def test_the_order_discount_is_spread_after_promotions() -> None:
    order = price_order(
        lines=[line(price="10.00"), line(product_id=2, price="10.00")],
        order_discount=D("3.00"),
        prices_include_tax=False,
        promotions=[rule(value="50")],
        at=AT,
    )
    # Amounts after the promotion: 5.00 and 10.00 → shares 1.00 and 2.00 (the largest the rest).
    assert [p.discount_share for p in order.lines] == [D("1.00"), D("2.00")]
    assert order.total == D("12.00")


def test_modifiers_may_not_take_the_price_below_zero() -> None:
    with pytest.raises(InvalidInput) as refused:
        price_order(
            lines=[line(price="1.00", modifier_deltas=(D("-1.50"),))], prices_include_tax=False
        )
    assert "lines.0.modifiers" in (refused.value.errors or {})


# ---- properties -------------------------------------------------------------------------------

prices = st.decimals(min_value=0, max_value=500, places=2)
quantities = st.one_of(
    st.integers(min_value=1, max_value=12).map(Decimal),
    st.decimals(min_value=D("0.001"), max_value=20, places=3),
)
rates = st.sampled_from([D("0.000"), D("5.000"), D("8.250"), D("20.000")])


@st.composite
def line_inputs(draw: st.DrawFn, index: int) -> LineInput:
    return LineInput(
        unit_price=draw(prices),
        list_price=draw(st.none() | prices),
        modifier_deltas=tuple(draw(st.lists(st.decimals(0, 5, places=2), max_size=3))),
        quantity=draw(quantities),
        tax_rate=draw(rates),
        product_id=draw(st.integers(1, 4)),
        category_id=draw(st.none() | st.integers(10, 12)),
    )


@st.composite
def promotion_rules(draw: st.DrawFn, kinds: tuple[str, ...]) -> PromotionRule:
    kind = draw(st.sampled_from(kinds))
    value = (
        draw(st.decimals(D("0.01"), 50, places=2))
        if kind == AMOUNT_OFF
        else draw(st.decimals(D("0.001"), 100, places=3))
    )
    return PromotionRule(
        id=draw(st.integers(1, 10**6)),
        name="p",
        kind=kind,
        value=value,
        x=draw(st.integers(1, 4)),
        y=draw(st.integers(1, 3)),
        priority=draw(st.integers(0, 3)),
        product_ids=frozenset(draw(st.sets(st.integers(1, 4), max_size=3))),
        category_ids=frozenset(draw(st.sets(st.integers(10, 12), max_size=2))),
    )


@st.composite
def baskets(
    draw: st.DrawFn, kinds: tuple[str, ...] = (PERCENT_OFF, AMOUNT_OFF, BUY_X_GET_Y)
) -> tuple[list[LineInput], list[PromotionRule], bool]:
    n = draw(st.integers(1, 6))
    lines = [draw(line_inputs(i)) for i in range(n)]
    rules = draw(st.lists(promotion_rules(kinds), max_size=4, unique_by=lambda r: r.id))
    return lines, rules, draw(st.booleans())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(basket=baskets(), fraction=st.decimals(0, 1, places=2))
def test_properties_of_a_promoted_order(
    basket: tuple[list[LineInput], list[PromotionRule], bool], fraction: Decimal
) -> None:
    lines, rules, inclusive = basket
    bare = price_order(lines=lines, prices_include_tax=inclusive)
    promoted_free = price_order(lines=lines, prices_include_tax=inclusive, promotions=rules, at=AT)
    # An order discount that fits after promotions (and so without them too).
    left = sum((p.gross - p.promotion_discount for p in promoted_free.lines), D(0))
    discount = (left * fraction).quantize(D("0.01"), rounding="ROUND_DOWN")
    without = price_order(lines=lines, prices_include_tax=inclusive, order_discount=discount)
    order = price_order(
        lines=lines,
        prices_include_tax=inclusive,
        order_discount=discount,
        promotions=rules,
        at=AT,
    )

    # The total never goes below zero, nor does any line's money.
    assert order.total >= 0
    assert all(p.net >= 0 and p.tax >= 0 and p.total >= 0 for p in order.lines)
    # A promotion never makes the customer pay more than without it.
    assert order.total <= without.total
    assert promoted_free.total <= bare.total
    # At most one promotion per line, within its gross; the order discount spread by the
    # contract: the shares add up exactly, each within what the line had left.
    for p in order.lines:
        assert (p.promotion is None) == (p.promotion_discount == 0)
        assert 0 <= p.promotion_discount <= p.gross
        assert 0 <= p.discount_share <= p.gross - p.promotion_discount - p.line_discount
    assert sum((p.discount_share for p in order.lines), D(0)) == discount
    assert order.promotion_total == sum((a for _, a in order.promotions()), D(0))
    assert order.total == sum((p.total for p in order.lines), D(0))
    assert order.subtotal - order.promotion_total - order.discount_total == order.net_total + (
        order.tax_total if inclusive else 0
    )
    # A line refunded in full, in one go or in two, returns exactly its total.
    for p in order.lines:
        snapshot = LineSnapshot(quantity=p.quantity, net=p.net, tax=p.tax)
        assert refund_piece(snapshot, p.quantity).total == p.total
        half = (p.quantity / 2).quantize(D("0.001"))
        if 0 < half < p.quantity:
            first = refund_piece(snapshot, half)
            rest = refund_piece(
                LineSnapshot(
                    quantity=p.quantity,
                    net=p.net,
                    tax=p.tax,
                    refunded_quantity=half,
                    refunded_net=first.net,
                    refunded_tax=first.tax,
                ),
                p.quantity - half,
            )
            assert first.total + rest.total == p.total


@settings(max_examples=200, deadline=None)
@given(basket=baskets(kinds=(PERCENT_OFF, AMOUNT_OFF)))
def test_each_line_takes_the_promotion_worth_most_to_it(
    basket: tuple[list[LineInput], list[PromotionRule], bool],
) -> None:
    """Without `buy_x_get_y` (whose worth depends on the other lines) a line's promotion is the
    best single one for it."""
    lines, rules, inclusive = basket
    order = price_order(lines=lines, prices_include_tax=inclusive, promotions=rules, at=AT)
    for index, priced in enumerate(order.lines):
        alone = [
            price_order(lines=[lines[index]], prices_include_tax=inclusive, promotions=[r], at=AT)
            .lines[0]
            .promotion_discount
            for r in rules
        ]
        assert priced.promotion_discount == max(alone, default=D(0))
