"""Django admin for the catalog: master data for managers and admins.

Every save goes through `catalog.services`, so the admin obeys the API's rules: product writes
take catalog versions (registers see them in delta sync) and are audited, a product that was
sold or moved cannot be deleted (deactivate it), categories cannot form a cycle. Stock levels
and movements are read-only — the only way to change stock here is the stock adjustment form
(`StockMovement` → Add), which calls `stock_adjust`. Managers see only their stores' stock.

Products import and export as CSV (django-import-export) for users who may add and change
products: the import validates like the API and writes nothing if any row is bad.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from import_export.admin import ImportExportModelAdmin

from accounts.admin_filters import OwnStoresListFilter
from accounts.models import Store
from accounts.selectors import scope_to_user_stores
from catalog import services
from catalog.imports import ProductResource
from catalog.models import (
    ADJUSTMENT_REASONS,
    Category,
    Modifier,
    ModifierGroup,
    Product,
    StockLevel,
    StockMovement,
    TaxRate,
)
from catalog.services.modifiers import GROUP_FIELDS
from catalog.services.products import EDITABLE_FIELDS
from domain.errors import DomainError
from money.fields import catalog_price_text
from posproject.admin import (
    FreeTextAdminMixin,
    ReadOnlyAdminMixin,
    StoreLocalTimesMixin,
    domain_error_text,
)


class ServiceAdminMixin:
    """Turn a business refusal raised by a service (409 in the API) into an admin error
    message instead of a server error; the transaction has already been rolled back."""

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().changeform_view(request, *args, **kwargs)  # type: ignore[misc]
        except DomainError as exc:
            self.message_user(request, domain_error_text(exc), messages.ERROR)  # type: ignore[attr-defined]
            return HttpResponseRedirect(request.get_full_path())

    def delete_view(self, request: HttpRequest, object_id: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().delete_view(request, object_id, *args, **kwargs)  # type: ignore[misc]
        except DomainError as exc:
            self.message_user(request, domain_error_text(exc), messages.ERROR)  # type: ignore[attr-defined]
            return HttpResponseRedirect(request.path.rsplit("delete/", 1)[0])

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        # Bulk delete would bypass the service (and its in-use checks and audit).
        actions = super().get_actions(request)  # type: ignore[misc]
        actions.pop("delete_selected", None)
        return actions


# --- Products -----------------------------------------------------------------------------------


class VariantInline(admin.TabularInline):
    """A template's variants, read-only here: each is edited as the product it is."""

    model = Product
    fk_name = "variant_of"
    fields = ("sku", "name", "options", "barcode", "price", "is_active")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name = "variant"
    verbose_name_plural = "variants"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Product)
class ProductAdmin(FreeTextAdminMixin, ServiceAdminMixin, ImportExportModelAdmin):
    resource_classes = [ProductResource]
    inlines = (VariantInline,)
    autocomplete_fields = ("variant_of", "modifier_groups")
    list_display = (
        "sku",
        "name",
        "barcode",
        "price_text",
        "category",
        "tax_rate",
        "track_stock",
        "is_active",
        "version",
        "updated_at",
    )
    list_filter = ("is_active", "is_template", "category", "tax_rate", "track_stock")
    search_fields = ("sku", "name", "barcode", "scale_code")
    list_select_related = ("category", "tax_rate")
    readonly_fields = ("is_template", "version", "created_at", "updated_at")
    fields = (*EDITABLE_FIELDS, "is_template", "version", "created_at", "updated_at")
    ordering = ("id",)
    list_per_page = 100

    @admin.display(description="price", ordering="price")
    def price_text(self, product: Product) -> str:
        """Two decimals, three when the third is significant (as the API renders it)."""
        return catalog_price_text(product.price)

    def save_model(self, request: HttpRequest, obj: Product, form: Any, change: bool) -> None:
        data = {f: form.cleaned_data[f] for f in EDITABLE_FIELDS if f in form.cleaned_data}
        if change:
            changed = {f: data[f] for f in form.changed_data if f in data}
            saved = services.product_update(product=obj, user=request.user, **changed)  # type: ignore[arg-type]
        else:
            saved = services.product_create(user=request.user, **data)  # type: ignore[arg-type]
        obj.pk = saved.pk
        obj.refresh_from_db()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # `modifier_groups` was written by the service with the product (and audited there);
        # the variants inline is read-only (its save writes nothing).
        for formset in formsets:
            formset.save()

    def delete_model(self, request: HttpRequest, obj: Product) -> None:
        services.product_delete(product=obj, user=request.user)  # type: ignore[arg-type]

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        # Django's collector would call the (zero) stock levels every product has "protected";
        # `product_delete` decides instead: never moved nor sold → deleted with its levels,
        # else refused with a message to deactivate.
        return [str(obj) for obj in objs], {Product._meta.verbose_name_plural: len(objs)}, set(), []

    def has_import_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perms(["catalog.add_product", "catalog.change_product"])

    def has_export_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("catalog.view_product")


