"""`/api/v1/customers/`: thin views — validate the input, call one service, serialize the result.

Cashiers, managers and admins list, search, read and create customers; managers and admins
change them and erase them (`DELETE`). Customers are merchant-wide (`customers.models`): every
user with a role sees the same list, whatever their stores.
"""

from __future__ import annotations

from typing import Any, cast

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import viewsets

from accounts.models import User
from apitools.permissions import ALL_ROLES, STAFF_ROLES
from customers import selectors, services
from customers.filters import CustomerFilter
from customers.models import Customer
from customers.serializers import CustomerSerializer

_ERASED = OpenApiResponse(description="`customer_erased`: an erased customer never changes.")

ERASE_DESCRIPTION = """
Erase the person (right to erasure), keeping the row so that the sales, held orders and returns
naming the customer keep their history: `name` becomes `"Erased customer"`, `email`, `phone` and
`tax_exempt_id` are emptied, `tax_exempt` is lifted, the `code` is replaced by a new random one
and `erased_at` is set. Each tax-exempt order keeps its own `tax_exempt_id` (the merchant's tax
record). The customer leaves the list and search; `GET {id}` still reads it; a sale naming it
→ `400`; changing it → `409 customer_erased`. Erasing an erased customer changes nothing (`204`).
While the customer has store credit or loyalty points → `409 customer_has_balance`.
"""


@extend_schema_view(
    list=extend_schema(
        summary="List and search customers",
        description="Customers not erased, by name (ties by id). `?search=` finds a text in "
        "the name, code or email (case-insensitive) or the digits of a phone number; `?code=` "
        "is an exact code, any case.",
    ),
    retrieve=extend_schema(
        summary="Read a customer", description="Erased customers too (see `erased_at`)."
    ),
    create=extend_schema(
        summary="Create a customer",
        description="Every role. `code` is generated when left out; a code already taken → "
        "`400` naming `code`. `tax_exempt` needs `tax_exempt_id`.",
    ),
    update=extend_schema(
        summary="Replace a customer (manager+)", responses={200: CustomerSerializer, 409: _ERASED}
    ),
    partial_update=extend_schema(
        summary="Change a customer (manager+)", responses={200: CustomerSerializer, 409: _ERASED}
    ),
    destroy=extend_schema(
        summary="Erase a customer (manager+)",
        description=ERASE_DESCRIPTION,
        responses={
            204: None,
            409: OpenApiResponse(
                description="`customer_has_balance`: store credit or points left."
            ),
        },
    ),
)
class CustomerViewSet(viewsets.ModelViewSet):
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter
    queryset = Customer.objects.none()  # the schema's model; requests use the selectors
    allowed_roles = {
        "list": ALL_ROLES,
        "retrieve": ALL_ROLES,
        "create": ALL_ROLES,
        "*": STAFF_ROLES,
    }
    lookup_value_regex = r"[0-9]{1,18}"  # an id: anything else is a 404, never a database error

    def get_queryset(self) -> QuerySet[Customer]:
        if getattr(self, "swagger_fake_view", False):
            return Customer.objects.none()
        if self.action == "list":
            return selectors.customer_list()
        return Customer.objects.all()  # by id: erased ones too

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.customer_create(
            user=_user(self.request), **serializer.validated_data
        )

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = services.customer_update(
            customer=serializer.instance, user=_user(self.request), **serializer.validated_data
        )

    def perform_destroy(self, instance: Customer) -> None:
        services.customer_erase(customer=instance, user=_user(self.request))


def _user(request: Any) -> User:
    """The authenticated user (the permission class has already refused anyone else)."""
    return cast(User, request.user)
