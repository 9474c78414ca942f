"""The manager's sales dashboard in the Django admin, and the pieces the daily report admin shares
with it: the hourly sales chart (inline SVG rendered on the server — no script, no CDN) and the
report tables.

Pages (routed by `orders.admin_reports.DailyReportAdmin.get_urls`, all behind the admin login):

* `dashboard/` — today's sales of every store the user can see, with a total per currency (stores
  of different currencies are never added up); for one store (`?store=`) and
  one local day (`?date=`, default its today): sales by hour, top products, tenders, cashiers,
  the day's Z reports (closed shifts) and the store's low stock;
* `dashboard/csv/` — the figures of that store and day as the API's CSV (`?format=csv` of
  `GET /api/v1/reports/daily/`): today's computed live, a past day's the stored report;
* `z-report/<shift id>/` — one shift's X/Z report.

Times are shown on the store's wall clock with its zone named (`posproject.admin`).

Every store comes from `accounts.selectors.store_list`: a store the user cannot see is a 404,
whatever the URL says.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_DOWN, Decimal
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe

from accounts.models import Store
from accounts.selectors import store_list, visible_store_ids
from money import MILLI, QUANTITY_DECIMAL_PLACES, QUANTITY_MAX_DIGITS
from money.currencies import quantum
from money.fields import amount_text
from orders.models import DailyReport, Shift
from orders.selectors.reports import (
    local_today,
    low_stock_levels,
    shifts_closed_on_day,
    stored_value_owed,
    stores_today_totals,
    totals_by_currency,
)
from orders.selectors.shifts import shift_report
from orders.serializers.reports import DailyReportSerializer
from orders.serializers.shifts import ShiftReportSerializer
from orders.services.reports import (
    EARLIEST_REPORT_DATE,
    daily_report_csv,
    daily_report_get,
    daily_report_is_final,
    daily_report_payload,
)
from posproject.admin import local_time_text
from posproject.replica import read_reporting

#: A tracked product at or below this quantity is "low" (`?low_stock_at=` overrides it).
LOW_STOCK_THRESHOLD = Decimal("5")


# --- The chart ---------------------------------------------------------------------------------

_CHART_WIDTH = 720
_CHART_HEIGHT = 240
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 8, 12, 28


def hourly_sales_svg(by_hour: list[dict[str, Any]], *, currency: str = "") -> SafeString:
    """A bar chart of sales (Σ order totals) per local hour, as inline SVG markup. Each bar has a
    tooltip with the hour, the orders and the amount. Values are the report's money strings."""
    totals = [Decimal(row["total"]) for row in by_hour]
    peak = max(totals, default=Decimal(0))
    scale_top = _nice_ceiling(peak)
    plot_width = _CHART_WIDTH - _LEFT - _RIGHT
    plot_height = _CHART_HEIGHT - _TOP - _BOTTOM
    slot = Decimal(plot_width) / 24
    bar_width = int(slot * Decimal("0.7"))
    baseline = _TOP + plot_height

    grid = []
    for step in range(5):
        value = scale_top * step / 4
        y = baseline - int(Decimal(plot_height) * step / 4)
        grid.append(
            format_html(
                '<line class="chart-grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
                '<text class="chart-axis" x="{}" y="{}" text-anchor="end">{}</text>',
                _LEFT,
                _CHART_WIDTH - _RIGHT,
                y,
                y,
                _LEFT - 6,
                y + 4,
                _short_money(value),
            )
        )

    bars = []
    for row, total in zip(by_hour, totals, strict=True):
        hour = int(row["hour"])
        height = int(Decimal(plot_height) * total / scale_top) if scale_top else 0
        x = _LEFT + int(slot * hour + (slot - bar_width) / 2)
        bars.append(
            format_html(
                '<rect class="chart-bar" data-hour="{}" x="{}" y="{}" width="{}" height="{}">'
                "<title>{}:00–{}:59 · {} order{} · {} {}</title></rect>",
                hour,
                x,
                baseline - height,
                bar_width,
                max(height, 0),
                f"{hour:02d}",
                f"{hour:02d}",
                row["orders"],
                "" if row["orders"] == 1 else "s",
                currency,
                row["total"],
            )
        )
        if hour % 3 == 0:
            bars.append(
                format_html(
                    '<text class="chart-axis" x="{}" y="{}" text-anchor="middle">{}</text>',
                    _LEFT + int(slot * hour + slot / 2),
                    baseline + 18,
                    f"{hour:02d}",
                )
            )

    label = f"Sales by hour, peak {currency} {peak}".strip()
    return format_html(
        '<svg class="sales-chart" role="img" aria-label="{}" viewBox="0 0 {} {}" '
        'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMinYMin meet">'
        '{}<line class="chart-baseline" x1="{}" x2="{}" y1="{}" y2="{}"/>{}</svg>',
        label,
        _CHART_WIDTH,
        _CHART_HEIGHT,
        mark_safe("".join(grid)),  # noqa: S308 — format_html pieces # nosec B308 B703
        _LEFT,
        _CHART_WIDTH - _RIGHT,
        baseline,
        baseline,
        mark_safe("".join(bars)),  # noqa: S308 — format_html pieces # nosec B308 B703
    )


