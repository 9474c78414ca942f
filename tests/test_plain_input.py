"""`apitools.plain_input.plain_parser` reads its rules from the serializer's declared
fields (change a limit there and the parser follows), gives the serializer's validated data for
plain bodies, declines everything else, and refuses to compile what it cannot check exactly."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from rest_framework import serializers

from apitools.plain_input import NotPlain, plain_parser


class Child(serializers.Serializer):
    amount = serializers.DecimalField(
        max_digits=5, decimal_places=1, min_value=Decimal("0.5"), max_value=Decimal("100.0")
    )
    note = serializers.CharField(max_length=3, required=False, allow_blank=True, default="")


class Body(serializers.Serializer):
    count = serializers.IntegerField(min_value=1, max_value=9)
    kind = serializers.ChoiceField(choices=[("a", "A"), ("b", "B")])
    items = serializers.ListField(child=Child(), allow_empty=False, max_length=2)
    flag = serializers.BooleanField(default=False)
    code = serializers.RegexField(r"^[0-9]{2}$", required=False)
    when = serializers.DateTimeField(required=False, allow_null=True, default=None)

    def validate_count(self, value: int) -> int:
        if value == 7:
            raise serializers.ValidationError("Not seven.")
        return value


parse = plain_parser(Body)


def _validated(data: Any) -> Any:
    serializer = Body(data=data)
    return serializer.validated_data if serializer.is_valid() else None


def _body(**changes: Any) -> dict[str, Any]:
    body = {"count": 3, "kind": "a", "items": [{"amount": "2.5"}]}
    body.update(changes)
    return body


@pytest.mark.parametrize(
    "body",
    [
        _body(),
        _body(flag=True, code="12", when=None),
        _body(items=[{"amount": "0.5", "note": ""}, {"amount": "100", "note": "abc"}]),
    ],
)
def test_plain_bodies_give_the_serializers_validated_data(body: dict[str, Any]) -> None:
    assert parse(body) == _validated(body)


@pytest.mark.parametrize(
    "body",
    [
        _body(count=0),  # min_value
        _body(count=10),  # max_value
        _body(count=7),  # validate_count
        _body(count="3"),  # valid for the serializer, not plain
        _body(count=True),
        _body(kind="c"),  # choices
        _body(items=[]),  # allow_empty
        _body(items=[{"amount": "1"}] * 3),  # max_length
        _body(items=[{"amount": "0.4"}]),  # min_value
        _body(items=[{"amount": "100.1"}]),  # max_value
        _body(items=[{"amount": "1.25"}]),  # decimal_places
        _body(items=[{"amount": "1", "note": "abcd"}]),  # max_length
        _body(items=[{"amount": "1", "note": " a"}]),  # untrimmed (valid, not plain)
        _body(code="123"),  # regex
        _body(when="2026-11-22T10:00:00Z"),  # timestamps are the serializer's
        {"kind": "a", "items": [{"amount": "1"}]},  # required
        [],
    ],
)
def test_anything_else_is_declined(body: Any) -> None:
    with pytest.raises(NotPlain):
        parse(body)


def test_rules_it_cannot_check_exactly_are_refused_at_compile_time() -> None:
    class Custom(serializers.Serializer):
        value = serializers.IntegerField(validators=[lambda value: None])

    class Parsed(serializers.Serializer):
        class Loose(serializers.IntegerField):
            def to_internal_value(self, data: Any) -> int:
                return int(data)

        value = Loose()

    for serializer_class in (Custom, Parsed):
        with pytest.raises(TypeError, match="value"):
            plain_parser(serializer_class)
