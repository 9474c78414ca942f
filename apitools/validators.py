"""Field validators shared by the API's serializers and the admin's forms."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from domain.card_numbers import contains_card_number

CARD_NUMBER_MESSAGE = "A full card number is not accepted; send reference and card_last4."


def refuse_card_number(value: object) -> None:
    """Free text must not carry a card number (`domain.card_numbers`; docs/API.md): refused
    before it is stored, logged or printed. The message never repeats the value. A Django
    `ValidationError`, so DRF serializers and admin forms both report it on the field."""
    if isinstance(value, str) and contains_card_number(value):
        raise ValidationError(CARD_NUMBER_MESSAGE, code="card_number")
