"""Customer factories, shared with every app's tests (`from tests.customers.factories import …`).

They write rows directly (no audit event, no normalisation): arrange with them, exercise the
behaviour through the services or the API."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from customers.models import Customer


class CustomerFactory(DjangoModelFactory):
    class Meta:
        model = Customer

    code = factory.Sequence(lambda n: f"T{n:06d}")
    name = factory.Sequence(lambda n: f"Customer {n}")
    email = factory.Sequence(lambda n: f"customer{n}@example.org")
    phone = factory.Sequence(lambda n: f"+1555010{n:04d}")


class TaxExemptCustomerFactory(CustomerFactory):
    tax_exempt = True
    tax_exempt_id = factory.Sequence(lambda n: f"EX-{n:05d}")
