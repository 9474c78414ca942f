"""Shared factories for the objects every app's tests need: stores, registers, users by role.
App-specific factories live beside their tests (`tests/catalog/factories.py` …)."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from accounts.models import Register, Role, Store, User

DEFAULT_PASSWORD = "correct-horse-battery-9"


class StoreFactory(DjangoModelFactory):
    class Meta:
        model = Store

    code = factory.Sequence(lambda n: f"S{n:03d}")
    name = factory.Sequence(lambda n: f"Store {n}")
    currency = "USD"
    timezone = "America/New_York"
    prices_include_tax = False
    allow_negative_stock = False


class RegisterFactory(DjangoModelFactory):
    class Meta:
        model = Register

    store = factory.SubFactory(StoreFactory)
    code = factory.Sequence(lambda n: f"R{n}")
    name = factory.LazyAttribute(lambda o: f"Register {o.code}")
    is_active = True


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    role = Role.CASHIER
    is_active = True
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def stores(self, create: bool, extracted: list[Store] | None, **kwargs: object) -> None:
        if create and extracted:
            self.stores.set(extracted)
        if create:
            self.save()


class CashierFactory(UserFactory):
    role = Role.CASHIER


class ManagerFactory(UserFactory):
    role = Role.MANAGER


class AdminFactory(UserFactory):
    role = Role.ADMIN
