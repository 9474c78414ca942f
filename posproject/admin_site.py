"""The project's Django admin site: Django's own, with the sign-in and the own-password change
under the API's rules (`accounts.admin_auth`: login throttle and audit). Installed in place of
`django.contrib.admin` by `posproject.apps.AdminConfig` (INSTALLED_APPS), so `admin.site` is
this site."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.urls import reverse

from accounts.admin_auth import ThrottledAdminLoginForm, ThrottledPasswordChangeView, login_response


class AdminSite(admin.AdminSite):
    login_form = ThrottledAdminLoginForm

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
