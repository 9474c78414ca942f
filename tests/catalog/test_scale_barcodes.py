"""Scale barcodes: the store's `scale_barcode_layout`, the pure parser (a label built from an
item code and a price or weight reads back as them; any one wrong digit is caught), and the
lookup `?barcode=<label>&store=` that resolves a label to the product with that `scale_code`,
served from the cache with no database query on a hit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import given
from hypothesis import strategies as st

from accounts.models import validate_scale_barcode_layout
from catalog import cache
from catalog.scale_barcodes import ScaleBarcode, ean13_check_digit, scale_barcode_parse
from domain.errors import InvalidInput
from tests.catalog.factories import ProductFactory
from tests.factories import CashierFactory, StoreFactory

PRODUCTS = "/api/v1/products/"
PRICE_LAYOUT = "20IIIIIPPPPPC"
WEIGHT_LAYOUT = "21IIIIIWWWWWC"


def label(first12: str) -> str:
    return first12 + ean13_check_digit(first12)


# --- the pure parts -----------------------------------------------------------------------------


def test_ean13_check_digit_of_known_codes() -> None:
    assert ean13_check_digit("400638133393") == "1"  # 4006381333931
    assert ean13_check_digit("501234567890") == "0"  # 5012345678900


@pytest.mark.parametrize(
    "layout", ["20IIIIIPPPPPC", "21IIIIIWWWWWC", "2IIIIIIPPPPPC", "2PPPPPIIIIIIC", ""]
)
def test_valid_layouts(layout) -> None:
    validate_scale_barcode_layout(layout)


@pytest.mark.parametrize(
    "layout",
    [
        "20IIIIIPPPPP",  # 12 characters
        "30IIIIIPPPPPC",  # not starting with 2
        "20IIIIIPPPWWC",  # a price and a weight
        "20IIPPIIPPPPC",  # two price runs
        "200000PPPPPPC",  # no item code
        "20IIIIIIIIIIC",  # no price nor weight
        "20IIIIIPPPPP1",  # no check digit
        "20IIIIIXPPPPC",
    ],
)
def test_invalid_layouts(layout) -> None:
    with pytest.raises(ValidationError):
        validate_scale_barcode_layout(layout)


def test_parse_price_and_weight() -> None:
    assert scale_barcode_parse(label("200123401234"), PRICE_LAYOUT) == ScaleBarcode(
        item_code="01234", price=Decimal("12.34")
    )
    assert scale_barcode_parse(label("200123401234"), PRICE_LAYOUT, currency="JPY") == ScaleBarcode(
        item_code="01234", price=Decimal("1234")
    )
    assert scale_barcode_parse(label("210123401250"), WEIGHT_LAYOUT) == ScaleBarcode(
        item_code="01234", quantity=Decimal("1.250")
    )


@pytest.mark.parametrize(
    ("barcode", "layout"),
    [
        (label("200123401234"), ""),  # no layout
        (label("220123401234"), PRICE_LAYOUT),  # another prefix
        ("200123401234", PRICE_LAYOUT),  # 12 digits
        ("20012340123X", PRICE_LAYOUT),
    ],
)
def test_not_a_scale_label(barcode, layout) -> None:
    assert scale_barcode_parse(barcode, layout) is None


@given(
    item=st.integers(min_value=0, max_value=99999),
    value=st.integers(min_value=0, max_value=99999),
    weight=st.booleans(),
    currency=st.sampled_from(["USD", "JPY", "KWD"]),
)
def test_a_built_label_reads_back(item: int, value: int, weight: bool, currency: str) -> None:
    layout = WEIGHT_LAYOUT if weight else PRICE_LAYOUT
    barcode = label(f"{layout[:2]}{item:05d}{value:05d}")
    parsed = scale_barcode_parse(barcode, layout, currency=currency)
    assert parsed is not None
    assert parsed.item_code == f"{item:05d}"
    if weight:
        assert parsed.quantity == Decimal(value) / 1000
        assert parsed.price is None
    else:
        places = {"USD": 2, "JPY": 0, "KWD": 3}[currency]
        assert parsed.price == Decimal(value).scaleb(-places)
        assert parsed.quantity is None


@given(
    item=st.integers(min_value=0, max_value=99999),
    value=st.integers(min_value=0, max_value=99999),
    position=st.integers(min_value=2, max_value=12),
    shift=st.integers(min_value=1, max_value=9),
)
def test_any_single_wrong_digit_is_caught(item: int, value: int, position: int, shift: int) -> None:
    barcode = label(f"20{item:05d}{value:05d}")
    wrong = str((int(barcode[position]) + shift) % 10)
    misread = barcode[:position] + wrong + barcode[position + 1 :]
    with pytest.raises(InvalidInput) as caught:
        scale_barcode_parse(misread, PRICE_LAYOUT)
    assert caught.value.errors == {"barcode": ["The scale barcode's check digit is wrong."]}


# --- the store's layout -------------------------------------------------------------------------


@pytest.mark.django_db
def test_admins_set_the_store_layout_and_a_bad_one_is_refused(admin_client, store) -> None:
    url = f"/api/v1/stores/{store.pk}/"
    bad = admin_client.patch(url, {"scale_barcode_layout": "20IIIIIPPPPP"}, format="json")
    assert bad.status_code == 400
    assert "scale_barcode_layout" in bad.json()["errors"]
    good = admin_client.patch(url, {"scale_barcode_layout": PRICE_LAYOUT}, format="json")
    assert good.status_code == 200, good.json()
    assert good.json()["scale_barcode_layout"] == PRICE_LAYOUT


# --- the lookup ---------------------------------------------------------------------------------


@pytest.fixture
def scale_store(store):
    store.scale_barcode_layout = PRICE_LAYOUT
    store.save()
    return store


@pytest.mark.django_db
def test_a_price_label_finds_its_product_with_the_embedded_price(
    cashier_client, scale_store
) -> None:
    cheese = ProductFactory(scale_code="04711", price=Decimal("19.90"))
    ProductFactory(scale_code="04712")
    barcode = label("200471100349")

    # The cashier's only store reads it; `store` may also be named.
    for params in ({"barcode": barcode}, {"barcode": barcode, "store": scale_store.pk}):
        body = cashier_client.get(PRODUCTS, params).json()
        assert body["count"] == 1
        [row] = body["results"]
        assert row["id"] == cheese.pk
        assert row["embedded_price"] == "3.49"
        assert "embedded_quantity" not in row
        assert "cost" not in row


@pytest.mark.django_db
def test_a_weight_label_carries_the_quantity(manager_client, store) -> None:
    store.scale_barcode_layout = WEIGHT_LAYOUT
    store.save()
    apples = ProductFactory(scale_code="00042")
    [row] = manager_client.get(PRODUCTS, {"barcode": label("210004201250")}).json()["results"]
    assert row["id"] == apples.pk
    assert row["embedded_quantity"] == "1.250"
    assert row["cost"] == "2.00"


@pytest.mark.django_db
def test_a_wrong_check_digit_is_400(cashier_client, scale_store) -> None:
    ProductFactory(scale_code="04711")
    barcode = label("200471100349")
    misread = barcode[:-1] + str((int(barcode[-1]) + 1) % 10)
    response = cashier_client.get(PRODUCTS, {"barcode": misread})
    assert response.status_code == 400
    assert "barcode" in response.json()["errors"]


@pytest.mark.django_db
def test_another_stores_id_is_404(cashier_client, scale_store, other_store) -> None:
    barcode = label("200471100349")
    assert (
        cashier_client.get(PRODUCTS, {"barcode": barcode, "store": other_store.pk}).status_code
        == 404
    )
    assert cashier_client.get(PRODUCTS, {"barcode": barcode, "store": "x"}).status_code == 400


@pytest.mark.django_db
def test_admins_name_the_store_an_unknown_one_is_404(admin_client, scale_store) -> None:
    product = ProductFactory(scale_code="04711")
    barcode = label("200471100349")
    # Without a store (an admin sees all) it is a plain barcode: nothing has it.
    assert admin_client.get(PRODUCTS, {"barcode": barcode}).json()["count"] == 0
    found = admin_client.get(PRODUCTS, {"barcode": barcode, "store": scale_store.pk}).json()
    assert [r["id"] for r in found["results"]] == [product.pk]
    assert admin_client.get(PRODUCTS, {"barcode": barcode, "store": 999999}).status_code == 404
    # A plain barcode in an unknown store too.
    assert admin_client.get(PRODUCTS, {"barcode": "123", "store": 999999}).status_code == 404


@pytest.mark.django_db
def test_a_named_store_has_its_own_cache_entry(cashier_client, scale_store) -> None:
    ProductFactory(barcode="4006381333931")
    cashier_client.get(PRODUCTS, {"barcode": "4006381333931", "store": scale_store.pk})
    entry = cache.lookup(cache.BARCODE, cache.barcode_entry_name("4006381333931", scale_store.pk))
    assert entry is not None
    assert entry[0]["barcode"] == "4006381333931"


@pytest.mark.django_db
def test_plain_barcodes_behave_as_before_in_a_scale_store(cashier_client, scale_store) -> None:
    plain = ProductFactory(barcode="4006381333931")
    own = ProductFactory(barcode=label("290000000001"))  # another prefix than the layout's
    for product in (plain, own):
        [row] = cashier_client.get(PRODUCTS, {"barcode": product.barcode}).json()["results"]
        assert row["id"] == product.pk
        assert "embedded_price" not in row


@pytest.mark.django_db
def test_a_cached_scale_lookup_makes_no_query_beyond_auth(
    cashier_client, scale_store, cashier
) -> None:
    ProductFactory(scale_code="04711")
    barcode = label("200471100349")
    # What authentication alone costs once warm (a 400 from the filter validation).
    cashier_client.get(PRODUCTS, {"category": "x"})
    with CaptureQueriesContext(connection) as auth:
        cashier_client.get(PRODUCTS, {"category": "x"})

    first = cashier_client.get(PRODUCTS, {"barcode": barcode, "store": scale_store.pk})
    with CaptureQueriesContext(connection) as ctx:
        second = cashier_client.get(PRODUCTS, {"barcode": barcode, "store": scale_store.pk})
    assert first.json() == second.json()
    assert second.json()["results"][0]["embedded_price"] == "3.49"
    assert not any(
        "catalog_" in q["sql"] or '"accounts_store"' in q["sql"] for q in ctx.captured_queries
    )
    assert len(ctx.captured_queries) <= len(auth.captured_queries)


@pytest.mark.django_db
def test_the_cache_entry_is_per_store(client_for, django_capture_on_commit_callbacks) -> None:
    price_store = StoreFactory(scale_barcode_layout=PRICE_LAYOUT)
    weight_store = StoreFactory(scale_barcode_layout="20IIIIIWWWWWC")
    ProductFactory(scale_code="04711")
    client = client_for(CashierFactory(stores=[price_store, weight_store]))
    barcode = label("200471101250")

    def scan(store):
        return client.get(PRODUCTS, {"barcode": barcode, "store": store.pk}).json()["results"][0]

    assert scan(price_store)["embedded_price"] == "12.50"
    assert scan(weight_store)["embedded_quantity"] == "1.250"
    # A user of two stores who names none scans plain barcodes.
    assert client.get(PRODUCTS, {"barcode": barcode}).json()["count"] == 0


@pytest.mark.django_db
def test_changing_the_layout_invalidates_cached_lookups(
    admin_client, cashier_client, scale_store, django_capture_on_commit_callbacks
) -> None:
    ProductFactory(scale_code="04711")
    barcode = label("200471101250")
    assert (
        cashier_client.get(PRODUCTS, {"barcode": barcode}).json()["results"][0]["embedded_price"]
        == "12.50"
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.patch(
            f"/api/v1/stores/{scale_store.pk}/",
            {"scale_barcode_layout": "20IIIIIWWWWWC"},
            format="json",
        )
    assert response.status_code == 200
    row = cashier_client.get(PRODUCTS, {"barcode": barcode}).json()["results"][0]
    assert row["embedded_quantity"] == "1.250"


@pytest.mark.django_db
def test_scale_codes_are_unique_digits(manager_client) -> None:
    ProductFactory(scale_code="00001")
    other = ProductFactory()
    url = f"{PRODUCTS}{other.pk}/"
    assert manager_client.patch(url, {"scale_code": "00001"}, format="json").status_code == 400
    assert manager_client.patch(url, {"scale_code": "12a"}, format="json").status_code == 400
    ok = manager_client.patch(url, {"scale_code": "00002"}, format="json")
    assert ok.status_code == 200
    assert ok.json()["scale_code"] == "00002"
    cleared = manager_client.patch(url, {"scale_code": ""}, format="json")
    assert cleared.json()["scale_code"] is None
