"""Gift card codes: their alphabet, lenient reading, and the sealed form the idempotent replay
stores."""

from __future__ import annotations

import base64

from domain.card_numbers import contains_digit_run
from giftcards.codes import (
    ALPHABET,
    CODE_LENGTH,
    code_generate,
    code_hash,
    code_normalise,
    code_seal,
    code_unseal,
)
from orders.serializers.sale_input import parse_sale_input


def test_codes_are_16_unambiguous_letters_and_differ() -> None:
    codes = {code_generate() for _ in range(200)}

    assert len(codes) == 200
    for code in codes:
        assert len(code) == CODE_LENGTH
        assert set(code) <= set(ALPHABET)
        assert not contains_digit_run(code)
    assert not set("ILO0123456789") & set(ALPHABET)


def test_typed_codes_are_read_leniently_and_wrong_ones_are_none() -> None:
    assert code_normalise("abcd-efgh jkmn-pqrs") == "ABCDEFGHJKMNPQRS"
    assert code_normalise("ABCDEFGHJKMNPQR") is None  # 15
    assert code_normalise("ABCDEFGHJKMNPQRI") is None  # I is not in the alphabet
    assert code_hash("ABCDEFGHJKMNPQRS") != code_hash("ABCDEFGHJKMNPQRT")


def test_a_sealed_code_unseals_and_a_tampered_one_does_not() -> None:
    code = code_generate()
    sealed = code_seal(code)

    assert code not in sealed
    assert code_unseal(sealed) == code
    assert code_seal(code) != sealed  # a fresh nonce each time
    # Flip one bit of a decoded byte: editing a base64 character can be a no-op when it only
    # changes padding bits, so tamper with the bytes, not the text.
    prefix, _, body = sealed.partition(".")
    raw = bytearray(base64.urlsafe_b64decode(body))
    for index in (len(raw) // 2, len(raw) - 1):  # the ciphertext, then the HMAC
        tampered = bytearray(raw)
        tampered[index] ^= 0x01
        flipped = f"{prefix}.{base64.urlsafe_b64encode(bytes(tampered)).decode('ascii')}"
        assert code_unseal(flipped) is None
    assert code_unseal("not sealed") is None


def test_a_sale_body_carries_the_gift_card_code_to_the_service() -> None:
    parsed = parse_sale_input(
        {
            "register": 1,
            "lines": [{"product": 1, "quantity": "1"}],
            "payments": [{"method": "gift_card", "amount": "5.00", "code": "ABCDEFGHJKMNPQRS"}],
        }
    )

    [payment] = parsed.payments
    assert (payment.method, payment.code) == ("gift_card", "ABCDEFGHJKMNPQRS")
