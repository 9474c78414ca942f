"""Django's deployment checklist and the HTTP security headers (OWASP API8 Security
Misconfiguration; ASVS V14.4): production settings pass `check --deploy` at WARNING, HTTPS is
enforced behind the proxy except for the orchestrator's plain-HTTP probes, and every page carries
the headers that keep browsers (the admin, Swagger UI, HTML receipts) safe."""

from __future__ import annotations

import json
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

# Production is the default: only the secret and the host name (issue 14, item 8).
PRODUCTION_ENV = {"DJANGO_ALLOWED_HOSTS": "pos.example.com"}

# A plain-HTTP deployment (behind a TLS proxy that does the redirect and HSTS, or a local test)
# turns the HTTPS defaults off explicitly.
PLAIN_HTTP_OPT_OUTS = {
    "DJANGO_SECURE_SSL_REDIRECT": "0",
    "DJANGO_SECURE_HSTS_SECONDS": "0",
    "DJANGO_SESSION_COOKIE_SECURE": "0",
    "DJANGO_CSRF_COOKIE_SECURE": "0",
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


_PRINT_SECURITY_SETTINGS = (
    "import json; from django.conf import settings; print(json.dumps({name: getattr(settings, name)"
    " for name in ('DEBUG', 'SECURE_SSL_REDIRECT', 'SECURE_HSTS_SECONDS',"
    " 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE',"
    " 'SECURE_PROXY_SSL_HEADER')}))"
)


def security_settings(extra_env: dict[str, str]) -> dict[str, object]:
    result = run_manage(
        {"DJANGO_SECRET_KEY": secrets.token_urlsafe(64), **extra_env},
        "shell",
        "--no-imports",
        "-c",
        _PRINT_SECURITY_SETTINGS,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_check_deploy_is_clean_with_only_the_secret_and_the_host_set() -> None:
    result = run_manage(
        {**PRODUCTION_ENV, "DJANGO_SECRET_KEY": secrets.token_urlsafe(64)},
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_check_deploy_fails_when_https_is_turned_off() -> None:
    """The gate has teeth: the same check with the plain-HTTP opt-outs (no redirect, no HSTS, no
    secure cookies) fails."""
    result = run_manage(
        {**PRODUCTION_ENV, **PLAIN_HTTP_OPT_OUTS, "DJANGO_SECRET_KEY": secrets.token_urlsafe(64)},
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert result.returncode != 0
    for check_id in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check_id in result.stderr


@pytest.mark.slow
def test_https_redirect_hsts_and_secure_cookies_are_on_by_default_without_debug() -> None:
    values = security_settings(PRODUCTION_ENV)
    assert values["DEBUG"] is False
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] == 31536000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


@pytest.mark.slow
def test_plain_http_deployment_opts_out_explicitly() -> None:
    values = security_settings({**PRODUCTION_ENV, **PLAIN_HTTP_OPT_OUTS})
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0
    assert values["SESSION_COOKIE_SECURE"] is False
    assert values["CSRF_COOKIE_SECURE"] is False


@pytest.mark.slow
def test_debug_serves_plain_http() -> None:
    values = security_settings({"DJANGO_DEBUG": "true"})
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_HSTS_SECONDS"] == 0
    assert values["SESSION_COOKIE_SECURE"] is False


@pytest.mark.slow
@pytest.mark.parametrize(
    ("header", "expected"),
    [("X-Forwarded-Proto", ["HTTP_X_FORWARDED_PROTO", "https"]), ("", None)],
)
def test_proxy_ssl_header_is_configurable(header: str, expected: object) -> None:
    """The header a TLS-terminating proxy sets (or none: nothing in front strips it, so it must
    not be trusted)."""
    values = security_settings({**PRODUCTION_ENV, "DJANGO_SECURE_PROXY_SSL_HEADER": header})
    assert values["SECURE_PROXY_SSL_HEADER"] == expected


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
