"""A CSRF failure answers problem+json like every other error (issue 14, item 7): a POST without a
token to the operational endpoints is `403 csrf_failed`, not Django's HTML page. The admin, where
a person reads the answer, keeps Django's explanatory page."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/health/live", "/health/ready", "/metrics"])
def test_csrf_failure_on_operational_endpoints_is_problem_json(path: str) -> None:
    response = Client(enforce_csrf_checks=True).post(path, REMOTE_ADDR="127.0.0.1")

    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "csrf_failed"
    assert body["status"] == 403
    assert body["type"].endswith("/csrf_failed")
    assert body["request_id"] == response["X-Request-ID"]
    assert "CSRF" in body["detail"]


def test_csrf_failure_on_the_detailed_health_is_no_html_either() -> None:
    response = Client(enforce_csrf_checks=True).post("/health/detailed")
    assert response["Content-Type"] == "application/problem+json"


def test_a_get_needs_no_token() -> None:
    response = Client(enforce_csrf_checks=True).get("/health/live")
    assert response.status_code == 200


def test_the_admin_keeps_djangos_page_for_people() -> None:
    response = Client(enforce_csrf_checks=True).post(
        "/admin/login/", {"username": "x", "password": "y"}
    )
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
    assert b"CSRF" in response.content
