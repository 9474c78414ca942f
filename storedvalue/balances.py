"""Changing a customer's store credit and loyalty points inside a sale, a refund, a return or a
void (their transaction): `customer_balances_move`.

The customer's row is locked (`SELECT … FOR UPDATE`) before its balances are read, after every
lock the sale or refund already holds (shift, counters, stock, gift cards come before: see
`orders.services.sales`), so two sales spending one customer's credit or points queue and the
second sees what the first left — they never overspend (the `>= 0` check constraints on the
customer and on each movement are the backstop). One lock, one update and one insert per kind of
balance, however many changes.

The journal entry is the caller's: store credit and points are tenders of its entry
(`store_credit` → 2310, `points` → 2320 in `ledger.services.TENDER_ACCOUNTS`), points earned or
taken back lines of it (Dr 4000 / Cr 2320 and back), posted in the same transaction. Each call
writes one audit event, `customer.balances_changed` (amounts and the sources' ids; no personal
data) — except for a sale, whose own `order.created` event carries the change (`audit=False`): a
sale's audit event must stay its last statement (the store's audit chain is where its sales
queue).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from accounts.models import Store, User
from audit.services import audit_record
from customers.exceptions import CustomerErased
from customers.models import Customer
from domain.errors import InvalidInput, ObjectNotFound
from giftcards.exceptions import InsufficientBalance
from money import ZERO
from money.currencies import round_money
from storedvalue.models import LoyaltyMovement, StoreCreditMovement

__all__ = ["Balances", "PointsChange", "StoreCreditChange", "customer_balances_move"]


@dataclass(frozen=True, slots=True)
class StoreCreditChange:
    """One change of the store credit: `amount` signed (negative: spent), its kind and source,
    and the request's `field` that errors name (`payments.<i>.amount`, `tenders` …)."""

    amount: Decimal
    kind: str
    field: str
    payment_id: int | None = None
    refund_id: int | None = None
    return_id: int | None = None


@dataclass(frozen=True, slots=True)
class PointsChange:
    """One change of the points: `points` signed, valued at `point_value` each. One that
    `may_fall_short` (a refund's take-back) takes what is left when the customer has spent some
    (the rest is its `shortfall`); any other change that would go below zero is refused."""

    points: int
    point_value: Decimal
    kind: str
    field: str
    order_id: int | None = None
    payment_id: int | None = None
    refund_id: int | None = None
    #: The money of the change when it is not `points × point_value` (points given back pro
    #: rata to a payment: the money refunded to 2320).
    value: Decimal | None = None
    #: A refund's take-back: what the customer has spent already is its `shortfall`.
    may_fall_short: bool = False


@dataclass(frozen=True, slots=True)
class Balances:
    store_credit: Decimal
    loyalty_points: int
    #: Σ the value of the points changes as made (+: the liability grew), by kind.
    points_value: dict[str, Decimal]


def customer_balances_move(
    *,
    customer_id: int,
    store: Store,
    credit: Sequence[StoreCreditChange] = (),
    points: Sequence[PointsChange] = (),
    user: User | None,
    now: dt.datetime,
    audit: bool = True,
) -> Balances:
    """Apply the changes (in order) under the customer's row lock; the balances they leave and
    the value of the points moved. Nothing for no change (zero amounts are dropped).

    `InsufficientBalance` (409 `insufficient_balance`) when a change would take a balance below
    zero; `InvalidInput` on the change's field when the customer's credit is in another currency
    than `store`'s (a balance of 0 takes the store's); `CustomerErased` (409) when an erased
    customer would be credited."""
    credit = [change for change in credit if change.amount]
    points = [change for change in points if change.points or change.value]
    if not credit and not points:
        return Balances(ZERO, 0, {})
    customer = (
        Customer.objects.select_for_update(of=("self",))
        .only("id", "store_credit", "store_credit_currency", "loyalty_points", "erased_at")
        .filter(pk=customer_id)
        .first()
    )
    if customer is None:
        raise ObjectNotFound("Customer not found.")
    if customer.is_erased and (
        any(c.amount > 0 for c in credit) or any(c.points > 0 for c in points)
    ):
        raise CustomerErased()
    currency = store.currency
    balance, credit_rows = _credit_movements(customer, store, credit, user, now)
    held, points_rows, values = _points_movements(customer, store, points, user, now)
    updates: dict[str, Any] = {}
    if credit_rows:
        updates |= {"store_credit": balance, "store_credit_currency": currency}
    if points_rows:
        updates["loyalty_points"] = held
    Customer.objects.filter(pk=customer.pk).update(**updates)
    if credit_rows:
        StoreCreditMovement.objects.bulk_create(credit_rows)
    if points_rows:
        LoyaltyMovement.objects.bulk_create(points_rows)
    if audit:
        audit_record(
            action="customer.balances_changed",
            actor=user,
            store_id=store.pk,
            object_type="customer",
            object_id=customer.pk,
            changes=balances_audit(credit_rows, points_rows, balance, held),
        )
    return Balances(store_credit=balance, loyalty_points=held, points_value=values)


