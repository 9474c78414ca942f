"""The ledger in the Django admin: view only. Entries are posted by the services of their
sources and never changed (corrections are reversing entries), so nobody — not even an admin —
adds, changes or deletes here. Managers see only their stores' entries."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.admin_filters import OwnStoresListFilter
from accounts.selectors import scope_to_user_stores
from ledger.models import Account, JournalEntry, JournalLine
from posproject.admin import ReadOnlyAdminMixin, StoreLocalTimesMixin


@admin.register(Account)
class AccountAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("code", "name", "type")
    list_filter = ("type",)
    ordering = ("code",)


class JournalLineInline(StoreLocalTimesMixin, ReadOnlyAdminMixin, admin.TabularInline):
    model = JournalLine
    store_field = "entry__store"
    fields = ("account", "debit", "credit")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(JournalEntry)
class JournalEntryAdmin(StoreLocalTimesMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("id", "date", "store", "source", "source_id", "memo", "created_at")
    list_filter = ("source", ("store", OwnStoresListFilter), "date")
    search_fields = ("memo",)
    date_hierarchy = "date"
    list_select_related = ("store",)
    fields = ("date", "store", "memo", "source", "source_id", "created_by", "created_at")
    readonly_fields = fields
    inlines = (JournalLineInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[JournalEntry]:
        return scope_to_user_stores(super().get_queryset(request), request.user)  # type: ignore[arg-type]

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # No bulk delete action on posted records.
        return {}
