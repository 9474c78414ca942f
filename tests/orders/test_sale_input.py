"""The sale body's fast path (`orders.serializers.sale_input`, a parser compiled from the
serializer's fields by `apitools.plain_input`) must agree with the DRF serializer that
defines a valid sale: whatever it accepts, the serializer accepts with the same values, and
anything it does not take plainly is the serializer's to accept or refuse (same errors)."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from rest_framework.exceptions import ValidationError

from apitools.plain_input import NotPlain
from orders.models import MAX_ORDER_AMOUNT
from orders.serializers import sale_input
from orders.serializers.sale_input import SaleInput, parse_sale_input


def _by_serializer(data: Any) -> SaleInput | dict[str, Any]:
    try:
        return sale_input._validated(data)
    except ValidationError as exc:
        return dict(exc.detail)


def _by_parse(data: Any) -> SaleInput | dict[str, Any]:
    try:
        return parse_sale_input(data)
    except ValidationError as exc:
        return dict(exc.detail)


def _plain(data: Any) -> SaleInput | None:
    try:
        return sale_input._plain(data)
    except NotPlain:
        return None


_EDGE_VALUES = (
        "0", "0.000", "0.001", "0.0001", "1.5", "1.005", "00.10", "-0", "-1", "1e2", "NaN", "1,5",
        " 2.00", "2.00 ", "99999.999", "100000", str(MAX_ORDER_AMOUNT),
        str(MAX_ORDER_AMOUNT + Decimal("0.01")), "1" * 13, "1" * 16, "", "1234", " 1234",
        "12345", "abc ", "AUTH-99", "a\x00b", "\ud800", "x" * 64, "x" * 65, "cash", "CASH",
)  # fmt: skip
_edge_text = st.sampled_from(_EDGE_VALUES)
_weird = st.one_of(
    _edge_text,
    st.none(),
    st.booleans(),
    st.integers(-2, 2**64),
    st.floats(allow_nan=False),
    st.text(max_size=70),
    st.just([]),
    st.just({}),
)
_plain_decimal = st.from_regex(r"\A[0-9]{1,5}(\.[0-9]{1,2})?\Z")
_plain_text = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=0x2FFF), max_size=64)


@st.composite
def _plain_body(draw: st.DrawFn) -> dict[str, Any]:
    """A body as registers send it, valid but for amounts that need not add up."""
    body: dict[str, Any] = {
        "register": draw(st.integers(1, 2**63 - 1)),
        "lines": [
            {"product": draw(st.integers(1, 10**6)), "quantity": draw(_plain_decimal)}
            for _ in range(draw(st.integers(1, 3)))
        ],
        "payments": [],
    }
    for line in body["lines"]:
        if draw(st.booleans()):
            line["discount"] = draw(_plain_decimal)
    for _ in range(draw(st.integers(0, 2))):
        payment: dict[str, Any] = {
            "method": draw(st.sampled_from(["cash", "card", "other", "gift_card"])),
            "amount": draw(_plain_decimal),
        }
        for name, value in (
            ("tendered", _plain_decimal),
            ("reference", _plain_text),
            ("card_last4", st.from_regex(r"\A[0-9]{4}\Z")),
            ("code", st.from_regex(r"\A[A-HJKMNP-Z]{16}\Z")),
        ):
            if draw(st.booleans()):
                payment[name] = draw(value)
        body["payments"].append(payment)
    for name, value in (
        ("discount", _plain_decimal),
        ("offline", st.booleans()),
        ("held_order", st.integers(1, 2**63 - 1)),
        ("customer", st.one_of(st.none(), st.integers(1, 2**63 - 1))),
    ):
        if draw(st.booleans()):
            body[name] = draw(value)
    if "held_order" in body and draw(st.booleans()):
        del body["lines"]  # the held order's lines
    return body


def _places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value in the body (and, for dicts, to one more key)."""
    paths = [path]
    if isinstance(value, dict):
        paths += [
            (*path, key)
            for key in (
                "register",
                "product",
                "method",
                "client_created_at",
                "held_order",
                "customer",
            )
        ]
        for key, item in value.items():
            paths += _places(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            paths += _places(item, (*path, index))
    return paths


@st.composite
def _body(draw: st.DrawFn) -> Any:
    """A plain body, then (half the time) one value in it replaced by an odd one or removed."""
    body = draw(_plain_body())
    if draw(st.booleans()):
        return body
    path = draw(st.sampled_from(_places(body)))
    if not path:
        return draw(_weird)
    *parents, last = path
    parent: Any = body
    for key in parents:
        parent = parent[key]
    if isinstance(parent, dict) and last in parent and draw(st.integers(0, 4)) == 0:
        del parent[last]
    elif isinstance(parent, dict) or (isinstance(parent, list) and last < len(parent)):
        parent[last] = draw(_weird)
    return body


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=_body())
def test_the_fast_path_agrees_with_the_serializer(body: Any) -> None:
    expected = _by_serializer(body)
    fast = _plain(body)
    event("fast path" if fast is not None else "serializer")
    if fast is not None:
        assert fast == expected
    assert _by_parse(body) == expected


def _valid_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "register": 7,
        "lines": [{"product": 3, "quantity": "2"}, {"product": 4, "quantity": "0.250"}],
        "payments": [{"method": "cash", "amount": "10.00", "tendered": "20"}],
    }
    body.update(changes)
    return body


