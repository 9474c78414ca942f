"""Selling in the Django admin: orders (with their lines, payments and refunds; a voided order
with when, by whom and why), refunds, shifts, cash movements and held orders — view only. These
are money records written by the services (a sale, a refund, a void, a close posts to the ledger
and the audit trail in the same transaction), so nobody, not even an admin, adds, changes or
deletes them here. Managers see only their stores' rows; the store and cashier filters offer only
what they can see.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html_join

from accounts.selectors import scope_to_user_stores
from money.currencies import quantum
from money.fields import amount_text
from orders import admin_reports  # noqa: F401  (registers DailyReportAdmin and the dashboard)
from orders.admin_order_pages import can_refund, export_view, receipt_view, refund_view
from orders.models import (
    CashMovement,
    HeldOrder,
    Order,
    OrderLine,
    OrderStatus,
    Payment,
    Refund,
    RefundLine,
    RefundPayment,
    Return,
    ReturnLine,
    ReturnPayment,
    Shift,
)
from orders.selectors.refunds import refund_receipt_queryset
from orders.services.receipts import refund_receipt_html, refund_receipt_text
from posproject.admin import ReadOnlyAdminMixin, StoreLocalTimesMixin


class StoreScopedAdmin(StoreLocalTimesMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    """A read-only admin whose rows are limited to the user's stores (`store_field` is the path
    to the store foreign key), their times shown in the store's time zone."""

    store_field = "store"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return scope_to_user_stores(super().get_queryset(request), request.user, self.store_field)  # type: ignore[arg-type]

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return {}


class ReadOnlyInline(StoreLocalTimesMixin, ReadOnlyAdminMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.local_times(self.fields or ())


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    store_field = "order__store"
    fields = (
        "position",
        "sku",
        "name",
        "quantity",
        "unit_price",
        "gross",
        "discount",
        "net",
        "tax_rate",
        "tax",
        "total",
        "refunded_quantity",
        "refunded_total",
    )


class PaymentInline(ReadOnlyInline):
    model = Payment
    store_field = "order__store"
    fields = (
        "method",
        "amount",
        "tendered",
        "change",
        "reference",
        "card_last4",
        "refunded_amount",
    )


class OrderRefundInline(ReadOnlyInline):
    model = Refund
    fk_name = "order"
    fields = ("number", "total", "restock", "reason", "created_by", "created_at")
    show_change_link = True


@admin.register(Order)
class OrderAdmin(StoreScopedAdmin):
    list_display = (
        "number",
        "store",
        "register",
        "cashier",
        "status",
        "total",
        "refunded_total",
        "created_at",
    )
    list_filter = (
        ("store", admin.RelatedOnlyFieldListFilter),
        "status",
        ("cashier", admin.RelatedOnlyFieldListFilter),
        "offline",
        "created_at",
    )
    search_fields = ("number",)
    date_hierarchy = "created_at"
    list_select_related = ("store", "register__store", "cashier")
    ordering = ("-created_at", "-id")
    fields = (
        "number",
        "status",
        "store",
        "register",
        "shift",
        "cashier",
        "created_at",
        "client_created_at",
        "offline",
        "currency",
        "prices_include_tax",
        "order_discount",
        "subtotal",
        "discount_total",
        "tax_total",
        "total",
        "paid_total",
        "change_due",
        "refunded_total",
        "voided_at",
        "voided_by",
        "void_reason",
        "customer",
        "tax_exempt_id",
    )
    readonly_fields = fields
    inlines = (OrderLineInline, PaymentInline, OrderRefundInline)
    change_form_template = "admin/orders/order/change_form.html"
    change_list_template = "admin/orders/order/change_list.html"

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra_context = dict(extra_context or {})
        order = self.get_object(request, object_id)
        if order is not None:
            extra_context["receipt_url"] = reverse("admin:orders_order_receipt", args=[order.pk])
            refundable = order.status not in (OrderStatus.REFUNDED, OrderStatus.VOIDED)
            if can_refund(request, order) and refundable:
                extra_context["refund_url"] = reverse("admin:orders_order_refund", args=[order.pk])
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self) -> list[Any]:
        """The order's receipt and refund pages and the CSV export (`orders.admin_order_pages`)."""
        view = self.admin_site.admin_view
        own = [
            path(
                "export/",
                view(lambda request: export_view(self, request)),
                name="orders_order_export",
            ),
            path(
                "<int:order_id>/receipt/",
                view(lambda request, order_id: receipt_view(self, request, order_id)),
                name="orders_order_receipt",
            ),
            path(
                "<int:order_id>/refund/",
                view(lambda request, order_id: refund_view(self, request, order_id)),
                name="orders_order_refund",
            ),
        ]
        return own + super().get_urls()


