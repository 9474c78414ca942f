"""The project's Django admin site: Django's own, with the sign-in and the own-password change
under the API's rules (`accounts.admin_auth`: login throttle and audit). Installed in place of
`django.contrib.admin` by `posproject.apps.AdminConfig` (INSTALLED_APPS), so `admin.site` is
this site."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponseBadRequest, QueryDict
from django.http.response import HttpResponseBase
from django.urls import reverse

from accounts.admin_auth import ThrottledAdminLoginForm, ThrottledPasswordChangeView, login_response

#: Date-hierarchy parts (`<field>__year` …) and the values a calendar can hold.
_DATE_PARTS = {"__year": (1, 9999), "__month": (1, 12), "__day": (1, 31)}


def unusable_query(query: QueryDict) -> str | None:
    """Why a query string cannot reach the changelists' filters, or None. Django's own
    checks turn most bad filter values into its `?e=1` redirect, but not these two, which
    reach the database or the calendar and fail there (a 500): a NUL character (PostgreSQL text
    cannot hold one) and a date-hierarchy part past what a date can hold (`?created_at__year=
    99999999999` overflows). Found by tests/security/test_extreme_query_values.py."""
    for key, values in query.lists():
        if "\x00" in key or any("\x00" in value for value in values):
            return "A query parameter holds a NUL character."
        for suffix, (low, high) in _DATE_PARTS.items():
            if not key.endswith(suffix):
                continue
            for value in values:
                try:
                    number = int(value)
                except ValueError:
                    continue  # not a number: Django's own check refuses it
                if not low <= number <= high:
                    return f"{key} must be between {low} and {high}."
    return None


class AdminSite(admin.AdminSite):
    login_form = ThrottledAdminLoginForm

    def admin_view(  # type: ignore[override]  # same contract, typed loosely
        self, view: Callable[..., Any], cacheable: bool = False
    ) -> Callable[..., Any]:
        """Every admin page (the site's, each model admin's and the dashboard's) refuses a
        query string its filters cannot use with 400, before any of it runs."""
        inner = super().admin_view(view, cacheable)

        @functools.wraps(inner)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            problem = unusable_query(request.GET)
            if problem is not None:
                return HttpResponseBadRequest(problem, content_type="text/plain; charset=utf-8")
            return inner(request, *args, **kwargs)

        return guarded

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        return login_response(super().login(request, extra_context))

    def password_change(  # type: ignore[override]
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponseBase:
        # Django's own, with the throttled and audited form (its form class is not a setting).
        request.current_app = self.name
        options: dict[str, Any] = {
            "success_url": reverse("admin:password_change_done", current_app=self.name),
            "extra_context": {**self.each_context(request), **(extra_context or {})},
        }
        if self.password_change_template is not None:
            options["template_name"] = self.password_change_template
        return ThrottledPasswordChangeView.as_view(**options)(request)
