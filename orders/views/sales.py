"""Sales API: ring up (`POST /orders/`, exactly-once with `Idempotency-Key`), quote, list,
retrieve and print receipts. Thin: validate the input, call one service, serialize the result."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from accounts.selectors import scope_to_user_stores
from apitools.idempotency import (
    IDEMPOTENCY_ERROR_RESPONSES,
    IDEMPOTENCY_KEY_PARAMETER,
    replayed_header,
)
from apitools.pagination import CursorOrPageNumberPagination
from apitools.permissions import ALL_ROLES
from domain.errors import InvalidInput
from giftcards.exceptions import GiftCardInvalid
from giftcards.throttling import gift_card_code_check, gift_card_code_failure_register
from orders.models import Order
from orders.selectors.sales import order_detail_queryset, order_list, orders_created_between
from orders.serializers.sale_input import parse_sale_input
from orders.serializers.sales import (
    OrderCreateInputSerializer,
    OrderSerializer,
    OrderVoidInputSerializer,
    QuoteInputSerializer,
    QuoteSerializer,
    quote_representation,
    refuse_card_numbers,
)
from orders.services.receipts import receipt_html, receipt_text
from orders.services.sales import order_create, order_quote
from orders.services.voids import order_void
from orders.views.idempotency import idempotent

ORDER_CREATE_ENDPOINT = "orders.create"


def _pays_by_gift_card(data: Any) -> bool:
    payments = data.get("payments") if isinstance(data, dict) else None
    return isinstance(payments, list) and any(
        isinstance(p, dict) and p.get("method") == "gift_card" for p in payments
    )


#: The header that carries a manager's approval token (`POST /api/v1/approvals/`).
APPROVAL_HEADER = "X-Approval"

VOID_DESCRIPTION = """
Void a sale caught at the counter: managers and admins of the order's store (a cashier gets 403
`permission_denied` for now; approvals will let a cashier through). Another store's order is a
404.

* Allowed only while the order's shift is open and nothing of it is refunded; otherwise, and for
  an order already voided → 409 `void_not_allowed`. A voided order cannot be refunded (409
  `refund_exceeds_sold`).
* Everything is reversed exactly, in one transaction: stock (movements with reason `void`, the
  exact negation of the sale's: same products, quantities and unit costs), one journal entry
  mirroring the sale's line by line (debit ↔ credit, source `void`, dated on the store's local
  day of the void), the drawer's expected cash (the shift's cash summary leaves the voided
  order's cash out), the metrics (`pos_voids_total`, `pos_void_amount_total`). Audit event
  `order.voided` (reason, number, total).
* The number stays used and the order stays listed, with `status: "voided"`, `voided_at`,
  `voided_by` and `void_reason`. Daily and shift reports leave it out of their sales figures
  and count it in `voids_count` / `voids_total`.
* `Idempotency-Key` is required: a retry with the same key and body replays the first `200`
  (header `Idempotent-Replayed: true`); the same key with another body or order → 422
  `idempotency_key_reused`.
* A void racing a refund of the same order: exactly one of them wins (the other → 409). A void
  racing the shift's close: either the close counts the void or the void is refused (409).
"""


def local_day_filters(noun: str) -> tuple[filters.DateFilter, filters.DateFilter]:
    """`date_from`, `date_to` of a `LocalDayFilterSet` listing `noun`s."""
    return (
        filters.DateFilter(
            method="filter_noop",
            help_text=f"First local day (YYYY-MM-DD, in each {noun}'s store time zone), inclusive.",
        ),
        filters.DateFilter(
            method="filter_noop",
            help_text=f"Last local day (YYYY-MM-DD, in each {noun}'s store time zone), inclusive.",
        ),
    )


class LocalDayFilterSet(filters.FilterSet):
    # A list of store records filtered by `store` and by local days (`date_from`, `date_to`,
    # declared by the subclass with `local_day_filters`): one rule of what a day is, the order
    # list's (`orders_created_between`), for every such list. (No docstring: the schema would
    # take it.)

    def filter_noop(self, queryset: QuerySet, name: str, value: Any) -> QuerySet:
        return queryset  # both dates are applied together in `filter_queryset`

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        data = self.form.cleaned_data
        return orders_created_between(
            queryset,
            user=self.request.user,
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            store_id=data.get("store"),
        )


class OrderFilter(LocalDayFilterSet):
    store = filters.NumberFilter(field_name="store_id", help_text="Store id.")
    register = filters.NumberFilter(field_name="register_id", help_text="Register id.")
    shift = filters.NumberFilter(field_name="shift_id", help_text="Shift id.")
    cashier = filters.NumberFilter(field_name="cashier_id", help_text="Cashier (user) id.")
    number = filters.CharFilter(field_name="number", help_text="Exact order number (`R1-000042`).")
    date_from, date_to = local_day_filters("order")

    class Meta:
        model = Order
        fields: list[str] = []


def receipt_response(request: Request, obj: Any, *, text: Any, html: Any) -> HttpResponse:
    """A receipt as `?format=text` (default; `txt` too) or `html`, from the two renderers."""
    kind = request.query_params.get("format", "text")
    if kind not in {"text", "txt", "html"}:
        raise InvalidInput(errors={"format": ["Use `text` or `html`."]})
    if kind == "html":
        return HttpResponse(html(obj), content_type="text/html; charset=utf-8")
    return HttpResponse(text(obj), content_type="text/plain; charset=utf-8")


class FirstRendererNegotiation(BaseContentNegotiation):
    """The receipt picks its own format (`?format=html`); `format` must not be read as DRF's
    renderer override, and errors stay problem+json whatever the client accepts."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return next(iter(parsers), None)

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type


