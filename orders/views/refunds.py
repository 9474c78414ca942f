"""Refunds over HTTP: `POST /api/v1/orders/{id}/refunds/` refunds lines of an order (managers
and admins of the order's store), exactly once per `Idempotency-Key`; `GET` on the same path,
`/api/v1/refunds/` and `/api/v1/refunds/{id}/receipt/` read them (whoever may read the order)."""

from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from accounts.selectors import scope_to_user_stores
from apitools.idempotency import IDEMPOTENCY_ERROR_RESPONSES, IDEMPOTENCY_KEY_PARAMETER
from apitools.pagination import CursorOrPageNumberPagination
from apitools.permissions import ALL_ROLES
from orders.models import ApprovalAction, Order, Refund
from orders.selectors.refunds import order_refund_list, refund_list, refund_receipt_queryset
from orders.serializers.refunds import RefundCreateSerializer, RefundSerializer
from orders.services.approvals import approval_consume, needs_refund_approval
from orders.services.receipts import refund_receipt_html, refund_receipt_text
from orders.services.refunds import (
    RefundLineRequest,
    TenderRequest,
    refund_create,
    refund_paying_register,
)
from orders.views.idempotency import idempotent
from orders.views.sales import (
    APPROVAL_HEADER,
    RECEIPT_FORMAT_PARAMETER,
    RECEIPT_RESPONSES,
    LocalDayFilterSet,
    local_day_filters,
    receipt_action,
    receipt_response,
)
from orders.views.shifts import acting_user

REFUND_DESCRIPTION = """
Refund part or all of an order's lines. Managers and admins of the order's store; a cashier
when the store's `cashier_can_refund` is on, or with a manager's approval token for `refund` on
the register that pays out (the body's `register`, default the order's) in `X-Approval` (else
403 `approval_required`); another store's order is a 404.

* Money: a part of a line is refunded pro rata from the line's snapshotted `net` and `tax`
  (`round(line.net × quantity / line.quantity)`, half-up; likewise tax; `total = net + tax`);
  the refund that completes a line takes exactly what is left of it, so a line refunded in full,
  in any number of steps, returns exactly its `total`.
* Tenders: without `tenders` the money goes back to the original tenders, card first, then
  other, then cash, each capped at what it paid minus what was already refunded to it. With
  `tenders: [{method, amount}]` (API v1.1) it goes back exactly as chosen: the amounts add up to
  the refund's `total` (else 400 naming `tenders`), each method at most once, in the store
  currency's minor units (finer → 400 naming `tenders.<i>.amount`); `cash`, `card` or `other`
  only if the order was paid with it (else 400 naming `tenders.<i>.method`) and up to what it
  paid (else 400 naming `tenders.<i>.amount`) less what was already returned to it (else 409
  `refund_exceeds_sold`, also under concurrent refunds); each method's amount is spread over
  that method's payments by payment id. `store_credit` may be chosen whatever paid the order:
  that part raises the store credit of the order's customer (or of the body's `customer` when
  the order has none; neither → 400 naming `tenders`), Cr 2310. By default what store credit
  paid goes back to store credit. Tips are never refunded.
* Cash drawer: the cash part is paid out of the drawer of the open shift of the paying
  register: `register` (an active register of the order's store; another store's, an inactive
  or an unknown one → 400 naming `register`), by default the order's register (the order's own
  shift while it is open, else the shift open on that register now). The refund is attached to
  that shift (`shift`), counted as its "cash refunded" and listed in its X/Z report. A refund
  with a cash part while that register has no open shift → 409 `shift_not_open`; a
  card/other-only refund needs no open shift. The refund `number` is in the order's register's
  sequence whichever register pays out.
* Over-refund: more than is left on a line, over any number of refunds and also under
  concurrent refunds → 409 `refund_exceeds_sold` (the body lists the offending `lines`).
* A line id that is not a line of this order, or listed twice → 400 `validation_error`.
* The order's status becomes `partially_refunded` or `refunded`. With `restock` (default true)
  the quantities go back into stock (reason `refund`); the ledger entry (Dr 4900 net, Dr 2100
  tax, Cr the tenders, Dr 1200 / Cr 5000 at the lines' snapshotted cost when restocked) and the
  audit event `order.refunded` (with the paying `register`, the `tenders` and `tenders_chosen`)
  are written in the same transaction.
* `Idempotency-Key` is required: a retry with the same key and body replays the first `201`
  (header `Idempotent-Replayed: true`) and refunds nothing more; the same key with another body
  (or another order) → 422 `idempotency_key_reused`; while the first is still running → it waits
  and replays, or 409 `idempotency_key_in_use`.
"""


