"""Thin views: validate input, call one service, serialize the result."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import services, throttling
from accounts.exceptions import InvalidCredentials
from accounts.models import Register, Store, User
from accounts.selectors import register_list, store_list, user_list
from accounts.serializers import (
    LogoutSerializer,
    MeSerializer,
    PasswordChangeSerializer,
    PinSetSerializer,
    RegisterSerializer,
    StoreSerializer,
    TokenObtainSerializer,
    TokenPairSerializer,
    TokenRefreshSerializer,
    UserCreateSerializer,
    UserSerializer,
)
from apitools.permissions import ADMIN_ONLY, ALL_ROLES, STAFF_ROLES
from domain.errors import InvalidInput

# --- Auth ---------------------------------------------------------------------------------------


class TokenObtainView(APIView):
    # Public: no bearer token is read (a stale one must not get in the way of signing in).

    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(
        operation_id="auth_token_create",
        request=TokenObtainSerializer,
        responses={
            200: TokenPairSerializer,
            401: OpenApiResponse(
                description="Wrong username or password (`authentication_failed`)."
            ),
            429: OpenApiResponse(
                description=(
                    "Too many failed logins for this username, or too many attempts from this "
                    "client address (`throttled`); `Retry-After` gives the cool-off in seconds. "
                    "When the rate-limit cache is down, logins are not throttled."
                )
            ),
        },
        auth=[],
        summary="Sign in: username and password for an access and a refresh token",
        description=(
            "Public (a bearer token, if sent, is ignored). Returns an access token (15 minutes) "
            "and a refresh token (30 days, rotated on each use). Failed logins are counted per "
            "username (`LOGIN_RATE_PER_USERNAME`, default 5 per 5 minutes) and attempts per "
            "client address (`LOGIN_RATE_PER_IP`, default 60 per 5 minutes); over either limit "
            "the answer is `429` with `Retry-After` until the window ends, whatever the "
            "password. If the rate-limit cache is unreachable, logins are not throttled."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = TokenObtainSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        username: str = serializer.validated_data["username"]
        throttling.login_attempt_check(request, username)
        try:
            pair = services.auth_login(
                username=username, password=serializer.validated_data["password"]
            )
        except InvalidCredentials:
            throttling.login_failure_register(request, username)
            raise
        return Response(pair.as_dict())


class TokenRefreshView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)

    @extend_schema(
        operation_id="auth_token_refresh_create",
        request=TokenRefreshSerializer,
        responses={
            200: TokenPairSerializer,
            401: OpenApiResponse(
                description=(
                    "Refresh token invalid, expired, already rotated or logged out, or issued "
                    "before a password change or deactivation (`token_not_valid`). When one "
                    "refresh token is sent several times at once, exactly one call succeeds."
                )
            ),
        },
        auth=[],
        summary="Rotate a refresh token for a new access and refresh token",
        description=(
            "Public. The refresh token sent is revoked and a new pair is returned; using the old "
            "one again is `401`. Tokens issued before a password change or a deactivation are "
            "refused."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = TokenRefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        pair = services.auth_refresh(refresh=serializer.validated_data["refresh"])
        return Response(pair.as_dict())


class LogoutView(APIView):
    allowed_roles = ALL_ROLES

    @extend_schema(
        request=LogoutSerializer,
        responses={
            204: OpenApiResponse(
                description=(
                    "The refresh token is revoked (also when it already was, or has expired). "
                    "Access tokens already issued stay valid until they expire."
                )
            ),
            400: OpenApiResponse(
                description="Not a valid refresh token of the signed-in user (`validation_error`)."
            ),
        },
        summary="Sign out: revoke a refresh token",
    )
    def post(self, request: Request) -> Response:
        serializer = LogoutSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.auth_logout(
            user=request.user,  # type: ignore[arg-type]
            refresh=serializer.validated_data["refresh"],
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(APIView):
    allowed_roles = ALL_ROLES

    @extend_schema(responses={200: MeSerializer}, summary="The signed-in user")
    def get(self, request: Request) -> Response:
        return Response(MeSerializer(request.user).data)


class PinView(APIView):
    allowed_roles = ALL_ROLES

    @extend_schema(
        request=PinSetSerializer,
        responses={
            204: OpenApiResponse(description="PIN set (stored hashed, never returned)."),
            400: OpenApiResponse(description="Wrong `password`, or `pin` not 4–8 digits."),
            429: OpenApiResponse(description="Too many wrong passwords for this user."),
        },
        summary="Set the signed-in user's approval PIN",
        description="The PIN a manager types at a register to approve a cashier's discount, "
        "void, refund or return (`POST /api/v1/approvals/`). The password is required; wrong "
        "passwords count as failed logins.",
    )
    def post(self, request: Request) -> Response:
        serializer = PinSetSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user: User = request.user  # type: ignore[assignment]
        throttling.username_failures_check(request, user.username)
        try:
            services.user_set_own_pin(
                user=user,
                password=serializer.validated_data["password"],
                pin=serializer.validated_data["pin"],
            )
        except InvalidInput as exc:
            if exc.errors and "password" in exc.errors:
                throttling.login_failure_register(request, user.username)
            raise
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeView(APIView):
    allowed_roles = ALL_ROLES

    @extend_schema(
        request=PasswordChangeSerializer,
        responses={
            204: OpenApiResponse(
                description=(
                    "Password changed. Every access and refresh token issued before, this one "
                    "included, is now refused with 401: sign in again."
                )
            ),
            400: OpenApiResponse(
                description=(
                    "Wrong `old_password`, or `new_password` refused by the password validators "
                    "(`validation_error`)."
                )
            ),
            429: OpenApiResponse(
                description="Too many wrong passwords for this user (`throttled`)."
            ),
        },
        summary="Change the signed-in user's password",
    )
    def post(self, request: Request) -> Response:
        serializer = PasswordChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user: User = request.user  # type: ignore[assignment]
        # Wrong old passwords count as failed logins: a stolen access token must not become a
        # password-guessing oracle.
        throttling.username_failures_check(request, user.username)
        try:
            services.user_change_own_password(
                user=user,
                old_password=serializer.validated_data["old_password"],
                new_password=serializer.validated_data["new_password"],
            )
        except InvalidInput as exc:
            if exc.errors and "old_password" in exc.errors:
                throttling.login_failure_register(request, user.username)
            raise
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Users --------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(
        summary="Users (admins: all; managers: the cashiers of their stores)",
    ),
    retrieve=extend_schema(summary="A user (managers: cashiers of their stores; others 404)"),
    create=extend_schema(
        request=UserCreateSerializer,
        responses={201: UserSerializer},
        summary="Create a user",
        description=(
            "Admins create any role. Managers create cashiers of their own stores only: another "
            "role, or a store that is not theirs, is `403`; without `stores` the cashier gets all "
            "of the manager's stores; `is_active` is ignored (created active)."
        ),
    ),
    update=extend_schema(
        summary="Replace a user (admin)",
        description="Nobody changes their own `role`, `stores` or `is_active` (`403`). A new "
        "`password` or `is_active: false` revokes every token of the user.",
    ),
    partial_update=extend_schema(
        summary="Change a user (admin)",
        description="Nobody changes their own `role`, `stores` or `is_active` (`403`). A new "
        "`password` or `is_active: false` revokes every token of the user.",
    ),
    destroy=extend_schema(
        summary="Deactivate a user (admin)",
        description="Users are never deleted (orders and the audit trail name them): the user "
        "is deactivated and every token they hold is revoked.",
        responses={204: None},
    ),
)
class UserViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = UserSerializer
    allowed_roles = {
        "list": STAFF_ROLES,
        "retrieve": STAFF_ROLES,
        "create": STAFF_ROLES,
        "update": ADMIN_ONLY,
        "partial_update": ADMIN_ONLY,
        "destroy": ADMIN_ONLY,
    }

    def get_queryset(self) -> QuerySet[User]:
        return user_list(user=self.request.user)  # type: ignore[arg-type]

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = UserCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        user = services.user_create(actor=request.user, **serializer.validated_data)  # type: ignore[arg-type]
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        partial = kwargs.pop("partial", False)
        instance = self.get_object()
        serializer = self.get_serializer(instance, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        user = services.user_update(
            actor=request.user,  # type: ignore[arg-type]
            user=instance,
            **serializer.validated_data,
        )
        return Response(UserSerializer(user).data)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        kwargs["partial"] = True
        return self.update(request, *args, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.user_deactivate(actor=request.user, user=self.get_object())  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Stores and registers -----------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(summary="Stores (admins: all; others: their own)"),
    retrieve=extend_schema(summary="A store (another store is 404)"),
    create=extend_schema(summary="Create a store (admin)"),
    update=extend_schema(summary="Replace a store (admin)"),
    partial_update=extend_schema(summary="Change a store (admin)"),
)
class StoreViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = StoreSerializer
    allowed_roles = {
        "list": ALL_ROLES,
        "retrieve": ALL_ROLES,
        "create": ADMIN_ONLY,
        "update": ADMIN_ONLY,
        "partial_update": ADMIN_ONLY,
    }

    def get_queryset(self) -> QuerySet[Store]:
        return store_list(user=self.request.user)  # type: ignore[arg-type]

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.store_create(
            actor=self.request.user,  # type: ignore[arg-type]
            **serializer.validated_data,
        )

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = services.store_update(
            actor=self.request.user,  # type: ignore[arg-type]
            store=serializer.instance,
            **serializer.validated_data,
        )


@extend_schema_view(
    list=extend_schema(summary="Registers of the caller's stores"),
    retrieve=extend_schema(summary="A register (another store's is 404)"),
    create=extend_schema(
        summary="Create a register (admin; managers in their stores)",
        description="`store` must be one of the caller's stores (`400` otherwise).",
    ),
    update=extend_schema(
        summary="Replace a register (admin; managers in their stores)",
        description="`store` is ignored: a register never moves to another store.",
    ),
    partial_update=extend_schema(
        summary="Change a register (admin; managers in their stores)",
        description="`store` is ignored: a register never moves to another store.",
    ),
)
class RegisterViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = RegisterSerializer
    filterset_fields = ("store", "is_active")
    allowed_roles = {
        "list": ALL_ROLES,
        "retrieve": ALL_ROLES,
        "create": STAFF_ROLES,
        "update": STAFF_ROLES,
        "partial_update": STAFF_ROLES,
    }

    def get_queryset(self) -> QuerySet[Register]:
        return register_list(user=self.request.user)  # type: ignore[arg-type]

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.register_create(
            actor=self.request.user,  # type: ignore[arg-type]
            **serializer.validated_data,
        )

    def perform_update(self, serializer: Any) -> None:
        data = dict(serializer.validated_data)
        data.pop("store", None)
        serializer.instance = services.register_update(
            actor=self.request.user,  # type: ignore[arg-type]
            register=serializer.instance,
            **data,
        )
