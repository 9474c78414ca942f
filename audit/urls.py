"""API routes of this app, mounted under /api/v1/ by posproject/urls.py."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from audit.views import AuditEventViewSet, AuditVerifyView

router = SimpleRouter()
router.register("audit/events", AuditEventViewSet, basename="audit-event")

urlpatterns = [
    path("audit/verify/", AuditVerifyView.as_view(), name="audit-verify"),
    *router.urls,
]
