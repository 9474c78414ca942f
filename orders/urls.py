"""Selling routes under /api/v1/: orders (+ quote, receipt, refunds), refunds (+ receipt),
shifts (+ cash movements, close, report), daily reports."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from orders.views.refunds import RefundCreateView, RefundViewSet
from orders.views.reports import DailyReportView
from orders.views.sales import OrderViewSet
from orders.views.shifts import ShiftViewSet

router = SimpleRouter()
router.register("orders", OrderViewSet, basename="order")
router.register("refunds", RefundViewSet, basename="refund")
router.register("shifts", ShiftViewSet, basename="shift")

urlpatterns = [
    path("orders/<int:pk>/refunds/", RefundCreateView.as_view(), name="order-refunds"),
    path("reports/daily/", DailyReportView.as_view(), name="report-daily"),
    *router.urls,
]
