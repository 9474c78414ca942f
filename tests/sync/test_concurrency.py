"""Register sync under concurrent writers (PostgreSQL): the feed never misses a change that
commits after a later one, and a register that bootstraps from a snapshot and then follows the
feed ends with exactly the server's data."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ObjectDoesNotExist
from django.db import DatabaseError, connection, transaction

from accounts.models import Register
from accounts.services import register_create, register_update, store_create, store_update
from catalog.models import Category, ModifierGroup, Product, TaxRate
from catalog.services import (
    category_create,
    category_delete,
    category_update,
    product_create,
    product_delete,
    product_update,
    tax_rate_create,
    tax_rate_delete,
    tax_rate_update,
)
from catalog.services.modifiers import (
    modifier_group_create,
    modifier_group_delete,
    modifier_group_update,
)
from domain.errors import DomainError
from pricebook.models import PriceList, Promotion
from pricebook.services import (
    price_list_create,
    price_list_delete,
    price_list_update,
    promotion_create,
    promotion_delete,
    promotion_update,
)
from tests.factories import CashierFactory, StoreFactory
from tests.sync.helpers import feed, follow, snapshot

pytestmark = pytest.mark.concurrency


def _in_thread(target: Any, *args: Any) -> threading.Thread:
    def run() -> None:
        try:
            target(*args)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_change_committing_after_a_later_one_is_not_missed(client_for) -> None:
    """Writer 1 (a tax rate) takes its version and stays open; writer 2 (a register) commits
    first. A register syncing in between and then from its watermark gets both."""
    store = StoreFactory()
    client = client_for(CashierFactory(stores=[store]))
    tax = tax_rate_create(user=None, name="T0", rate=Decimal("1"))
    till = register_create(actor=None, store=store, code="R1")
    state: dict = {}
    watermark = follow(client, store, state, 0)

    first_written, release_first = threading.Event(), threading.Event()
    second_committed = threading.Event()

    def first_writer() -> None:
        with transaction.atomic():
            tax_rate_update(tax_rate=tax, user=None, name="T1")
            first_written.set()
            release_first.wait(10)

    def second_writer() -> None:
        register_update(actor=None, register=till, name="Front")
        second_committed.set()

    t1 = _in_thread(first_writer)
    assert first_written.wait(10)
    t2 = _in_thread(second_writer)
    second_committed.wait(1.0)  # blocked on the counter's lock: it cannot commit first
    watermark = follow(client, store, state, watermark)
    release_first.set()
    t1.join(10)
    t2.join(10)
    follow(client, store, state, watermark)
    assert state[("tax_rate", tax.pk)]["name"] == "T1"
    assert state[("register", till.pk)]["name"] == "Front"


class Writer:
    """Random writes of every synced type, each in its own transaction held open a little."""

    def __init__(self, seed: int, store: Any, other: Any) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.store, self.other = store, other
        self.count = 0

    def pick(self, model: Any) -> Any:
        ids = list(model.objects.values_list("pk", flat=True))
        return model.objects.filter(pk=self.rng.choice(ids)).first() if ids else None

    def stores(self) -> list[Any]:
        return self.rng.choice([[], [self.store], [self.other], [self.store, self.other]])

    def step(self) -> None:
        rng = self.rng
        self.count += 1
        tag = f"{self.seed}-{self.count}"
        price = Decimal(rng.randint(1, 9999)) / 1000
        op = rng.randrange(16)
        tax = self.pick(TaxRate)
        if op == 0 or tax is None:
            tax_rate_create(user=None, name=f"T{tag}", rate=Decimal(rng.randint(0, 20)))
        elif op == 1:
            tax_rate_update(tax_rate=tax, user=None, rate=Decimal(rng.randint(0, 20)))
        elif op == 2:
            tax_rate_delete(tax_rate=tax, user=None)
        elif op in (3, 4):
            product_create(
                user=None,
                sku=f"P{tag}",
                name=f"P{tag}",
                price=price,
                cost=price / 2,
                tax_rate=tax,
                category=self.pick(Category) if rng.random() < 0.5 else None,
            )
        elif op == 5 and (product := self.pick(Product)) is not None:
            product_update(product=product, user=None, name=f"N{tag}", price=price)
        elif op == 6 and (product := self.pick(Product)) is not None:
            product_delete(product=product, user=None)
        elif op == 7:
            category_create(user=None, name=f"C{tag}", parent=self.pick(Category))
        elif op == 8 and (category := self.pick(Category)) is not None:
            if rng.random() < 0.5:
                category_update(category=category, user=None, name=f"C{tag}")
            else:
                category_delete(category=category, user=None)
        elif op == 9:
            modifier_group_create(
                user=None, name=f"G{tag}", modifiers=[{"name": "m", "price_delta": price}]
            )
        elif op == 10 and (group := self.pick(ModifierGroup)) is not None:
            if rng.random() < 0.5:
                modifier_group_update(group=group, user=None, name=f"G{tag}")
            else:
                modifier_group_delete(group=group, user=None)
        elif op == 11:
            product = self.pick(Product)
            items = [{"product": product, "price": price}] if product else []
            price_list_create(user=None, name=f"L{tag}", stores=self.stores(), items=items)
        elif op == 12 and (price_list := self.pick(PriceList)) is not None:
            if rng.random() < 0.6:
                price_list_update(price_list=price_list, user=None, stores=self.stores())
            else:
                price_list_delete(price_list=price_list, user=None)
        elif op == 13:
            product, category = self.pick(Product), self.pick(Category)
            promotion_create(
                user=None,
                name=f"O{tag}",
                kind="percent_off",
                value=Decimal(rng.randint(1, 50)),
                stores=self.stores(),
                products=[product] if product else [],
                categories=[category] if category else [],
                valid_to=dt.datetime(2100, 1, 1, tzinfo=dt.UTC),
            )
        elif op == 14 and (promotion := self.pick(Promotion)) is not None:
            if rng.random() < 0.6:
                promotion_update(promotion=promotion, user=None, stores=self.stores())
            else:
                promotion_delete(promotion=promotion, user=None)
        else:
            store = rng.choice([self.store, self.other])
            register = Register.objects.filter(store=store).order_by("?").first()
            if register is None or rng.random() < 0.3:
                register_create(actor=None, store=store, code=f"R{tag}")
            elif rng.random() < 0.7:
                register_update(actor=None, register=register, name=f"N{tag}")
            else:
                store_update(actor=None, store=store, name=f"S{tag}")

    def run(self, steps: int) -> None:
        for _ in range(steps):
            try:
                with transaction.atomic():
                    self.step()
                    time.sleep(self.rng.uniform(0, 0.01))  # hold the versions a little
            except (DomainError, DatabaseError, ObjectDoesNotExist):
                pass  # in use, a deadlock victim, deleted meanwhile …: nothing was written


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("bootstrap", ["snapshot", "feed"])
def test_bootstrap_and_follow_under_concurrent_writers(client_for, bootstrap) -> None:
    """`snapshot`: the register starts from a snapshot taken while writers run; `feed`: from
    version 0, through the feed alone, in pages of 7. (Stores made by the service, so that they
    carry a version, as every store does after migration `sync.0001`.)"""
    store = store_create(actor=None, code="A", name="A")
    other = store_create(actor=None, code="B", name="B")
    client = client_for(CashierFactory(stores=[store]))
    seeding = Writer(1, store, other)
    seeding.run(60)  # a catalog to start from
    writers = [Writer(seed, store, other) for seed in (2, 3)]
    done = threading.Event()
    results: dict[str, Any] = {}

    def register() -> None:
        time.sleep(0.05)
        if bootstrap == "snapshot":
            response, since, state = snapshot(client, store)
            assert response.status_code == 200
        else:
            since, state = 0, {}
        pages = 0
        while True:
            finished = done.is_set()
            since = follow(client, store, state, since, limit=7)
            pages += 1
            if finished:
                break
            time.sleep(0.005)
        results["state"], results["pages"] = state, pages

    threads = [_in_thread(w.run, 80) for w in writers]
    reader = _in_thread(register)
    for thread in threads:
        thread.join(120)
    done.set()
    reader.join(120)

    assert results["pages"] > 3
    _, _, server = snapshot(client, store)
    assert results["state"] == server
    assert {kind for kind, _ in server} == {
        "product", "tax_rate", "category", "modifier_group", "price_list", "promotion",
        "register", "store",
    }  # fmt: skip
    assert len(server) > 30
    # And a register that bootstraps now gets the same from the feed alone.
    from_zero: dict = {}
    follow(client, store, from_zero, 0, limit=50)
    assert from_zero == server
    assert feed(client, store, 0, limit=1)["has_more"] is True
