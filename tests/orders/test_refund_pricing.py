"""The refund money rules as pure functions: pro rata pieces that add up exactly to the line, and
tenders paid back card → other → cash."""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from money import round_cents
from orders.refund_pricing import (
    LineSnapshot,
    RefundPiece,
    RefundQuantityError,
    Tender,
    TenderChoiceInvalid,
    TenderRefund,
    TenderRequest,
    TenderShortfall,
    allocate_chosen_tenders,
    allocate_to_tenders,
    refund_piece,
)

D = Decimal

cents = st.integers(min_value=0, max_value=10_000_000).map(lambda n: D(n) / 100)
milli_quantities = st.integers(min_value=1, max_value=100_000).map(lambda n: D(n) / 1000)


def apply(line: LineSnapshot, piece: RefundPiece) -> LineSnapshot:
    return LineSnapshot(
        quantity=line.quantity,
        net=line.net,
        tax=line.tax,
        cost=line.cost,
        refunded_quantity=line.refunded_quantity + piece.quantity,
        refunded_net=line.refunded_net + piece.net,
        refunded_tax=line.refunded_tax + piece.tax,
        refunded_cost=line.refunded_cost + piece.cost,
    )


@st.composite
def line_and_steps(draw: st.DrawFn) -> tuple[LineSnapshot, list[Decimal]]:
    """A line and a split of its whole quantity into 1-8 refunds of ≥ 0.001 each."""
    quantity_milli = draw(st.integers(min_value=1, max_value=50_000))
    parts = draw(st.integers(min_value=1, max_value=min(8, quantity_milli)))
    cuts = sorted(
        draw(
            st.lists(
                st.integers(min_value=1, max_value=quantity_milli - 1),
                min_size=parts - 1,
                max_size=parts - 1,
                unique=True,
            )
        )
        if parts > 1
        else []
    )
    bounds = [0, *cuts, quantity_milli]
    steps = [D(b - a) / 1000 for a, b in pairwise(bounds)]
    net = draw(cents)
    tax = draw(cents)
    cost = draw(cents)
    return LineSnapshot(quantity=D(quantity_milli) / 1000, net=net, tax=tax, cost=cost), steps


@settings(max_examples=400, deadline=None)
@given(line_and_steps())
def test_pieces_of_a_fully_refunded_line_add_up_exactly_to_the_line(case) -> None:
    line, steps = case
    pieces = []
    state = line
    for quantity in steps:
        piece = refund_piece(state, quantity)
        assert piece.net >= 0
        assert piece.tax >= 0
        assert piece.total == piece.net + piece.tax
        assert piece.net == round_cents(piece.net)  # whole cents
        pieces.append(piece)
        state = apply(state, piece)
    assert sum(p.quantity for p in pieces) == line.quantity
    assert sum(p.net for p in pieces) == line.net
    assert sum(p.tax for p in pieces) == line.tax
    assert sum(p.total for p in pieces) == line.net + line.tax
    assert state.remaining_quantity == 0


@settings(max_examples=400, deadline=None)
@given(line_and_steps())
def test_a_line_refunded_in_full_in_any_steps_returns_exactly_its_cost(case) -> None:
    line, steps = case
    state = line
    costs = []
    for quantity in steps:
        piece = refund_piece(state, quantity)
        assert 0 <= piece.cost == round_cents(piece.cost)
        costs.append(piece.cost)
        state = apply(state, piece)
        assert state.refunded_cost <= line.cost
    assert sum(costs) == line.cost
    assert state.refunded_cost == line.cost


@settings(max_examples=300, deadline=None)
@given(line_and_steps())
def test_partial_pieces_never_overshoot_the_line(case) -> None:
    line, steps = case
    state = line
    for quantity in steps[:-1]:
        piece = refund_piece(state, quantity)
        state = apply(state, piece)
        assert state.refunded_net <= line.net
        assert state.refunded_tax <= line.tax


@settings(max_examples=300, deadline=None)
@given(cents, cents, milli_quantities, milli_quantities)
def test_a_partial_piece_is_the_contract_pro_rata_when_it_fits(net, tax, quantity, part) -> None:
    assume(part < quantity)
    line = LineSnapshot(quantity=quantity, net=net, tax=tax)
    piece = refund_piece(line, part)
    assert piece.net == round_cents(net * part / quantity)
    assert piece.tax == round_cents(tax * part / quantity)


