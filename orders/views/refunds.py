"""`POST /api/v1/orders/{id}/refunds/`: refund lines of an order (managers and admins of the
order's store), exactly once per `Idempotency-Key`."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.request import Request

from accounts.models import Role
from accounts.selectors import scope_to_user_stores
from apitools.idempotency import IDEMPOTENCY_ERROR_RESPONSES, IDEMPOTENCY_KEY_PARAMETER
from apitools.permissions import ALL_ROLES
from orders.models import ApprovalAction, Order, Refund
from orders.serializers.refunds import RefundCreateSerializer, RefundSerializer
from orders.services.approvals import approval_consume
from orders.services.refunds import RefundLineRequest, refund_create
from orders.views.idempotency import idempotent
from orders.views.sales import APPROVAL_HEADER
from orders.views.shifts import acting_user

REFUND_DESCRIPTION = """
Refund part or all of an order's lines. Managers and admins of the order's store; cashiers get
403, another store's order is a 404.

* Money: a part of a line is refunded pro rata from the line's snapshotted `net` and `tax`
  (`round(line.net × quantity / line.quantity)`, half-up; likewise tax; `total = net + tax`);
  the refund that completes a line takes exactly what is left of it, so a line refunded in full,
  in any number of steps, returns exactly its `total`.
* Tenders: the money goes back to the original tenders, card first, then other, then cash, each
  capped at what it paid minus what was already refunded to it.
* Cash drawer: the cash part is paid out of the drawer of the open shift of the order's register
  (the order's own shift while it is open, else the shift open on that register now). The refund
  is attached to that shift (`shift`), counted as its "cash refunded" and listed in its X/Z
  report. A refund with a cash part while that register has no open shift →
  409 `shift_not_open`; a card/other-only refund needs no open shift.
* Over-refund: more than is left on a line, over any number of refunds and also under
  concurrent refunds → 409 `refund_exceeds_sold` (the body lists the offending `lines`).
* A line id that is not a line of this order, or listed twice → 400 `validation_error`.
* The order's status becomes `partially_refunded` or `refunded`. With `restock` (default true)
  the quantities go back into stock (reason `refund`); the ledger entry (Dr 4900 net, Dr 2100
  tax, Cr the tenders, Dr 1200 / Cr 5000 at the lines' snapshotted cost when restocked) and the
  audit event `order.refunded` are written in the same transaction.
* `Idempotency-Key` is required: a retry with the same key and body replays the first `201`
  (header `Idempotent-Replayed: true`) and refunds nothing more; the same key with another body
  (or another order) → 422 `idempotency_key_reused`; while the first is still running → it waits
  and replays, or 409 `idempotency_key_in_use`.
"""


class RefundCreateView(generics.GenericAPIView):
    # Cashiers too: with the store's `cashier_can_refund`, or a manager's approval.
    allowed_roles = ALL_ROLES
    serializer_class = RefundCreateSerializer

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
            409: OpenApiResponse(
                description="`refund_exceeds_sold` (more than is left on a line; lists the "
                "`lines`), `shift_not_open` (cash to pay out and the order's register has no "
                "open shift), `idempotency_key_in_use`."
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
        approved_by = None
        if user.role == Role.CASHIER and not order.store.cashier_can_refund:
            approved_by = approval_consume(
                token=request.headers.get(APPROVAL_HEADER),
                action=ApprovalAction.REFUND,
                register_id=order.register_id,
            )
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
        )
        refund = Refund.objects.prefetch_related("lines", "payments").get(pk=refund.pk)
        return RefundSerializer(refund).data
