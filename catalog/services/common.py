"""Small pieces the catalog's write services share."""

from __future__ import annotations

from django.db import models, transaction
from django.db.models import ProtectedError

from domain.errors import DomainError


def delete_or_refuse(instance: models.Model, *, in_use: type[DomainError]) -> None:
    """Delete the row, or raise `in_use` (409) when a `PROTECT` reference holds it. The delete
    runs in a savepoint, so the refusal leaves the caller's transaction usable."""
    try:
        with transaction.atomic():
            instance.delete()
    except ProtectedError as exc:
        raise in_use() from exc