class RefundLineInline(ReadOnlyInline):
    model = RefundLine
    store_field = "refund__store"
    fields = ("order_line", "quantity", "net", "tax", "total")


class RefundPaymentInline(ReadOnlyInline):
    model = RefundPayment
    store_field = "refund__store"
    fields = ("method", "amount", "payment")


@admin.register(Refund)
class RefundAdmin(StoreScopedAdmin):
    list_display = ("number", "order", "store", "created_by", "total", "restock", "created_at")
    list_filter = (
        ("store", admin.RelatedOnlyFieldListFilter),
        ("created_by", admin.RelatedOnlyFieldListFilter),
        "restock",
        "created_at",
    )
    search_fields = ("number", "order__number")
    date_hierarchy = "created_at"
    list_select_related = ("store", "order", "created_by")
    ordering = ("-created_at", "-id")
    fields = (
        "number",
        "order",
        "exchange_order",
        "store",
        "shift",
        "created_by",
        "created_at",
        "reason",
        "restock",
        "net_total",
        "tax_total",
        "total",
    )
    readonly_fields = fields
    inlines = (RefundLineInline, RefundPaymentInline)
    change_form_template = "admin/orders/refund/change_form.html"

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra_context = dict(extra_context or {})
        refund = self.get_object(request, object_id)
        if refund is not None:
            extra_context["receipt_url"] = reverse("admin:orders_refund_receipt", args=[refund.pk])
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self) -> list[Any]:
        """The refund's receipt, as the API prints it (`GET /api/v1/refunds/{id}/receipt/`)."""
        view = self.admin_site.admin_view
        own = [
            path(
                "<int:refund_id>/receipt/",
                view(self.receipt_view),
                name="orders_refund_receipt",
            ),
        ]
        return own + super().get_urls()

    def receipt_view(self, request: HttpRequest, refund_id: int) -> HttpResponse:
        refund = refund_receipt_queryset(user=request.user).filter(pk=refund_id).first()  # type: ignore[arg-type]
        if refund is None or not self.has_view_permission(request, refund):
            raise Http404("No such refund.")
        if request.GET.get("format") == "html":
            return HttpResponse(
                refund_receipt_html(refund), content_type="text/html; charset=utf-8"
            )
        return HttpResponse(refund_receipt_text(refund), content_type="text/plain; charset=utf-8")


class CashMovementInline(ReadOnlyInline):
    model = CashMovement
    store_field = "shift__store"
    fields = ("kind", "amount", "reason", "created_by", "created_at")


class ReturnLineInline(ReadOnlyInline):
    model = ReturnLine
    store_field = "return_doc__store"
    fields = ("product", "quantity", "unit_price", "tax_rate", "net", "tax", "total", "cost")


class ReturnPaymentInline(ReadOnlyInline):
    model = ReturnPayment
    store_field = "return_doc__store"
    fields = ("method", "amount")


