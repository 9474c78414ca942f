"""Every serializer that renders through `CompiledRepresentation` renders exactly what DRF's own
`to_representation` renders from its declared fields: same keys in the same order, same values
of the same types — over values as the database returns them and values as a service leaves
them (enum members, unquantized decimals, non-UTC times, nulls), in several time zones.

The instances are built in memory (no database): the nested lists come from the prefetch cache,
where `order_detail_queryset()` puts them too."""

from __future__ import annotations

import datetime as dt
import importlib
import zoneinfo
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework import serializers
from rest_framework.test import APIRequestFactory

from accounts.models import Role, User
from apitools.rendering import CompiledRepresentation, compiled_renderer
from catalog.imports import ProductImportSerializer
from catalog.models import ModifierGroup, Product
from catalog.serializers import ProductSerializer
from orders.models import Order, OrderLine, OrderStatus, Payment, PaymentMethod
from orders.serializers.sales import OrderLineSerializer, OrderSerializer, PaymentSerializer

_MOMENTS = [
    dt.datetime(2026, 11, 21, 17, 2, 11, 5, tzinfo=dt.UTC),
    dt.datetime(2026, 11, 21, 17, 2, 11, tzinfo=zoneinfo.ZoneInfo("Europe/Paris")),
    None,
]


def _products() -> Iterator[Product]:
    for product in _bare_products():
        # Its modifier groups as `product_list` prefetches them (no database here).
        groups = ModifierGroup.objects.none()
        groups._result_cache = [ModifierGroup(pk=pk) for pk in (5, 7)[: product.pk - 10]]
        groups._prefetch_done = True
        product._prefetched_objects_cache = {"modifier_groups": groups}
        yield product


def _bare_products() -> Iterator[Product]:
    for index, moment in enumerate(_MOMENTS):
        yield Product(
            pk=10 + index,
            sku=f"SKU-{index}",
            barcode=None if index else "400123",
            name="Ünïcode name",
            category_id=None if index else 3,
            price=[Decimal("19.9"), Decimal("123456789012.00"), Decimal("0.005")][index],
            cost=[Decimal("0"), Decimal("1.239"), Decimal(7)][index],
            tax_rate_id=4,
            track_stock=bool(index),
            is_active=not index,
            version=2**40 + index,
            updated_at=moment,
            variant_of_id=None if index != 1 else 3,
            options={} if index != 1 else {"size": "M", "colour": "ünï"},
            scale_code=None if index != 2 else "01234",
            is_template=index == 2,
        )


def _lines() -> list[OrderLine]:
    return [
        OrderLine(
            pk=100 + index,
            product_id=10 + index,
            sku="SKU",
            name="Line",
            quantity=quantity,
            unit_price=Decimal("4.99"),
            gross=Decimal("9.98"),
            discount=Decimal("0.5"),
            net=Decimal("9.48"),
            tax_rate=rate,
            tax=Decimal("0.78"),
            total=Decimal("10.26"),
        )
        for index, (quantity, rate) in enumerate(
            [(Decimal("2"), Decimal("8.25")), (Decimal("1.250"), Decimal("0.000"))]
        )
    ]


def _payments() -> list[Payment]:
    return [
        Payment(pk=200, method=PaymentMethod.CASH, amount=Decimal("7.33"), tendered=Decimal(20),
                change=Decimal("12.67"), reference="", card_last4=""),
        Payment(pk=201, method="card", amount=Decimal("5.00"), tendered=None, change=Decimal(0),
                reference="AUTH1", card_last4="4242"),
    ]  # fmt: skip


def _orders() -> Iterator[Order]:
    for index, moment in enumerate(_MOMENTS):
        order = Order(
            pk=1 + index,
            number=f"R1-{index:06d}",
            store_id=1,
            register_id=2,
            shift_id=3,
            cashier_id=4,
            status=[OrderStatus.COMPLETED, "partially_refunded", "refunded"][index],
            created_at=moment or _MOMENTS[0],
            client_created_at=moment,
            currency="USD",
            prices_include_tax=bool(index),
            subtotal=Decimal("4.5"),
            discount_total=Decimal("0.00"),
            tax_total=Decimal("0.005"),
            total=Decimal(7),
            paid_total=Decimal("7.00"),
            change_due=Decimal("0.00"),
        )
        order._prefetched_objects_cache = {  # type: ignore[attr-defined]
            "lines": _lines() if index < 2 else [],
            "payments": _payments() if index < 2 else [],
        }
        yield order


