"""Domain errors of customers; one DRF exception handler maps them to problem+json."""

from __future__ import annotations

from domain.errors import Conflict


class CustomerErased(Conflict):
    code = "customer_erased"
    default_detail = "This customer was erased; nothing about them can change any more."


class CustomerHasBalance(Conflict):
    code = "customer_has_balance"
    default_detail = (
        "This customer still has store credit or loyalty points; pay them out or write them "
        "off before erasing the customer."
    )
