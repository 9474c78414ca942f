"""`GET /api/v1/sync/changes/` and `GET /api/v1/sync/snapshot/`: what a register needs to
bootstrap (a snapshot of its store at one catalog version) and to stay in sync (every change
after a version, across every type)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.selectors import can_see_store
from apitools.permissions import ALL_ROLES
from domain.errors import ObjectNotFound
from monitoring.metrics import SYNC_SNAPSHOT_SERVES
from sync import selectors
from sync.snapshots import snapshot_etag, snapshot_get

DEFAULT_LIMIT = 500
MAX_LIMIT = 1000

_STORE = OpenApiParameter(
    "store", int, required=True, description="One of the user's stores (another one is `404`)."
)
_NOT_FOUND = OpenApiResponse(description="`not_found`: not one of the user's stores.")

_CHANGES = """
Every change after catalog version `since` that a register of the store needs, in version order
(ties: by type, then id): `product` (as `GET /products/{id}/` shows it to the caller — `cost`
for managers and admins only — with `price` = the store's effective price as of the change),
`tax_rate`, `category`, `modifier_group` (with its modifiers), `price_list` (with its items),
`promotion`, `register` (the store's own) and `store` (its settings). `data` is the object as its
REST endpoint shows it; `deleted: true` (and `data: null`) when it was deleted — or, for a price
list or promotion, when it no longer covers the store.

Send `next_since` as `since` on the next call: it never skips a change that commits later with a
lower version (versions are taken in commit order). `has_more`: call again at once. One SQL
statement per page.
"""

_SNAPSHOT = """
The store's whole register data at one catalog version, as gzip-compressed NDJSON
(`Content-Encoding: gzip`): a first line `{"store": id, "version": V}`, then one line per object
`{"type", "id", "version", "data"}` with the shapes of the change feed (no deleted objects).
Follow the feed from `since=V` afterwards. Built once per store, version and cost visibility, then
served from the cache; `ETag` / `If-None-Match` answer `304` without building anything.
`X-Catalog-Version: V`.
"""


def _user(request: Request) -> User:
    assert isinstance(request.user, User)  # nosec B101 # authenticated by the permission
    return request.user


def _int_param(
    request: Request,
    name: str,
    *,
    required: bool,
    default: int,
    min_value: int | None = None,
    max_value: int | None = None,
) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        if required:
            raise ValidationError({name: ["This field is required."]})
        return default
    try:
        return int(forms.IntegerField(min_value=min_value, max_value=max_value).clean(raw))
    except forms.ValidationError as exc:
        raise ValidationError({name: exc.messages}) from exc


def _store_id(request: Request) -> int:
    store_id = _int_param(request, "store", required=True, default=0, min_value=1)
    if not can_see_store(_user(request), store_id):
        raise ObjectNotFound("No such store.")
    return store_id


def _store(request: Request) -> tuple[int, str, int]:
    """(store id, its currency, the catalog version), one query; `404` unless it is one of the
    user's stores."""
    store_id = _store_id(request)
    found = selectors.store_currency_and_version(store_id)
    if found is None:
        raise ObjectNotFound("No such store.")
    return store_id, *found


def _shows_cost(request: Request) -> bool:
    """Cost is for managers and admins (as `ProductSerializer` decides)."""
    return _user(request).is_manager_or_admin


class SyncChangesView(APIView):
    allowed_roles = ALL_ROLES

    @extend_schema(
        operation_id="sync_changes",
        summary="Register sync: every change after a version",
        description=_CHANGES,
        parameters=[
            _STORE,
            OpenApiParameter("since", int, description="A version (`next_since`); default 0."),
            OpenApiParameter(
                "limit", int, description=f"1…{MAX_LIMIT} changes; default {DEFAULT_LIMIT}."
            ),
        ],
        responses={
            200: inline_serializer(
                "SyncChangePage",
                {
                    "changes": inline_serializer(
                        "SyncChange",
                        {
                            "type": serializers.ChoiceField(choices=selectors.TYPES),
                            "id": serializers.IntegerField(),
                            "version": serializers.IntegerField(),
                            "deleted": serializers.BooleanField(),
                            "data": serializers.JSONField(allow_null=True),
                        },
                        many=True,
                    ),
                    "next_since": serializers.IntegerField(),
                    "has_more": serializers.BooleanField(),
                },
            ),
            404: _NOT_FOUND,
        },
    )
    def get(self, request: Request) -> Response:
        since = _int_param(request, "since", required=False, default=0, min_value=0)
        limit = _int_param(
            request,
            "limit",
            required=False,
            default=DEFAULT_LIMIT,
            min_value=1,
            max_value=MAX_LIMIT,
        )
        store_id = _store_id(request)
        # One transaction: the store's read turns PostgreSQL's JIT off for the page's statement
        # (no savepoint: inside a caller's transaction, its setting simply lasts to its end;
        # nothing in it raises).
        with transaction.atomic(savepoint=False):
            found = selectors.store_currency_and_version(store_id, without_jit=True)
            page = (
                None
                if found is None
                else selectors.change_page(
                    store_id=store_id,
                    since=since,
                    limit=limit,
                    show_cost=_shows_cost(request),
                    places=selectors.store_places(found[0]),
                    at=timezone.now(),
                    current_version=found[1],
                )
            )
        if page is None:
            raise ObjectNotFound("No such store.")
        changes: list[dict[str, Any]] = [
            {
                "type": change.type,
                "id": change.id,
                "version": change.version,
                "deleted": change.deleted,
                "data": change.data,
            }
            for change in page.changes
        ]
        return Response(
            {"changes": changes, "next_since": page.watermark, "has_more": page.has_more}
        )


class SyncSnapshotView(APIView):
    allowed_roles = ALL_ROLES

    @extend_schema(
        operation_id="sync_snapshot",
        summary="Register sync: the store's data at one version (gzip NDJSON)",
        description=_SNAPSHOT,
        parameters=[
            _STORE,
            OpenApiParameter(
                "If-None-Match", str, OpenApiParameter.HEADER, description="A previous `ETag`."
            ),
        ],
        responses={
            (200, "application/x-ndjson"): OpenApiResponse(
                OpenApiTypes.BINARY, description="gzip NDJSON (`Content-Encoding: gzip`)."
            ),
            304: OpenApiResponse(description="Not modified: the `ETag` still holds."),
            404: _NOT_FOUND,
        },
    )
    def get(self, request: Request) -> HttpResponse:
        store_id, currency, version = _store(request)
        show_cost = _shows_cost(request)
        etag = snapshot_etag(store_id, version, show_cost)
        if etag in _etags(request.headers.get("If-None-Match", "")):
            SYNC_SNAPSHOT_SERVES.labels(result="not_modified").inc()
            response = HttpResponse(status=304)
            response["ETag"] = etag
            response["X-Catalog-Version"] = str(version)
            return response
        snapshot, built = snapshot_get(
            store_id=store_id, currency=currency, version=version, show_cost=show_cost
        )
        SYNC_SNAPSHOT_SERVES.labels(result="miss" if built else "hit").inc()
        response = HttpResponse(snapshot.body, content_type="application/x-ndjson")
        response["Content-Encoding"] = "gzip"
        response["ETag"] = snapshot.etag
        response["X-Catalog-Version"] = str(snapshot.version)
        response["Cache-Control"] = "private, no-cache"
        return response


def _etags(header: str) -> set[str]:
    return {part.strip().removeprefix("W/") for part in header.split(",") if part.strip()}
