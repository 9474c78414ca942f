"""Returns without a receipt over HTTP: `POST /api/v1/returns/` takes goods back at a register
(managers and admins; a cashier with a manager's approval or the store's `cashier_can_refund`),
exactly once per `Idempotency-Key`; `GET /api/v1/returns/`, `/returns/{id}/` and
`/returns/{id}/receipt/` read them."""

from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.request import Request

from accounts.models import User
from apitools.idempotency import IDEMPOTENCY_ERROR_RESPONSES, IDEMPOTENCY_KEY_PARAMETER
from apitools.permissions import ALL_ROLES
from orders.models import ApprovalAction, Return
from orders.selectors.returns import return_list, return_receipt_queryset
from orders.serializers.returns import ReturnCreateSerializer, ReturnSerializer
from orders.services.approvals import approval_consume, needs_refund_approval
from orders.services.receipts import return_receipt_html, return_receipt_text
from orders.services.returns import (
    ReturnLineRequest,
    ReturnTenderRequest,
    return_create,
    return_register,
)
from orders.views.idempotency import idempotent
from orders.views.sales import (
    APPROVAL_HEADER,
    RECEIPT_FORMAT_PARAMETER,
    RECEIPT_RESPONSES,
    receipt_action,
    receipt_response,
)
from orders.views.shifts import acting_user

RETURN_DESCRIPTION = """
Take goods back without a receipt at a register of the user's stores (another store's register
is a 404). Managers and admins; a cashier when the store's `cashier_can_refund` is on, or with a
manager's approval token for `return` on that register in `X-Approval` (else 403
`approval_required`; the approver is `approved_by` in the audit event).

* Money: each line is priced like a sale line (`orders.pricing`), at `unit_price` (default: the
  product's current price; above it, or finer than the store currency → 400 naming
  `lines.<i>.unit_price`) and the product's current tax rate, with the store's
  `prices_include_tax`; `total = Σ line totals`. An unknown or inactive product → 400 naming
  `lines.<i>.product`.
* Tenders: `[{method, amount}]` of `cash`, `card`, `other`, `store_credit`, adding up to the
  total exactly (else 400 `validation_error` on `tenders`); without `tenders`, all cash.
  `store_credit` raises the store credit of the return's `customer` (required: 400 naming
  `tenders.<i>.method` without one), Cr 2310.
* Customer: `customer` names one (unknown or erased → 400 naming `customer`); a tax-exempt
  customer's return gives back no tax (every line at 0 %).
* Cash drawer: the cash part is paid out of the register's open shift, whose row is locked like
  a sale's; the return is attached to it (`shift`), lowers its expected cash and shows in its
  X/Z report (`returns`). A cash part with no open shift → 409 `shift_not_open`.
* Numbered in the register's refund sequence (`R1-R000003`): refunds and returns share one
  counter. With `restock` (default true) stock-tracked products go back into stock (reason
  `return`) at their current cost. Ledger entry (source `return`): Dr 4900 net, Dr 2100 tax,
  Cr the tenders; Dr 1200 / Cr 5000 at the restocked cost. Audit event `return.created`.
* `Idempotency-Key` is required: a retry with the same key and body replays the first `201`
  (`Idempotent-Replayed: true`); the same key with another body → 422 `idempotency_key_reused`.
"""


@extend_schema_view(
    list=extend_schema(
        summary="List returns without a receipt",
        description="Returns of the user's stores, newest first (ties by id). Every role.",
    ),
    retrieve=extend_schema(
        summary="Retrieve a return", description="Returns of other stores answer 404."
    ),
)
class ReturnViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    # Reading: every role of the store, like refunds. Taking back: see `create`.
    allowed_roles = ALL_ROLES
    queryset = Return.objects.none()  # the schema's model; requests use the selectors
    serializer_class = ReturnSerializer

    def get_queryset(self) -> QuerySet[Return]:
        if getattr(self, "swagger_fake_view", False):
            return Return.objects.none()
        user = cast(User, self.request.user)
        if self.action == "receipt":
            return return_receipt_queryset(user=user)
        return return_list(user=user)

    @extend_schema(
        operation_id="returns_create",
        summary="Take goods back without a receipt",
        description=RETURN_DESCRIPTION,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        request=ReturnCreateSerializer,
        responses={
            **IDEMPOTENCY_ERROR_RESPONSES,
            201: OpenApiResponse(
                ReturnSerializer,
                description="The return (a replay carries `Idempotent-Replayed: true`).",
            ),
            403: OpenApiResponse(
                description="`approval_required` (a cashier without a valid approval)."
            ),
            404: OpenApiResponse(description="No such register in the user's stores."),
            409: OpenApiResponse(
                description="`shift_not_open` (a cash part and no open shift on the register), "
                "`idempotency_key_in_use`."
            ),
        },
    )
    @idempotent("orders.returns", status=status.HTTP_201_CREATED)
    def create(self, request: Request) -> Any:
        user = acting_user(request)
        serializer = ReturnCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        register = return_register(user=user, register_id=data["register"])
        approved_by = None
        if needs_refund_approval(user=user, store=register.store):
            approved_by = approval_consume(
                token=request.headers.get(APPROVAL_HEADER),
                action=ApprovalAction.RETURN,
                register_id=register.pk,
            )
        tenders = data.get("tenders")
        returned = return_create(
            user=user,
            register_id=register.pk,
            lines=[
                ReturnLineRequest(
                    product_id=row["product"],
                    quantity=row["quantity"],
                    unit_price=row.get("unit_price"),
                )
                for row in data["lines"]
            ],
            tenders=None
            if tenders is None
            else [ReturnTenderRequest(method=t["method"], amount=t["amount"]) for t in tenders],
            restock=data["restock"],
            reason=data["reason"],
            approved_by=approved_by,
            customer_id=data["customer"],
        )
        # Rendered from what the service wrote (store, lines and tenders in hand): no re-read.
        return ReturnSerializer(returned).data

    @extend_schema(
        summary="Print the return's receipt",
        description="Plain text for an 80 mm printer (at most 48 characters per line), laid out "
        "like a refund receipt: store, the register that took the goods back, `RETURN`, the "
        "return's number, `Original receipt: none`, date in the store's time zone, who took it "
        "back, each line (the product's name at the time, `quantity x unit price paid back`, "
        "what it returned), net, tax, `TOTAL REFUNDED`, the tenders paid back, the reason; or "
        "printable HTML with `?format=html`. Amounts in the store currency's minor units. Every "
        "role of the return's store; another store's return is a 404.",
        parameters=[RECEIPT_FORMAT_PARAMETER],
        responses={
            **RECEIPT_RESPONSES,
            400: OpenApiResponse(
                description="`validation_error`: a `format` other than text or html."
            ),
            404: OpenApiResponse(description="No such return in the user's stores."),
        },
    )
    @receipt_action()
    def receipt(self, request: Request, pk: str | None = None) -> HttpResponse:
        return receipt_response(
            request, self.get_object(), text=return_receipt_text, html=return_receipt_html
        )
