"""API routes of register sync, mounted under /api/v1/ by posproject/urls.py."""

from django.urls import path

from sync.views import SyncChangesView, SyncSnapshotView

urlpatterns = [
    path("sync/changes/", SyncChangesView.as_view(), name="sync-changes"),
    path("sync/snapshot/", SyncSnapshotView.as_view(), name="sync-snapshot"),
]
