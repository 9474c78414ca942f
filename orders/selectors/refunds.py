"""Reads of refunds: an order's refunds, the store-scoped refund list and one refund with what
its receipt prints. Every read is limited to the user's stores (others → not found), and each
queryset fetches a page of refunds in a fixed number of queries, whatever their number."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import User
from accounts.selectors import scope_to_user_stores
from orders.models import Order, Refund, RefundLine, RefundPayment

__all__ = [
    "order_refund_list",
    "refund_detail_queryset",
    "refund_list",
    "refund_receipt_queryset",
]


def refund_detail_queryset() -> QuerySet[Refund]:
    """Refunds with what `RefundSerializer` renders: the order (for its currency) and the store
    joined, lines and payments prefetched (two queries per page)."""
    return Refund.objects.select_related("order", "store").prefetch_related(
        Prefetch("lines", queryset=RefundLine.objects.order_by("id")),
        Prefetch("payments", queryset=RefundPayment.objects.order_by("id")),
    )


def refund_list(*, user: User) -> QuerySet[Refund]:
    """The refunds of the user's stores, newest first (ties by id), like the order list."""
    return scope_to_user_stores(refund_detail_queryset(), user).order_by("-created_at", "-id")


def order_refund_list(*, user: User, order_id: int) -> QuerySet[Refund]:
    """The refunds of one order of the user's stores, oldest first — the order in which they
    were issued, which is how a till reads an order's history. Raises `Http404` for an order
    outside the user's stores, so its existence is not revealed."""
    order = get_object_or_404(scope_to_user_stores(Order.objects.only("pk"), user), pk=order_id)
    return refund_detail_queryset().filter(order=order).order_by("created_at", "id")


def refund_receipt_queryset(*, user: User) -> QuerySet[Refund]:
    """The refunds of the user's stores with everything their receipt prints: the register
    (the paying shift's, else the order's), the sold lines' snapshots and the original tenders."""
    queryset = Refund.objects.select_related(
        "order__register", "store", "shift__register", "created_by"
    ).prefetch_related(
        Prefetch("lines", queryset=RefundLine.objects.select_related("order_line").order_by("id")),
        Prefetch(
            "payments", queryset=RefundPayment.objects.select_related("payment").order_by("id")
        ),
    )
    return scope_to_user_stores(queryset, user)
