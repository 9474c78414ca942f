"""`POST /api/v1/approvals/`: a manager's approval of one cashier action on one register."""

from __future__ import annotations

from typing import cast

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import throttling
from accounts.models import User
from apitools.permissions import ALL_ROLES
from domain.errors import Forbidden
from orders.models import ApprovalAction
from orders.services.approvals import approval_grant


class ApprovalRequestSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150, help_text="The approving manager.")
    pin = serializers.CharField(max_length=8, write_only=True, help_text="Their 4–8 digit PIN.")
    action = serializers.ChoiceField(choices=ApprovalAction.choices)
    register = serializers.IntegerField(min_value=1, max_value=2**63 - 1)


class ApprovalSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send it as `X-Approval` with the one request.")
    approved_by = serializers.IntegerField()
    action = serializers.CharField()
    expires_at = serializers.DateTimeField()


class ApprovalView(APIView):
    allowed_roles = ALL_ROLES

    @extend_schema(
        operation_id="approvals_create",
        summary="A manager approves one action of a cashier on a register",
        description=(
            "A manager or admin of the register's store types their username and PIN "
            "(`POST /api/v1/auth/pin/`). The token is good for one request of that action on "
            "that register, within 120 s, sent as the `X-Approval` header: a cashier's sale or "
            "quote whose discounts exceed the store's `cashier_max_discount_percent`, a void, "
            "a refund or a return (when the store does not let cashiers refund). Its audit event "
            "names `approved_by`. Wrong PINs count as failed logins of that username (`429`)."
        ),
        request=ApprovalRequestSerializer,
        responses={
            201: ApprovalSerializer,
            403: OpenApiResponse(
                description="Wrong PIN, or a user who may not approve there (`permission_denied`)."
            ),
            404: OpenApiResponse(description="Register not in your stores."),
            429: OpenApiResponse(description="Too many wrong PINs for this username."),
        },
        tags=["orders"],
    )
    def post(self, request: Request) -> Response:
        data = ApprovalRequestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        username = data.validated_data["username"]
        throttling.login_attempt_check(request, username)
        try:
            granted = approval_grant(
                requester=cast(User, request.user),
                username=username,
                pin=data.validated_data["pin"],
                action=data.validated_data["action"],
                register_id=data.validated_data["register"],
            )
        except Forbidden:
            throttling.login_failure_register(request, username)
            raise
        approval = granted.approval
        body = {
            "token": granted.token,
            "approved_by": approval.approved_by_id,
            "action": approval.action,
            "expires_at": approval.expires_at,
        }
        return Response(ApprovalSerializer(body).data, status=status.HTTP_201_CREATED)
