"""Batch upload of a register's sales: `POST /api/v1/sync/sales/` (API.md, Version 1.1,
"Register flows").

A register that was offline sends what it rang up in one request: `{register, sales:
[{idempotency_key, order}]}`, up to 500. Each sale is exactly a `POST /api/v1/orders/` with that
`Idempotency-Key` — the same endpoint name, so a sale sent alone and then again in a batch is
made once — in its own transaction, with the same stock, ledger and audit rules. One sale's
refusal never stops the others; the answer lists every sale's outcome in the order given. A
batch sent again creates nothing: its sales replay their stored answers (a refused sale stored
nothing and is simply tried again, as a single sale would be).
"""

from __future__ import annotations

from typing import Any, cast

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from apitools.errors import problem_exception_handler
from apitools.idempotency import run_idempotent
from apitools.permissions import ALL_ROLES
from audit.services import audit_at_end
from domain.errors import InvalidInput
from orders.serializers.sale_input import parse_sale_input
from orders.serializers.sales import (
    OrderCreateInputSerializer,
    OrderSerializer,
    refuse_card_numbers,
)
from orders.services.sales import order_create
from orders.views.idempotency import IDEMPOTENCY_KEYS
from orders.views.sales import ORDER_CREATE_ENDPOINT

#: The most sales one batch may carry.
MAX_BATCH = 500


class SyncSaleSerializer(serializers.Serializer):
    idempotency_key = serializers.CharField(
        max_length=255, help_text="The sale's own Idempotency-Key (as for `POST /orders/`)."
    )
    order = OrderCreateInputSerializer(
        help_text="The body of `POST /api/v1/orders/`; `register` defaults to the batch's."
    )


class SyncSalesInputSerializer(serializers.Serializer):
    register = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    sales = serializers.ListField(child=serializers.DictField(), min_length=1, max_length=MAX_BATCH)


class SyncSalesView(APIView):
    allowed_roles = ALL_ROLES

    @extend_schema(
        operation_id="sync_sales",
        summary="Upload a batch of a register's sales (each exactly once)",
        description=(
            f"Up to {MAX_BATCH} sales, each `{{idempotency_key, order}}` where `order` is the body "
            "of `POST /api/v1/orders/` (its `register` defaults to the batch's and must be it). "
            "Each sale runs as that endpoint with that Idempotency-Key, in its own transaction; "
            "one sale's refusal never stops the others. `200` with one result per sale, in the "
            "order given: `{idempotency_key, status: 201, order}` or `{idempotency_key, status, "
            "problem}` (the problem+json body the single sale would have answered). The same batch "
            "sent again creates nothing: stored sales replay."
        ),
        request=inline_serializer(
            "SyncSalesRequest",
            fields={
                "register": serializers.IntegerField(),
                "sales": SyncSaleSerializer(many=True),
            },
        ),
        responses={
            200: inline_serializer(
                "SyncSalesResponse",
                fields={
                    "results": inline_serializer(
                        "SyncSaleResult",
                        fields={
                            "idempotency_key": serializers.CharField(),
                            "status": serializers.IntegerField(),
                            "order": OrderSerializer(required=False),
                            "problem": serializers.DictField(required=False),
                        },
                        many=True,
                    )
                },
            ),
            400: OpenApiResponse(description="`validation_error`: not a batch (or over 500)."),
        },
        tags=["orders"],
    )
    def post(self, request: Request) -> Response:
        batch = SyncSalesInputSerializer(data=request.data)
        batch.is_valid(raise_exception=True)
        register = batch.validated_data["register"]
        user = cast(User, request.user)
        results = [
            _sync_one(request, user=user, register=register, item=item)
            for item in batch.validated_data["sales"]
        ]
        return Response({"results": results})


def _sync_one(request: Request, *, user: User, register: int, item: dict[str, Any]) -> Any:
    """One sale of the batch, as `POST /orders/` with its key; its outcome, never an exception."""
    key = item.get("idempotency_key")
    try:
        body = item.get("order")
        if not isinstance(body, dict):
            raise InvalidInput(errors={"order": ["The order body is required."]})
        refuse_card_numbers(body)  # before anything else, as for one sale's body
        body = {"register": register, **body}
        if body["register"] != register:
            raise InvalidInput(errors={"order.register": ["Not the batch's register."]})

        def sell() -> tuple[int, Any]:
            sale = parse_sale_input(body)
            order = order_create(
                user=user,
                register_id=sale.register,
                lines=sale.lines,
                payments=sale.payments,
                discount=sale.discount,
                client_created_at=sale.client_created_at,
                offline=sale.offline,
                held_order_id=sale.held_order,
                returns=sale.returns,
                customer_id=sale.customer,
            )
            return 201, OrderSerializer(order).data

        outcome = run_idempotent(
            store=IDEMPOTENCY_KEYS,
            user=user,
            key=key if isinstance(key, str) else None,
            endpoint=ORDER_CREATE_ENDPOINT,
            payload=body,
            action=sell,
            around=audit_at_end,
        )
    except Exception as exc:
        answer = problem_exception_handler(exc, {"request": request, "view": None})
        if answer is None:  # the handler answers every exception; never reached
            raise
        return {"idempotency_key": key, "status": answer.status_code, "problem": answer.data}
    return {"idempotency_key": key, "status": outcome.status, "order": outcome.body}
