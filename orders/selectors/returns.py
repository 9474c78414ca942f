"""Reads of returns without a receipt: the store-scoped list, one return and one with what its
receipt prints. Limited to the user's stores (others → not found); a page of returns in a fixed
number of queries."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from accounts.models import User
from accounts.selectors import scope_to_user_stores
from orders.models import Return, ReturnLine, ReturnPayment

__all__ = ["return_detail_queryset", "return_list", "return_receipt_queryset"]


def return_detail_queryset() -> QuerySet[Return]:
    """Returns with what `ReturnSerializer` renders: the store (its currency) joined, lines and
    tenders prefetched (three queries per page)."""
    return Return.objects.select_related("store").prefetch_related(
        Prefetch("lines", queryset=ReturnLine.objects.order_by("id")),
        Prefetch("payments", queryset=ReturnPayment.objects.order_by("id")),
    )


def return_list(*, user: User) -> QuerySet[Return]:
    """The returns of the user's stores, newest first (ties by id), like the refund list."""
    return scope_to_user_stores(return_detail_queryset(), user).order_by("-created_at", "-id")


def return_receipt_queryset(*, user: User) -> QuerySet[Return]:
    """The returns of the user's stores with everything their receipt prints: store, register
    and who took it back joined, lines (their snapshots) and tenders prefetched (three queries)."""
    queryset = return_detail_queryset().select_related("register", "created_by")
    return scope_to_user_stores(queryset, user)
