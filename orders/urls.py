"""Selling routes under /api/v1/: orders (+ quote, receipt, refunds), refunds (+ receipt),
returns without a receipt, held orders, approvals, shifts (+ cash movements, close, report),
daily reports, the sales batch."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from orders.views.approvals import ApprovalView
from orders.views.held_orders import HeldOrderViewSet
from orders.views.refunds import RefundCreateView, RefundViewSet
from orders.views.reports import DailyReportView
from orders.views.returns import ReturnViewSet
from orders.views.sales import OrderViewSet
from orders.views.shifts import ShiftViewSet
from orders.views.sync import SyncSalesView

router = SimpleRouter()
router.register("orders", OrderViewSet, basename="order")
router.register("held-orders", HeldOrderViewSet, basename="held-order")
router.register("refunds", RefundViewSet, basename="refund")
router.register("returns", ReturnViewSet, basename="return")
router.register("shifts", ShiftViewSet, basename="shift")

urlpatterns = [
    path("orders/<int:pk>/refunds/", RefundCreateView.as_view(), name="order-refunds"),
    path("reports/daily/", DailyReportView.as_view(), name="report-daily"),
    path("sync/sales/", SyncSalesView.as_view(), name="sync-sales"),
    path("approvals/", ApprovalView.as_view(), name="approvals"),
    *router.urls,
]
