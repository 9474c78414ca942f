"""Operational endpoints, mounted at the site root (no /api/v1/ prefix)."""

from django.urls import path

from monitoring import views

app_name = "monitoring"

urlpatterns = [
    path("health/live", views.live, name="health-live"),
    path("health/ready", views.ready, name="health-ready"),
    path("health/detailed", views.DetailedHealthView.as_view(), name="health-detailed"),
    path("metrics", views.metrics, name="metrics"),
]
