"""Errors of the audit trail. Like the ledger's, they signal a programming error (something
tried to rewrite history), not a client mistake, so they are not `DomainError`s."""

from __future__ import annotations


class AuditError(Exception):
    """Base class of the audit trail's refusals."""


class ImmutableAuditEvent(AuditError):
    """Audit events are append-only: never updated, never deleted."""
