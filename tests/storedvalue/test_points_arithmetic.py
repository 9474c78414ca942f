"""The loyalty points' arithmetic (`storedvalue.points`): earning floors, and the refunds of an
order, in any steps, take back exactly what it earned."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from storedvalue.points import points_due, points_earned

D = Decimal


def test_earning_floors_and_nothing_is_earned_when_off() -> None:
    assert points_earned(money_paid=D("10.80"), rate=D("1")) == 10
    assert points_earned(money_paid=D("10.80"), rate=D("2.5")) == 27
    assert points_earned(money_paid=D("0.99"), rate=D("1")) == 0
    assert points_earned(money_paid=D("10.80"), rate=D("0")) == 0
    assert points_earned(money_paid=D("-1.00"), rate=D("1")) == 0


def test_a_refund_takes_back_pro_rata_and_the_last_takes_the_rest() -> None:
    total = D("16.21")
    first = points_due(earned=16, total=total, refunded_before=D("0"), refunded_after=D("5.40"))
    second = points_due(
        earned=16, total=total, refunded_before=D("5.40"), refunded_after=D("10.80")
    )
    last = points_due(earned=16, total=total, refunded_before=D("10.80"), refunded_after=total)
    assert (first, second, last) == (5, 5, 6)


@given(
    earned=st.integers(min_value=0, max_value=10**9),
    cents=st.lists(st.integers(min_value=1, max_value=10**6), min_size=1, max_size=12),
)
def test_an_order_refunded_in_full_in_any_steps_takes_back_exactly_its_points(
    earned: int, cents: list[int]
) -> None:
    steps = [D(c) / 100 for c in cents]
    total = sum(steps, D("0"))
    taken, refunded = 0, D("0")
    for step in steps:
        due = points_due(
            earned=earned, total=total, refunded_before=refunded, refunded_after=refunded + step
        )
        assert due >= 0
        taken += due
        refunded += step
        # Never more than what is due so far.
        assert taken <= earned
    assert taken == earned
