"""Domain errors carry a code and a detail, never an HTTP status: the exception handler's table
(`ERROR_STATUS`) is the only place a status is chosen."""

from __future__ import annotations

import importlib

import pytest

from accounts.exceptions import InvalidCredentials, TokenNotValid, UserManagementForbidden
from apitools.errors import status_for
from apitools.idempotency import (
    IdempotencyKeyInUse,
    IdempotencyKeyMissing,
    IdempotencyKeyReused,
)
from catalog.exceptions import InsufficientStock, ProductInUse
from domain.errors import DomainError, InvalidInput, ObjectNotFound, Throttled
from orders.exceptions import (
    CardNumberRefused,
    ChangeWithoutPayment,
    HeldOrderGone,
    RefundExceedsSold,
    ShiftNotOpen,
    TenderedOutOfRange,
)


def _all_subclasses(klass: type) -> set[type]:
    found = set(klass.__subclasses__())
    for sub in list(found):
        found |= _all_subclasses(sub)
    return found


def test_no_domain_error_names_a_status() -> None:
    for app in ("accounts", "catalog", "orders", "ledger", "audit"):
        importlib.import_module(f"{app}.exceptions")
    for klass in {DomainError} | _all_subclasses(DomainError):
        assert "status_code" not in vars(klass), klass


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (InvalidInput(), 400, "validation_error"),
        (CardNumberRefused(), 400, "validation_error"),
        (TenderedOutOfRange(), 400, "tendered_out_of_range"),
        (ChangeWithoutPayment(), 400, "change_without_payment"),
        (IdempotencyKeyMissing(), 400, "validation_error"),
        (InvalidCredentials(), 401, "authentication_failed"),
        (TokenNotValid(), 401, "token_not_valid"),
        (UserManagementForbidden(), 403, "permission_denied"),
        (ObjectNotFound(), 404, "not_found"),
        (InsufficientStock([2, 1]), 409, "insufficient_stock"),
        (ProductInUse(), 409, "product_in_use"),
        (ShiftNotOpen(), 409, "shift_not_open"),
        (RefundExceedsSold(), 409, "refund_exceeds_sold"),
        (HeldOrderGone(), 409, "held_order_gone"),
        (IdempotencyKeyInUse(), 409, "idempotency_key_in_use"),
        (IdempotencyKeyReused(), 422, "idempotency_key_reused"),
        (Throttled(), 429, "throttled"),
    ],
)
def test_the_handler_table_gives_each_error_its_status(
    error: DomainError, status: int, code: str
) -> None:
    assert (status_for(error), error.code) == (status, code)
