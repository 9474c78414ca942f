"""Errors of the ledger.

They are programming errors, not user errors: an unbalanced entry or an unknown account means
the calling service computed its posting wrongly, so these are not `DomainError`s (which would
render a client-facing 4xx). They surface as a logged `500 server_error` and roll the whole
transaction back, so the sale (or refund …) that caused them is not written either.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base class of the ledger's refusals."""


class UnbalancedEntry(LedgerError):
    """Σ debit ≠ Σ credit, a negative amount, or a line with both sides set."""


class UnknownAccount(LedgerError):
    """A posting named an account code that is not in the chart."""


class ImmutableRecord(LedgerError):
    """Posted journal entries and lines are never updated or deleted; post a reversal."""
