"""`/api/v1/held-orders/`: park a basket, list, read, replace and discard held orders.
Cashiers, managers and admins of the held order's (register's) store; another store's held order
is a 404. A sale completes one (`"held_order"` on `POST /api/v1/orders/`)."""

from __future__ import annotations

from typing import Any, cast

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from apitools.permissions import ALL_ROLES
from orders.models import HeldOrder
from orders.selectors.held_orders import held_order_list
from orders.serializers.held_orders import HeldOrderInputSerializer, HeldOrderSerializer
from orders.serializers.sales import refuse_card_numbers
from orders.services.held_orders import held_order_create, held_order_delete, held_order_update
from orders.views.idempotency import idempotent
from orders.views.shifts import OPTIONAL_IDEMPOTENCY_KEY

_PRICING = (
    "Priced exactly like `POST /api/v1/orders/quote/` (the same code), at the catalog's prices "
    "of now; no stock is reserved. Each line also carries `line_discount`, the line's own "
    "discount as requested (`discount` is that plus its share of the order discount)."
)
_GONE = OpenApiResponse(
    description="`held_order_gone`: already completed by a sale or deleted (the row is kept "
    "as a tombstone, so this is a 409 and never a 404)."
)


class HeldOrderFilter(django_filters.FilterSet):
    register = django_filters.NumberFilter(field_name="register_id", help_text="Register id.")
    store = django_filters.NumberFilter(field_name="store_id", help_text="Store id.")

    class Meta:
        model = HeldOrder
        fields: list[str] = []


@extend_schema_view(
    list=extend_schema(
        summary="List held orders",
        description="The held orders of your stores still held (completed and deleted ones "
        "are gone), newest first.",
    ),
    retrieve=extend_schema(
        summary="Read a held order",
        description="Another store's, or one completed or deleted, answers 404.",
    ),
)
class HeldOrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    allowed_roles = ALL_ROLES
    queryset = HeldOrder.objects.none()  # the schema's model; requests use `held_order_list`
    serializer_class = HeldOrderSerializer
    filterset_class = HeldOrderFilter
    lookup_value_regex = r"[0-9]{1,18}"  # an id: anything else is a 404, never a database error

    def get_queryset(self) -> QuerySet[HeldOrder]:
        if getattr(self, "swagger_fake_view", False):
            return HeldOrder.objects.none()
        return held_order_list(user=cast(User, self.request.user))

    @extend_schema(
        summary="Hold (park) a basket",
        description=_PRICING + " `customer` names the customer (a tax-exempt one's basket carries "
        "no tax); unknown or erased → 400. A register retrying after a lost answer sends an "
        "`Idempotency-Key` (optional here) and parks the basket once.",
        parameters=[OPTIONAL_IDEMPOTENCY_KEY],
        request=HeldOrderInputSerializer,
        responses={
            201: HeldOrderSerializer,
            400: OpenApiResponse(description="`validation_error` (as for a quote)."),
            404: OpenApiResponse(description="Register not in your stores."),
        },
    )
    @idempotent("held_orders.create", status=status.HTTP_201_CREATED, required=False)
    def create(self, request: Request) -> Any:
        data = self._valid_input(request)
        held = held_order_create(user=cast(User, request.user), **data)
        return HeldOrderSerializer(held).data

    @extend_schema(
        summary="Replace a held order's lines, discount, note and customer",
        description="The whole body again (as for `POST`), re-priced now. The register must "
        "be one of the held order's store. " + _PRICING,
        request=HeldOrderInputSerializer,
        responses={
            200: HeldOrderSerializer,
            400: OpenApiResponse(description="`validation_error`."),
            404: OpenApiResponse(description="Not in your stores."),
            409: _GONE,
        },
    )
    def update(self, request: Request, pk: str | None = None) -> Response:
        data = self._valid_input(request)
        held = held_order_update(user=cast(User, request.user), held_order_id=self._pk(pk), **data)
        return Response(HeldOrderSerializer(held).data)

    @extend_schema(
        summary="Discard a held order",
        responses={
            204: None,
            404: OpenApiResponse(description="Not in your stores."),
            409: _GONE,
        },
    )
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        held_order_delete(user=cast(User, request.user), held_order_id=self._pk(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @staticmethod
    def _valid_input(request: Request) -> dict[str, Any]:
        refuse_card_numbers(request.data)  # the note is free text
        serializer = HeldOrderInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return {
            "register_id": serializer.validated_data["register"],
            "lines": serializer.line_requests(),
            "discount": serializer.validated_data["discount"],
            "note": serializer.validated_data["note"],
            "customer_id": serializer.validated_data["customer"],
        }

    @staticmethod
    def _pk(pk: str | None) -> int:
        return int(pk or 0)  # the route matches only digits (`lookup_value_regex`)
