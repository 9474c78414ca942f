"""Input fields stricter than DRF's defaults, for what the contract says is a JSON boolean or a
JSON string.

DRF's `BooleanField` accepts `"yes"`, `1`, `"on"` … and django-filter's `BooleanFilter` answers
an unfiltered list for `?is_active=junk`; a payments-grade API refuses both with `400` naming
the field, so a client's typo never silently means something else."""

from __future__ import annotations

from typing import Any

import django_filters
from django import forms
from rest_framework import serializers

__all__ = ["StrictBooleanField", "StrictBooleanFilter", "StrictCharField"]


class StrictBooleanField(serializers.BooleanField):
    """A JSON `true` or `false`, nothing else."""

    default_error_messages = {"invalid": "Must be true or false."}

    def to_internal_value(self, data: Any) -> bool:
        if data is True or data is False:
            return data
        self.fail("invalid")
        raise AssertionError("unreachable")  # pragma: no cover


class StrictCharField(serializers.CharField):
    """A JSON string, nothing else (DRF's `CharField` takes `7` as `"7"`)."""

    default_error_messages = {"invalid": "Must be a string."}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class _StrictNullBooleanField(forms.NullBooleanField):
    """`true`/`false` (also `True`, `1`, `0`, as browsers and forms send them); blank means
    no filter; anything else is invalid."""

    widget = forms.TextInput
    _VALUES = {"true": True, "1": True, "false": False, "0": False}

    def to_python(self, value: Any) -> bool | None:  # type: ignore[override]  # null: no filter
        if value in (None, ""):
            return None
        found = self._VALUES.get(str(value).strip().lower())
        if found is None:
            raise forms.ValidationError("Must be true or false.", code="invalid")
        return found

    def validate(self, value: Any) -> None:
        return None


class StrictBooleanFilter(django_filters.BooleanFilter):
    """`?flag=true|false`; any other value is `400` naming the parameter."""

    field_class = _StrictNullBooleanField
