"""Keyset pages (`?cursor=`) on the lists that grow without bound: every row exactly once, in
order, also while rows are added; `previous` links; filters; store scoping; the errors; the
same queries at any depth."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import Store, User
from audit.models import AuditEvent
from audit.services import audit_record
from orders.models import Order
from tests.factories import ManagerFactory, StoreFactory

pytestmark = pytest.mark.django_db

EVENTS = "/api/v1/audit/events/"
ORDERS = "/api/v1/orders/"
LISTS = (
    "/api/v1/orders/",
    "/api/v1/refunds/",
    "/api/v1/ledger/entries/",
    "/api/v1/audit/events/",
    "/api/v1/stock/movements/",
    "/api/v1/stock/adjustments/",
)


def _events(store: Store, count: int, action: str = "test.event") -> list[int]:
    return [
        audit_record(action=action, store_id=store.pk, object_type="t", object_id=i).pk  # type: ignore[union-attr]
        for i in range(count)
    ]


def _relative(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def _walk(client: APIClient, first: str) -> tuple[list[int], list[dict[str, Any]]]:
    """Follow `next` from `first` to the end: the ids seen and every page's body."""
    ids: list[int] = []
    pages: list[dict[str, Any]] = []
    url: str | None = first
    while url is not None:
        response = client.get(url)
        assert response.status_code == 200, response.content
        body = response.json()
        assert set(body) == {"next", "previous", "results"}  # no count
        pages.append(body)
        ids.extend(row["id"] for row in body["results"])
        url = _relative(body["next"]) if body["next"] else None
    return ids, pages


def _cursor(next_url: str) -> str:
    return parse_qs(urlsplit(next_url).query)["cursor"][0]


@pytest.mark.parametrize("url", LISTS)
def test_every_unbounded_list_takes_a_cursor(admin_client: APIClient, url: str) -> None:
    by_page = admin_client.get(url)
    assert by_page.status_code == 200
    assert set(by_page.json()) == {"count", "next", "previous", "results"}  # still the default
    by_cursor = admin_client.get(f"{url}?cursor=")
    assert by_cursor.status_code == 200, by_cursor.content
    assert set(by_cursor.json()) == {"next", "previous", "results"}


def test_walking_by_cursor_gives_every_row_once_in_order(
    admin_client: APIClient, store: Store
) -> None:
    ids = _events(store, 23)
    seen, pages = _walk(admin_client, f"{EVENTS}?cursor=&page_size=5")
    assert seen == sorted(AuditEvent.objects.values_list("id", flat=True))
    assert set(ids) <= set(seen)
    assert len(pages) == 5
    assert pages[0]["previous"] is None
    assert pages[-1]["next"] is None


def test_rows_added_while_walking_are_neither_lost_nor_repeated(
    admin_client: APIClient, store: Store
) -> None:
    _events(store, 10)
    seen: list[int] = []
    url: str | None = f"{EVENTS}?cursor=&page_size=3"
    while url is not None:
        body = admin_client.get(url).json()
        seen.extend(row["id"] for row in body["results"])
        _events(store, 2, action="test.late")  # between pages
        url = _relative(body["next"]) if body["next"] else None
        if len(seen) > 100:
            break
    # The oldest-first list reaches the rows added meanwhile; none twice, none skipped.
    assert len(seen) == len(set(seen))
    assert seen == sorted(seen)
    assert seen == sorted(AuditEvent.objects.filter(id__lte=seen[-1]).values_list("id", flat=True))


def test_newest_first_list_keeps_its_walk_when_rows_are_added(
    admin_client: APIClient, sell_orders: Callable[[int], list[Order]]
) -> None:
    before = sell_orders(7)
    first = admin_client.get(f"{ORDERS}?cursor=&page_size=3").json()
    sell_orders(2)  # newer than the whole walk: they land before the first page
    seen = [row["id"] for row in first["results"]]
    rest, _ = _walk(admin_client, _relative(first["next"]))
    seen += rest
    assert seen == sorted((order.pk for order in before), reverse=True)


