"""The admin dashboard's liability summary: what the store owes its customers in stored value
(gift cards outstanding, store credit, loyalty points), read from its ledger as of the day."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tests.giftcards.conftest import issue, sell_with_card
from tests.reports.test_admin import DASHBOARD, browser_for

pytestmark = pytest.mark.django_db


def owed(html: str, code: str) -> str:
    match = re.search(rf"<td>{code} [^<]*</td><td class=\"num\">([^<]*)</td>", html)
    assert match is not None, html
    return match.group(1)


def test_the_dashboard_shows_what_gift_cards_still_owe(
    cashier_client, manager, store, register, product, open_shift
) -> None:
    card = issue(cashier_client, register, "50.00")
    assert card.status_code == 201, card.content
    # 4.99 + 8.25 % tax = 5.40 spent on the card.
    spent = sell_with_card(
        cashier_client,
        register,
        product,
        "1",
        [{"method": "gift_card", "code": card.json()["code"], "amount": "5.40"}],
    )
    assert spent.status_code == 201, spent.content

    html = browser_for(manager).get(reverse(DASHBOARD), {"store": store.pk}).content.decode()

    assert 'id="stored-value"' in html
    assert owed(html, "2300") == "44.60"
    assert owed(html, "2310") == "0.00"
    assert owed(html, "2320") == "0.00"
    assert re.search(r"<th>Total</th><th class=\"num\">44.60</th>", html)
