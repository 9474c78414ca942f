"""Gift cards over HTTP: issue (`POST /gift-cards/`, exactly once per `Idempotency-Key`), list,
retrieve and look a code up (`GET /gift-cards/lookup/?code=`, throttled)."""

from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import User
from accounts.selectors import visible_store_ids
from apitools.idempotency import IDEMPOTENCY_ERROR_RESPONSES, IDEMPOTENCY_KEY_PARAMETER
from apitools.permissions import ALL_ROLES
from giftcards.codes import SEALED_CODE, code_seal, code_unseal
from giftcards.exceptions import GiftCardInvalid
from giftcards.models import GiftCard
from giftcards.redemption import gift_card_find, is_usable
from giftcards.selectors import gift_card_list
from giftcards.serializers import (
    GiftCardIssuedSerializer,
    GiftCardIssueSerializer,
    GiftCardLookupSerializer,
    GiftCardSerializer,
)
from giftcards.services import IssuePayment, gift_card_issue
from giftcards.throttling import gift_card_code_check, gift_card_code_failure_register
from orders.serializers.sales import refuse_card_numbers
from orders.views.idempotency import idempotent

ISSUE_DESCRIPTION = """
Sell a gift card on a register's open shift (cashiers, managers and admins of its store). Not a
sale: no order, no tax. Its tenders (`cash`, `card`, `other`; they add up to `amount`, else 400)
are posted Dr the tenders / Cr **2300 Gift cards outstanding**; its cash goes into the shift's
drawer (counted in the shift's expected cash). Audit event `gift_card.issued` (last four
characters only).

* The answer carries the full `code` (16 letters, no digits): **shown here only**, and in this
  request's idempotent replay to the same user. The server keeps its SHA-256 and `last4`; the
  stored replay holds the code encrypted with a key derived from the server's secret key.
* The card expires `GIFT_CARD_VALIDITY_DAYS` days after issue (default 3 years; `0`: never).
* It is spent only in the store that issued it, in its currency.
* Errors: no open shift → 409 `shift_not_open`; another store's or unknown register → 404.
* `Idempotency-Key` is required.
"""

LOOKUP_DESCRIPTION = """
A gift card's balance from its code (case, spaces and dashes do not matter). Any role of the
card's store. Unknown, expired or another store's card → 400 `gift_card_invalid` (one answer for
all). Failed codes — here and in sales — are throttled per user and per client address
(`GIFT_CARD_CODE_RATE_PER_USER`, default 10 per 5 minutes; `GIFT_CARD_CODE_RATE_PER_IP`, 30 per 5
minutes): past either, every code answers 429 `throttled` with `Retry-After`.
"""


@extend_schema_view(
    list=extend_schema(
        summary="List gift cards",
        description="Gift cards of the user's stores, newest first; `last4` only, never the code.",
    ),
    retrieve=extend_schema(
        summary="Retrieve a gift card",
        description="`last4` only, never the code. Another store's card is a 404.",
    ),
)
class GiftCardViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    allowed_roles = ALL_ROLES
    queryset = GiftCard.objects.none()
    serializer_class = GiftCardSerializer

    def get_queryset(self) -> QuerySet[GiftCard]:
        if getattr(self, "swagger_fake_view", False):
            return GiftCard.objects.none()
        return gift_card_list(user=cast(User, self.request.user))

    @extend_schema(
        operation_id="gift_cards_create",
        summary="Issue a gift card (exactly once)",
        description=ISSUE_DESCRIPTION,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        request=GiftCardIssueSerializer,
        responses={
            **IDEMPOTENCY_ERROR_RESPONSES,
            201: OpenApiResponse(
                GiftCardIssuedSerializer,
                description="The card, with its full `code` (a replay carries "
                "`Idempotent-Replayed: true`).",
            ),
            400: OpenApiResponse(
                description="`validation_error`: a malformed body, tenders that do not add up, "
                "an inactive register."
            ),
            404: OpenApiResponse(description="No such register in the user's stores."),
            409: OpenApiResponse(description="`shift_not_open`, `idempotency_key_in_use`."),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponse | Response:
        refuse_card_numbers(request.data)
        return _unsealed(self._issue(request))

    @idempotent("giftcards.issue", status=201)
    def _issue(self, request: Request) -> Any:
        serializer = GiftCardIssueSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        issued = gift_card_issue(
            user=cast(User, request.user),
            register_id=data["register"],
            amount=data["amount"],
            payments=[
                IssuePayment(
                    method=row["method"],
                    amount=row["amount"],
                    reference=row["reference"],
                    card_last4=row["card_last4"],
                )
                for row in data["payments"]
            ],
        )
        card = issued.card
        card.code = code_seal(issued.code)  # type: ignore[attr-defined]
        return GiftCardIssuedSerializer(card).data

    @extend_schema(
        operation_id="gift_cards_lookup",
        summary="Look a gift card up by its code (throttled)",
        description=LOOKUP_DESCRIPTION,
        parameters=[
            OpenApiParameter(
                "code",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                required=True,
                description="The card's code.",
            )
        ],
        responses={
            200: GiftCardLookupSerializer,
            400: OpenApiResponse(description="`gift_card_invalid`."),
            429: OpenApiResponse(description="`throttled`: too many failed codes."),
        },
    )
    @action(
        detail=False, methods=["get"], url_path="lookup", pagination_class=None, filter_backends=[]
    )
    def lookup(self, request: Request) -> Response:
        gift_card_code_check(request)
        card = gift_card_find(code=str(request.query_params.get("code", "")))
        visible = visible_store_ids(cast(User, request.user))
        if (
            card is None
            or (visible is not None and card.store_id not in visible)
            or not is_usable(
                card, store_id=card.store_id, currency=card.currency, now=timezone.now()
            )
        ):
            gift_card_code_failure_register(request)
            raise GiftCardInvalid(errors={"code": [GiftCardInvalid.default_detail]})
        return Response(GiftCardLookupSerializer(card).data)


def _unsealed(response: HttpResponse | Response) -> HttpResponse | Response:
    """The issuing answer with its sealed code opened (see `giftcards.codes`): the stored
    answer keeps it sealed, the client gets it in the clear, first time and replay alike."""
    if isinstance(response, Response):
        data = response.data
        if isinstance(data, dict) and isinstance(data.get("code"), str):
            data["code"] = code_unseal(data["code"]) or data["code"]
        return response
    if response.status_code == 201:
        text = response.content.decode()
        response.content = SEALED_CODE.sub(lambda m: code_unseal(m.group(0)) or "", text).encode()
    return response