class RefundCreateView(generics.GenericAPIView):
    # Reading an order's refunds is reading the order: every role of its store, as for
    # `GET /orders/{id}/`. Refunding: managers and admins; cashiers with the store's
    # `cashier_can_refund` or a manager's approval (`X-Approval`).
    allowed_roles = ALL_ROLES
    serializer_class = RefundCreateSerializer
    pagination_class = None
    filter_backends: list[Any] = []

    @extend_schema(
        operation_id="orders_refunds_list",
        summary="List an order's refunds",
        description="The refunds of the order, oldest first (ties by id), not paginated. Every "
        "role that may read the order (cashiers, managers and admins of its store); another "
        "store's order is a 404.",
        request=None,
        responses={
            200: RefundSerializer(many=True),
            404: OpenApiResponse(description="No such order in the user's stores."),
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        refunds = order_refund_list(user=cast(User, request.user), order_id=pk)
        return Response(RefundSerializer(refunds, many=True).data)

    @extend_schema(
        operation_id="orders_refunds_create",
        summary="Refund lines of an order",
        description=REFUND_DESCRIPTION,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        request=RefundCreateSerializer,
        responses={
            **IDEMPOTENCY_ERROR_RESPONSES,
            201: OpenApiResponse(
                RefundSerializer,
                description="The refund (a replay carries `Idempotent-Replayed: true`).",
            ),
            400: OpenApiResponse(
                description="`validation_error`: a malformed body, a line not of this order, a "
                "`register` that is not an active register of the order's store, or `tenders` "
                "that do not add up, name a method the order was not paid with (or "
                "`store_credit`), ask more than a method paid or are finer than the currency."
            ),
            409: OpenApiResponse(
                description="`refund_exceeds_sold` (more than is left on a line, listing the "
                "`lines`, or on a chosen tender), `shift_not_open` (cash to pay out and the "
                "paying register has no open shift), `idempotency_key_in_use`."
            ),
        },
    )
    @idempotent("orders.refunds:{pk}", status=status.HTTP_201_CREATED)
    def post(self, request: Request, pk: int) -> Any:
        user = acting_user(request)
        order = get_object_or_404(
            scope_to_user_stores(Order.objects.select_related("store"), user), pk=pk
        )
        serializer = RefundCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        # The register that pays out, checked before the approval: a register of another store
        # is the same 400 for everyone (never a 403 that would tell it apart).
        paying_id = order.register_id
        if data.get("register") is not None:
            paying_id = refund_paying_register(order=order, register_id=data["register"]).pk
        approved_by = None
        if needs_refund_approval(user=user, store=order.store):
            # The approval is for the register whose drawer pays the money out.
            approved_by = approval_consume(
                token=request.headers.get(APPROVAL_HEADER),
                action=ApprovalAction.REFUND,
                register_id=paying_id,
            )
        tenders = data.get("tenders")
        refund = refund_create(
            approved_by=approved_by,
            order=order,
            lines=[
                RefundLineRequest(line_id=row["line"], quantity=row["quantity"])
                for row in data["lines"]
            ],
            restock=data["restock"],
            reason=data["reason"],
            user=user,
            register_id=paying_id,
            tenders=None
            if tenders is None
            else [TenderRequest(method=row["method"], amount=row["amount"]) for row in tenders],
            customer_id=data.get("customer"),
        )
        refund = Refund.objects.prefetch_related("lines", "payments").get(pk=refund.pk)
        return RefundSerializer(refund).data


class RefundFilter(LocalDayFilterSet):
    # The order list's local-day rule, so both lists agree on what a day is.
    store = filters.NumberFilter(field_name="store_id", help_text="Store id.")
    order = filters.NumberFilter(field_name="order_id", help_text="Order id.")
    exchange_order = filters.NumberFilter(
        field_name="exchange_order_id",
        help_text="The exchange (sale) whose returned goods these refunds are.",
    )
    date_from, date_to = local_day_filters("refund")

    class Meta:
        model = Refund
        fields: list[str] = []


@extend_schema_view(
    list=extend_schema(
        summary="List refunds",
        description="Refunds of the user's stores, newest first (ties by id). Dates are local "
        "days in each refund's store time zone. Every role that may read orders.",
    ),
    retrieve=extend_schema(
        summary="Retrieve a refund",
        description="Refunds of other stores answer 404.",
    ),
)
class RefundViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Issued refunds, read-only (they are written by `POST /orders/{id}/refunds/`). The same
    roles as the orders they belong to: cashiers, managers and admins of the store."""

    allowed_roles = ALL_ROLES
    queryset = Refund.objects.none()  # the schema's model; requests use the selectors
    serializer_class = RefundSerializer
    filterset_class = RefundFilter
    pagination_class = CursorOrPageNumberPagination
    cursor_ordering = ("-id",)

    def get_queryset(self) -> QuerySet[Refund]:
        if getattr(self, "swagger_fake_view", False):
            return Refund.objects.none()
        user = cast(User, self.request.user)
        if self.action == "receipt":
            return refund_receipt_queryset(user=user)
        return refund_list(user=user)

    @extend_schema(
        summary="Print the refund receipt",
        description="Plain text for an 80 mm printer (at most 48 characters per line: store, "
        "register, refund number, the original order's number, date in the store's time zone, "
        "who refunded, the lines given back with quantities and amounts, net, tax, total, the "
        "tenders paid back, the reason), or printable HTML with `?format=html`. Amounts in the "
        "store currency's minor units.",
        parameters=[RECEIPT_FORMAT_PARAMETER],
        responses=RECEIPT_RESPONSES,
    )
    @receipt_action(filterset_class=None)
    def receipt(self, request: Request, pk: str | None = None) -> HttpResponse:
        return receipt_response(
            request, self.get_object(), text=refund_receipt_text, html=refund_receipt_html
        )