def _nice_ceiling(value: Decimal) -> Decimal:
    """The smallest 1, 2, 2.5 or 5 × 10ⁿ at or above `value` (a readable top for the axis)."""
    if value <= 0:
        return Decimal(0)
    magnitude = Decimal(10) ** (value.adjusted())
    for step in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10)):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _short_money(value: Decimal) -> str:
    if value >= 1000:
        return f"{(value / 1000).quantize(Decimal('0.1')).normalize():f}k"
    return f"{value.quantize(Decimal(1)) if value == value.to_integral() else value:f}"


# --- Shared report tables ----------------------------------------------------------------------


def report_tables(report: DailyReport) -> dict[str, Any]:
    """The context the dashboard and the daily report admin render a report with."""
    data = report.data
    currency = report.store.currency
    zero = amount_text(0, quantum(currency))
    return {
        "report": report,
        "figures": data,
        "currency": currency,
        "chart": hourly_sales_svg(data["by_hour"], currency=currency),
        "tenders": [
            (label, data["by_tender"].get(key, "0.00"))
            for key, label in (
                ("cash", "Cash"),
                ("card", "Card"),
                ("other", "Other"),
                ("gift_card", "Gift card"),
            )
        ],
        "summary": [
            ("Orders", data["orders_count"]),
            ("Gross sales", data["gross_sales"]),
            ("Discounts", data["discount_total"]),
            ("Net sales", data["net_sales"]),
            ("Tax", data["tax_total"]),
            ("Refunds", data["refunds_total"]),
            (
                "Returns (no receipt)",
                f"{data.get('returns_count', 0)} · {data.get('returns_total', zero)}",
            ),
            # Reports stored before voids, rounding and tips existed have none of them.
            ("Voids", f"{data.get('voids_count', 0)} · {data.get('voids_total', zero)}"),
            ("Cash rounding", data.get("rounding_total", zero)),
            ("Tips", data.get("tips_total", zero)),
        ],
    }


def report_csv_response(report: DailyReport) -> HttpResponse:
    """A report (stored or computed) as the API's CSV download."""
    payload = DailyReportSerializer(daily_report_payload(report=report)).data
    response = HttpResponse(
        daily_report_csv(payload=payload), content_type="text/csv; charset=utf-8"
    )
    filename = f"daily-report-{report.store.code}-{report.date.isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _admin_url(name: str, *args: Any) -> str | None:
    try:
        return reverse(f"admin:{name}", args=args)
    except NoReverseMatch:
        return None


# --- Views -------------------------------------------------------------------------------------


def _require_reports_permission(model_admin: admin.ModelAdmin, request: HttpRequest) -> None:
    if not model_admin.has_view_permission(request):
        raise PermissionDenied


def _visible_store(stores: list[Store], raw_id: str | None) -> Store | None:
    if not raw_id:
        return stores[0] if stores else None
    try:
        wanted = int(raw_id)
    except ValueError:
        raise Http404("No such store.") from None
    for store in stores:
        if store.pk == wanted:
            return store
    raise Http404("No such store.")


def _parse_date(raw: str | None, default: dt.date) -> dt.date:
    if not raw:
        return default
    try:
        date = dt.date.fromisoformat(raw)
    except ValueError:
        raise Http404("Not a date.") from None
    if date < EARLIEST_REPORT_DATE:
        raise Http404("No reports before 1970.")
    return date


#: The largest quantity a stock level can hold (its column's precision).
_MAX_QUANTITY = Decimal(10) ** (QUANTITY_MAX_DIGITS - QUANTITY_DECIMAL_PLACES) - MILLI


def _threshold(raw: str | None) -> Decimal:
    """`?low_stock_at=`: a quantity within the stock column's range; anything else (text, NaN,
    infinities, exponents past the column) falls back to the default rather than reaching the
    query as a number PostgreSQL cannot hold."""
    if not raw:
        return LOW_STOCK_THRESHOLD
    try:
        value = Decimal(raw)
    except ArithmeticError:
        return LOW_STOCK_THRESHOLD
    if not value.is_finite() or value > _MAX_QUANTITY:
        return LOW_STOCK_THRESHOLD
    return max(value.quantize(MILLI, rounding=ROUND_DOWN), Decimal(0))


