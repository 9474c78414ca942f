"""Django's deployment checklist and the HTTP security headers (OWASP API8 Security
Misconfiguration; ASVS V14.4): production settings pass `check --deploy` at WARNING, HTTPS is
enforced behind the proxy except for the orchestrator's plain-HTTP probes, and every page carries
the headers that keep browsers (the admin, Swagger UI, HTML receipts) safe."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client, override_settings

from tests.factories import DEFAULT_PASSWORD

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DJANGO_DEBUG": "false",
    "DJANGO_ALLOWED_HOSTS": "pos.example.com",
    "DJANGO_SECURE_SSL_REDIRECT": "true",
    "DJANGO_SECURE_HSTS_SECONDS": "31536000",
    "DJANGO_SECURE_HSTS_PRELOAD": "true",
    "DJANGO_SESSION_COOKIE_SECURE": "true",
    "DJANGO_CSRF_COOKIE_SECURE": "true",
}


def run_manage(extra_env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(extra_env)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
def test_check_deploy_is_clean_with_production_settings() -> None:
    result = run_manage(
        {**PRODUCTION_ENV, "DJANGO_SECRET_KEY": secrets.token_urlsafe(64)},
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_check_deploy_fails_when_production_settings_are_missing() -> None:
    """The gate has teeth: the same check with the defaults (no HSTS, no secure cookies) fails."""
    result = run_manage(
        {"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": secrets.token_urlsafe(64)},
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert result.returncode != 0
    for check_id in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check_id in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    "secret", ["", "django-insecure-local-development-only", "change-me-please"]
)
def test_startup_refuses_missing_or_placeholder_secret_key(secret: str) -> None:
    result = run_manage({**PRODUCTION_ENV, "DJANGO_SECRET_KEY": secret}, "check")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_session_and_cookie_settings_are_strict(settings) -> None:
    # The values the environment cannot weaken.
    assert settings.SESSION_COOKIE_HTTPONLY is True
    assert settings.SESSION_COOKIE_AGE <= 3600 * 8
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    assert settings.X_FRAME_OPTIONS == "DENY"
    assert settings.SECURE_CONTENT_TYPE_NOSNIFF is True
    assert settings.SECURE_REFERRER_POLICY == "same-origin"
    assert settings.SECURE_PROXY_SSL_HEADER == ("HTTP_X_FORWARDED_PROTO", "https")
    assert "csp" in settings.INSTALLED_APPS
    assert "csp.middleware.CSPMiddleware" in settings.MIDDLEWARE


# --- HTTPS behind the proxy ---------------------------------------------------------------------


@pytest.mark.django_db
@override_settings(SECURE_SSL_REDIRECT=True, SECURE_HSTS_SECONDS=31536000)
def test_plain_http_api_requests_are_redirected_to_https() -> None:
    response = Client().get("/api/v1/orders/", HTTP_HOST="testserver")
    assert response.status_code == 301
    assert response["Location"].startswith("https://testserver/api/v1/orders/")
    assert "X-Request-ID" in response


@pytest.mark.django_db
@override_settings(SECURE_SSL_REDIRECT=True, SECURE_HSTS_SECONDS=31536000)
def test_https_via_proxy_header_is_served_with_hsts() -> None:
    response = Client().get("/api/v1/orders/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 401  # served (not redirected); auth is next
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")


@pytest.mark.django_db
@override_settings(SECURE_SSL_REDIRECT=True, SECURE_HSTS_SECONDS=31536000)
@pytest.mark.parametrize("path", ["/health/live", "/health/ready", "/metrics"])
def test_orchestrator_probes_stay_reachable_over_plain_http(path: str) -> None:
    response = Client().get(path, REMOTE_ADDR="127.0.0.1")
    assert response.status_code != 301, f"{path} is redirected to HTTPS"
    assert response.status_code in (200, 503), response.status_code
    assert "Strict-Transport-Security" not in response  # plain HTTP never carries HSTS


# --- Browser-facing headers ---------------------------------------------------------------------


def _csp(response) -> dict[str, list[str]]:
    policy: dict[str, list[str]] = {}
    for directive in response["Content-Security-Policy"].split(";"):
        parts = directive.split()
        if parts:
            policy[parts[0]] = parts[1:]
    return policy


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/admin/login/", "/api/docs/", "/api/v1/orders/"])
def test_security_headers_on_pages_and_api(path: str) -> None:
    response = Client().get(path)
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    policy = _csp(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert "'unsafe-inline'" not in policy["script-src"]
    assert "'unsafe-eval'" not in policy["script-src"]
    assert not any(
        src.startswith(("http:", "https:")) or src == "*" for src in policy["script-src"]
    )


_SCRIPT_TAG = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)


def _assert_no_inline_script(html: str) -> list[str]:
    sources = []
    for attrs, body in _SCRIPT_TAG.findall(html):
        src = re.search(r'src="([^"]+)"', attrs)
        assert src, f"inline <script> would be blocked by the CSP: {body[:200]!r}"
        assert not body.strip()
        sources.append(src.group(1))
    assert not re.search(r"\son[a-z]+=", html, re.I), "inline event handler"
    return sources


@pytest.mark.django_db
def test_swagger_ui_works_under_the_csp() -> None:
    """Swagger UI is served split: its page has no inline script, and every script it loads is a
    same-origin file that is actually served (no CDN)."""
    client = Client()
    page = client.get("/api/docs/")
    assert page.status_code == 200
    sources = _assert_no_inline_script(page.content.decode())
    assert sources
    for src in sources:
        assert src.startswith("/"), src  # same origin
        asset = client.get(src)
        assert asset.status_code == 200, src
        assert "javascript" in asset["Content-Type"], (src, asset["Content-Type"])
    schema = client.get("/api/schema/")
    assert schema.status_code == 200


@pytest.mark.django_db
def test_admin_login_works_under_the_csp(admin_user) -> None:
    client = Client()
    page = client.get("/admin/login/")
    assert page.status_code == 200
    _assert_no_inline_script(page.content.decode())
    # Signing in and opening the index works and sets a short-lived, HttpOnly session cookie.
    assert client.login(username=admin_user.username, password=DEFAULT_PASSWORD)
    index = client.get("/admin/")
    assert index.status_code == 200
    _assert_no_inline_script(index.content.decode())
