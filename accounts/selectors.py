"""Reads about users and the stores they may see. Every store-scoped query goes through
`visible_store_ids` (admins: all stores, shown as `None`)."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet

from accounts.models import Register, Role, Store, User


def visible_store_ids(user: User) -> list[int] | None:
    """The ids of the stores `user` may see, or `None` for "all" (admins)."""
    if user.is_admin:
        return None
    cached = getattr(user, "_visible_store_ids", None)
    if cached is None:
        cached = list(user.stores.order_by("id").values_list("id", flat=True))
        user._visible_store_ids = cached  # type: ignore[attr-defined]
    return cached


def can_see_store(user: User, store_id: int) -> bool:
    ids = visible_store_ids(user)
    return ids is None or store_id in ids


def scope_to_user_stores(queryset: QuerySet, user: User, field: str = "store") -> QuerySet:
    """Filter any store-scoped queryset to the user's stores (`field` is the path to the store
    foreign key, e.g. `"store"` or `"order__store"`)."""
    ids = visible_store_ids(user)
    if ids is None:
        return queryset
    return queryset.filter(**{f"{field}__in": ids})


def store_list(*, user: User) -> QuerySet[Store]:
    return scope_to_user_stores(Store.objects.order_by("id"), user, field="id")


def register_list(*, user: User) -> QuerySet[Register]:
    return scope_to_user_stores(Register.objects.select_related("store").order_by("id"), user)


def user_list(*, user: User) -> QuerySet[User]:
    """Users `user` may see: admins all; managers the cashiers of their stores; nobody else."""
    queryset = User.objects.prefetch_related("stores").order_by("id")
    if user.is_admin:
        return queryset
    if user.role != Role.MANAGER:
        return queryset.none()
    ids = visible_store_ids(user) or []
    in_my_stores = User.stores.through.objects.filter(user_id=OuterRef("pk"), store_id__in=ids)
    return queryset.filter(Exists(in_my_stores), role=Role.CASHIER, is_superuser=False)