def dashboard_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    _require_reports_permission(model_admin, request)
    now = timezone.now()
    stores = list(store_list(user=request.user))  # type: ignore[arg-type]
    store = _visible_store(stores, request.GET.get("store"))

    today = local_today(store=store, now=now) if store is not None else None
    date = min(_parse_date(request.GET.get("date"), today), today) if today is not None else None
    threshold = _threshold(request.GET.get("low_stock_at"))

    def replica_reads(db: str) -> tuple[dict[int, dict[str, Any]], list[Any], list[Any], Any]:
        """Every figure here but the report itself: a report read, on the read replica when it
        is fresh enough (`posproject.replica`); the stored report is looked up on the primary."""
        totals = stores_today_totals(stores=stores, now=now, using=db)
        if store is None or date is None:
            return totals, [], [], None
        return (
            totals,
            list(shifts_closed_on_day(store=store, date=date, using=db)),
            list(low_stock_levels(store_ids=[store.pk], threshold=threshold, using=db)),
            stored_value_owed(store=store, date=date, using=db),
        )

    _, (today_totals, closed_shifts, low_levels, stored_value) = read_reporting(replica_reads)
    stores_today = [
        {
            "store": each,
            "date": local_today(store=each, now=now),
            **today_totals[each.pk],
        }
        for each in stores
    ]
    context: dict[str, Any] = {
        **model_admin.admin_site.each_context(request),
        "title": "Sales dashboard",
        "opts": model_admin.model._meta,
        "stores_today": stores_today,
        # Stores of different currencies are totalled per currency, never together.
        "currency_totals": totals_by_currency(stores=stores, totals=today_totals),
        "store": store,
        "reports_url": reverse("admin:orders_dailyreport_changelist"),
    }
    if store is not None and today is not None and date is not None:
        report = daily_report_get(store=store, date=date, now=now)
        z_reports = [
            {
                "shift": shift,
                # closed on this day, so closed_at is set
                "closed": f"{shift.closed_at.astimezone(store.tzinfo):%H:%M %Z}",
                "report_url": reverse("admin:orders_dailyreport_zreport", args=[shift.pk]),
                "admin_url": _admin_url("orders_shift_change", shift.pk),
            }
            for shift in closed_shifts
        ]
        low_stock = [
            {
                "level": level,
                "product_url": _admin_url("catalog_product_change", level.product_id),
            }
            for level in low_levels
        ]
        context.update(
            report_tables(report),
            date=date,
            is_today=date == today,
            is_final=daily_report_is_final(store=store, date=date, now=now),
            previous_day=date - dt.timedelta(days=1),
            next_day=date + dt.timedelta(days=1) if date < today else None,
            stored_report_url=(
                reverse("admin:orders_dailyreport_change", args=[report.pk]) if report.pk else None
            ),
            figures_csv_url=reverse("admin:orders_dailyreport_dashboard_csv")
            + "?"
            + urlencode({"store": str(store.pk), "date": date.isoformat()}),
            z_reports=z_reports,
            low_stock=low_stock,
            low_stock_threshold=threshold,
            stored_value=stored_value,
        )
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/orders/dashboard.html", context)


def dashboard_csv_view(model_admin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    """The figures of one store and local day (`?store=&date=`, default today) as the API's CSV:
    computed live for today, the stored report for a day that is over (as the API does)."""
    _require_reports_permission(model_admin, request)
    now = timezone.now()
    store = _visible_store(list(store_list(user=request.user)), request.GET.get("store"))  # type: ignore[arg-type]
    if store is None:
        raise Http404("No such store.")
    today = local_today(store=store, now=now)
    date = min(_parse_date(request.GET.get("date"), today), today)
    return report_csv_response(daily_report_get(store=store, date=date, now=now))


def z_report_view(
    model_admin: admin.ModelAdmin, request: HttpRequest, shift_id: int
) -> HttpResponse:
    _require_reports_permission(model_admin, request)
    queryset = Shift.objects.select_related("store", "register", "opened_by", "closed_by")
    store_ids = visible_store_ids(request.user)  # type: ignore[arg-type]
    if store_ids is not None:
        queryset = queryset.filter(store_id__in=store_ids)
    shift = queryset.filter(pk=shift_id).first()
    if shift is None:
        raise Http404("No such shift.")
    # Rendered as the API renders it: amounts in the store currency's minor units.
    figures = ShiftReportSerializer(shift_report(shift=shift)).data
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"{figures['type']} report — shift {shift.pk} ({shift.register})",
        "opts": model_admin.model._meta,
        "shift": shift,
        "opened_at": local_time_text(shift.opened_at, shift.store.tzinfo),
        "closed_at": local_time_text(shift.closed_at, shift.store.tzinfo)
        if shift.closed_at
        else None,
        "figures": figures,
        "currency": shift.store.currency,
        "shift_admin_url": _admin_url("orders_shift_change", shift.pk),
        "dashboard_url": reverse("admin:orders_dailyreport_dashboard") + f"?store={shift.store_id}",
    }
    request.current_app = model_admin.admin_site.name
    return TemplateResponse(request, "admin/orders/z_report.html", context)


__all__ = [
    "LOW_STOCK_THRESHOLD",
    "dashboard_csv_view",
    "dashboard_view",
    "hourly_sales_svg",
    "report_csv_response",
    "report_tables",
    "z_report_view",
]
