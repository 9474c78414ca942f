from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_save


class AuditConfig(AppConfig):
    name = "audit"
    verbose_name = "Audit trail"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.admin.models import LogEntry

        from audit.admin_log import record_log_entry

        # Changes made through the Django admin are audited (see `audit.admin_log`).
        post_save.connect(record_log_entry, sender=LogEntry, dispatch_uid="audit_admin_log")
