"""`dbtools.pgarray.pg_array`: the one-parameter array literals of the hot statements must
read back in PostgreSQL as exactly the values written, whatever the text holds."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from hypothesis import given, settings
from hypothesis import strategies as st

from dbtools.pgarray import pg_array

#: PostgreSQL text cannot hold NUL; everything else may appear in a name, a SKU or a note.
_TEXT = st.text(alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"))


def test_literal_shape() -> None:
    assert pg_array([]) == "{}"
    assert pg_array([1, None, True, False]) == "{1,NULL,t,f}"
    assert pg_array([Decimal("1.990"), Decimal("-0.01")]) == "{1.990,-0.01}"
    assert pg_array(['a"b', "c\\d", "NULL", ""]) == '{"a\\"b","c\\\\d","NULL",""}'


def test_unsupported_values_are_refused_not_stringified() -> None:
    with pytest.raises(TypeError, match="float"):
        pg_array([1.5])


@pytest.mark.postgres
@pytest.mark.django_db
@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.one_of(st.none(), _TEXT), max_size=6))
def test_text_round_trips_through_postgresql(values: list[str | None]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::varchar[]", [pg_array(values)])
        assert cursor.fetchone()[0] == values


@pytest.mark.postgres
@pytest.mark.django_db
def test_numbers_booleans_and_times_round_trip_through_postgresql() -> None:
    moment = dt.datetime(2026, 3, 29, 0, 59, 59, 123456, tzinfo=dt.UTC)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT %s::bigint[], %s::numeric[], %s::boolean[], %s::timestamptz[], %s::date[]",
            [
                pg_array([2**63 - 1, -1, None]),
                pg_array([Decimal("12345678901.99"), Decimal("0.001"), Decimal("-5")]),
                pg_array([True, False, None]),
                pg_array([moment, moment.astimezone(dt.timezone(dt.timedelta(hours=-7)))]),
                pg_array([dt.date(2026, 11, 22)]),
            ],
        )
        ints, numbers, flags, times, dates = cursor.fetchone()
    assert ints == [2**63 - 1, -1, None]
    assert numbers == [Decimal("12345678901.99"), Decimal("0.001"), Decimal("-5")]
    assert flags == [True, False, None]
    assert times == [moment, moment]
    assert dates == [dt.date(2026, 11, 22)]
