"""URLconf of `bench.bare_settings`: one DRF `APIView` answering `{"ok": true}`.

(Apart from the settings module because DRF reads its settings when `rest_framework.views` is
imported, which must not happen while the settings module itself is being imported.)
"""

from __future__ import annotations

from django.urls import path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class OkView(APIView):
    def get(self, request: Request) -> Response:
        return Response({"ok": True})


urlpatterns = [path("bare/", OkView.as_view())]
