"""The daily reports in the Django admin, and the routes of the manager's dashboard.

Reports are generated (by the nightly schedule, the API or the "Regenerate" action), never typed
in: the admin shows them read-only, with the same hourly chart and tables as the dashboard.
Managers see only their stores' reports (queryset filtered through `accounts.selectors`), and
the store filter offers only those stores.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils.html import format_html

from accounts.selectors import scope_to_user_stores
from orders.admin_dashboard import (
    dashboard_csv_view,
    dashboard_view,
    report_csv_response,
    report_tables,
    z_report_view,
)
from orders.models import DailyReport
from orders.services.reports import daily_report_generate, daily_report_is_final
from posproject.admin import ReadOnlyAdminMixin, StoreLocalTimesMixin


@admin.register(DailyReport)
class DailyReportAdmin(StoreLocalTimesMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "date",
        "store",
        "orders_count",
        "net_sales",
        "tax_total",
        "refunds_total",
        "generated_at",
    )
    list_display_links = ("date", "store")
    list_filter = (("store", admin.RelatedOnlyFieldListFilter), "date")
    search_fields = ("store__code", "store__name")
    date_hierarchy = "date"
    list_select_related = ("store",)
    ordering = ("-date", "store_id")
    fields = ("store", "date", "generated_at")
    readonly_fields = fields
    actions = ("regenerate",)
    change_list_template = "admin/orders/dailyreport/change_list.html"

    # --- Scoping and read-only ------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet[DailyReport]:
        return scope_to_user_stores(super().get_queryset(request), request.user)  # type: ignore[arg-type]

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        user = request.user
        return bool(
            getattr(user, "is_manager_or_admin", False)
            and super().has_view_permission(request, obj)
        )

    def has_regenerate_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    # --- Columns ---------------------------------------------------------------------------------

    @admin.display(description="Orders")
    def orders_count(self, report: DailyReport) -> int:
        return report.data.get("orders_count", 0)

    @admin.display(description="Net sales")
    def net_sales(self, report: DailyReport) -> str:
        return f"{report.store.currency} {report.data.get('net_sales', '0.00')}"

    @admin.display(description="Tax")
    def tax_total(self, report: DailyReport) -> str:
        return f"{report.store.currency} {report.data.get('tax_total', '0.00')}"

    @admin.display(description="Refunds")
    def refunds_total(self, report: DailyReport) -> str:
        return f"{report.store.currency} {report.data.get('refunds_total', '0.00')}"

    # --- The report page -------------------------------------------------------------------------

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        extra_context = dict(extra_context or {})
        report = self.get_object(request, object_id)
        if report is not None:
            extra_context.update(report_tables(report))
            extra_context["csv_url"] = reverse("admin:orders_dailyreport_csv", args=[report.pk])
            extra_context["dashboard_url"] = format_html(
                "{}?store={}&date={}",
                reverse("admin:orders_dailyreport_dashboard"),
                report.store_id,
                report.date.isoformat(),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    # --- Actions ---------------------------------------------------------------------------------

    @admin.action(description="Regenerate the selected reports", permissions=["regenerate"])
    def regenerate(self, request: HttpRequest, queryset: QuerySet[DailyReport]) -> None:
        done = skipped = 0
        for report in queryset.select_related("store").order_by("date", "store_id"):
            if not daily_report_is_final(store=report.store, date=report.date):
                skipped += 1
                continue
            daily_report_generate(store=report.store, date=report.date)
            done += 1
        self.message_user(request, f"Regenerated {done} report(s).", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"Skipped {skipped} report(s) of a day not over yet.", messages.WARNING
            )

    def csv_view(self, request: HttpRequest, report_id: int) -> HttpResponse:
        """The stored report as the API's CSV (same layout as `?format=csv`)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        report = self.get_queryset(request).filter(pk=report_id).first()
        if report is None:
            raise Http404("No such report.")
        return report_csv_response(report)

    # --- Dashboard routes ------------------------------------------------------------------------

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        own = [
            path(
                "dashboard/",
                view(lambda request: dashboard_view(self, request)),
                name="orders_dailyreport_dashboard",
            ),
            path(
                "dashboard/csv/",
                view(lambda request: dashboard_csv_view(self, request)),
                name="orders_dailyreport_dashboard_csv",
            ),
            path(
                "<int:report_id>/csv/",
                view(lambda request, report_id: self.csv_view(request, report_id)),
                name="orders_dailyreport_csv",
            ),
            path(
                "z-report/<int:shift_id>/",
                view(lambda request, shift_id: z_report_view(self, request, shift_id)),
                name="orders_dailyreport_zreport",
            ),
        ]
        return own + super().get_urls()