def test_previous_links_walk_back(admin_client: APIClient, store: Store) -> None:
    _events(store, 12)
    _, pages = _walk(admin_client, f"{EVENTS}?cursor=&page_size=4")
    assert len(pages) == 3
    back = admin_client.get(_relative(pages[-1]["previous"])).json()
    assert back["results"] == pages[1]["results"]
    back = admin_client.get(_relative(back["previous"])).json()
    assert back["results"] == pages[0]["results"]
    assert back["previous"] is None
    assert admin_client.get(_relative(back["next"])).json()["results"] == pages[1]["results"]


def test_filters_apply_to_cursor_pages(admin_client: APIClient, store: Store) -> None:
    wanted = _events(store, 4, action="wanted.one")
    _events(store, 6, action="other.one")
    wanted += _events(store, 3, action="wanted.one")
    seen, _ = _walk(admin_client, f"{EVENTS}?cursor=&page_size=2&action=wanted.one")
    assert seen == wanted


def test_cursor_pages_keep_to_the_users_stores(
    client_for: Callable[[User], APIClient], store: Store
) -> None:
    elsewhere = StoreFactory()
    mine = _events(store, 5)
    _events(elsewhere, 5)
    audit_record(action="auth.login_failed", changes={"username": "x"})  # outside any store
    manager = ManagerFactory(stores=[store])
    seen, _ = _walk(client_for(manager), f"{EVENTS}?cursor=&page_size=2")
    assert set(mine) <= set(seen)
    assert set(AuditEvent.objects.filter(id__in=seen).values_list("store_id", flat=True)) == {
        store.pk
    }


def test_orders_by_cursor_only_of_the_users_stores(
    client_for: Callable[[User], APIClient],
    sell_orders: Callable[[int], list[Order]],
) -> None:
    orders = sell_orders(4)
    outsider = ManagerFactory(stores=[StoreFactory()])
    seen, _ = _walk(client_for(outsider), f"{ORDERS}?cursor=")
    assert seen == []
    manager = ManagerFactory(stores=[orders[0].store])
    seen, _ = _walk(client_for(manager), f"{ORDERS}?cursor=&page_size=3&store={orders[0].store_id}")
    assert seen == sorted((order.pk for order in orders), reverse=True)


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!",
        base64.b64encode(b"p=abc").decode(),
        base64.b64encode(b"p=-5").decode(),
        base64.b64encode(b"p=99999999999999999999").decode(),
        base64.b64encode(b"o=x").decode(),
        base64.b64encode(b"o=3&p=5").decode(),  # an offset: never given out on a unique key
        base64.b64encode(b"o=2").decode(),
        "%FF",
    ],
)
def test_a_cursor_not_given_out_is_a_400(admin_client: APIClient, cursor: str) -> None:
    response = admin_client.get(f"{EVENTS}?cursor={cursor}")
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == "invalid_cursor"


def test_cursor_with_page_is_a_400(admin_client: APIClient) -> None:
    response = admin_client.get(f"{ORDERS}?cursor=&page=2")
    assert response.status_code == 400
    assert response.json()["code"] == "cursor_with_page"


def test_a_bad_page_size_is_still_a_400_with_a_cursor(admin_client: APIClient) -> None:
    response = admin_client.get(f"{ORDERS}?cursor=&page_size=0")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def _queries(client: APIClient, url: str) -> tuple[int, dict[str, Any]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.json()


def test_a_cursor_page_costs_the_same_at_any_depth(admin_client: APIClient, store: Store) -> None:
    _events(store, 110)
    admin_client.get(EVENTS)  # the user is read once, then cached
    count, body = _queries(admin_client, f"{EVENTS}?cursor=&page_size=2")
    assert count == 1  # the page; no count
    for _ in range(48):
        body = admin_client.get(_relative(body["next"])).json()
    deep, page_50 = _queries(admin_client, _relative(body["next"]))
    assert deep == count
    assert len(page_50["results"]) == 2


def test_an_order_cursor_page_costs_the_same_at_any_depth(
    admin_client: APIClient, sell_orders: Callable[[int], list[Order]]
) -> None:
    sell_orders(6)
    admin_client.get(ORDERS)  # the user is read once, then cached
    count, body = _queries(admin_client, f"{ORDERS}?cursor=&page_size=1")
    assert count == 3  # orders, their lines, their payments; no count
    for _ in range(3):
        body = admin_client.get(_relative(body["next"])).json()
    deep, _ = _queries(admin_client, _relative(body["next"]))
    assert deep == count
