"""`/api/v1/shifts/`: open, list and read shifts; cash movements, close and the X/Z report as
actions. Cashiers, managers and admins of the shift's store; another store's shift is a 404."""

from __future__ import annotations

from typing import Any, cast

import django_filters
from django.http import HttpResponse
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from apitools.idempotency import IDEMPOTENCY_HEADER
from apitools.permissions import ALL_ROLES
from orders.models import Shift, ShiftStatus
from orders.selectors.shifts import shift_list, shift_report
from orders.serializers.shifts import (
    CashMovementCreateSerializer,
    CashMovementSerializer,
    ShiftCloseSerializer,
    ShiftOpenSerializer,
    ShiftReportSerializer,
    ShiftSerializer,
)
from orders.services.shifts import cash_movement_create, shift_close, shift_open
from orders.views.idempotency import idempotent

OPTIONAL_IDEMPOTENCY_KEY = OpenApiParameter(
    name=IDEMPOTENCY_HEADER,
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Optional here (1-255 printable characters). When sent, a retry with the same key and "
        "body replays the first response (`Idempotent-Replayed: true`) instead of acting twice; "
        "the same key with another body → 422 `idempotency_key_reused`."
    ),
)


def acting_user(request: Request) -> User:
    """The authenticated user (the permission class has refused anyone else)."""
    return cast(User, request.user)


def _conflict(description: str) -> OpenApiResponse:
    return OpenApiResponse(description=description)  # rendered as problem+json by the hook


class ShiftFilter(django_filters.FilterSet):
    register = django_filters.NumberFilter(field_name="register_id")
    store = django_filters.NumberFilter(field_name="store_id")
    status = django_filters.ChoiceFilter(choices=ShiftStatus.choices)


@extend_schema_view(
    list=extend_schema(summary="List shifts of your stores, newest first"),
    retrieve=extend_schema(summary="Read one shift"),
)
class ShiftViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    allowed_roles = ALL_ROLES
    serializer_class = ShiftSerializer
    filterset_class = ShiftFilter

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return shift_list(user=acting_user(self.request))

    @extend_schema(
        summary="Open a shift (cash drawer session) on a register",
        description=(
            "One open shift per register: a second one → 409 `shift_already_open` (also when two "
            "opens race). The register must be an active register of one of your stores (another "
            "store's register is reported as not existing, 400)."
        ),
        parameters=[OPTIONAL_IDEMPOTENCY_KEY],
        request=ShiftOpenSerializer,
        responses={201: ShiftSerializer, 409: _conflict("`shift_already_open`")},
    )
    @idempotent("shifts.open", status=status.HTTP_201_CREATED, required=False)
    def create(self, request: Request) -> Any:
        serializer = ShiftOpenSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        shift = shift_open(
            register=serializer.validated_data["register"],
            opening_float=serializer.validated_data["opening_float"],
            user=acting_user(request),
        )
        return ShiftSerializer(shift).data

    @extend_schema(
        summary="Put cash into or take it out of the drawer",
        description="The shift must be open (409 `shift_not_open`). Posted to the ledger as "
        "1000 Cash against 1050 Cash transfers.",
        parameters=[OPTIONAL_IDEMPOTENCY_KEY],
        request=CashMovementCreateSerializer,
        responses={201: CashMovementSerializer, 409: _conflict("`shift_not_open`")},
    )
    @action(detail=True, methods=["post"], url_path="cash-movements")
    def cash_movements(self, request: Request, pk: str | None = None) -> HttpResponse | Response:
        return self._cash_movement_create(request, shift=self.get_object())

    @idempotent("shifts.{shift.pk}.cash_movements", status=status.HTTP_201_CREATED, required=False)
    def _cash_movement_create(self, request: Request, *, shift: Shift) -> Any:
        serializer = CashMovementCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        movement = cash_movement_create(
            shift=shift, user=acting_user(request), **serializer.validated_data
        )
        return CashMovementSerializer(movement).data

    @extend_schema(
        summary="Close a shift with the counted cash",
        description=(
            "expected_cash = opening float + cash taken − change given − cash refunded + cash in "
            "− cash out; difference = counted_cash − expected_cash, posted to the ledger (1000 "
            "Cash against 6900 Cash over/short). Cash refunded counts the cash paid out by "
            "refunds issued while this was the open shift of the order's register. A closed "
            "shift → 409 `shift_not_open`."
        ),
        parameters=[OPTIONAL_IDEMPOTENCY_KEY],
        request=ShiftCloseSerializer,
        responses={200: ShiftSerializer, 409: _conflict("`shift_not_open`")},
    )
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str | None = None) -> HttpResponse | Response:
        return self._close(request, shift=self.get_object())

    @idempotent("shifts.{shift.pk}.close", status=status.HTTP_200_OK, required=False)
    def _close(self, request: Request, *, shift: Shift) -> Any:
        serializer = ShiftCloseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        closed = shift_close(
            shift=shift,
            counted_cash=serializer.validated_data["counted_cash"],
            user=acting_user(request),
        )
        return ShiftSerializer(closed).data

    @extend_schema(
        summary="X report (open shift) or Z report (closed shift)",
        responses={200: ShiftReportSerializer},
    )
    @action(detail=True, methods=["get"])
    def report(self, request: Request, pk: str | None = None) -> Response:
        shift = self.get_object()
        return Response(ShiftReportSerializer(shift_report(shift=shift)).data)
