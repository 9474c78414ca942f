"""`manage.py seed_demo` (orders/management/commands/seed_demo.py): the demo store, catalog,
stock and users, idempotent, with logins that work."""

from __future__ import annotations

import re
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Register, Role, Store, User
from audit.models import AuditEvent
from catalog.models import Category, Product, StockLevel, StockMovement, TaxRate
from ledger.models import JournalEntry
from tests.accounts.conftest import assert_problem

pytestmark = pytest.mark.django_db

LOGIN_LINE = re.compile(r"username: (\w+)\s+password: (\S+)")


def _seed(*args: str) -> dict[str, str]:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return {
        user: password
        for user, password in LOGIN_LINE.findall(out.getvalue())
        if password != "(unchanged;"
    }


def _counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (
            Store,
            Register,
            TaxRate,
            Category,
            Product,
            StockLevel,
            StockMovement,
            JournalEntry,
            User,
        )
    }


def _ean13_ok(code: str) -> bool:
    digits = [int(d) for d in code]
    return (
        len(digits) == 13 and sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10 == 0
    )


def test_seed_creates_a_store_ready_to_sell(login) -> None:
    logins = _seed()

    store = Store.objects.get(code="MAIN")
    assert (store.currency, store.timezone, store.prices_include_tax) == (
        "USD",
        "America/New_York",
        False,
    )
    assert sorted(store.registers.values_list("code", flat=True)) == ["R1", "R2"]
    assert {(t.name, t.rate) for t in TaxRate.objects.all()} >= {
        ("Standard", Decimal("8.250")),
        ("Zero", Decimal("0.000")),
    }
    products = list(Product.objects.all())
    assert len(products) >= 30
    assert len({p.sku for p in products}) == len(products)
    assert all(p.barcode and _ean13_ok(p.barcode) for p in products)
    assert all(p.price > 0 and p.cost < p.price for p in products)
    # Versions were taken through the catalog service, one per product (stores, registers, tax
    # rates and categories take theirs from the same counter).
    versions = [p.version for p in products]
    assert len(set(versions)) == len(products)
    assert min(versions) >= 1
    # Opening stock went through stock adjustments: a movement and a journal entry each.
    tracked = [p for p in products if p.track_stock]
    levels = StockLevel.objects.filter(store=store, product__in=tracked)
    assert levels.count() == len(tracked)
    assert all(level.quantity > 0 for level in levels)
    assert StockMovement.objects.filter(store=store, reason="receive").count() == len(tracked)
    assert JournalEntry.objects.filter(store=store, source="stock_adjustment").count() == len(
        tracked
    )

    # The users exist with their roles, and the printed logins work.
    assert set(logins) == {"admin", "manager", "cashier"}
    for username, role in (
        ("admin", Role.ADMIN),
        ("manager", Role.MANAGER),
        ("cashier", "cashier"),
    ):
        user = User.objects.get(username=username)
        assert user.role == role
        assert list(user.stores.all()) == [store]
        assert list(user.groups.values_list("name", flat=True)) == [role]
        response = login(username, logins[username])
        assert response.status_code == 200, response.content
        assert set(response.json()) == {"access", "refresh"}
    # Nothing stores the printed passwords in clear.
    everything = " ".join(str(e.changes) for e in AuditEvent.objects.all())
    assert all(password not in everything for password in logins.values())


def test_seed_is_idempotent_and_keeps_passwords(login) -> None:
    first = _seed()
    before = _counts()
    again = _seed()
    assert _counts() == before
    assert again == {}  # passwords are not changed nor printed again
    assert login("cashier", first["cashier"]).status_code == 200


def test_reset_passwords_gives_new_working_ones(login) -> None:
    first = _seed()
    reset = _seed("--reset-passwords")
    assert set(reset) == {"admin", "manager", "cashier"}
    assert reset["cashier"] != first["cashier"]
    assert login("cashier", reset["cashier"]).status_code == 200
    assert_problem(login("cashier", first["cashier"]), 401, "authentication_failed")


def test_fixed_demo_passwords_only_with_debug(settings: Any, login) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError):
        _seed("--demo-passwords")
    settings.DEBUG = True
    logins = _seed("--demo-passwords")
    assert logins["cashier"] == "front-till-receipt-3"
    assert login("cashier", "front-till-receipt-3").status_code == 200
