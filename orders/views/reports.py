"""`GET /api/v1/reports/daily/`: a store's daily report, as JSON or CSV."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import store_list
from apitools.permissions import STAFF_ROLES
from domain.errors import ObjectNotFound
from orders.serializers.reports import DailyReportQuerySerializer, DailyReportSerializer
from orders.services.reports import daily_report_csv, daily_report_get, daily_report_payload


class _NoFormatOverride:
    URL_FORMAT_OVERRIDE = None


class QueryFormatNegotiation(DefaultContentNegotiation):
    """`?format=` is this endpoint's own parameter (json|csv), validated with the others, so DRF
    must not treat it as a renderer override (which answers an unknown value with a bare 404)."""

    settings = _NoFormatOverride()  # type: ignore[assignment]


_DESCRIPTION = """
One store's figures for one **local** day (the store's time zone). Managers see their own stores,
admins every store; a store the user cannot see answers `404`.

**Stored or computed.** A day is over 5 minutes after the store's local midnight. For a day that
is over, the stored report is returned (the nightly Celery beat schedule stores each store's
previous day; if it has not run yet, the report is generated and stored by this request). Today's
figures are computed on each request and never stored, since the day is not over; `generated_at`
says when they were computed. A date after the store's local today is a `400`.

**Definitions.** A sale belongs to the day its order was recorded by the server (`created_at`),
a refund to the day the refund was made. `gross_sales` = Σ order subtotal (Σ line gross, before
discounts, as priced — tax-inclusive in stores whose prices include tax); `discount_total` = Σ
discounts; `net_sales` = Σ line net, the revenue without tax after discounts (what the ledger
credits to account 4000); `tax_total` = Σ tax (account 2100); `refunds_total` = Σ totals of the
refunds made that day (tax included). `by_tender` sums payment amounts per method (change
excluded). `by_hour` lists all 24 local hours with the order count and Σ order totals (tax
included). `top_products` lists up to 10 products by Σ line totals. Money is a string with two
decimals, quantities with three.

**CSV** (`?format=csv`, `text/csv`): one section per table — `summary` (one row; `by_tender`
flattened into `cash,card,other`), `by_hour`, `top_products`, `by_cashier` — separated by a blank
line. Each section starts with its header row `section,<columns…>` and each of its rows starts
with the section's name.
"""


class DailyReportView(APIView):
    allowed_roles = STAFF_ROLES
    content_negotiation_class = QueryFormatNegotiation

    @extend_schema(
        operation_id="reports_daily_retrieve",
        summary="A store's daily report",
        description=_DESCRIPTION,
        parameters=[DailyReportQuerySerializer],
        responses={
            200: OpenApiResponse(DailyReportSerializer, description="The report (JSON)."),
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR, description="The report as CSV (`?format=csv`)."
            ),
        },
    )
    def get(self, request: Request) -> Response | HttpResponse:
        query = DailyReportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        stores = store_list(user=request.user)  # type: ignore[arg-type]
        store = stores.filter(id=query.validated_data["store"]).first()
        if store is None:
            raise ObjectNotFound("No such store.")

        report = daily_report_get(store=store, date=query.validated_data["date"])
        payload = DailyReportSerializer(daily_report_payload(report=report)).data

        if query.validated_data["format"] == "csv":
            response = HttpResponse(
                daily_report_csv(payload=payload), content_type="text/csv; charset=utf-8"
            )
            filename = f"daily-report-{store.code}-{payload['date']}.csv"
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
            return response
        return Response(payload)
