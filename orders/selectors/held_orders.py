"""Reads of held (parked) orders, every one limited to the user's stores (others → not found)."""

from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import Store, User
from accounts.selectors import scope_to_user_stores
from orders.models import HeldOrder, HeldOrderStatus

__all__ = ["held_order_for_sale_locked", "held_order_list", "held_order_locked"]


def held_order_list(*, user: User) -> QuerySet[HeldOrder]:
    """The held orders still held in the user's stores, newest first (ties by id). Completed
    and deleted ones are gone from the list (and from `GET {id}`)."""
    return scope_to_user_stores(
        HeldOrder.objects.filter(status=HeldOrderStatus.HELD), user
    ).order_by("-held_at", "-id")


def held_order_locked(*, user: User, held_order_id: int) -> HeldOrder | None:
    """The held order, whatever its status, if it is in one of the user's stores, locked
    (`FOR UPDATE`) until the caller's transaction ends: a change, a deletion and a completion of
    one held order queue on that row, and each re-reads its status after the one before it."""
    return (
        scope_to_user_stores(HeldOrder.objects.all(), user)
        .select_for_update()
        .filter(pk=held_order_id)
        .first()
    )


def held_order_for_sale_locked(*, store: Store, held_order_id: int) -> HeldOrder | None:
    """The held order of `store` (the sale's, already checked to be the user's), whatever its
    status, locked like `held_order_locked`; one query."""
    return HeldOrder.objects.select_for_update().filter(pk=held_order_id, store=store).first()
