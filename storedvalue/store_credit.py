"""Changing a customer's store credit inside a sale, a refund, a return or a void (their
transaction): `store_credit_move`.

The customer's row is locked (`SELECT … FOR UPDATE`) before its balance is read, after every
lock the sale or refund already holds (shift, counters, stock, gift cards come before: see
`orders.services.sales`), so two sales spending one customer's credit queue and the second sees
what the first left — it never overspends (the `store_credit >= 0` check constraint on the
customer and on each movement's `balance_after` is the backstop).

The journal entry is the caller's: store credit is one of its tenders (`store_credit` → 2310 in
`ledger.services.TENDER_ACCOUNTS`), posted in the same transaction. Each call writes one audit
event, `customer.store_credit_changed` (amounts and the source's ids; no personal data) — except
for a sale, whose own `order.created` event carries the change (`audit=False`): a sale's audit
event must stay its last statement (the store's audit chain is where its sales queue).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from accounts.models import Store, User
from audit.services import audit_record
from customers.exceptions import CustomerErased
from customers.models import Customer
from domain.errors import InvalidInput, ObjectNotFound
from giftcards.exceptions import InsufficientBalance
from money import ZERO
from money.currencies import round_money
from storedvalue.models import StoreCreditMovement

__all__ = ["StoreCreditChange", "store_credit_move"]


@dataclass(frozen=True, slots=True)
class StoreCreditChange:
    """One change of the balance: `amount` signed (negative: spent), its kind and source, and
    the request's `field` that errors name (`payments.<i>.amount`, `tenders.<i>.method` …)."""

    amount: Decimal
    kind: str
    field: str
    payment_id: int | None = None
    refund_id: int | None = None
    return_id: int | None = None


def store_credit_move(
    *,
    customer_id: int,
    store: Store,
    changes: Sequence[StoreCreditChange],
    user: User | None,
    now: dt.datetime,
    audit: bool = True,
) -> Decimal:
    """Apply `changes` (in order) to the customer's store credit under the row lock; the balance
    they leave. Three queries (lock, balance, movements) and the audit event; nothing for no
    change (zero amounts are dropped).

    `InsufficientBalance` (409 `insufficient_balance`) when a change would take the balance below
    zero; `InvalidInput` on the change's field when the customer's credit is in another currency
    than `store`'s (a balance of 0 takes the store's); `CustomerErased` (409) when an erased
    customer would be credited."""
    changes = [change for change in changes if change.amount]
    if not changes:
        return ZERO
    customer = (
        Customer.objects.select_for_update(of=("self",))
        .only("id", "store_credit", "store_credit_currency", "erased_at")
        .filter(pk=customer_id)
        .first()
    )
    if customer is None:
        raise ObjectNotFound("Customer not found.")
    currency = store.currency
    # Stored with the money columns' 3 decimals: exact in the currency's minor units.
    balance = round_money(customer.store_credit, currency)
    if balance and customer.store_credit_currency != currency:
        raise InvalidInput(
            errors={
                changes[0].field: [
                    f"The customer's store credit is in {customer.store_credit_currency}; this "
                    f"store sells in {currency}."
                ]
            }
        )
    if customer.is_erased and any(change.amount > 0 for change in changes):
        raise CustomerErased()
    movements = []
    for change in changes:
        if balance + change.amount < 0:
            raise InsufficientBalance(
                f"The customer's store credit is {balance}; {-change.amount} asked.",
                errors={change.field: [f"The customer's store credit is {balance}."]},
            )
        balance += change.amount
        movements.append(
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
    Customer.objects.filter(pk=customer.pk).update(
        store_credit=balance, store_credit_currency=currency
    )
    StoreCreditMovement.objects.bulk_create(movements)
    if not audit:
        return balance
    total = sum((change.amount for change in changes), ZERO)
    audit_record(
        action="customer.store_credit_changed",
        actor=user,
        store_id=store.pk,
        object_type="customer",
        object_id=customer.pk,
        changes={
            "amount": str(total),
            "balance": str(balance),
            "currency": currency,
            "movements": [
                {
                    "kind": change.kind,
                    "amount": str(change.amount),
                    **({"payment": change.payment_id} if change.payment_id else {}),
                    **({"refund": change.refund_id} if change.refund_id else {}),
                    **({"return": change.return_id} if change.return_id else {}),
                }
                for change in changes
            ],
        },
    )
    return balance