@admin.register(Return)
class ReturnAdmin(StoreScopedAdmin):
    """Returns without a receipt, read-only (written by `POST /api/v1/returns/`)."""

    list_display = ("number", "store", "register", "created_by", "total", "restock", "created_at")
    list_filter = (
        ("store", admin.RelatedOnlyFieldListFilter),
        ("created_by", admin.RelatedOnlyFieldListFilter),
        "restock",
        "created_at",
    )
    search_fields = ("number",)
    date_hierarchy = "created_at"
    list_select_related = ("store", "register", "created_by")
    ordering = ("-created_at", "-id")
    fields = (
        "number",
        "store",
        "register",
        "shift",
        "created_by",
        "created_at",
        "reason",
        "restock",
        "net_total",
        "tax_total",
        "total",
    )
    readonly_fields = fields
    inlines = (ReturnLineInline, ReturnPaymentInline)


@admin.register(Shift)
class ShiftAdmin(StoreScopedAdmin):
    list_display = (
        "id",
        "register",
        "status",
        "opened_by",
        "opened_at",
        "closed_at",
        "opening_float",
        "expected_cash",
        "counted_cash",
        "difference",
    )
    list_filter = (
        ("store", admin.RelatedOnlyFieldListFilter),
        "status",
        ("opened_by", admin.RelatedOnlyFieldListFilter),
        "opened_at",
    )
    search_fields = ("=id", "register__code", "register__name")
    date_hierarchy = "opened_at"
    list_select_related = ("register__store", "opened_by")
    ordering = ("-opened_at", "-id")
    fields = (
        "store",
        "register",
        "status",
        "opened_by",
        "opened_at",
        "opening_float",
        "closed_by",
        "closed_at",
        "expected_cash",
        "counted_cash",
        "difference",
    )
    readonly_fields = fields
    inlines = (CashMovementInline,)


@admin.register(CashMovement)
class CashMovementAdmin(StoreScopedAdmin):
    store_field = "shift__store"
    list_display = ("id", "shift", "kind", "amount", "reason", "created_by", "created_at")
    list_filter = (
        ("shift__store", admin.RelatedOnlyFieldListFilter),
        "kind",
        ("created_by", admin.RelatedOnlyFieldListFilter),
        "created_at",
    )
    search_fields = ("reason", "=shift__id")
    date_hierarchy = "created_at"
    list_select_related = ("shift__register__store", "created_by")
    ordering = ("-created_at", "-id")
    fields = ("shift", "kind", "amount", "reason", "created_by", "created_at")
    readonly_fields = fields


@admin.register(HeldOrder)
class HeldOrderAdmin(StoreScopedAdmin):
    """Parked baskets, read-only: the API holds, changes, deletes and completes them. Completed
    and deleted ones stay listed with their status (and the completing order)."""

    list_display = ("id", "store", "register", "status", "held_by", "total", "note", "held_at")
    list_filter = (
        ("store", admin.RelatedOnlyFieldListFilter),
        "status",
        ("held_by", admin.RelatedOnlyFieldListFilter),
        "held_at",
    )
    search_fields = ("=id", "note", "register__code")
    date_hierarchy = "held_at"
    list_select_related = ("store", "register__store", "held_by")
    ordering = ("-held_at", "-id")
    fields = (
        "store",
        "register",
        "status",
        "held_by",
        "held_at",
        "updated_at",
        "note",
        "currency",
        "prices_include_tax",
        "line_table",
        "order_discount",
        "subtotal",
        "discount_total",
        "tax_total",
        "total",
        "closed_by",
        "closed_at",
        "order",
    )
    readonly_fields = fields

    @admin.display(description="Lines")
    def line_table(self, obj: HeldOrder) -> str:
        """One row per line: sku, name, quantity, unit price, discount, total (money in the
        store currency's minor units)."""
        places = quantum(obj.currency)
        return format_html_join(
            "",
            "<div>{} · {} · {} × {} − {} = {}</div>",
            (
                (
                    line["sku"],
                    line["name"],
                    line["quantity"],
                    amount_text(line["unit_price"], places),
                    amount_text(line["discount"], places),
                    amount_text(line["total"], places),
                )
                for line in obj.lines
            ),
        )
