"""Reads of customers. Customers are merchant-wide (see `customers.models`): these reads are
not filtered by store, and return nothing store-scoped — a customer's orders are read through
the orders app, which filters them by the user's stores."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from customers.contact import phone_digits
from customers.models import Customer
from domain.errors import InvalidInput

__all__ = ["customer_for_sale", "customer_list", "customer_named", "customer_search"]


def customer_list() -> QuerySet[Customer]:
    """Every customer not erased, by name (ties by id). An erased customer is still read by id
    (`Customer.objects`), never listed."""
    return Customer.objects.not_erased().order_by("name", "id")


def customer_search(queryset: QuerySet[Customer], text: str) -> QuerySet[Customer]:
    """The customers whose name, email or code contains `text` (case-insensitive); a text that
    reads as (part of) a phone number — digits, with spaces, ( ) . / - and a leading + — is
    looked for in the phone numbers (its digits: `"555-0199"` finds `+1555019…`) and the codes
    instead. Each condition is served by its trigram index (`customers.models`):
    `UPPER(col) LIKE UPPER('%text%')` for name, email and code, `phone LIKE '%digits%'`."""
    text = text.strip()
    if not text:
        return queryset
    digits = phone_digits(text)
    if digits:
        return queryset.filter(Q(phone__contains=digits) | Q(code__icontains=text))
    return queryset.filter(
        Q(name__icontains=text) | Q(email__icontains=text) | Q(code__icontains=text)
    )


def customer_for_sale(*, customer_id: int) -> Customer | None:
    """What a sale, quote, held order or return needs of its customer (erased or not: the caller
    refuses an erased one), in one query; `None` when there is no such customer."""
    return (
        Customer.objects.filter(pk=customer_id)
        .only("id", "code", "tax_exempt", "tax_exempt_id", "erased_at")
        .first()
    )


def customer_named(customer_id: int | None, *, field: str = "customer") -> Customer | None:
    """The customer a sale, quote, held order or return names (`None` when it names none). An
    unknown or erased customer → `InvalidInput` naming `field` (400): the register sent an id it
    should not have, and nothing is written."""
    if customer_id is None:
        return None
    customer = customer_for_sale(customer_id=customer_id)
    if customer is None:
        raise InvalidInput(errors={field: [f"Unknown customer {customer_id}."]})
    if customer.is_erased:
        raise InvalidInput(errors={field: [f"Customer {customer_id} was erased."]})
    return customer
