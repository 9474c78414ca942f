"""Reads of returns without a receipt: the store-scoped list and one return. Limited to the
user's stores (others → not found); a page of returns in a fixed number of queries."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from accounts.models import User
from accounts.selectors import scope_to_user_stores
from orders.models import Return, ReturnLine, ReturnPayment

__all__ = ["return_detail_queryset", "return_list"]


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