def _cashier_context() -> dict[str, Any]:
    request = APIRequestFactory().get("/api/v1/products/")
    request.user = User(username="c", role=Role.CASHIER)
    return {"request": request}


#: Each compiled serializer with instances and contexts to render them in.
SAMPLES: dict[type[serializers.Serializer], tuple[Callable[[], Any], list[dict[str, Any]]]] = {
    ProductSerializer: (lambda: list(_products()), [{}, _cashier_context()]),
    ProductImportSerializer: (lambda: list(_products()), [{}]),
    OrderLineSerializer: (_lines, [{}]),
    PaymentSerializer: (_payments, [{}]),
    OrderSerializer: (lambda: list(_orders()), [{}]),
}


def _compiled_classes() -> set[type]:
    importlib.import_module(settings.ROOT_URLCONF)  # every view, so every serializer in use
    found: set[type] = set()
    pending = list(CompiledRepresentation.__subclasses__())
    while pending:
        cls = pending.pop()
        if cls.__module__ != __name__:  # not the refused ones defined below
            found.add(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_every_compiled_serializer_is_checked_here() -> None:
    assert _compiled_classes() == set(SAMPLES)


def _drf(monkeypatch: pytest.MonkeyPatch, serializer: serializers.BaseSerializer) -> Any:
    """`serializer.data` through DRF's generic `to_representation`, nested serializers too."""
    with monkeypatch.context() as patch:
        patch.setattr(
            CompiledRepresentation, "to_representation", serializers.Serializer.to_representation
        )
        return serializer.data


def _typed(value: Any) -> Any:
    """The value with the type of every leaf, so `"1"` and `1` or `None` and `""` differ."""
    if isinstance(value, dict):
        return [(key, _typed(item)) for key, item in value.items()]
    if isinstance(value, list):
        return [_typed(item) for item in value]
    return (type(value), value)


@pytest.mark.parametrize("zone", ["UTC", "America/St_Johns"])
@pytest.mark.parametrize("serializer_class", list(SAMPLES), ids=lambda cls: cls.__name__)
def test_the_compiled_renderer_is_drfs_rendering(
    serializer_class: type[serializers.Serializer], zone: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    make, contexts = SAMPLES[serializer_class]
    with timezone.override(zoneinfo.ZoneInfo(zone)):
        for context in contexts:
            for instance in make():
                compiled = serializer_class(instance, context=context).data
                generic = _drf(monkeypatch, serializer_class(instance, context=context))
                assert _typed(compiled) == _typed(generic)
            rows = make()
            page = serializer_class(rows, many=True, context=context).data
            generic_page = _drf(monkeypatch, serializer_class(rows, many=True, context=context))
            assert _typed(page) == _typed(generic_page)


def test_a_field_it_cannot_render_exactly_is_refused() -> None:
    class Odd(CompiledRepresentation, serializers.ModelSerializer):
        shout = serializers.SerializerMethodField()

        class Meta:
            model = Payment
            fields = ("id", "shout")

        def get_shout(self, payment: Payment) -> str:
            return payment.method.upper()

    class Stringly(CompiledRepresentation, serializers.ModelSerializer):
        id = serializers.BigIntegerField(coerce_to_string=True, read_only=True)

        class Meta:
            model = Payment
            fields = ("id",)

    for cls in (Odd, Stringly):
        with pytest.raises(TypeError, match=rf"{cls.__name__}\.(shout|id)"):
            compiled_renderer(cls)


def test_the_generated_source_reads_each_column_once() -> None:
    source = compiled_renderer(OrderLineSerializer).__doc__ or ""
    assert source.count("instance.") == len(OrderLineSerializer.Meta.fields)
