"""A DRF input serializer's validation, compiled once for the plain bodies clients usually send.

`plain_parser(SerializerClass)` reads the serializer's declared fields once — types, limits from
their validators, choices, blank and null rules, required fields and defaults, `validate_<name>`
and `validate` methods — and returns `parse(data)`, which gives exactly the serializer's
`validated_data` for a body in the canonical shape (integers as JSON integers, decimals as plain
digit strings within the field's places, booleans as JSON booleans, trimmed text) and raises
`NotPlain` for anything else, valid or not. The caller then runs the serializer itself, which
owns every error message and every lenient form it accepts: nothing is decided twice.

Why: a serializer instance deep-copies its declared fields and walks them through generic
validation, about a millisecond of Python for a sale's body, on the path every register takes
hundreds of times an hour. A field this module cannot check exactly — a validator it does not
know, an overridden parsing method — makes `plain_parser` raise `TypeError` at compile time
rather than guess; a field kind it does not read (a related field, a timestamp) only ever takes
the serializer's path (`None` aside, when the field allows it).
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.core import validators as django_validators
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.fields import empty
from rest_framework.validators import ProhibitSurrogateCharactersValidator

__all__ = ["NotPlain", "plain_parser"]

Parse = Callable[[Any], Any]
Accepts = Callable[[Any], bool]


class NotPlain(Exception):
    """Not the plain shape, or not valid: the serializer decides."""


def plain_parser(serializer_class: type[serializers.Serializer]) -> Parse:
    """`parse(data)` → the serializer's `validated_data`, or `NotPlain`."""
    return _serializer(serializer_class(), serializer_class.__name__)


def _serializer(serializer: serializers.Serializer, where: str) -> Parse:
    if serializer.validators:
        raise TypeError(f"{where}: serializer-level validators are not compiled")
    steps: list[tuple[str, Parse, Any, Callable[[Any], Any] | None]] = []
    for name, field in serializer.fields.items():
        if field.read_only:
            continue
        if field.source_attrs != [name]:
            raise TypeError(f"{where}.{name}: a source other than the name is not compiled")
        parse = _field(field, f"{where}.{name}")
        if field.required:
            missing: Any = _REQUIRED
        elif field.default is empty:
            missing = _SKIP
        elif callable(field.default):
            missing = _CALL
        else:
            missing = field.default
        steps.append((name, parse, missing, getattr(serializer, f"validate_{name}", None)))
    validate = (
        serializer.validate
        if type(serializer).validate is not serializers.Serializer.validate
        else None
    )
    get_default = {name: serializer.fields[name].get_default for name, *_ in steps}

    def parse_object(data: Any) -> dict[str, Any]:
        if type(data) is not dict:
            raise NotPlain
        validated: dict[str, Any] = {}
        for name, parse, missing, method in steps:
            value = data.get(name, empty)
            if value is not empty:
                value = parse(value)
            elif missing is _REQUIRED:
                raise NotPlain
            elif missing is _SKIP:
                continue
            elif missing is _CALL:
                value = get_default[name]()
            else:
                value = missing
            if method is not None:
                value = _checked(method, value)
            validated[name] = value
        if validate is not None:
            validated = _checked(validate, validated)
        return validated

    return parse_object


_REQUIRED, _SKIP, _CALL = object(), object(), object()


def _checked(method: Callable[[Any], Any], value: Any) -> Any:
    try:
        return method(value)
    except (ValidationError, DjangoValidationError) as exc:
        raise NotPlain from exc


def _field(field: serializers.Field, where: str) -> Parse:
    """A field's parser; `None` is the field's `None` when it allows null."""
    parse = _typed(field, where)
    if field.allow_null:

        def parse_nullable(value: Any) -> Any:
            return None if value is None else parse(value)

        return parse_nullable
    return parse


def _typed(field: serializers.Field, where: str) -> Parse:
    if isinstance(field, serializers.Serializer):
        return _serializer(field, where)
    if isinstance(field, serializers.ListField):
        return _list(field, where)
    if isinstance(field, serializers.BooleanField):
        _same_parsing(field, serializers.BooleanField, where)
        return _leaf(bool, _validator_checks(field, where))
    if isinstance(field, serializers.IntegerField):
        _same_parsing(field, serializers.IntegerField, where)
        return _leaf(int, _validator_checks(field, where))
    if isinstance(field, serializers.DecimalField):
        _same_parsing(field, serializers.DecimalField, where)
        return _decimal(field, where, _validator_checks(field, where))
    if isinstance(field, serializers.ChoiceField) and not isinstance(
        field, serializers.MultipleChoiceField
    ):
        _same_parsing(field, serializers.ChoiceField, where)
        return _choice(field, _validator_checks(field, where))
    if isinstance(field, serializers.CharField):
        _same_parsing(field, serializers.CharField, where)
        return _text(field, _validator_checks(field, where))
    return _never  # any other kind: the serializer's path


