"""Django admin for price lists (items inline) and promotions.

Saves go through `pricebook.services` — once the form and its inline are both valid, in
`save_related` — so the admin obeys the API's rules: catalog versions for the object and for
every product whose price may change, audit events (`product.price_changed` per item changed),
and managers limited to their own stores (a refusal is shown as a message).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from accounts.models import Store
from accounts.selectors import visible_store_ids
from catalog.admin import ServiceAdminMixin
from money.fields import catalog_price_text
from posproject.admin import FreeTextAdminMixin
from pricebook import services
from pricebook.models import PriceList, PriceListItem, Promotion


class OwnStoresChoicesMixin:
    """The `stores` field offers only the user's stores (admins: all)."""

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "stores":
            ids = visible_store_ids(request.user)  # type: ignore[arg-type]
            if ids is not None:
                kwargs["queryset"] = Store.objects.filter(pk__in=ids).order_by("id")
        return super().formfield_for_manytomany(db_field, request, **kwargs)  # type: ignore[misc]


class PriceListItemInline(admin.TabularInline):
    """The list's items, saved with it by `price_list_update` (which replaces the set): adding,
    changing or removing one is changing the list, so it takes the list's permissions."""

    model = PriceListItem
    autocomplete_fields = ("product",)
    extra = 1

    def _may_change_list(self, request: HttpRequest) -> bool:
        return request.user.has_perm("pricebook.change_pricelist")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_change_list(request) or request.user.has_perm("pricebook.add_pricelist")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_change_list(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self._may_change_list(request)


@admin.register(PriceList)
class PriceListAdmin(
    OwnStoresChoicesMixin, FreeTextAdminMixin, ServiceAdminMixin, admin.ModelAdmin
):
    list_display = ("name", "priority", "valid_from", "valid_to", "is_active", "version")
    list_filter = ("is_active", "stores")
    search_fields = ("name",)
    filter_horizontal = ("stores",)
    inlines = (PriceListItemInline,)
    fields = ("name", "stores", "priority", "valid_from", "valid_to", "is_active", "version")
    readonly_fields = ("version",)
    ordering = ("id",)

    def save_model(self, request: HttpRequest, obj: PriceList, form: Any, change: bool) -> None:
        """Nothing yet: `save_related` saves the list with its items in one service call."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        items = [
            {"product": f.cleaned_data["product"], "price": f.cleaned_data["price"]}
            for formset in formsets
            for f in formset.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE")
        ]
        data = {f: form.cleaned_data[f] for f in services.PRICE_LIST_FIELDS}
        stores = list(form.cleaned_data["stores"])
        if change:
            saved = services.price_list_update(
                price_list=form.instance,
                user=request.user,  # type: ignore[arg-type]
                stores=stores,
                items=items,
                **data,
            )
        else:
            saved = services.price_list_create(
                user=request.user,  # type: ignore[arg-type]
                stores=stores,
                items=items,
                **data,
            )
        form.instance.pk = saved.pk
        form.instance.refresh_from_db()

    def construct_change_message(
        self, request: HttpRequest, form: Any, formsets: Any, add: bool = False
    ) -> Any:
        # The inline was saved by the service, not by `formset.save()`: the history names the
        # list's own fields (the audit trail has every price).
        return super().construct_change_message(request, form, [], add)

    def delete_model(self, request: HttpRequest, obj: PriceList) -> None:
        services.price_list_delete(price_list=obj, user=request.user)  # type: ignore[arg-type]


@admin.register(Promotion)
class PromotionAdmin(
    OwnStoresChoicesMixin, FreeTextAdminMixin, ServiceAdminMixin, admin.ModelAdmin
):
    list_display = ("name", "kind", "value_text", "priority", "valid_from", "valid_to", "is_active")
    list_filter = ("is_active", "kind", "stores")
    search_fields = ("name",)
    filter_horizontal = ("stores",)
    autocomplete_fields = ("products", "categories")
    readonly_fields = ("version",)
    ordering = ("id",)
    fieldsets = (
        ("What", {"fields": ("name", "kind", "products", "categories", "is_active", "version")}),
        ("Where", {"fields": ("stores",)}),
        (
            "When (store local time)",
            {"fields": ("valid_from", "valid_to", "days_of_week", "start_time", "end_time")},
        ),
        ("How much", {"fields": ("value", "x", "y", "priority")}),
    )

    @admin.display(description="value", ordering="value")
    def value_text(self, promotion: Promotion) -> str:
        return catalog_price_text(promotion.value)

    def save_model(self, request: HttpRequest, obj: Promotion, form: Any, change: bool) -> None:
        """Nothing yet: `save_related` saves the promotion with its relations."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        data: dict[str, Any] = {f: form.cleaned_data[f] for f in services.PROMOTION_FIELDS}
        relations: dict[str, Any] = {
            r: list(form.cleaned_data[r]) for r in services.PROMOTION_RELATIONS
        }
        if change:
            saved = services.promotion_update(
                promotion=form.instance,
                user=request.user,  # type: ignore[arg-type]
                **data,
                **relations,
            )
        else:
            saved = services.promotion_create(
                user=request.user,  # type: ignore[arg-type]
                **data,
                **relations,
            )
        form.instance.pk = saved.pk
        form.instance.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: Promotion) -> None:
        services.promotion_delete(promotion=obj, user=request.user)  # type: ignore[arg-type]