def test_worked_example_three_steps_of_three() -> None:
    line = LineSnapshot(quantity=D("3"), net=D("14.47"), tax=D("1.19"))
    first = refund_piece(line, D("1"))
    assert (first.net, first.tax, first.total) == (D("4.82"), D("0.40"), D("5.22"))
    line = apply(line, first)
    second = refund_piece(line, D("1"))
    assert (second.net, second.tax) == (D("4.82"), D("0.40"))
    line = apply(line, second)
    last = refund_piece(line, D("1"))
    # the completing refund takes exactly what is left: 14.47 − 9.64, 1.19 − 0.80
    assert (last.net, last.tax, last.total) == (D("4.83"), D("0.39"), D("5.22"))


def test_rounding_overshoot_is_capped_and_the_line_still_adds_up() -> None:
    line = LineSnapshot(quantity=D("4"), net=D("0.05"), tax=D("0.00"))
    taken = []
    for quantity in (D("1.3"), D("1.3"), D("1.3"), D("0.1")):
        piece = refund_piece(line, quantity)
        taken.append(piece.net)
        line = apply(line, piece)
    assert taken == [D("0.02"), D("0.02"), D("0.01"), D("0.00")]
    assert sum(taken) == D("0.05")


@pytest.mark.parametrize("quantity", [D("0"), D("-1"), D("2.001")])
def test_bad_quantities_are_refused(quantity: Decimal) -> None:
    with pytest.raises(RefundQuantityError):
        refund_piece(LineSnapshot(quantity=D("2"), net=D("2.00"), tax=D("0.20")), quantity)


def test_nothing_left_is_refused() -> None:
    line = LineSnapshot(
        quantity=D("1"),
        net=D("1.00"),
        tax=D("0.10"),
        refunded_quantity=D("1"),
        refunded_net=D("1.00"),
        refunded_tax=D("0.10"),
    )
    with pytest.raises(RefundQuantityError):
        refund_piece(line, D("0.001"))


# --- tenders ------------------------------------------------------------------------------------


def test_tenders_are_paid_back_card_then_other_then_cash() -> None:
    tenders = [
        Tender(payment_id=1, method="cash", amount=D("10.00")),
        Tender(payment_id=2, method="other", amount=D("3.00")),
        Tender(payment_id=3, method="card", amount=D("4.13")),
    ]
    assert allocate_to_tenders(D("5.00"), tenders) == [
        allocate_row(3, "card", "4.13"),
        allocate_row(2, "other", "0.87"),
    ]
    assert allocate_to_tenders(D("17.13"), tenders) == [
        allocate_row(3, "card", "4.13"),
        allocate_row(2, "other", "3.00"),
        allocate_row(1, "cash", "10.00"),
    ]


def test_tenders_already_refunded_are_skipped_or_capped() -> None:
    tenders = [
        Tender(payment_id=1, method="cash", amount=D("10.00")),
        Tender(payment_id=2, method="card", amount=D("4.13"), refunded_amount=D("4.13")),
        Tender(payment_id=3, method="card", amount=D("2.00"), refunded_amount=D("1.50")),
    ]
    assert allocate_to_tenders(D("3.00"), tenders) == [
        allocate_row(3, "card", "0.50"),
        allocate_row(1, "cash", "2.50"),
    ]


def test_zero_refund_touches_no_tender_and_shortfall_is_refused() -> None:
    tenders = [Tender(payment_id=1, method="cash", amount=D("1.00"))]
    assert allocate_to_tenders(D("0.00"), tenders) == []
    with pytest.raises(TenderShortfall):
        allocate_to_tenders(D("1.01"), tenders)


def allocate_row(payment_id: int, method: str, amount: str) -> TenderRefund:
    return TenderRefund(payment_id=payment_id, method=method, amount=D(amount))


tender_lists = st.lists(
    st.tuples(st.sampled_from(["cash", "card", "other"]), cents, cents),
    min_size=1,
    max_size=5,
)


@settings(max_examples=300, deadline=None)
@given(tender_lists, st.integers(min_value=0, max_value=100))
def test_allocation_adds_up_caps_each_tender_and_keeps_cash_last(rows, percent) -> None:
    tenders = [
        Tender(payment_id=i + 1, method=m, amount=a + r, refunded_amount=r)
        for i, (m, a, r) in enumerate(rows)
    ]
    available = sum(t.refundable for t in tenders)
    amount = round_cents(available * percent / 100)
    allocations = allocate_to_tenders(amount, tenders)
    assert sum(a.amount for a in allocations) == amount
    by_id = {t.payment_id: t for t in tenders}
    for allocation in allocations:
        assert 0 < allocation.amount <= by_id[allocation.payment_id].refundable
    # cash is touched only once every non-cash tender is exhausted
    if any(a.method == "cash" for a in allocations):
        taken = {a.payment_id: a.amount for a in allocations}
        for tender in tenders:
            if tender.method != "cash":
                assert taken.get(tender.payment_id, D(0)) == tender.refundable


