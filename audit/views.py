"""Read-only audit endpoints. Managers read the events of their stores; admins read every
event (including those outside any store) and may verify the hash chains. No write routes:
events are appended only by the services whose actions they record."""

from __future__ import annotations

from typing import cast

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from accounts.selectors import visible_store_ids
from apitools.pagination import CursorOrPageNumberPagination
from apitools.permissions import ADMIN_ONLY, STAFF_ROLES
from audit.filters import AuditEventFilter
from audit.models import AuditEvent
from audit.selectors import audit_event_list
from audit.serializers import AuditEventSerializer, AuditVerificationSerializer
from audit.verification import audit_verify


@extend_schema(
    summary="Audit events",
    description=(
        "Append order (by id), oldest first. Managers see the events of their stores; admins "
        "see every event, including those outside any store (logins, user administration). "
        "`hash` is SHA-256 over the previous event's hash in the same chain (one chain per "
        "store; outside any store one per user and 64 username shards for failed logins) and "
        "a canonical JSON of the event."
    ),
    tags=["audit"],
)
class AuditEventViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    allowed_roles = STAFF_ROLES
    serializer_class = AuditEventSerializer
    filterset_class = AuditEventFilter
    pagination_class = CursorOrPageNumberPagination
    cursor_ordering = ("id",)

    def get_queryset(self) -> QuerySet[AuditEvent]:
        return audit_event_list(store_ids=visible_store_ids(cast(User, self.request.user)))


class AuditVerifyView(APIView):
    allowed_roles = ADMIN_ONLY

    @extend_schema(
        summary="Verify the audit hash chains",
        description=(
            "Walks every chain and recomputes every hash. `first_broken_id` is the smallest id "
            "found broken: an edited event, the first event after a removed one, or the last "
            "id a chain recorded when events were removed from its end."
        ),
        responses={200: AuditVerificationSerializer},
        tags=["audit"],
    )
    def get(self, request: Request) -> Response:
        result = audit_verify()
        return Response(
            {
                "ok": result.ok,
                "events_checked": result.events_checked,
                "first_broken_id": result.first_broken_id,
            }
        )
