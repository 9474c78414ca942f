"""The order's own pages in the Django admin, routed by `orders.admin.OrderAdmin.get_urls`:

* `<id>/receipt/` — the receipt as the API prints it (`orders.services.receipts`): text for an
  80 mm printer, or printable HTML with `?format=html`;
* `<id>/refund/` — a manager's refund: a form of the order's lines with what is left to refund
  on each, restock and reason, handed to the same service as `POST /orders/{id}/refunds/`
  (`orders.services.refunds.refund_create`), so stock, ledger and audit follow exactly as there;
  a refusal (more than is left, no open shift for the cash …) is shown as the domain error says;
* `export/` — the orders of the changelist (its filters, search and ordering, the user's stores
  only) as CSV, every cell formula-escaped like the report CSV.

Every order comes from the admin's queryset, scoped to the user's stores: another store's order
is a 404 whatever the URL says.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from apitools.validators import refuse_card_number
from domain.errors import DomainError
from money import QUANTITY_DECIMAL_PLACES, QUANTITY_MAX_DIGITS, ZERO
from money.currencies import quantum
from money.fields import amount_text
from orders.models import Order, OrderLine
from orders.services.receipts import receipt_html, receipt_text
from orders.services.refunds import RefundLineRequest, refund_create
from posproject.admin import domain_error_text
from posproject.replica import reporting_db
from spreadsheets import safe_cell

if TYPE_CHECKING:
    from orders.admin import OrderAdmin


def visible_order(model_admin: OrderAdmin, request: HttpRequest, order_id: int) -> Order:
    order = (
        model_admin.get_queryset(request)
        .select_related("store", "register", "cashier")
        .filter(pk=order_id)
        .first()
    )
    if order is None or not model_admin.has_view_permission(request, order):
        raise Http404("No such order.")
    return order


def can_refund(request: HttpRequest, order: Order) -> bool:
    """Managers and admins, as for the API's refund (the order already comes from the user's
    stores); never a cashier."""
    return bool(getattr(request.user, "is_manager_or_admin", False))


# --- Receipt -----------------------------------------------------------------------------------


def receipt_view(model_admin: OrderAdmin, request: HttpRequest, order_id: int) -> HttpResponse:
    order = visible_order(model_admin, request, order_id)
    if request.GET.get("format") == "html":
        return HttpResponse(receipt_html(order), content_type="text/html; charset=utf-8")
    return HttpResponse(receipt_text(order), content_type="text/plain; charset=utf-8")


# --- Refund ------------------------------------------------------------------------------------


def line_field_name(line: OrderLine) -> str:
    return f"line_{line.pk}"


class RefundForm(forms.Form):
    """A quantity per order line (blank or 0: not refunded), restock and reason — the API's
    refund body. What is left on a line is a hint only: the service decides under its locks."""

    restock = forms.BooleanField(
        required=False, initial=True, label="Put the refunded quantities back into stock"
    )
    reason = forms.CharField(max_length=255, required=False, validators=[refuse_card_number])

    def __init__(self, *args: Any, lines: list[OrderLine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines = lines
        for line in lines:
            self.fields[line_field_name(line)] = forms.DecimalField(
                label=f"{line.sku} {line.name}",
                required=False,
                min_value=ZERO,
                max_digits=QUANTITY_MAX_DIGITS,
                decimal_places=QUANTITY_DECIMAL_PLACES,
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        requests = [
            RefundLineRequest(line_id=line.pk, quantity=quantity)
            for line in self.lines
            if (quantity := cleaned.get(line_field_name(line)))
        ]
        if not requests and not self.errors:
            raise forms.ValidationError("Enter the quantity to refund on at least one line.")
        cleaned["lines"] = requests
        return cleaned

    def rows(self) -> list[dict[str, Any]]:
        return [
            {
                "line": line,
                "left": line.quantity - line.refunded_quantity,
                "field": self[line_field_name(line)],
            }
            for line in self.lines
        ]


def refund_view(model_admin: OrderAdmin, request: HttpRequest, order_id: int) -> HttpResponse:
    order = visible_order(model_admin, request, order_id)
    if not can_refund(request, order):
        raise PermissionDenied
    lines = list(order.lines.order_by("position", "id"))
    form = RefundForm(request.POST if request.method == "POST" else None, lines=lines)
    if request.method == "POST" and form.is_valid():
        try:
            refund = refund_create(
                order=order,
                lines=form.cleaned_data["lines"],
                restock=form.cleaned_data["restock"],
                reason=form.cleaned_data["reason"],
                user=request.user,  # type: ignore[arg-type]
            )
        except DomainError as error:
            model_admin.message_user(request, domain_error_text(error), messages.ERROR)
        else:
            model_admin.message_user(
                request,
                f"Refund {refund.number} made: {order.currency} "
                f"{amount_text(refund.total, quantum(order.currency))}.",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:orders_order_change", args=[order.pk]))
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"Refund order {order.number}",
        "opts": model_admin.opts,
        "order": order,
        "original": order,
        "form": form,
        "rows": form.rows(),
        "change_url": reverse("admin:orders_order_change", args=[order.pk]),
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/orders/order/refund.html", context)


# --- Export ------------------------------------------------------------------------------------

EXPORT_COLUMNS = (
    "number",
    "store",
    "register",
    "cashier",
    "status",
    "created_at",
    "time_zone",
    "currency",
    "subtotal",
    "discount_total",
    "tax_total",
    "total",
    "paid_total",
    "refunded_total",
)


def export_row(order: Order) -> tuple[str, ...]:
    """An order as CSV cells: `created_at` on the store's clock (ISO 8601 with its offset) and
    the store's zone beside it, amounts in the currency's minor units; every cell
    formula-escaped."""
    store = order.store
    values: tuple[Any, ...] = (
        order.number,
        store.code,
        order.register.code,
        order.cashier.get_username(),
        order.status,
        order.created_at.astimezone(store.tzinfo).isoformat(timespec="seconds"),
        store.timezone,
        order.currency,
        *(
            amount_text(value, quantum(order.currency))
            for value in (
                order.subtotal,
                order.discount_total,
                order.tax_total,
                order.total,
                order.paid_total,
                order.refunded_total,
            )
        ),
    )
    return tuple(safe_cell(value) for value in values)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _csv_lines(orders: Any) -> Iterator[str]:
    writer = csv.writer(_Echo(), lineterminator="\r\n")
    yield writer.writerow(EXPORT_COLUMNS)
    for order in orders:
        yield writer.writerow(export_row(order))


def export_view(model_admin: OrderAdmin, request: HttpRequest) -> HttpResponse:
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    try:
        changelist = model_admin.get_changelist_instance(request)
    except IncorrectLookupParameters:
        return HttpResponseRedirect(reverse("admin:orders_order_changelist") + "?e=1")
    # A read of possibly many rows that may be seconds stale: the read replica when it is fresh
    # enough (`posproject.replica`), else the primary.
    orders = changelist.queryset.using(reporting_db()).select_related(
        "store", "register", "cashier"
    )
    response = StreamingHttpResponse(
        _csv_lines(orders.iterator(chunk_size=1000)), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="orders-{stamp}.csv"'
    return response  # type: ignore[return-value]


__all__ = [
    "EXPORT_COLUMNS",
    "RefundForm",
    "can_refund",
    "export_view",
    "receipt_view",
    "refund_view",
    "visible_order",
]
