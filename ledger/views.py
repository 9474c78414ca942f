"""Read-only ledger endpoints for managers (their stores) and admins (every store). There are
no write routes: entries are posted only by the services of their sources."""

from __future__ import annotations

from typing import cast

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, PolymorphicProxySerializer, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.selectors import can_see_store, visible_store_ids
from apitools.pagination import CursorOrPageNumberPagination
from apitools.permissions import STAFF_ROLES
from domain.errors import ObjectNotFound
from ledger import selectors
from ledger.filters import JournalEntryFilter
from ledger.models import Account, JournalEntry
from ledger.serializers import (
    AccountSerializer,
    JournalEntrySerializer,
    TrialBalanceByCurrencySerializer,
    TrialBalanceQuerySerializer,
    TrialBalanceSerializer,
    trial_balance_data,
)


def _user(request: Request) -> User:
    # The permission class has already refused anonymous requests.
    return cast(User, request.user)


@extend_schema(summary="The chart of accounts", tags=["ledger"])
class AccountViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The seeded chart of accounts, by code."""

    allowed_roles = STAFF_ROLES
    serializer_class = AccountSerializer

    def get_queryset(self) -> QuerySet[Account]:
        return selectors.account_list()


@extend_schema(
    summary="Posted journal entries of your stores",
    description=(
        "Oldest first (by id). Lines give the account code and the debit or credit. Entries "
        "are immutable: corrections appear as new `reversal` entries whose `source_id` is the "
        "reversed entry's id."
    ),
    tags=["ledger"],
)
class JournalEntryViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    allowed_roles = STAFF_ROLES
    serializer_class = JournalEntrySerializer
    filterset_class = JournalEntryFilter
    pagination_class = CursorOrPageNumberPagination
    cursor_ordering = ("id",)

    def get_queryset(self) -> QuerySet[JournalEntry]:
        return selectors.journal_entry_list(user=_user(self.request))


class TrialBalanceView(APIView):
    allowed_roles = STAFF_ROLES

    @extend_schema(
        summary="Trial balance of a store (or of your stores, per currency) up to a date",
        description=(
            "Σ debit and Σ credit per account (every account of the chart, by code) over the "
            "entries dated up to `date_to` inclusive; `balance = debit − credit`. Amounts have "
            'the currency\'s ISO 4217 minor units (`"1480"` JPY, `"14.80"` USD).\n\n'
            "With `store`: that store's `{accounts, total_debit, total_credit}`, in its "
            "currency. Without `store`: all your stores (admins: all stores) as "
            '`{currencies: {"USD": {accounts, total_debit, total_credit}, …}}`, one balance '
            "per currency of those stores — amounts of different currencies are never added. "
            "Each balance's totals are always equal. A store you cannot see (or that does not "
            "exist) answers 404."
        ),
        parameters=[TrialBalanceQuerySerializer],
        responses={
            200: PolymorphicProxySerializer(
                component_name="TrialBalanceResponse",
                serializers=[TrialBalanceSerializer, TrialBalanceByCurrencySerializer],
                resource_type_field_name=None,
            ),
            404: OpenApiResponse(description="Not found."),
        },
        tags=["ledger"],
    )
    def get(self, request: Request) -> Response:
        query = TrialBalanceQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        store_id = query.validated_data.get("store")
        date_to = query.validated_data.get("date_to")
        if store_id is None:
            balances = selectors.trial_balances(
                store_ids=visible_store_ids(_user(request)), date_to=date_to
            )
            return Response(TrialBalanceByCurrencySerializer(balances).data)
        if not can_see_store(_user(request), store_id):
            raise ObjectNotFound("No such store.")
        balance = selectors.trial_balance(store_id=store_id, date_to=date_to)
        if balance is None:
            raise ObjectNotFound("No such store.")
        return Response(trial_balance_data(balance))