#: The `?format=` of every receipt endpoint, and its two answers (schema).
RECEIPT_FORMAT_PARAMETER = OpenApiParameter(
    "format",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    enum=["text", "html"],
    description="`text` (default) or `html`.",
)
RECEIPT_RESPONSES = {
    (200, "text/plain"): OpenApiResponse(OpenApiTypes.STR, description="48 columns."),
    (200, "text/html"): OpenApiResponse(OpenApiTypes.STR, description="Printable."),
}


def receipt_action(**overrides: Any) -> Any:
    """The `receipt` action of a viewset (`GET {id}/receipt/`): answered by `receipt_response`,
    its format chosen by `?format=` alone (`FirstRendererNegotiation`), errors problem+json, not
    paginated. A viewset with a `filterset_class` passes `filterset_class=None` (one receipt
    takes no list filters)."""
    return action(
        detail=True,
        methods=["get"],
        renderer_classes=[JSONRenderer],
        content_negotiation_class=FirstRendererNegotiation,
        pagination_class=None,
        **overrides,
    )


_SALE_EXAMPLE = OpenApiExample(
    "Two lines, order discount, cash and card",
    value={
        "register": 3,
        "lines": [
            {"product": 17, "quantity": "2", "discount": "0.50"},
            {"product": 21, "quantity": "1.250"},
        ],
        "discount": "1.00",
        "payments": [
            {"method": "cash", "amount": "10.00", "tendered": "20.00"},
            {"method": "card", "amount": "4.13", "reference": "AUTH123", "card_last4": "4242"},
        ],
        "client_created_at": "2026-11-21T17:02:11+01:00",
    },
    request_only=True,
)

_PRICING_RULES = (
    "Pricing (half-up to the cent, per line): `gross = round(unit_price × quantity)`; "
    "`amount = gross − line discount` (above gross → 400). The order `discount` is spread: every "
    "line but the largest `amount` (first on ties) gets `round(discount × amount / Σ amount)`, "
    "the largest the rest (should that rest fall below zero or above its amount — only possible "
    "with many tiny shares — single cents move to the lines rounded the most). A line's "
    "`discount` is its own plus its share. Tax-exclusive store: `net = gross − discount`, "
    "`tax = round(net × rate)`, `total = net + tax`; tax-inclusive: `total = gross − discount`, "
    "`tax = round(total − total / (1 + rate))`, `net = total − tax`. Order totals are the sums "
    "of the lines. Prices, names, rates and costs come from the catalog and are snapshotted on "
    "the lines; totals, prices, status and store in the body are ignored."
)