# --- tenders chosen by the request (`tenders: [{method, amount}]`) --------------------------------


def chosen(*pairs: tuple[str, str]) -> list[TenderRequest]:
    return [TenderRequest(method=m, amount=D(a)) for m, a in pairs]


SPLIT = [
    Tender(payment_id=1, method="cash", amount=D("10.00")),
    Tender(payment_id=2, method="card", amount=D("5.00"), refunded_amount=D("1.00")),
    Tender(payment_id=3, method="card", amount=D("6.00")),
    Tender(payment_id=4, method="other", amount=D("3.00")),
]


def test_chosen_tenders_are_spread_over_that_methods_payments_by_id() -> None:
    allocations = allocate_chosen_tenders(
        D("12.00"), chosen(("cash", "2.00"), ("card", "10.00")), SPLIT, "USD"
    )
    assert allocations == [
        allocate_row(2, "card", "4.00"),
        allocate_row(3, "card", "6.00"),
        allocate_row(1, "cash", "2.00"),
    ]


def test_a_method_the_order_was_not_paid_with_is_refused() -> None:
    cash_only = [Tender(payment_id=1, method="cash", amount=D("10.00"))]
    with pytest.raises(TenderChoiceInvalid) as caught:
        allocate_chosen_tenders(D("5.00"), chosen(("card", "5.00")), cash_only, "USD")
    assert list(caught.value.errors) == ["tenders.0.method"]


def test_more_than_a_method_ever_paid_is_invalid_and_more_than_is_left_is_a_shortfall() -> None:
    with pytest.raises(TenderChoiceInvalid) as caught:
        allocate_chosen_tenders(D("11.01"), chosen(("card", "11.01")), SPLIT, "USD")
    assert list(caught.value.errors) == ["tenders.0.amount"]
    # card paid 11.00, 1.00 of it is already back: 10.01 is within what it paid, not what is left
    with pytest.raises(TenderShortfall):
        allocate_chosen_tenders(D("10.01"), chosen(("card", "10.01")), SPLIT, "USD")


@pytest.mark.parametrize(
    ("total", "choices", "field"),
    [
        (D("5.00"), chosen(("cash", "4.00")), "tenders"),
        (D("5.00"), chosen(("cash", "3.00"), ("card", "3.00")), "tenders"),
        (D("5.00"), chosen(("store_credit", "4.00")), "tenders"),
        (D("5.00"), chosen(("cheque", "5.00")), "tenders.0.method"),
        (D("5.00"), chosen(("cash", "2.00"), ("cash", "3.00")), "tenders.1.method"),
        (D("5.00"), chosen(("cash", "5.001")), "tenders.0.amount"),
        (D("5.00"), chosen(("cash", "0"), ("card", "5.00")), "tenders.0.amount"),
        (D("5.00"), chosen(("cash", "-1.00"), ("card", "6.00")), "tenders.0.amount"),
        (D("5.00"), [], "tenders"),
    ],
)
def test_bad_choices_are_invalid(total, choices, field) -> None:
    with pytest.raises(TenderChoiceInvalid) as caught:
        allocate_chosen_tenders(total, choices, SPLIT, "USD")
    assert field in caught.value.errors


def test_amounts_follow_the_currency_minor_unit() -> None:
    yen = [Tender(payment_id=1, method="cash", amount=D("660"))]
    with pytest.raises(TenderChoiceInvalid) as caught:
        allocate_chosen_tenders(D("330"), chosen(("cash", "329.5")), yen, "JPY")
    assert "tenders.0.amount" in caught.value.errors
    assert allocate_chosen_tenders(D("330"), chosen(("cash", "330")), yen, "JPY") == [
        allocate_row(1, "cash", "330")
    ]
    dinar = [Tender(payment_id=1, method="card", amount=D("1.005"))]
    assert allocate_chosen_tenders(D("1.005"), chosen(("card", "1.005")), dinar, "KWD") == [
        allocate_row(1, "card", "1.005")
    ]


