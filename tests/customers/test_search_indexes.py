"""The customer search is served by indexes, not by reading the whole table: each condition of
`?search=` by its trigram index (`UPPER(col) LIKE UPPER('%…%')` for name, email and code,
`phone LIKE '%digits%'` for the phone), the plain list by the name index.

Checked on the plans PostgreSQL makes for the API's own querysets (a page, and its count) over
50 000 customers, with sequential scans priced out: on a table of this size reading it all is
still about as cheap and the planner may rightly do so, while what these tests guard — that each
index's expression is the one the query compares, so that it can serve it on a large table —
does not depend on the size."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import QuerySet

from customers.models import Customer
from customers.selectors import customer_list, customer_search
from dbtools.rows import field_column, table

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

ROWS = 50_000


def _plan(queryset: QuerySet[Customer]) -> str:
    """The plans of a page of `queryset` and of its count, as the paginated list runs them."""
    plans = []
    for query in (queryset[:50].query, queryset.order_by().values("pk").query):
        sql, params = query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute(f"EXPLAIN {sql}", params)
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
    return "\n--\n".join(plans)


@pytest.fixture(autouse=True)
def _rows() -> None:
    """50 000 customers in one statement (the ORM would take a minute)."""
    columns = {
        "code": "'T' || n",
        "name": "'Person ' || n || ' Surname' || mod(n, 97)",
        "email": "'person' || n || '@mail' || mod(n, 13) || '.example'",
        "phone": "'+1202' || lpad(n::text, 7, '0')",
        "tax_exempt": "false",
        "tax_exempt_id": "''",
        "store_credit": "0",
        "loyalty_points": "0",
        "created_at": "now()",
        "updated_at": "now()",
    }
    names = ", ".join(field_column(Customer, name) for name in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table(Customer)} ({names}) "  # noqa: S608
            f"SELECT {', '.join(columns.values())} FROM generate_series(1, %s) AS n",
            [ROWS],
        )
        cursor.execute(f"ANALYZE {table(Customer)}")


def test_a_search_uses_the_trigram_index_of_each_column_it_compares() -> None:
    text_plan = _plan(customer_search(customer_list(), "lovelace"))
    phone_plan = _plan(customer_search(customer_list(), "555-0199"))

    for index in ("customer_name_trgm", "customer_email_trgm", "customer_code_trgm"):
        assert text_plan.count(index) == 2, text_plan  # the page and the count
    assert phone_plan.count("customer_phone_trgm") == 2, phone_plan
    assert phone_plan.count("customer_code_trgm") == 2, phone_plan
    assert "Seq Scan" not in text_plan + phone_plan
    # And the needles are found in the haystack.
    found = customer_search(customer_list(), "person 4242 surname")
    assert list(found.values_list("code", flat=True)) == ["T4242"]
    assert customer_search(customer_list(), "(202) 004-2424").get().code == "T42424"


def test_the_plain_list_reads_the_name_index_in_order() -> None:
    page_plan = _plan(customer_list()).split("--")[0]

    assert "customer_by_name" in page_plan, page_plan
    assert "Sort" not in page_plan, page_plan
