"""Test-only URLconf: the real routes plus views that fail on purpose, so the tests can force a
500 (and other errors) through the real middleware and exception handlers with DEBUG off."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apitools.permissions import ALL_ROLES
from posproject.urls import handler400, handler403, handler404, handler500  # noqa: F401
from posproject.urls import urlpatterns as project_urlpatterns

LEAKY_MESSAGE = "SELECT password FROM accounts_user WHERE id = 1 -- {key}"


def _leaky_error() -> RuntimeError:
    """An exception whose text carries SQL and a setting: none of it may reach a response."""
    return RuntimeError(LEAKY_MESSAGE.format(key=settings.SECRET_KEY))


class ApiBoom(APIView):
    """A DRF view (public) that fails with an unexpected exception."""

    authentication_classes: list = []
    permission_classes: list = []

    def get(self, request: Request) -> Response:
        raise _leaky_error()


class ApiBoomAuthenticated(APIView):
    allowed_roles = ALL_ROLES

    def get(self, request: Request) -> Response:
        raise _leaky_error()


class ApiEcho(APIView):
    """A JSON-accepting DRF view, to drive the parsers (malformed JSON, wrong content type)."""

    allowed_roles = ALL_ROLES

    def post(self, request: Request) -> Response:
        return Response({"received": request.data})


class ApiDatabaseBoom(APIView):
    authentication_classes: list = []
    permission_classes: list = []

    def get(self, request: Request) -> Response:
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM table_that_does_not_exist_for_security_tests")
        return Response({})


def django_boom(request: HttpRequest) -> HttpResponse:
    """A plain Django view (outside DRF): handler500 must answer."""
    raise _leaky_error()


urlpatterns = [
    path("api/v1/_test/boom/", ApiBoom.as_view()),
    path("api/v1/_test/boom-auth/", ApiBoomAuthenticated.as_view()),
    path("api/v1/_test/db-boom/", ApiDatabaseBoom.as_view()),
    path("api/v1/_test/echo/", ApiEcho.as_view()),
    path("_test/django-boom/", django_boom),
    *project_urlpatterns,
]
