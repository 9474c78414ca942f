"""The audit trail in the Django admin: view only, for everyone (admins included). Managers see
the events of their stores. Also installs the audited site-wide "delete selected" action."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest

from accounts.models import Store
from accounts.selectors import scope_to_user_stores
from audit.admin_log import audited_delete_selected
from audit.models import AuditEvent
from posproject.admin import ReadOnlyAdminMixin, StoreLocalTimesMixin

admin.site.add_action(audited_delete_selected, "delete_selected")  # type: ignore[arg-type]


@admin.register(AuditEvent)
class AuditEventAdmin(StoreLocalTimesMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    store_field = "store_timezone"  # annotated below: the store is kept as a plain id
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
        events = scope_to_user_stores(super().get_queryset(request), request.user, "store_id")  # type: ignore[arg-type]
        return events.annotate(
            store_timezone=Subquery(
                Store.objects.filter(pk=OuterRef("store_id")).values("timezone")
            )
        )
