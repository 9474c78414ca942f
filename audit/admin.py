"""The audit trail in the Django admin: view only, for everyone (admins included). Managers see
the events of their stores. Also installs the audited site-wide "delete selected" action."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.selectors import scope_to_user_stores
from audit.admin_log import audited_delete_selected
from audit.models import AuditEvent
from posproject.admin import ReadOnlyAdminMixin

admin.site.add_action(audited_delete_selected, "delete_selected")  # type: ignore[arg-type]


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "at", "action", "actor", "store_id", "object_type", "object_id")
    list_filter = ("action",)
    search_fields = ("action", "object_type", "object_id", "request_id")
    date_hierarchy = "at"
    list_select_related = ("actor",)
    fields = (
        "at",
        "actor",
        "action",
        "store_id",
        "chain",
        "object_type",
        "object_id",
        "changes",
        "ip",
        "request_id",
        "prev_hash",
        "hash",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        return scope_to_user_stores(super().get_queryset(request), request.user, "store_id")  # type: ignore[arg-type]
