from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _restore_chart(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """Keep the seeded chart present after `flush` (which empties every table and then sends
    `post_migrate`, as transactional tests do), and drop the in-process account-id cache, whose
    ids the flush made stale. A no-op when the chart is already there."""
    from ledger.services import ensure_chart_of_accounts

    ensure_chart_of_accounts(using=using)


class LedgerConfig(AppConfig):
    name = "ledger"
    verbose_name = "Ledger"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        post_migrate.connect(_restore_chart, sender=self, dispatch_uid="ledger_restore_chart")