def _never(value: Any) -> Any:
    raise NotPlain


def _same_parsing(field: serializers.Field, kind: type, where: str) -> None:
    for method in ("to_internal_value", "run_validation", "validate_empty_values"):
        if getattr(type(field), method) is not getattr(kind, method):
            raise TypeError(f"{where}: {type(field).__name__} overrides {method}")


def _leaf(exact: type, checks: list[Accepts]) -> Parse:
    def parse(value: Any) -> Any:
        if type(value) is not exact:  # `True` is not an integer here
            raise NotPlain
        for accepts in checks:
            if not accepts(value):
                raise NotPlain
        return value

    return parse


def _decimal(field: serializers.DecimalField, where: str, checks: list[Accepts]) -> Parse:
    if (
        field.max_digits is None
        or field.decimal_places is None
        or field.max_digits <= field.decimal_places
        or field.rounding is not None
        or field.localize
    ):
        raise TypeError(f"{where}: this DecimalField is not compiled")
    whole = field.max_digits - field.decimal_places
    # No sign, no exponent, no leading zeros, no spaces; within the field's digits and places
    # (DRF's `validate_precision` would accept exactly these, and quantizing them is exact).
    plain = re.compile(
        rf"(?:0|[1-9][0-9]{{0,{whole - 1}}})(?:\.[0-9]{{1,{field.decimal_places}}})?"
    ).fullmatch
    quantum = Decimal(1).scaleb(-field.decimal_places)

    def parse(value: Any) -> Decimal:
        if type(value) is not str or not plain(value):
            raise NotPlain
        number = Decimal(value).quantize(quantum)
        for accepts in checks:
            if not accepts(number):
                raise NotPlain
        return number

    return parse


def _choice(field: serializers.ChoiceField, checks: list[Accepts]) -> Parse:
    choices = field.choice_strings_to_values

    def parse(value: Any) -> Any:
        if type(value) is not str or value not in choices or value == "":
            raise NotPlain
        choice = choices[value]
        for accepts in checks:
            if not accepts(choice):
                raise NotPlain
        return choice

    return parse


def _text(field: serializers.CharField, checks: list[Accepts]) -> Parse:
    trim, allow_blank = field.trim_whitespace, field.allow_blank

    def parse(value: Any) -> str:
        if type(value) is not str or (trim and value != value.strip()):
            raise NotPlain
        if value == "":
            if not allow_blank:
                raise NotPlain
            return value  # DRF returns a blank without running the validators
        for accepts in checks:
            if not accepts(value):
                raise NotPlain
        return value

    return parse


def _list(field: serializers.ListField, where: str) -> Parse:
    _same_parsing(field, serializers.ListField, where)
    child = _field(field.child, f"{where}[]")
    checks = _validator_checks(field, where)
    allow_empty = field.allow_empty

    def parse(value: Any) -> list[Any]:
        if type(value) is not list or (not value and not allow_empty):
            raise NotPlain
        items = [child(item) for item in value]
        for accepts in checks:
            if not accepts(items):
                raise NotPlain
        return items

    return parse


_SURROGATES = re.compile("[\ud800-\udfff]")


def _validator_checks(field: serializers.Field, where: str) -> list[Accepts]:
    """Each of the field's validators as a predicate: does it accept the value?"""
    return [_accepts(validator, where) for validator in field.validators]


def _accepts(validator: Any, where: str) -> Accepts:
    kind = type(validator)
    if kind is django_validators.RegexValidator and not validator.inverse_match:
        regex: re.Pattern[str] = validator.regex
        return lambda value: regex.search(value) is not None
    if kind is django_validators.ProhibitNullCharactersValidator:
        return lambda value: "\x00" not in value
    if kind is ProhibitSurrogateCharactersValidator:
        return lambda value: _SURROGATES.search(value) is None
    limit = getattr(validator, "limit_value", None)
    if limit is None or callable(limit):
        raise TypeError(f"{where}: validator {kind.__name__} is not compiled")
    if kind is django_validators.MinValueValidator:
        return functools.partial(operator.le, limit)  # limit <= value
    if kind is django_validators.MaxValueValidator:
        return functools.partial(operator.ge, limit)  # limit >= value
    if kind is django_validators.MinLengthValidator:
        return lambda value: len(value) >= limit
    if kind is django_validators.MaxLengthValidator:
        return lambda value: len(value) <= limit
    raise TypeError(f"{where}: validator {kind.__name__} is not compiled")
