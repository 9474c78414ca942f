"""Thin views over price lists and promotions: every role reads those that cover one of their
stores (or every store); managers and admins write, managers only for their own stores."""

from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.request import Request

from accounts.models import User
from apitools.permissions import ALL_ROLES, STAFF_ROLES
from pricebook import selectors, services
from pricebook.filters import PriceListFilter, PromotionFilter
from pricebook.models import PriceList, Promotion
from pricebook.serializers import PriceListSerializer, PromotionSerializer

READ_ALL_WRITE_STAFF = {"list": ALL_ROLES, "retrieve": ALL_ROLES, "*": STAFF_ROLES}
_NOT_YOURS = OpenApiResponse(
    description="`permission_denied`: a manager named a store that is not theirs, no store "
    "(every store), or wrote one that also covers other stores."
)
_SCOPE = (
    "Managers and cashiers see those that cover one of their stores or every store; admins all."
)


@extend_schema_view(
    list=extend_schema(
        description="Price lists by id, filtered by `store` (those that apply there, also those "
        "for every store), `is_active` and `product` (those that have it). " + _SCOPE
    ),
    create=extend_schema(
        description="A price list: in a store, a product's price is that of the "
        "highest-priority active list valid now (`valid_from` ≤ now < `valid_to`) that has it "
        "(ties: the newer list), else the product's own. Empty `stores`: every store (admins "
        "only). Every product whose price may change gets a new catalog version, so product "
        "delta sync sends it again.",
        responses={201: PriceListSerializer, 403: _NOT_YOURS},
    ),
    update=extend_schema(
        description="With `items`, the list's items become exactly those given.",
        responses={200: PriceListSerializer, 403: _NOT_YOURS},
    ),
    partial_update=extend_schema(
        description="With `items`, the list's items become exactly those given.",
        responses={200: PriceListSerializer, 403: _NOT_YOURS},
    ),
    destroy=extend_schema(responses={204: None, 403: _NOT_YOURS}),
)
class PriceListViewSet(viewsets.ModelViewSet):
    serializer_class = PriceListSerializer
    filterset_class = PriceListFilter
    allowed_roles = READ_ALL_WRITE_STAFF

    def get_queryset(self) -> QuerySet[PriceList]:
        return selectors.price_list_list(user=_user(self.request))

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.price_list_create(
            user=_user(self.request), **serializer.validated_data
        )

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = services.price_list_update(
            price_list=serializer.instance, user=_user(self.request), **serializer.validated_data
        )

    def perform_destroy(self, instance: PriceList) -> None:
        services.price_list_delete(price_list=instance, user=_user(self.request))


@extend_schema_view(
    list=extend_schema(
        description="Promotions by id, filtered by `store` and `is_active`. " + _SCOPE
    ),
    create=extend_schema(
        description="An automatic promotion, applied by the pricing engine by itself: "
        "`percent_off` and `amount_off` take `value` off each eligible unit; `buy_x_get_y` "
        "gives, for every `x` eligible units bought, the `y` cheapest further ones at `value` "
        "per cent off. Eligible: a product in `products` or in one of `categories` (or their "
        "subcategories); at least one of them is required. It applies when `valid_from` ≤ now "
        "< `valid_to`, on `days_of_week` and between `start_time` and `end_time` (exclusive; "
        "spans midnight when the start is later), all in the store's local time. Empty "
        "`stores`: every store (admins only).",
        responses={201: PromotionSerializer, 403: _NOT_YOURS},
    ),
    update=extend_schema(responses={200: PromotionSerializer, 403: _NOT_YOURS}),
    partial_update=extend_schema(responses={200: PromotionSerializer, 403: _NOT_YOURS}),
    destroy=extend_schema(
        description="Always allowed: orders keep a snapshot of the promotions they applied.",
        responses={204: None, 403: _NOT_YOURS},
    ),
)
class PromotionViewSet(viewsets.ModelViewSet):
    serializer_class = PromotionSerializer
    filterset_class = PromotionFilter
    allowed_roles = READ_ALL_WRITE_STAFF

    def get_queryset(self) -> QuerySet[Promotion]:
        return selectors.promotion_list(user=_user(self.request))

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.promotion_create(
            user=_user(self.request), **serializer.validated_data
        )

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = services.promotion_update(
            promotion=serializer.instance, user=_user(self.request), **serializer.validated_data
        )

    def perform_destroy(self, instance: Promotion) -> None:
        services.promotion_delete(promotion=instance, user=_user(self.request))


def _user(request: Request) -> User:
    """The authenticated user (the permission class has already refused anyone else)."""
    return cast(User, request.user)