@pytest.mark.parametrize(
    "body",
    [
        _valid_body(),
        _valid_body(discount="1.5", offline=True),
        _valid_body(
            payments=[
                {"method": "card", "amount": "9.99", "card_last4": "4242", "reference": "AUTH-1"}
            ]
        ),
        _valid_body(payments=[]),
        _valid_body(
            payments=[{"method": "gift_card", "amount": "9.99", "code": "ABCDEFGHJKMNPQRS"}]
        ),
        _valid_body(held_order=12),
        {"register": 7, "held_order": 12, "payments": []},
        _valid_body(customer=41),
        _valid_body(customer=None),
    ],
)
def test_the_bodies_registers_send_take_the_fast_path(body: dict[str, Any]) -> None:
    fast = _plain(body)

    assert fast is not None
    assert fast == _by_serializer(body)


def test_what_registers_send_is_read_exactly() -> None:
    parsed = parse_sale_input(_valid_body(discount="1.5"))

    assert parsed.register == 7
    assert [(line.product_id, line.quantity, line.discount) for line in parsed.lines] == [
        (3, Decimal("2.000"), Decimal("0.00")),
        (4, Decimal("0.250"), Decimal("0.00")),
    ]
    [payment] = parsed.payments
    assert (payment.method, payment.amount, payment.tendered) == (
        "cash",
        Decimal("10.00"),
        Decimal("20.00"),
    )
    assert parsed.discount == Decimal("1.50")
    # Parsed at the columns' scale; the sale brings it to the store currency's minor units.
    assert str(parsed.discount) == "1.500"


def test_a_held_order_gives_what_the_body_leaves_out() -> None:
    """Lines and discount absent → `None`: the held order's (`order_create` reads them there)."""
    completing = parse_sale_input({"register": 7, "held_order": 12, "payments": []})
    overriding = parse_sale_input(_valid_body(held_order=12, discount="0"))
    plain = parse_sale_input(_valid_body())

    assert (completing.held_order, completing.lines, completing.discount) == (12, None, None)
    assert overriding.held_order == 12
    assert overriding.lines is not None
    assert len(overriding.lines) == 2
    assert overriding.discount == Decimal("0")
    assert (plain.held_order, plain.discount) == (None, None)


def test_a_customer_is_read_and_none_without_one() -> None:
    assert parse_sale_input(_valid_body(customer=41)).customer == 41
    assert parse_sale_input(_valid_body(customer=None)).customer is None
    assert parse_sale_input(_valid_body()).customer is None
    assert _plain(_valid_body(customer="41")) is None  # the serializer decides
    assert _plain(_valid_body(customer=0)) is None
    assert "customer" in _by_serializer(_valid_body(customer=0))  # type: ignore[operator]


def test_lines_are_required_without_a_held_order() -> None:
    body = {"register": 7, "payments": []}

    assert _plain(body) is None
    assert _by_serializer(body) == _by_parse(body)
    assert "lines" in _by_serializer(body)  # type: ignore[operator]


@pytest.mark.parametrize(
    "body",
    [
        _valid_body(register=True),
        _valid_body(lines=[{"product": 3, "quantity": 2}]),
        _valid_body(lines=[{"product": 3, "quantity": "0"}]),
        _valid_body(lines=[{"product": 3, "quantity": "1.0001"}]),
        _valid_body(payments=[{"method": "cash", "amount": " 1.00"}]),
        _valid_body(payments=[{"method": "card", "amount": "1.00", "card_last4": " 4242"}]),
        _valid_body(payments=[{"method": "card", "amount": "1.00", "reference": "x "}]),
        _valid_body(client_created_at="2026-11-22T10:00:00Z"),
        _valid_body(offline="true"),
        _valid_body(lines=[]),
    ],
)
def test_anything_else_is_left_to_the_serializer(body: dict[str, Any]) -> None:
    assert _plain(body) is None


_REMOVE = object()
_EVERY_FIELD = _valid_body(
    discount="1.50",
    offline=False,
    customer=41,
    lines=[{"product": 3, "quantity": "2", "discount": "0.10"}],
    payments=[
        {"method": "cash", "amount": "5.00", "tendered": "20"},
        {"method": "card", "amount": "5.00", "reference": "AUTH-1", "card_last4": "4242"},
    ],
)


@pytest.mark.parametrize("path", [p for p in _places(_EVERY_FIELD) if p], ids=str)
def test_every_field_against_every_edge_value(path: tuple[Any, ...]) -> None:
    """Each field of a body that uses every field, replaced in turn by each edge value (and
    removed): the fast path may decline, but never disagrees with the serializer."""
    for value in [*_EDGE_VALUES, None, True, 7, 2**63, 1.5, [], {}, _REMOVE]:
        body = copy.deepcopy(_EVERY_FIELD)
        *parents, last = path
        parent: Any = body
        for key in parents:
            parent = parent[key]
        if value is _REMOVE:
            if not isinstance(parent, dict) or last not in parent:
                continue
            del parent[last]
        elif isinstance(parent, dict) or last < len(parent):
            parent[last] = value
        fast = _plain(body)
        if fast is not None:
            assert fast == _by_serializer(body), (path, value)