def test_no_tenders_for_a_zero_refund() -> None:
    assert allocate_chosen_tenders(D("0.00"), [], SPLIT, "USD") == []


@st.composite
def tenders_and_choices(draw: st.DrawFn) -> tuple[list[Tender], list[TenderRequest], Decimal]:
    """Payments of the order (some partly refunded already) and a valid choice of methods with
    amounts up to what is left on each method."""
    rows = draw(tender_lists)
    tenders = [
        Tender(payment_id=i + 1, method=m, amount=a + r, refunded_amount=r)
        for i, (m, a, r) in enumerate(rows)
    ]
    choices: list[TenderRequest] = []
    for method in draw(st.permutations(["cash", "card", "other"])):
        left = sum((t.refundable for t in tenders if t.method == method), D(0))
        if left <= 0 or not draw(st.booleans()):
            continue
        cents_left = int(left * 100)
        amount = D(draw(st.integers(min_value=1, max_value=cents_left))) / 100
        choices.append(TenderRequest(method=method, amount=amount))
    return tenders, choices, sum((c.amount for c in choices), D(0))


@settings(max_examples=300, deadline=None)
@given(tenders_and_choices())
def test_chosen_allocation_gives_each_method_its_amount_within_each_payment(case) -> None:
    tenders, choices, total = case
    allocations = allocate_chosen_tenders(total, choices, tenders, "USD")

    assert sum(a.amount for a in allocations) == total
    by_id = {t.payment_id: t for t in tenders}
    for choice in choices:
        mine = [a for a in allocations if a.method == choice.method]
        assert sum(a.amount for a in mine) == choice.amount
        # by payment id: a later payment of the method is touched only once the earlier are full
        taken = {a.payment_id: a.amount for a in mine}
        ids = sorted(t.payment_id for t in tenders if t.method == choice.method)
        for earlier, later in pairwise(ids):
            if taken.get(later):
                assert taken.get(earlier, D(0)) == by_id[earlier].refundable
    assert len({a.payment_id for a in allocations}) == len(allocations)
    for allocation in allocations:
        tender = by_id[allocation.payment_id]
        assert tender.method == allocation.method
        # `Payment.refunded_amount` stays within `amount`
        assert 0 < allocation.amount <= tender.refundable


@settings(max_examples=300, deadline=None)
@given(tender_lists, st.sampled_from(["cash", "card", "other"]), cents)
def test_a_choice_over_what_is_left_never_allocates(rows, method, extra) -> None:
    tenders = [
        Tender(payment_id=i + 1, method=m, amount=a + r, refunded_amount=r)
        for i, (m, a, r) in enumerate(rows)
    ]
    left = sum((t.refundable for t in tenders if t.method == method), D(0))
    amount = left + extra + D("0.01")
    with pytest.raises((TenderChoiceInvalid, TenderShortfall)):
        allocate_chosen_tenders(amount, chosen((method, str(amount))), tenders, "USD")


def test_a_mismatch_names_the_amounts_in_the_currency_minor_units() -> None:
    """Stored amounts have the columns' three decimals; a message shows the currency's."""
    with pytest.raises(TenderChoiceInvalid) as refused:
        allocate_chosen_tenders(
            Decimal("366.000"),
            [TenderRequest(method="cash", amount=Decimal("367"))],
            [Tender(payment_id=1, method="cash", amount=Decimal("730.000"))],
            "JPY",
        )
    assert refused.value.errors["tenders"] == ["The tenders add up to 367; the refund is 366."]


def test_chosen_store_credit_takes_what_the_other_choices_left() -> None:
    # 10.00 of the split order: 4.00 to card (payment 2 has 4.00 left), 6.00 as store credit,
    # taken in the default order from what is left (card 3, then other 4, then cash 1).
    allocations = allocate_chosen_tenders(
        D("10.00"), chosen(("store_credit", "6.00"), ("card", "4.00")), SPLIT, "USD"
    )

    assert [(a.payment_id, a.method, a.amount) for a in allocations] == [
        (2, "card", D("4.00")),
        (3, "store_credit", D("6.00")),
    ]
    more = allocate_chosen_tenders(
        D("12.00"), chosen(("card", "10.00"), ("store_credit", "2.00")), SPLIT, "USD"
    )
    # Card takes all of both card payments (4.00 + 6.00): store credit comes from other.
    assert [(a.payment_id, a.method, a.amount) for a in more] == [
        (2, "card", D("4.00")),
        (3, "card", D("6.00")),
        (4, "store_credit", D("2.00")),
    ]