@extend_schema_view(
    list=extend_schema(
        summary="List orders",
        description="Orders of the user's stores, newest first (ties by id). Dates are local "
        "days in each order's store time zone.",
    ),
    retrieve=extend_schema(
        summary="Retrieve an order",
        description="Orders of other stores answer 404.",
    ),
)
class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Sales. Cashiers, managers and admins of the order's (register's) store."""

    allowed_roles = ALL_ROLES
    queryset = Order.objects.none()  # the schema's model; requests use `order_list`
    serializer_class = OrderSerializer
    filterset_class = OrderFilter
    pagination_class = CursorOrPageNumberPagination
    cursor_ordering = ("-id",)

    def get_queryset(self) -> QuerySet[Order]:
        if getattr(self, "swagger_fake_view", False):
            return Order.objects.none()
        queryset = order_list(user=cast(User, self.request.user))
        if self.action == "receipt":
            queryset = queryset.select_related("store", "register", "cashier")
        return queryset

    @extend_schema(
        summary="Ring up a sale (exactly once)",
        description=(
            "Creates the order on the register's open shift in one transaction: gapless number "
            "`<register code>-<6 digits>`, lines with catalog snapshots, payments, stock "
            "movements, one balanced journal entry and an audit event.\n\n"
            + _PRICING_RULES
            + "\n\nPayments: `cash`, `card`, `other`; their amounts must add up to `total` "
            "exactly (400 `validation_error` otherwise). Cash may carry `tendered ≥ amount`; "
            "`change = tendered − amount` and `change_due = Σ change`. A `tendered` above the "
            "configured bound (`CASH_TENDERED_MAX`) → 400 `tendered_out_of_range`; a cash "
            "payment of 0.00 gives no change (400 `change_without_payment`). A card keeps only "
            "`reference` and `card_last4`: any field holding a 13-19 digit run (a full card "
            "number, spaces or dashes allowed) is refused with 400 and never stored, logged or "
            "echoed.\n\nStock: without enough tracked stock (and a store that does not allow "
            "negative stock) → `409 insufficient_stock` with `products: [ids]`, nothing "
            "written. `offline: true` is never refused for stock (the level may go negative "
            "and the movement is flagged).\n\nHeld orders: `held_order` completes one of the "
            "register's store — its lines and discount unless the body gives them, re-priced at "
            "completion; the held order is marked completed in the sale's transaction. One "
            "already completed or deleted → `409 held_order_gone` (also for the loser of two "
            "completions racing), nothing written.\n\nCustomers: `customer` names one (the held "
            "order's when left out with `held_order`); unknown or erased → 400 naming `customer`. "
            "A tax-exempt customer's order has tax 0.00 on every line (in a tax-inclusive store "
            "each line still costs the shelf price, all of it net) and carries the customer's "
            "`tax_exempt_id`.\n\nExchanges: `returns` gives back lines of "
            "earlier orders of the store in the sale's transaction, each earlier order's lines "
            "refunded exactly as a refund would be (a refund with `exchange_order` = this "
            "order, tender `exchange`); `returned_total` is their value and the payments add "
            "up to `total_due = total − returned_total + rounding`; when that is negative the "
            "payments are the cash that goes back, as negative amounts. Same approvals as a "
            "refund (a cashier: `X-Approval` for `refund`, several tokens comma-separated). "
            "More than is left on a line → 409 `refund_exceeds_sold`; not a line of this "
            "store, or offline → 400. An exchange cannot be voided.\n\nIdempotency: see the "
            "`Idempotency-Key` "
            "header. A failed request stores nothing; retrying it with the same key runs afresh."
        ),
        parameters=[IDEMPOTENCY_KEY_PARAMETER, replayed_header(201)],
        request=OrderCreateInputSerializer,
        examples=[_SALE_EXAMPLE],
        responses={
            201: OpenApiResponse(
                OrderSerializer,
                description="The order (also when replayed: then with `Idempotent-Replayed: "
                "true`).",
            ),
            400: OpenApiResponse(
                description="`validation_error` (also for a deactivated register), "
                "`tendered_out_of_range` (cash `tendered` above `CASH_TENDERED_MAX`) or "
                "`change_without_payment` (change on a 0.00 cash payment); `errors` names the "
                "fields."
            ),
            404: OpenApiResponse(
                description="Register not in the user's stores, or `held_order` not in the "
                "register's store."
            ),
            403: OpenApiResponse(
                description="`approval_required`: a cashier's discount over the store's limit, "
                "or a cashier's exchange, without the manager's approval token(s) in "
                "`X-Approval`."
            ),
            409: OpenApiResponse(
                description="`shift_not_open`, `insufficient_stock` (with `products`), "
                "`held_order_gone`, `refund_exceeds_sold` (an exchange returning more than is "
                "left on a line), `insufficient_balance` (a gift card holds less than its "
                "payment), or `idempotency_key_in_use`."
            ),
            422: IDEMPOTENCY_ERROR_RESPONSES[422],
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse | Response:
        refuse_card_numbers(request.data)  # before anything else, the key included
        if not _pays_by_gift_card(request.data):
            return self._sell(request)
        # Gift card codes are throttled like a lookup's: a wrong one counts against the user
        # and the address, and past the limit no code is even looked up.
        gift_card_code_check(request)
        try:
            return self._sell(request)
        except GiftCardInvalid:
            gift_card_code_failure_register(request)
            raise

    @idempotent(ORDER_CREATE_ENDPOINT, status=201)
    def _sell(self, request: Request) -> Any:
        sale = parse_sale_input(request.data)
        order = order_create(
            user=cast(User, request.user),
            register_id=sale.register,
            lines=sale.lines,
            payments=sale.payments,
            discount=sale.discount,
            client_created_at=sale.client_created_at,
            offline=sale.offline,
            approval=request.headers.get(APPROVAL_HEADER),
            held_order_id=sale.held_order,
            returns=sale.returns,
            customer_id=sale.customer,
        )
        return OrderSerializer(order).data

    @extend_schema(
        operation_id="orders_void_create",
        summary="Void a sale (exactly once)",
        description=VOID_DESCRIPTION,
        parameters=[IDEMPOTENCY_KEY_PARAMETER, replayed_header(200)],
        request=OrderVoidInputSerializer,
        responses={
            **IDEMPOTENCY_ERROR_RESPONSES,
            200: OpenApiResponse(
                OrderSerializer,
                description="The voided order (a replay carries `Idempotent-Replayed: true`).",
            ),
            403: OpenApiResponse(
                description="`approval_required`: a cashier without a manager's approval token "
                "for `void` on the order's register (`X-Approval`)."
            ),
            404: OpenApiResponse(description="Not an order of the user's stores."),
            409: OpenApiResponse(
                description="`void_not_allowed` (already voided, refunded in part or in full, "
                "or its shift is closed), `idempotency_key_in_use`."
            ),
        },
    )
    @action(detail=True, methods=["post"], filterset_class=None, pagination_class=None)
    def void(self, request: Request, pk: str | None = None) -> HttpResponse | Response:
        refuse_card_numbers(request.data)  # a reason is free text: never store a card number
        return self._void(request, pk=pk)

    @idempotent("orders.void:{pk}", status=200)
    def _void(self, request: Request, pk: str | None = None) -> Any:
        user = cast(User, request.user)
        order = get_object_or_404(scope_to_user_stores(Order.objects.only("id"), user), pk=pk)
        serializer = OrderVoidInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = order_void(
            order=order,
            reason=serializer.validated_data["reason"],
            user=user,
            approval=request.headers.get(APPROVAL_HEADER),
        )
        return OrderSerializer(order_detail_queryset().get(pk=order.pk)).data

    @extend_schema(
        summary="Price a basket without selling it",
        description="The same body as a sale, without payments; nothing is written and no "
        "Idempotency-Key is needed. The same code prices quotes and sales, so a sale of the "
        "same basket right after has the same lines and totals. No open shift is needed. A "
        "`customer` who is tax exempt gets every line at 0 % tax (and `tax_exempt_id`).\n\n"
        + _PRICING_RULES,
        request=QuoteInputSerializer,
        responses={
            200: QuoteSerializer,
            400: OpenApiResponse(
                description="`validation_error`, also for a deactivated register (as for the sale)."
            ),
            404: OpenApiResponse(description="Register not found."),
        },
    )
    @action(detail=False, methods=["post"])
    def quote(self, request: Request) -> Response:
        refuse_card_numbers(request.data)
        serializer = QuoteInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        quote = order_quote(
            user=cast(User, request.user),
            register_id=serializer.validated_data["register"],
            lines=serializer.line_requests(),
            discount=serializer.validated_data["discount"],
            approval=request.headers.get(APPROVAL_HEADER),
            customer_id=serializer.validated_data["customer"],
        )
        return Response(QuoteSerializer(quote_representation(quote)).data)

    @extend_schema(
        summary="Print the receipt",
        description="Plain text for an 80 mm printer (at most 48 characters per line: store, "
        "register, number, date in the store's time zone, cashier, lines, discounts, tax by "
        "rate, total, tenders, change), or printable HTML with `?format=html`.",
        parameters=[RECEIPT_FORMAT_PARAMETER],
        responses=RECEIPT_RESPONSES,
    )
    @receipt_action(filterset_class=None)
    def receipt(self, request: Request, pk: str | None = None) -> HttpResponse:
        return receipt_response(request, self.get_object(), text=receipt_text, html=receipt_html)