def balances_audit(
    credit_rows: Sequence[StoreCreditMovement],
    points_rows: Sequence[LoyaltyMovement],
    balance: Decimal,
    held: int,
) -> dict[str, Any]:
    """What an audit event records of a change (no personal data)."""
    changes: dict[str, Any] = {}
    if credit_rows:
        changes["store_credit"] = {
            "amount": str(sum((row.amount for row in credit_rows), ZERO)),
            "balance": str(balance),
            "currency": credit_rows[0].currency,
            "movements": [
                _source(row, kind=row.kind, amount=str(row.amount)) for row in credit_rows
            ],
        }
    if points_rows:
        changes["points"] = {
            "points": sum(row.points for row in points_rows),
            "balance": held,
            "movements": [
                _source(
                    row,
                    kind=row.kind,
                    points=row.points,
                    value=str(row.value),
                    **({"shortfall": row.shortfall} if row.shortfall else {}),
                )
                for row in points_rows
            ],
        }
    return changes


def _source(row: Any, **fields: Any) -> dict[str, Any]:
    for name in ("order", "payment", "refund", "return_doc"):
        value = getattr(row, f"{name}_id", None)
        if value:
            fields["return" if name == "return_doc" else name] = value
    return fields


def _credit_movements(
    customer: Customer,
    store: Store,
    changes: Sequence[StoreCreditChange],
    user: User | None,
    now: dt.datetime,
) -> tuple[Decimal, list[StoreCreditMovement]]:
    currency = store.currency
    # Stored with the money columns' 3 decimals: exact in the currency's minor units.
    balance = round_money(customer.store_credit, currency)
    if not changes:
        return balance, []
    if balance and customer.store_credit_currency != currency:
        raise InvalidInput(
            errors={
                changes[0].field: [
                    f"The customer's store credit is in {customer.store_credit_currency}; this "
                    f"store sells in {currency}."
                ]
            }
        )
    rows = []
    for change in changes:
        if balance + change.amount < 0:
            raise InsufficientBalance(
                f"The customer's store credit is {balance}; {-change.amount} asked.",
                errors={change.field: [f"The customer's store credit is {balance}."]},
            )
        balance += change.amount
        rows.append(
            StoreCreditMovement(
                customer_id=customer.pk,
                store_id=store.pk,
                kind=change.kind,
                currency=currency,
                amount=change.amount,
                balance_after=balance,
                payment_id=change.payment_id,
                refund_id=change.refund_id,
                return_doc_id=change.return_id,
                created_by=user,
                created_at=now,
            )
        )
    return balance, rows


def _points_movements(
    customer: Customer,
    store: Store,
    changes: Sequence[PointsChange],
    user: User | None,
    now: dt.datetime,
) -> tuple[int, list[LoyaltyMovement], dict[str, Decimal]]:
    held = customer.loyalty_points
    rows = []
    values: dict[str, Decimal] = {}
    for change in changes:
        moved, shortfall = change.points, 0
        if held + moved < 0:
            if not change.may_fall_short:
                raise InsufficientBalance(
                    f"The customer holds {held} points; {-moved} asked.",
                    errors={change.field: [f"The customer holds {held} points."]},
                )
            # Already spent: take what is left, record the rest.
            moved, shortfall = -held, -moved - held
        if not moved and not shortfall and not change.value:
            continue
        held += moved
        value = (
            change.value
            if change.value is not None
            else round_money(Decimal(moved) * change.point_value, store.currency)
        )
        values[change.kind] = values.get(change.kind, ZERO) + value
        rows.append(
            LoyaltyMovement(
                customer_id=customer.pk,
                store_id=store.pk,
                kind=change.kind,
                points=moved,
                points_after=held,
                value=value,
                shortfall=shortfall,
                order_id=change.order_id,
                payment_id=change.payment_id,
                refund_id=change.refund_id,
                created_by=user,
                created_at=now,
            )
        )
    return held, rows, values
