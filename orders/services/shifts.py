"""Shifts (cash drawer sessions): open, move cash in and out, close with counted cash.

One open shift per register: the service refuses a second one, and the partial unique constraint
`shift_one_open_per_register` is the backstop when two opens race (the loser's INSERT fails in a
savepoint and becomes `409 shift_already_open`, never a 500).

Closing locks the shift row, so it serialises with cash movements and refunds (which lock the
same row) and with a second close; the expected cash is computed by the database
(`orders.selectors.shifts.shift_cash_summary`), never by looping over orders in Python.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Register, User
from audit.services import audit_record
from domain.errors import InvalidInput
from ledger.services import post_cash_movement, post_shift_close
from money.currencies import fits_currency, minor_units, round_money
from orders.exceptions import ShiftAlreadyOpen, ShiftNotOpen
from orders.models import CashMovement, CashMovementKind, Shift, ShiftStatus
from orders.selectors.shifts import shift_cash_summary

#: The only legal moves of a shift's status. A closed shift is final.
SHIFT_TRANSITIONS: dict[str, frozenset[str]] = {
    ShiftStatus.OPEN: frozenset({ShiftStatus.CLOSED}),
    ShiftStatus.CLOSED: frozenset(),
}


def shift_transition(*, shift: Shift, to: ShiftStatus) -> None:
    """Move `shift` to status `to` in memory, refusing an illegal move. The caller saves it
    (with the other fields the move sets) under the row lock it holds."""
    if to not in SHIFT_TRANSITIONS[ShiftStatus(shift.status)]:
        raise ShiftNotOpen(f"A {shift.status} shift cannot become {to}.")
    shift.status = to


def _money(value: Decimal, field: str, *, currency: str, allow_zero: bool) -> Decimal:
    """`value` checked against the store currency's minor units and its sign."""
    if not fits_currency(value, currency):
        places = minor_units(currency)
        raise InvalidInput(errors={field: [f"At most {places} decimal places ({currency})."]})
    if value < 0 or (value == 0 and not allow_zero):
        raise InvalidInput(
            errors={field: ["Must be zero or more." if allow_zero else "Must be more than zero."]}
        )
    return round_money(value, currency)  # exact: only the scale becomes the currency's


def shift_open(*, register: Register, opening_float: Decimal, user: User) -> Shift:
    """Open a cash drawer session on `register` with `opening_float` in the drawer.

    The caller has checked that the register is one of the user's stores'; an inactive register
    is refused here. A register that already has an open shift → `ShiftAlreadyOpen`.
    """
    opening_float = _money(
        opening_float, "opening_float", currency=register.store.currency, allow_zero=True
    )
    if not register.is_active:
        raise InvalidInput(errors={"register": ["This register is not active."]})
    with transaction.atomic():
        if Shift.objects.filter(register=register, status=ShiftStatus.OPEN).exists():
            raise ShiftAlreadyOpen()
        try:
            # The savepoint keeps the outer transaction usable when a concurrent open wins the
            # race and the partial unique index refuses this INSERT.
            with transaction.atomic():
                shift = Shift.objects.create(
                    store_id=register.store_id,
                    register=register,
                    status=ShiftStatus.OPEN,
                    opened_by=user,
                    opening_float=opening_float,
                )
        except IntegrityError:
            raise ShiftAlreadyOpen() from None
        audit_record(
            action="shift.opened",
            actor=user,
            store_id=register.store_id,
            object_type="shift",
            object_id=shift.pk,
            changes={"register": register.pk, "opening_float": str(opening_float)},
        )
    return shift


def _lock_open_shift(shift: Shift) -> Shift:
    locked = Shift.objects.select_for_update().select_related("store").get(pk=shift.pk)
    if locked.status != ShiftStatus.OPEN:
        raise ShiftNotOpen("This shift is closed.")
    return locked


def cash_movement_create(
    *, shift: Shift, kind: str, amount: Decimal, reason: str, user: User
) -> CashMovement:
    """Put cash into (`in`) or take it out of (`out`) an open shift's drawer; posts 1000 against
    1050 (cash transfers)."""
    if kind not in CashMovementKind.values:
        raise InvalidInput(
            errors={"kind": [f"Must be one of {', '.join(CashMovementKind.values)}."]}
        )
    amount = _money(amount, "amount", currency=shift.store.currency, allow_zero=False)
    with transaction.atomic():
        locked = _lock_open_shift(shift)
        movement = CashMovement.objects.create(
            shift=locked, kind=kind, amount=amount, reason=reason, created_by=user
        )
        post_cash_movement(
            store=locked.store,
            date=timezone.localdate(movement.created_at, timezone=locked.store.tzinfo),
            movement_id=movement.pk,
            kind=kind,
            amount=amount,
            created_by=user,
        )
        audit_record(
            action="shift.cash_moved",
            actor=user,
            store_id=locked.store_id,
            object_type="shift",
            object_id=locked.pk,
            changes={
                "movement": movement.pk,
                "kind": kind,
                "amount": str(amount),
                "reason": reason,
            },
        )
    return movement


def shift_close(*, shift: Shift, counted_cash: Decimal, user: User) -> Shift:
    """Close an open shift: expected cash = opening float + cash taken − change given − cash
    refunded + cash in − cash out (all summed by the database), difference = counted − expected,
    posted to the ledger (1000 against 6900). A closed shift → `ShiftNotOpen`."""
    counted_cash = _money(
        counted_cash, "counted_cash", currency=shift.store.currency, allow_zero=True
    )
    with transaction.atomic():
        locked = _lock_open_shift(shift)
        expected = shift_cash_summary(shift=locked).expected_cash
        difference = counted_cash - expected
        shift_transition(shift=locked, to=ShiftStatus.CLOSED)
        locked.closed_by = user
        locked.closed_at = timezone.now()
        locked.expected_cash = expected
        locked.counted_cash = counted_cash
        locked.difference = difference
        locked.save(
            update_fields=[
                "status",
                "closed_by",
                "closed_at",
                "expected_cash",
                "counted_cash",
                "difference",
            ]
        )
        post_shift_close(
            store=locked.store,
            date=timezone.localdate(locked.closed_at, timezone=locked.store.tzinfo),
            shift_id=locked.pk,
            difference=difference,
            created_by=user,
        )
        audit_record(
            action="shift.closed",
            actor=user,
            store_id=locked.store_id,
            object_type="shift",
            object_id=locked.pk,
            changes={
                "expected_cash": str(expected),
                "counted_cash": str(counted_cash),
                "difference": str(difference),
            },
        )
    return locked
