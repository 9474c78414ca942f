"""Project-wide guarantees: migrations match the models, errors are problem+json, request ids."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_every_model_change_has_its_migration() -> None:
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out, stderr=out)
    except SystemExit as exc:  # makemigrations --check exits 1 when a migration is missing
        pytest.fail(f"missing migration:\n{out.getvalue()}", pytrace=exc.code is None)


def test_unknown_path_is_problem_json(client) -> None:
    response = client.get("/api/v1/definitely-not-here/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "not_found"
    assert body["status"] == 404
    assert body["request_id"] == response["X-Request-ID"]


def test_sane_request_id_is_echoed_and_insane_one_replaced(client) -> None:
    echoed = client.get("/api/v1/nothing/", HTTP_X_REQUEST_ID="reg-7.abc_123")
    assert echoed["X-Request-ID"] == "reg-7.abc_123"
    replaced = client.get("/api/v1/nothing/", HTTP_X_REQUEST_ID="bad id <script>")
    assert replaced["X-Request-ID"] != "bad id <script>"
    assert len(replaced["X-Request-ID"]) == 32


def test_oversized_body_is_413(client, settings) -> None:
    settings.API_MAX_BODY_BYTES = 100
    response = client.post("/api/v1/orders/", data="x" * 200, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


def _ip_of(rf, settings, *, remote: str, forwarded: str | None, trusted: list[str]) -> str | None:
    from apitools.middleware import client_ip

    settings.TRUSTED_PROXY_CIDRS = trusted
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return client_ip(rf.get("/", **extra))


def test_client_ip_ignores_forwarded_for_without_trusted_proxies(rf, settings) -> None:
    assert _ip_of(rf, settings, remote="203.0.113.9", forwarded="1.2.3.4", trusted=[]) == (
        "203.0.113.9"
    )


def test_client_ip_ignores_forwarded_for_from_an_untrusted_peer(rf, settings) -> None:
    ip = _ip_of(rf, settings, remote="203.0.113.9", forwarded="1.2.3.4", trusted=["10.0.0.0/8"])
    assert ip == "203.0.113.9"


def test_client_ip_takes_the_first_untrusted_hop_from_the_right(rf, settings) -> None:
    # The client claims 6.6.6.6; the balancer appended the real address 198.51.100.7.
    ip = _ip_of(
        rf,
        settings,
        remote="10.0.0.5",
        forwarded="6.6.6.6, 198.51.100.7, 10.0.0.4",
        trusted=["10.0.0.0/8"],
    )
    assert ip == "198.51.100.7"


def test_client_ip_falls_back_to_the_proxy_on_a_malformed_chain(rf, settings) -> None:
    ip = _ip_of(rf, settings, remote="10.0.0.5", forwarded="not-an-ip", trusted=["10.0.0.0/8"])
    assert ip == "10.0.0.5"