# --- Modifier groups ----------------------------------------------------------------------------


class ModifierInline(admin.TabularInline):
    """The group's modifiers in their order. Removing one deactivates it (sales name it)."""

    model = Modifier
    fields = ("name", "price_delta", "is_active")
    extra = 1
    ordering = ("position", "id")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # "Delete" here deactivates (the service never deletes a modifier): whoever may change
        # the group may remove a row.
        return self.has_change_permission(request, obj)


@admin.register(ModifierGroup)
class ModifierGroupAdmin(FreeTextAdminMixin, ServiceAdminMixin, admin.ModelAdmin):
    list_display = ("name", "min_choices", "max_choices", "is_active", "version")
    list_filter = ("is_active",)
    search_fields = ("name",)
    fields = (*GROUP_FIELDS, "version")
    readonly_fields = ("version",)
    inlines = (ModifierInline,)
    ordering = ("id",)

    def save_model(self, request: HttpRequest, obj: ModifierGroup, form: Any, change: bool) -> None:
        # Written together with its modifiers in `save_related`: one service call, one version.
        pass

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        data = {f: form.cleaned_data[f] for f in GROUP_FIELDS if f in form.cleaned_data}
        modifiers: list[Any] = []
        for formset in formsets:
            for row in formset.forms:
                cleaned = getattr(row, "cleaned_data", None)
                if not cleaned or cleaned.get("DELETE"):
                    continue  # left out: the service deactivates it
                item = {
                    "name": cleaned["name"],
                    "price_delta": cleaned["price_delta"],
                    "is_active": cleaned.get("is_active", True),
                }
                if row.instance.pk is not None:
                    item["id"] = row.instance.pk
                modifiers.append(item)
        if change:
            saved = services.modifier_group_update(
                group=form.instance,
                user=request.user,  # type: ignore[arg-type]
                modifiers=modifiers,
                **data,
            )
        else:
            saved = services.modifier_group_create(
                user=request.user,  # type: ignore[arg-type]
                modifiers=modifiers,
                **data,
            )
        form.instance.pk = saved.pk
        for formset in formsets:  # what the admin's change message reads
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def delete_model(self, request: HttpRequest, obj: ModifierGroup) -> None:
        services.modifier_group_delete(group=obj, user=request.user)  # type: ignore[arg-type]


# --- Categories and tax rates -------------------------------------------------------------------


@admin.register(Category)
class CategoryAdmin(FreeTextAdminMixin, ServiceAdminMixin, admin.ModelAdmin):
    list_display = ("name", "parent")
    search_fields = ("name",)
    list_select_related = ("parent",)
    ordering = ("id",)

    def save_model(self, request: HttpRequest, obj: Category, form: Any, change: bool) -> None:
        if change:
            saved = services.category_update(
                category=obj,
                user=request.user,  # type: ignore[arg-type]
                name=form.cleaned_data["name"],
                parent=form.cleaned_data.get("parent"),
            )
        else:
            saved = services.category_create(
                user=request.user,  # type: ignore[arg-type]
                name=form.cleaned_data["name"],
                parent=form.cleaned_data.get("parent"),
            )
        obj.pk = saved.pk
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: Category) -> None:
        services.category_delete(category=obj, user=request.user)  # type: ignore[arg-type]


