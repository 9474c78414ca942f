"""Thin views: validate input, call one service, serialize the result.

Cashiers read the catalog; managers and admins write it. Stock is store-scoped: a user sees and
adjusts only their stores' stock (another store's → empty list / 404).
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

from accounts.models import Store, User
from accounts.selectors import can_see_store, visible_store_ids
from apitools.pagination import CursorOrPageNumberPagination
from apitools.permissions import ALL_ROLES, STAFF_ROLES
from catalog import cache, selectors, services
from catalog.filters import (
    ProductFilter,
    StockAdjustmentFilter,
    StockLevelFilter,
    StockMovementFilter,
)
from catalog.models import ADJUSTMENT_REASONS, Category, ModifierGroup, Product, TaxRate
from catalog.scale_barcodes import scale_barcode_parse
from catalog.serializers import (
    CategorySerializer,
    ModifierGroupSerializer,
    ProductSerializer,
    StockAdjustmentInputSerializer,
    StockLevelSerializer,
    StockMovementSerializer,
    TaxRateSerializer,
    can_see_cost,
)
from domain.errors import ObjectNotFound
from pricebook.selectors import effective_price_expression

CATALOG_VERSION_HEADER = "X-Catalog-Version"
#: Serialized products, as the barcode lookup caches them.
Rows = list[dict[str, Any]]
READ_ALL_WRITE_STAFF = {"list": ALL_ROLES, "retrieve": ALL_ROLES, "*": STAFF_ROLES}
_IN_USE = OpenApiResponse(description="Still referenced (`*_in_use`): deactivate or detach first.")


class CachedListMixin:
    """Serve a small, fully cached list (categories, tax rates) and paginate it in memory."""

    cache_group: str

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = cache.cached(
            self.cache_group,
            "all",
            lambda: self.get_serializer(self.get_queryset(), many=True).data,  # type: ignore[attr-defined]
        )
        page = self.paginate_queryset(list(data))  # type: ignore[attr-defined]
        return self.get_paginated_response(page)  # type: ignore[attr-defined]


@extend_schema_view(
    destroy=extend_schema(responses={204: None, 409: _IN_USE}),
)
class TaxRateViewSet(CachedListMixin, viewsets.ModelViewSet):
    """Tax rates (`rate` in per cent, `"8.250"` = 8.25 %). Cashiers read; managers write."""

    serializer_class = TaxRateSerializer
    allowed_roles = READ_ALL_WRITE_STAFF
    cache_group = cache.TAX_RATES

    def get_queryset(self) -> QuerySet[TaxRate]:
        return selectors.tax_rate_list()

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.tax_rate_create(
            user=_user(self.request), **serializer.validated_data
        )

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = services.tax_rate_update(
            tax_rate=serializer.instance, user=_user(self.request), **serializer.validated_data
        )

    def perform_destroy(self, instance: TaxRate) -> None:
        services.tax_rate_delete(tax_rate=instance, user=_user(self.request))


@extend_schema_view(
    destroy=extend_schema(responses={204: None, 409: _IN_USE}),
)
class CategoryViewSet(CachedListMixin, viewsets.ModelViewSet):
    """The category tree (`parent` is another category's id, or null). A move that would make
    a category its own ancestor is refused with `400`."""

    serializer_class = CategorySerializer
    allowed_roles = READ_ALL_WRITE_STAFF
    cache_group = cache.CATEGORIES

    def get_queryset(self) -> QuerySet[Category]:
        return selectors.category_list()

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.category_create(
            user=_user(self.request), **serializer.validated_data
        )

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = services.category_update(
            category=serializer.instance, user=_user(self.request), **serializer.validated_data
        )

    def perform_destroy(self, instance: Category) -> None:
        services.category_delete(category=instance, user=_user(self.request))


_SYNC_DESCRIPTION = (
    "Delta sync: with `since_version=N` the response holds the products changed after catalog "
    "version N (deactivated ones too), ordered by `version`, at most `page_size` of them, and "
    "the header `X-Catalog-Version` holds the watermark to send as `since_version` next time. "
    "`next` is then that same call (keyset paging; `page` is ignored), `previous` is null, and "
    "`count` is the number of products changed after N. A register that always syncs from the "
    "last watermark never misses a change, also when two changes commit in the other order "
    "than they started."
)


_SCALE_DESCRIPTION = (
    " A `barcode` of 13 digits that matches the store's `scale_barcode_layout` (`store`, "
    "optional for a user of one store; another store's id is `404`) is a scale label: it finds "
    "the product whose `scale_code` is the label's item code, and each result also carries "
    "`embedded_price` (money in the store's currency) or `embedded_quantity` (kg, three "
    "decimals); a wrong check digit is `400`."
)


@extend_schema_view(
    list=extend_schema(
        description=(
            "Products by id, filtered by `barcode` (exact), `search` (name or sku contains), "
            "`category`, `is_active`, `variant_of`, `is_template`. "
            + _SYNC_DESCRIPTION
            + _SCALE_DESCRIPTION
            + " `cost` is omitted for cashiers."
        ),
        parameters=[
            OpenApiParameter(
                "since_version",
                OpenApiTypes.INT,
                description="Delta sync from this catalog version (see above).",
            ),
            OpenApiParameter(
                CATALOG_VERSION_HEADER,
                OpenApiTypes.INT,
                location=OpenApiParameter.HEADER,
                response=[200],
                description="With `since_version`: the watermark to send as `since_version` "
                "on the next sync.",
            ),
        ],
        responses={
            200: OpenApiResponse(
                response=ProductSerializer(many=True),
                description="A page of products; with `since_version`, header "
                "`X-Catalog-Version` carries the watermark.",
            )
        },
    ),
    destroy=extend_schema(
        description="Deletes a product that was never sold nor moved. A product with sales or "
        "stock movements is refused with `409 product_in_use`: deactivate it "
        '(`PATCH {"is_active": false}`) instead.',
        responses={204: None, 409: _IN_USE},
    ),
)
class ProductViewSet(viewsets.ModelViewSet):
    serializer_class = ProductSerializer
    filterset_class = ProductFilter
    allowed_roles = {**READ_ALL_WRITE_STAFF, "variants": ALL_ROLES}

    def get_queryset(self) -> QuerySet[Product]:
        return selectors.product_list()

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        params = request.query_params
        # A NUL byte cannot reach PostgreSQL (500): such a barcode takes the filter path (400).
        if (
            "barcode" in params
            and "\x00" not in params["barcode"]
            and set(params) <= {"barcode", "page_size", "store"}
        ):
            return self._barcode_lookup(request, params["barcode"], *_lookup_store(request))
        if "since_version" in params:
            return self._sync(request)
        return super().list(request, *args, **kwargs)

    def _barcode_lookup(
        self, request: Request, barcode: str, store_id: int | None, store_named: bool
    ) -> Response:
        """The scan path: served from the cache (no database query on a hit). The entry is
        per store when a store reads the barcode (named, or the user's only store): a barcode
        that may be a scale label is read with that store's layout."""
        found = cache.cached(
            cache.BARCODE,
            cache.barcode_entry_name(barcode, store_id),
            lambda: self._lookup_rows_in(barcode, store_id, store_named=store_named),
        )
        if found is None:
            raise ObjectNotFound()  # no such store (an admin's `?store=`)
        results: Rows = found
        if not can_see_cost(self.get_serializer_context()):
            results = [{k: v for k, v in row.items() if k != "cost"} for row in results]
        return Response(
            {"count": len(results), "next": None, "previous": None, "results": list(results)}
        )

    def _lookup_rows(self, store_id: int | None, **lookup: Any) -> Rows:
        """The products found, each at its price in the store when a store reads the barcode
        (a price list's, else its own)."""
        products = self.get_queryset().filter(**lookup)
        if store_id is not None:
            products = products.annotate(
                store_price=effective_price_expression(store_id=store_id, at=timezone.now())
            )
        found = list(products)
        for product in found:
            product.price = getattr(product, "store_price", product.price)
        return list(ProductSerializer(found, many=True, context={"include_cost": True}).data)

    def _lookup_rows_in(
        self, barcode: str, store_id: int | None, *, store_named: bool
    ) -> Rows | None:
        """The rows a scan finds (`None`: the named store does not exist). The store is read
        only when it matters (a named one, or a barcode that may be a scale label); only what
        may change the rows (products, the store's layout and currency) invalidates them."""
        if store_id is None or not (store_named or _may_be_scale_label(barcode)):
            return self._lookup_rows(store_id, barcode=barcode)
        store = Store.objects.filter(pk=store_id).values("scale_barcode_layout", "currency").first()
        if store is None:
            return None
        label = scale_barcode_parse(
            barcode, store["scale_barcode_layout"], currency=store["currency"]
        )
        if label is None:
            return self._lookup_rows(store_id, barcode=barcode)
        rows = self._lookup_rows(store_id, scale_code=label.item_code)
        if label.price is not None:
            embedded = {"embedded_price": f"{label.price:f}"}
        else:
            embedded = {"embedded_quantity": f"{label.quantity:f}"}
        return [{**row, **embedded} for row in rows]

    @extend_schema(
        description="The variants of a template product, by id (paginated like the list).",
        responses={200: ProductSerializer(many=True)},
        filters=False,
    )
    @action(detail=True, methods=["get"])
    def variants(self, request: Request, pk: str | None = None) -> Response:
        template = self.get_object()
        page = self.paginate_queryset(selectors.product_variant_list(template=template))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def _sync(self, request: Request) -> Response:
        since_version = _since_version(request)
        queryset = self.filter_queryset(self.get_queryset())
        limit = self.paginator.get_page_size(request)  # type: ignore[union-attr]
        store_id, named = _lookup_store(request)
        page = selectors.product_sync_page(
            queryset=queryset,
            since_version=since_version,
            limit=limit,
            price=effective_price_expression(store_id=store_id, at=timezone.now())
            if named and store_id is not None
            else None,
        )
        next_url = None
        if page.has_more:
            url = remove_query_param(request.build_absolute_uri(), "page")
            next_url = replace_query_param(url, "since_version", page.watermark)
        body = {
            "count": page.count,
            "next": next_url,
            "previous": None,
            "results": self.get_serializer(page.products, many=True).data,
        }
        return Response(body, headers={CATALOG_VERSION_HEADER: str(page.watermark)})

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.product_create(
            user=_user(self.request), **serializer.validated_data
        )

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = services.product_update(
            product=serializer.instance, user=_user(self.request), **serializer.validated_data
        )

    def perform_destroy(self, instance: Product) -> None:
        services.product_delete(product=instance, user=_user(self.request))


def _user(request: Request) -> User:
    """The authenticated user (the permission class has already refused anyone else)."""
    return cast(User, request.user)


def _lookup_store(request: Request) -> tuple[int | None, bool]:
    """The store a barcode is scanned in and whether the request named it: `?store=` (one of
    the user's, else `404`), or the user's only store. No database query: the user's store ids
    come with authentication."""
    raw = request.query_params.get("store")
    if raw is None:
        ids = visible_store_ids(_user(request))
        return (ids[0] if ids is not None and len(ids) == 1 else None), False
    try:
        store_id = forms.IntegerField(min_value=1).clean(raw)
    except forms.ValidationError as exc:
        raise ValidationError({"store": exc.messages}) from exc
    if not can_see_store(_user(request), store_id):
        raise ObjectNotFound()
    return int(store_id), True


def _may_be_scale_label(barcode: str) -> bool:
    return len(barcode) == 13 and barcode.isdigit() and barcode.startswith("2")


def _since_version(request: Request) -> int:
    try:
        return forms.IntegerField(min_value=0).clean(request.query_params["since_version"])
    except forms.ValidationError as exc:
        raise ValidationError({"since_version": exc.messages}) from exc


@extend_schema_view(
    list=extend_schema(
        description="Stock levels `{store, product, quantity, updated_at}` of tracked products "
        "in the caller's stores (`?store=` of another store gives an empty list)."
    )
)
class StockLevelViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = StockLevelSerializer
    filterset_class = StockLevelFilter
    allowed_roles = {"list": ALL_ROLES}

    def get_queryset(self) -> QuerySet:
        return selectors.stock_level_list(user=_user(self.request))  # type: ignore[arg-type]


@extend_schema_view(
    list=extend_schema(
        description="Every stock movement (sale, refund, receive, count, damage, correction) "
        "in the caller's stores, newest first."
    )
)
class StockMovementViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = StockMovementSerializer
    filterset_class = StockMovementFilter
    pagination_class = CursorOrPageNumberPagination
    cursor_ordering = ("-id",)
    allowed_roles = {"list": STAFF_ROLES}

    def get_queryset(self) -> QuerySet:
        return selectors.stock_movement_list(user=_user(self.request))  # type: ignore[arg-type]


@extend_schema_view(
    list=extend_schema(
        description="The manual adjustments (receive, count, damage, correction) in the "
        "caller's stores, newest first."
    ),
    create=extend_schema(
        request=StockAdjustmentInputSerializer,
        responses={
            201: StockMovementSerializer,
            404: OpenApiResponse(description="The store is not one of the caller's."),
            409: OpenApiResponse(
                description="`insufficient_stock`: the decrease would take stock below zero "
                "in a store that does not allow negative stock (`products` lists the id)."
            ),
        },
        description="Adjust one product's stock in one of the caller's stores by a signed "
        "`quantity_delta`. Writes the stock movement, its journal entry at cost and an audit "
        "event in one transaction.",
    ),
)
class StockAdjustmentViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, viewsets.GenericViewSet
):
    serializer_class = StockMovementSerializer
    filterset_class = StockAdjustmentFilter
    pagination_class = CursorOrPageNumberPagination
    cursor_ordering = ("-id",)
    allowed_roles = STAFF_ROLES

    def get_queryset(self) -> QuerySet:
        return selectors.stock_movement_list(user=_user(self.request)).filter(  # type: ignore[arg-type]
            reason__in=[r.value for r in ADJUSTMENT_REASONS]
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = StockAdjustmentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        store_id = data.validated_data["store"]
        store = Store.objects.filter(pk=store_id).first()
        if store is None or not can_see_store(_user(request), store_id):
            raise ObjectNotFound()
        movement = services.stock_adjust(
            store=store,
            product=data.validated_data["product"],
            quantity_delta=data.validated_data["quantity_delta"],
            reason=data.validated_data["reason"],
            note=data.validated_data["note"],
            user=_user(request),
        )
        return Response(StockMovementSerializer(movement).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    list=extend_schema(
        description="Modifier groups by id, each with its modifiers (inactive ones too)."
    ),
    create=extend_schema(
        description="A group and its modifiers (`modifiers` without ids). `min_choices` ≤ "
        "`max_choices`, `max_choices` ≥ 1."
    ),
    update=extend_schema(
        description="`modifiers` is the group's whole list: those with an `id` (of this group) "
        "are updated, those without one created, the others deactivated (never deleted)."
    ),
    partial_update=extend_schema(
        description="As `PUT`; without `modifiers` the group's modifiers stay as they are."
    ),
    destroy=extend_schema(
        description="Deletes a group no product uses; else `409 modifier_group_in_use`.",
        responses={204: None, 409: _IN_USE},
    ),
)
class ModifierGroupViewSet(viewsets.ModelViewSet):
    """Modifier groups (choices a sale line of a product makes, within `min_choices` and
    `max_choices`). Cashiers read; managers write."""

    serializer_class = ModifierGroupSerializer
    allowed_roles = READ_ALL_WRITE_STAFF

    def get_queryset(self) -> QuerySet[ModifierGroup]:
        return selectors.modifier_group_list()

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.modifier_group_create(
            user=_user(self.request), **serializer.validated_data
        )

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = services.modifier_group_update(
            group=serializer.instance, user=_user(self.request), **serializer.validated_data
        )

    def perform_destroy(self, instance: ModifierGroup) -> None:
        services.modifier_group_delete(group=instance, user=_user(self.request))
