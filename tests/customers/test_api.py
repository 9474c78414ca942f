"""`/api/v1/customers/`: who may do what, validation with the API's stable codes, search, erasure
that keeps the row, and audit events that never hold personal data."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from audit.models import AuditEvent
from customers.models import ERASED_NAME, Customer
from tests.customers.factories import CustomerFactory, TaxExemptCustomerFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/customers/"
FIELDS = {
    "id", "code", "name", "email", "phone", "tax_exempt", "tax_exempt_id", "store_credit",
    "loyalty_points", "created_at", "erased_at",
}  # fmt: skip


def _detail(customer: Customer | int) -> str:
    pk = customer if isinstance(customer, int) else customer.pk
    return f"{URL}{pk}/"


# --- create and read -----------------------------------------------------------------------------


def test_a_cashier_creates_a_customer_with_a_generated_code(cashier_client, cashier) -> None:
    response = cashier_client.post(
        URL,
        {"name": "  Ada Lovelace ", "email": "Ada@Example.ORG", "phone": "+44 (20) 7946-0958"},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == FIELDS
    assert body["name"] == "Ada Lovelace"
    assert body["email"] == "Ada@example.org"  # the domain lower-cased, the mailbox as given
    assert body["phone"] == "+442079460958"
    assert body["code"].startswith("C")
    assert len(body["code"]) == 9
    assert (body["tax_exempt"], body["tax_exempt_id"]) == (False, "")
    assert (body["store_credit"], body["loyalty_points"]) == ("0.00", 0)
    assert body["erased_at"] is None
    stored = Customer.objects.get(pk=body["id"])
    assert (stored.code, stored.phone) == (body["code"], "+442079460958")


def test_every_role_reads_and_creates_only_managers_and_admins_change_and_erase(
    cashier_client, manager_client, admin_client
) -> None:
    customer = CustomerFactory()

    for client in (cashier_client, manager_client, admin_client):
        assert client.get(URL).status_code == 200
        assert client.get(_detail(customer)).status_code == 200
        assert client.post(URL, {"name": "Someone"}, format="json").status_code == 201

    assert cashier_client.patch(_detail(customer), {"name": "X"}, format="json").status_code == 403
    assert cashier_client.put(_detail(customer), {"name": "X"}, format="json").status_code == 403
    assert cashier_client.delete(_detail(customer)).status_code == 403
    assert manager_client.patch(_detail(customer), {"name": "X"}, format="json").status_code == 200
    assert admin_client.put(_detail(customer), {"name": "Y"}, format="json").status_code == 200
    assert manager_client.delete(_detail(customer)).status_code == 204


def test_anonymous_callers_get_nothing(api_client) -> None:
    customer = CustomerFactory()
    assert api_client.get(URL).status_code == 401
    assert api_client.get(_detail(customer)).status_code == 401
    assert api_client.post(URL, {"name": "X"}, format="json").status_code == 401


def test_customers_are_merchant_wide(client_for, store, other_store) -> None:
    """A cashier of another store sees the same customers (docs/API.md, "Customers")."""
    from tests.factories import CashierFactory

    customer = CustomerFactory(name="Grace Hopper")
    elsewhere = client_for(CashierFactory(stores=[other_store]))

    assert [row["id"] for row in elsewhere.get(URL).json()["results"]] == [customer.pk]
    assert elsewhere.get(_detail(customer)).json()["name"] == "Grace Hopper"


def test_a_given_code_is_upper_cased_and_unique_whatever_its_case(cashier_client) -> None:
    first = cashier_client.post(URL, {"name": "A", "code": " card-0042 "}, format="json")
    clash = cashier_client.post(URL, {"name": "B", "code": "CARD-0042"}, format="json")

    assert first.status_code == 201
    assert first.json()["code"] == "CARD-0042"
    assert clash.status_code == 400
    assert clash.json()["code"] == "validation_error"
    assert clash.json()["errors"] == {"code": ["A customer with this code already exists."]}
    assert Customer.objects.count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({}, "name"),
        ({"name": "A", "email": "not-an-address"}, "email"),
        ({"name": "A", "email": "a@b"}, "email"),
        ({"name": "A", "phone": "555-CALL-NOW"}, "phone"),
        ({"name": "A", "phone": "1234"}, "phone"),
        ({"name": "A", "phone": "+1 555 010 0199 0199 01"}, "phone"),
        ({"name": "A", "phone": "++15550100"}, "phone"),
        ({"name": "A", "tax_exempt": True}, "tax_exempt_id"),
        ({"name": "A", "tax_exempt": True, "tax_exempt_id": "  "}, "tax_exempt_id"),
        ({"name": "A", "code": "no spaces"}, "code"),
        ({"name": "A", "code": "-LEADING"}, "code"),
        ({"name": "Card 4111 1111 1111 1111"}, "name"),
        ({"name": "A", "tax_exempt": True, "tax_exempt_id": "4111111111111111"}, "tax_exempt_id"),
        ({"name": 7}, "name"),  # JSON types as the schema says them
        ({"name": "A", "tax_exempt_id": 0}, "tax_exempt_id"),
        ({"name": "A", "phone": 5550100199}, "phone"),
        ({"name": "A", "tax_exempt": "yes", "tax_exempt_id": "EX-1"}, "tax_exempt"),
        ({"name": "A", "tax_exempt": 1, "tax_exempt_id": "EX-1"}, "tax_exempt"),
    ],
)
def test_invalid_input_is_400_naming_the_field(cashier_client, body, field) -> None:
    response = cashier_client.post(URL, body, format="json")

    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert field in problem["errors"]
    assert not Customer.objects.exists()


def test_an_error_never_repeats_the_personal_data_it_refused(cashier_client) -> None:
    response = cashier_client.post(
        URL, {"name": "A", "email": "jane.doe@@example.org", "phone": "+1 555 PHONE"}, format="json"
    )

    assert response.status_code == 400
    text = response.content.decode()
    assert "jane.doe" not in text
    assert "PHONE" not in text


def test_a_tax_exempt_customer_keeps_its_exemption_id(cashier_client) -> None:
    response = cashier_client.post(
        URL, {"name": "School", "tax_exempt": True, "tax_exempt_id": " EX-2041 "}, format="json"
    )

    assert response.status_code == 201
    assert (response.json()["tax_exempt"], response.json()["tax_exempt_id"]) == (True, "EX-2041")


def test_balances_are_read_only(manager_client) -> None:
    customer = CustomerFactory(store_credit=Decimal("12.50"), store_credit_currency="USD")

    created = manager_client.post(
        URL, {"name": "A", "store_credit": "100.00", "loyalty_points": 500}, format="json"
    )
    changed = manager_client.patch(
        _detail(customer), {"store_credit": "999.00", "loyalty_points": 9}, format="json"
    )

    assert created.status_code == 201
    assert (created.json()["store_credit"], created.json()["loyalty_points"]) == ("0.00", 0)
    assert changed.status_code == 200
    customer.refresh_from_db()
    assert (customer.store_credit, customer.loyalty_points) == (Decimal("12.500"), 0)
    assert changed.json()["store_credit"] == "12.50"


def test_store_credit_renders_in_its_currencys_minor_units(cashier_client) -> None:
    yen = CustomerFactory(store_credit=Decimal("1500"), store_credit_currency="JPY")
    dinar = CustomerFactory(store_credit=Decimal("1.250"), store_credit_currency="KWD")

    assert cashier_client.get(_detail(yen)).json()["store_credit"] == "1500"
    assert cashier_client.get(_detail(dinar)).json()["store_credit"] == "1.250"


# --- change ---------------------------------------------------------------------------------------


def test_a_manager_changes_a_customer_and_put_keeps_what_it_leaves_out(manager_client) -> None:
    customer = CustomerFactory(code="KEEP-1", email="old@example.org")

    patched = manager_client.patch(
        _detail(customer), {"phone": "(555) 010-0199", "email": ""}, format="json"
    )
    replaced = manager_client.put(
        _detail(customer), {"name": "New Name", "tax_exempt": False}, format="json"
    )

    assert patched.status_code == 200
    assert (patched.json()["phone"], patched.json()["email"]) == ("5550100199", "")
    assert replaced.status_code == 200
    assert replaced.json()["code"] == "KEEP-1"
    assert replaced.json()["name"] == "New Name"


def test_exempting_needs_an_id_counting_the_stored_one(manager_client) -> None:
    plain = CustomerFactory()
    with_id = CustomerFactory(tax_exempt_id="EX-9")

    refused = manager_client.patch(_detail(plain), {"tax_exempt": True}, format="json")
    accepted = manager_client.patch(_detail(with_id), {"tax_exempt": True}, format="json")
    exempt = TaxExemptCustomerFactory()
    emptied = manager_client.patch(_detail(exempt), {"tax_exempt_id": ""}, format="json")

    assert refused.status_code == 400
    assert list(refused.json()["errors"]) == ["tax_exempt_id"]
    assert accepted.status_code == 200
    assert accepted.json()["tax_exempt"] is True
    assert emptied.status_code == 400


def test_a_code_may_change_but_not_to_one_taken(manager_client) -> None:
    CustomerFactory(code="TAKEN")
    customer = CustomerFactory(code="MINE")

    clash = manager_client.patch(_detail(customer), {"code": "taken"}, format="json")
    moved = manager_client.patch(_detail(customer), {"code": "loyal-7"}, format="json")

    assert clash.status_code == 400
    assert clash.json()["errors"] == {"code": ["A customer with this code already exists."]}
    assert moved.status_code == 200
    assert moved.json()["code"] == "LOYAL-7"


def test_an_unknown_customer_is_404(manager_client) -> None:
    assert manager_client.get(_detail(999999)).status_code == 404
    assert manager_client.patch(_detail(999999), {"name": "X"}, format="json").status_code == 404
    assert manager_client.delete(_detail(999999)).status_code == 404
    assert manager_client.get(f"{URL}abc/").status_code == 404


# --- search ---------------------------------------------------------------------------------------


@pytest.fixture
def people() -> dict[str, Customer]:
    return {
        "ada": CustomerFactory(
            name="Ada Lovelace", code="C2AAAAAAA", email="ada@analytical.org", phone="+442079460958"
        ),
        "grace": CustomerFactory(
            name="Grace Hopper", code="NAVY-1906", email="grace@navy.mil", phone="+12025550143"
        ),
        "alan": CustomerFactory(
            name="Alan Turing", code="C3BBBBBBB", email="alan@bletchley.uk", phone="01908640404"
        ),
    }


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("lovelace", ["ada"]),  # name, any case
        ("GRACE@", ["grace"]),  # email
        ("navy-19", ["grace"]),  # code
        ("c3bbb", ["alan"]),  # code, any case
        ("7946 0958", ["ada"]),  # phone digits, written with spaces
        ("(202) 555-0143", ["grace"]),
        ("0404", ["alan"]),
        ("a", ["ada", "alan", "grace"]),  # by name
        ("nobody", []),
        ("   ", ["ada", "alan", "grace"]),  # blank: no filter
    ],
)
def test_search_finds_name_code_email_or_phone(cashier_client, people, search, expected) -> None:
    response = cashier_client.get(URL, {"search": search})

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [people[key].pk for key in expected]


def test_code_lookup_is_exact_in_any_case(cashier_client, people) -> None:
    found = cashier_client.get(URL, {"code": "navy-1906"}).json()["results"]
    partial = cashier_client.get(URL, {"code": "NAVY"}).json()["results"]

    assert [row["id"] for row in found] == [people["grace"].pk]
    assert partial == []


def test_the_list_is_paginated_by_name(cashier_client) -> None:
    for name in ("Zed", "Amy", "Mia"):
        CustomerFactory(name=name)

    page = cashier_client.get(URL, {"page_size": 2}).json()

    assert page["count"] == 3
    assert [row["name"] for row in page["results"]] == ["Amy", "Mia"]
    assert page["next"] is not None


def test_a_nul_byte_in_a_search_is_a_400_not_a_500(cashier_client) -> None:
    response = cashier_client.get(URL, {"search": "a\x00b"})
    assert response.status_code == 400
    assert "search" in response.json()["errors"]


# --- erase ----------------------------------------------------------------------------------------


def test_erasing_keeps_the_row_and_nothing_personal(manager_client, cashier_client) -> None:
    customer = TaxExemptCustomerFactory(name="Jane Roe", code="CARD-77")

    response = manager_client.delete(_detail(customer))

    assert response.status_code == 204
    customer.refresh_from_db()
    assert customer.name == ERASED_NAME
    assert (customer.email, customer.phone, customer.tax_exempt_id) == ("", "", "")
    assert customer.tax_exempt is False
    assert customer.erased_at is not None
    assert customer.code != "CARD-77"  # the card in the person's wallet leads nowhere
    read = cashier_client.get(_detail(customer)).json()
    assert read["name"] == ERASED_NAME
    assert read["erased_at"] is not None
    # Gone from the list, the search and the code lookup.
    assert cashier_client.get(URL).json()["count"] == 0
    assert cashier_client.get(URL, {"search": "Erased"}).json()["count"] == 0
    assert cashier_client.get(URL, {"code": "CARD-77"}).json()["count"] == 0


def test_an_erased_customer_never_changes_and_erasing_again_is_a_no_op(manager_client) -> None:
    customer = CustomerFactory()
    assert manager_client.delete(_detail(customer)).status_code == 204
    events = AuditEvent.objects.filter(action="customer.erased").count()

    changed = manager_client.patch(_detail(customer), {"name": "Back"}, format="json")
    again = manager_client.delete(_detail(customer))

    assert changed.status_code == 409
    assert changed.json()["code"] == "customer_erased"
    assert again.status_code == 204
    assert AuditEvent.objects.filter(action="customer.erased").count() == events == 1


@pytest.mark.parametrize(
    "balance",
    [
        {"store_credit": Decimal("0.01"), "store_credit_currency": "USD"},
        {"loyalty_points": 1},
    ],
)
def test_a_customer_with_a_balance_is_not_erased(manager_client, balance) -> None:
    customer = CustomerFactory(**balance)

    response = manager_client.delete(_detail(customer))

    assert response.status_code == 409
    assert response.json()["code"] == "customer_has_balance"
    customer.refresh_from_db()
    assert customer.erased_at is None
    assert customer.name.startswith("Customer")


# --- audit ----------------------------------------------------------------------------------------


def test_audit_events_name_the_fields_never_their_values(manager_client, manager) -> None:
    personal = {
        "name": "Jane Roe",
        "email": "jane.roe@example.org",
        "phone": "+15550100199",
        "tax_exempt_id": "EX-SECRET-1",
    }
    created = manager_client.post(URL, {**personal, "tax_exempt": True}, format="json").json()
    manager_client.patch(
        _detail(created["id"]),
        {"email": "jane@example.net", "phone": "5550100100", "tax_exempt": False},
        format="json",
    )
    manager_client.delete(_detail(created["id"]))

    events = list(AuditEvent.objects.filter(object_type="customer").order_by("id"))
    assert [e.action for e in events] == ["customer.created", "customer.updated", "customer.erased"]
    assert all(e.object_id == str(created["id"]) and e.actor_id == manager.pk for e in events)
    assert all(e.store_id is None for e in events)  # merchant-wide: the chain outside any store
    created_event, updated, erased = (e.changes for e in events)
    assert created_event == {
        "fields": ["email", "name", "phone", "tax_exempt_id"],
        "code": "generated",
        "tax_exempt": True,
    }
    assert updated == {
        "changed": ["email", "phone", "tax_exempt"],
        "tax_exempt": {"before": True, "after": False},
    }
    assert erased == {"erased": ["email", "name", "phone", "tax_exempt_id"], "code": "replaced"}
    text = json.dumps([e.changes for e in events])
    for value in (*personal.values(), "jane@example.net", "5550100100", created["code"]):
        assert value not in text


def test_a_change_that_changes_nothing_writes_no_event(manager_client) -> None:
    customer = CustomerFactory(name="Same")

    response = manager_client.patch(_detail(customer), {"name": "Same"}, format="json")

    assert response.status_code == 200
    assert not AuditEvent.objects.filter(action="customer.updated").exists()