@admin.register(TaxRate)
class TaxRateAdmin(FreeTextAdminMixin, ServiceAdminMixin, admin.ModelAdmin):
    list_display = ("name", "rate")
    search_fields = ("name",)
    ordering = ("id",)

    def save_model(self, request: HttpRequest, obj: TaxRate, form: Any, change: bool) -> None:
        if change:
            saved = services.tax_rate_update(
                tax_rate=obj,
                user=request.user,  # type: ignore[arg-type]
                name=form.cleaned_data["name"],
                rate=form.cleaned_data["rate"],
            )
        else:
            saved = services.tax_rate_create(
                user=request.user,  # type: ignore[arg-type]
                name=form.cleaned_data["name"],
                rate=form.cleaned_data["rate"],
            )
        obj.pk = saved.pk
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: TaxRate) -> None:
        services.tax_rate_delete(tax_rate=obj, user=request.user)  # type: ignore[arg-type]


# --- Stock --------------------------------------------------------------------------------------


class StoreScopedAdminMixin:
    """Managers see only their stores' rows; admins all."""

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)  # type: ignore[misc]
        return scope_to_user_stores(queryset, request.user)  # type: ignore[arg-type]


@admin.register(StockLevel)
class StockLevelAdmin(
    StoreLocalTimesMixin, ReadOnlyAdminMixin, StoreScopedAdminMixin, admin.ModelAdmin
):
    list_display = (
        "product",
        "store",
        "quantity",
        "allow_negative",
        "offline_deficit",
        "updated_at",
    )
    list_filter = (("store", OwnStoresListFilter), "offline_deficit", "allow_negative")
    search_fields = ("product__sku", "product__name", "product__barcode")
    list_select_related = ("product", "store")
    ordering = ("store_id", "product_id")


class StockAdjustmentForm(forms.ModelForm):
    """Add form of a stock movement: an adjustment, saved through `stock_adjust`."""

    reason = forms.ChoiceField(choices=[(r.value, r.label) for r in ADJUSTMENT_REASONS])

    class Meta:
        model = StockMovement
        fields = ("store", "product", "quantity_delta", "reason", "note")

    def clean_product(self) -> Product:
        product: Product = self.cleaned_data["product"]
        if not product.track_stock:
            raise forms.ValidationError("This product does not track stock.")
        return product

    def clean_quantity_delta(self) -> Any:
        delta = self.cleaned_data["quantity_delta"]
        if delta == 0:
            raise forms.ValidationError("Must not be zero.")
        return delta


@admin.register(StockMovement)
class StockMovementAdmin(
    StoreLocalTimesMixin,
    FreeTextAdminMixin,
    ServiceAdminMixin,
    StoreScopedAdminMixin,
    admin.ModelAdmin,
):
    """Read-only history of every stock change; "Add" is the stock adjustment form."""

    free_text_fields = ("note",)

    list_display = (
        "created_at",
        "store",
        "product",
        "reason",
        "quantity_delta",
        "quantity_after",
        "unit_cost",
        "flagged",
        "source_type",
        "source_id",
        "user",
    )
    list_filter = ("reason", "flagged", ("store", OwnStoresListFilter))
    search_fields = ("product__sku", "product__name", "note")
    list_select_related = ("store", "product", "user")
    autocomplete_fields = ("product",)
    ordering = ("-id",)
    date_hierarchy = "created_at"

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = StockAdjustmentForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return StockAdjustmentForm.Meta.fields
        return super().get_fields(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ()
        return self.local_times([f.name for f in StockMovement._meta.fields])

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "store":
            kwargs["queryset"] = scope_to_user_stores(
                Store.objects.order_by("id"),
                request.user,  # type: ignore[arg-type]
                field="id",
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: StockMovement, form: Any, change: bool) -> None:
        movement = services.stock_adjust(
            store=form.cleaned_data["store"],
            product=form.cleaned_data["product"],
            quantity_delta=form.cleaned_data["quantity_delta"],
            reason=form.cleaned_data["reason"],
            note=form.cleaned_data.get("note") or "",
            user=request.user,  # type: ignore[arg-type]
        )
        obj.pk = movement.pk
        obj.refresh_from_db()

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
