"""One refresh token sent many times at once: exactly one new pair (PostgreSQL, real threads)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.tokens import token_pair_for
from tests.accounts.conftest import ME_URL, REFRESH_URL, bearer
from tests.factories import CashierFactory

pytestmark = pytest.mark.concurrency

THREADS = 8


def _race(refresh: str, threads: int = THREADS) -> list[tuple[int, dict[str, Any]]]:
    barrier = threading.Barrier(threads)
    results: list[tuple[int, dict[str, Any]]] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            client = APIClient()
            barrier.wait(timeout=10)
            response = client.post(REFRESH_URL, {"refresh": refresh}, format="json")
            with lock:
                results.append((response.status_code, response.json()))
        finally:
            connection.close()

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=30)
    assert len(results) == threads
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_refreshes_of_one_token_yield_exactly_one_pair() -> None:
    user = CashierFactory()
    pair = token_pair_for(user)
    outstanding_before = OutstandingToken.objects.count()

    results = _race(pair.refresh)

    winners = [body for status, body in results if status == 200]
    losers = [body for status, body in results if status != 200]
    assert len(winners) == 1, results
    assert all(status in (200, 401) for status, _ in results)
    assert {body["code"] for body in losers} == {"token_not_valid"}
    # One blacklisting, one new refresh token: the others wrote nothing.
    assert BlacklistedToken.objects.count() == 1
    assert OutstandingToken.objects.count() == outstanding_before + 1
    # The winner's pair works and rotates on.
    new_pair = winners[0]
    assert bearer(new_pair["access"]).get(ME_URL).status_code == 200
    again = APIClient().post(REFRESH_URL, {"refresh": new_pair["refresh"]}, format="json")
    assert again.status_code == 200


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_repeated_races_never_issue_two_pairs() -> None:
    """Each round rotates the winner's refresh token again; every round has exactly one winner."""
    refresh = token_pair_for(CashierFactory()).refresh
    for _ in range(3):
        results = _race(refresh, threads=4)
        winners = [body for status, body in results if status == 200]
        assert len(winners) == 1, results
        refresh = winners[0]["refresh"]
