"""`{"count", "next", "previous", "results"}` pages: `?page_size=` up to 200 (more is clamped;
not a whole number ≥ 1 → `400 validation_error`). The lists that grow without bound also take
`?cursor=` (`CursorOrPageNumberPagination`): keyset pages, `{"next", "previous", "results"}`."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured
from rest_framework import pagination
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from domain.errors import InvalidInput


class PageNumberPagination(pagination.PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None or raw == "":
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            # Junk is a client bug worth hearing about (as Stripe answers `limit=abc`), and the
            # schema says "integer ≥ 1": Schemathesis holds us to it.
            raise ValidationError({self.page_size_query_param: ["A whole number, 1 or more."]})
        return min(size, self.max_page_size)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] in (self.page_query_param, self.page_size_query_param):
                parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = (
                    f"Results per page: default {self.page_size}, more than "
                    f"{self.max_page_size} is clamped to {self.max_page_size}."
                )
        return parameters


class InvalidCursor(InvalidInput):
    code = "invalid_cursor"
    default_detail = "The cursor is not one this list gave out."


class CursorWithPage(InvalidInput):
    code = "cursor_with_page"
    default_detail = "Send either `cursor` or `page`, not both."


_BIGINT_MAX = 2**63 - 1


class KeysetPagination(pagination.CursorPagination):
    """DRF's cursor pagination (a keyset: `WHERE id < %s ORDER BY id DESC LIMIT n + 1`, no count
    and no offset), on a unique key only, with our page size and our errors.

    The key must be unique (ties would make DRF fall back on an offset within the tie): the views
    give `cursor_ordering = ("-id",)` or `("id",)`. A cursor that does not decode, whose position
    is not a key, or that carries an offset (DRF's tie-breaker, never given out on a unique key:
    an edited one would skip up to 1000 rows) is a client bug: `400 invalid_cursor` (DRF answers
    404)."""

    page_size = PageNumberPagination.page_size
    page_size_query_param = PageNumberPagination.page_size_query_param
    max_page_size = PageNumberPagination.max_page_size

    def __init__(self, ordering: tuple[str, ...]) -> None:
        if len(ordering) != 1 or ordering[0].lstrip("-") != "id":
            raise ImproperlyConfigured("Keyset pages run on one unique key: ('id',) or ('-id',).")
        self.key_ordering = ordering
        self.ordering = ordering

    def get_page_size(self, request: Request) -> int:
        return PageNumberPagination.get_page_size(self, request)  # type: ignore[arg-type]

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> tuple[str, ...]:
        return self.key_ordering  # never the view's filters: one fixed order per list

    def decode_cursor(self, request: Request) -> pagination.Cursor | None:
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise InvalidCursor() from None
        if cursor is not None and cursor.offset != 0:
            raise InvalidCursor()
        if cursor is not None and cursor.position is not None:
            try:
                position = int(cursor.position)
            except ValueError:
                raise InvalidCursor() from None
            if not 0 <= position <= _BIGINT_MAX:
                raise InvalidCursor()
        return cursor


class CursorOrPageNumberPagination(PageNumberPagination):
    """Page numbers by default (`{count, next, previous, results}`); keyset pages when the query
    string has `cursor` (`?cursor=` empty is the first page): `{next, previous, results}`, no
    count, the same cost at any depth. For the lists that grow without bound (orders, refunds,
    journal entries, audit events, stock movements).

    Keyset pages follow the view's `cursor_ordering` (its id order), whatever the page-number
    order; filters apply alike. `page` with `cursor` → `400 cursor_with_page`."""

    cursor_query_param = "cursor"

    def __init__(self) -> None:
        self.keyset: KeysetPagination | None = None

    def paginate_queryset(
        self, queryset: Any, request: Request, view: Any = None
    ) -> list[Any] | None:
        if self.cursor_query_param not in request.query_params:
            return super().paginate_queryset(queryset, request, view)
        if self.page_query_param in request.query_params:
            raise CursorWithPage()
        self.keyset = KeysetPagination(tuple(view.cursor_ordering))
        return self.keyset.paginate_queryset(queryset, request, view)

    def get_paginated_response(self, data: Any) -> Response:
        if self.keyset is not None:
            return self.keyset.get_paginated_response(data)
        return super().get_paginated_response(data)

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        by_page = super().get_paginated_response_schema(schema)
        by_cursor = KeysetPagination(("-id",)).get_paginated_response_schema(schema)
        by_cursor["additionalProperties"] = False
        by_cursor["description"] = "A keyset page (with `cursor`): no `count`."
        by_page["description"] = "A page by number (the default)."
        return {"oneOf": [by_page, by_cursor]}

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [
            *super().get_schema_operation_parameters(view),
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Keyset pages: send it empty for the first page, then follow "
                "`next` / `previous`. The answer has no `count`, and costs the same at any "
                f"depth. Ordered by `{', '.join(view.cursor_ordering)}`. Not with `page` "
                "(400 `cursor_with_page`); a cursor not given out by this list → 400 "
                "`invalid_cursor`.",
                "schema": {"type": "string"},
            },
        ]
