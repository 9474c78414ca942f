"""Gift cards in the Django admin: view only (cards change through sales, refunds, voids and
expiry). The code is never stored; the list shows the last four characters, masked. Managers see
only their stores' cards."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from accounts.admin_filters import OwnStoresListFilter
from accounts.selectors import scope_to_user_stores
from giftcards.models import GiftCard, GiftCardMovement, GiftCardPayment
from posproject.admin import ReadOnlyAdminMixin, StoreLocalTimesMixin


class GiftCardMovementInline(StoreLocalTimesMixin, ReadOnlyAdminMixin, admin.TabularInline):
    model = GiftCardMovement
    store_field = "card__store"
    fields = ("kind", "amount", "balance_after", "payment", "refund", "created_by", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False


class GiftCardPaymentInline(StoreLocalTimesMixin, ReadOnlyAdminMixin, admin.TabularInline):
    model = GiftCardPayment
    store_field = "card__store"
    fields = ("method", "amount", "shift", "reference", "card_last4")
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(GiftCard)
class GiftCardAdmin(StoreLocalTimesMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "masked_code",
        "store",
        "balance",
        "currency",
        "status",
        "issued_at",
        "expires_at",
    )
    list_filter = ("status", ("store", OwnStoresListFilter))
    search_fields = ("last4",)
    list_select_related = ("store",)
    fields = (
        "masked_code",
        "store",
        "register",
        "shift",
        "currency",
        "initial_amount",
        "balance",
        "status",
        "issued_at",
        "expires_at",
        "issued_by",
    )
    readonly_fields = fields
    inlines = (GiftCardPaymentInline, GiftCardMovementInline)

    @admin.display(description="Code", ordering="last4")
    def masked_code(self, card: GiftCard) -> str:
        return f"···· ···· ···· {card.last4}"

    def get_queryset(self, request: HttpRequest) -> QuerySet[GiftCard]:
        return scope_to_user_stores(super().get_queryset(request), request.user)  # type: ignore[arg-type]

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return {}
