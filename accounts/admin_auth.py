"""The Django admin's sign-in and own-password change, under the API's rules: the login throttle
of `POST /api/v1/auth/token/` (the same counters, so a username locked on one is locked on the
other) and the same audit events. Wired into the admin site in `posproject/admin_site.py`."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.views import PasswordChangeView
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from accounts import services, throttling
from accounts.exceptions import InvalidCredentials
from accounts.models import User
from domain.errors import Throttled

_THROTTLED = "Too many login attempts. Try again later."


class ThrottledAdminLoginForm(AdminAuthenticationForm):
    """Counts the attempt against the client address, refuses a locked username before the
    password is checked, counts a failure against the username, and audits the outcome."""

    error_messages = {**AdminAuthenticationForm.error_messages, "throttled": _THROTTLED}

    def __init__(self, request: HttpRequest | None = None, *args: Any, **kwargs: Any) -> None:
        super().__init__(request, *args, **kwargs)
        self.retry_after: int | None = None

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is None or not password:
            return self.cleaned_data  # the field errors say what is missing
        assert self.request is not None  # the admin's LoginView always passes it
        try:
            throttling.login_attempt_check(self.request, username)
        except Throttled as exc:
            self.retry_after = exc.retry_after
            raise ValidationError(self.error_messages["throttled"], code="throttled") from exc
        try:
            self.user_cache = services.auth_admin_login(
                request=self.request, username=username, password=password
            )
        except InvalidCredentials as exc:
            throttling.login_failure_register(self.request, username)
            raise self.get_invalid_login_error() from exc
        return self.cleaned_data


def login_response(response: HttpResponse) -> HttpResponse:
    """A refused (throttled) sign-in answers `429` with `Retry-After`, as the API does; the page
    is still the login form with its error."""
    if not isinstance(response, TemplateResponse):
        return response  # signed in: the redirect
    form = (response.context_data or {}).get("form")
    if (
        isinstance(form, ThrottledAdminLoginForm)
        and form.retry_after is not None
        and form.has_error(NON_FIELD_ERRORS, "throttled")
    ):
        response.status_code = 429
        response["Retry-After"] = str(form.retry_after)
    return response


class ThrottledPasswordChangeForm(PasswordChangeForm):
    """The signed-in user's own password change: a wrong old password counts as a failed login
    (a hijacked admin session must not become a password-guessing oracle), and the new one is
    set through `user_set_password` (validated, audited, every token revoked)."""

    error_messages = {**PasswordChangeForm.error_messages, "throttled": _THROTTLED}

    def __init__(self, user: User, *args: Any, request: HttpRequest, **kwargs: Any) -> None:
        super().__init__(user, *args, **kwargs)
        self.request = request

    def clean_old_password(self) -> str:
        try:
            throttling.username_failures_check(self.request, self.user.username)
        except Throttled as exc:
            raise ValidationError(self.error_messages["throttled"], code="throttled") from exc
        try:
            return str(super().clean_old_password())
        except ValidationError:
            throttling.login_failure_register(self.request, self.user.username)
            raise

    def save(self, commit: bool = True) -> User:
        services.user_set_password(
            actor=self.user, user=self.user, password=self.cleaned_data["new_password1"]
        )
        return self.user


class ThrottledPasswordChangeView(PasswordChangeView):
    form_class = ThrottledPasswordChangeForm

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "request": self.request}
