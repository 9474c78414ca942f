"""The HTTP side of `orders.services.idempotency`: the response carrying `Idempotent-Replayed`,
and the OpenAPI pieces every idempotent POST documents (sales and refunds alike)."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from orders.services.idempotency import IDEMPOTENCY_HEADER, REPLAYED_HEADER, IdempotentOutcome

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name=IDEMPOTENCY_HEADER,
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=True,
    description=(
        "1-255 printable ASCII characters, unique per attempt of one operation (a UUID v4 is a "
        "good choice), scoped to the user and kept at least 72 hours. Retrying with the same "
        "key and the same body returns the original status and body with "
        "`Idempotent-Replayed: true` and creates nothing. The same key with a different body → "
        "`422 idempotency_key_reused`; while the first request is still running the retry waits "
        "for it and replays, or after a few seconds answers `409 idempotency_key_in_use` (retry "
        "later with the same key). A request that failed (any 4xx/5xx) stores nothing: after "
        "fixing the cause, retrying with the same key runs afresh. Missing or malformed → 400."
    ),
)


def replayed_header(*status_codes: int) -> OpenApiParameter:
    """The `Idempotent-Replayed` response header, documented on the given success codes."""
    return OpenApiParameter(
        name=REPLAYED_HEADER,
        type=OpenApiTypes.STR,
        location=OpenApiParameter.HEADER,
        enum=["true"],
        response=list(status_codes),
        description="`true` when this response replays the first response to the same "
        "Idempotency-Key (nothing was created this time); absent otherwise.",
    )


IDEMPOTENCY_ERROR_RESPONSES: dict[int, OpenApiResponse] = {
    409: OpenApiResponse(
        description="`idempotency_key_in_use`: the first request with this key is still running "
        "(retry later with the same key); or another state conflict of the operation."
    ),
    422: OpenApiResponse(
        description="`idempotency_key_reused`: this key was used with a different body."
    ),
}


def idempotent_response(outcome: IdempotentOutcome) -> HttpResponse:
    """The stored JSON text itself (the first answer and every replay are the same bytes; DRF's
    renderer would only parse and write it again). Content negotiation has already refused any
    client that does not accept JSON."""
    response = HttpResponse(
        outcome.body_text, status=outcome.status, content_type="application/json"
    )
    if outcome.replayed:
        response[REPLAYED_HEADER] = "true"
    return response
