"""API routes of this app, mounted under /api/v1/ by posproject/urls.py."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from ledger.views import AccountViewSet, JournalEntryViewSet, TrialBalanceView

router = SimpleRouter()
router.register("ledger/accounts", AccountViewSet, basename="ledger-account")
router.register("ledger/entries", JournalEntryViewSet, basename="ledger-entry")

urlpatterns = [
    path("ledger/trial-balance/", TrialBalanceView.as_view(), name="ledger-trial-balance"),
    *router.urls,
]
