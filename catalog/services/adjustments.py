"""Manual stock adjustments (receive, count, damage, correction): the movement, its journal
entry at cost and its audit event, in one transaction."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import Store, User
from audit.services import audit_record
from catalog.models import ADJUSTMENT_REASONS, Product, StockMovement, StockReason
from catalog.services.stock import StockChange, stock_apply
from domain.errors import InvalidInput
from ledger.services import post_stock_adjustment
from money.fields import catalog_price_text

SOURCE_TYPE = "adjustment"


def stock_adjust(
    *,
    store: Store,
    product: Product,
    quantity_delta: Decimal,
    reason: str,
    note: str = "",
    user: User | None,
) -> StockMovement:
    """Adjust one product's stock in one store by `quantity_delta` (signed).

    A decrease below zero in a store that disallows negative stock is refused
    (`InsufficientStock`, 409). The ledger gets the movement's value, `round(delta × product
    cost)` half-up (Dr 1200 / Cr 5100 for a gain, the reverse for a loss) through
    `ledger.services.post_stock_adjustment` (`catalog` may use the ledger; the ledger knows
    nothing of the catalog): the same amount the stock's book value moved by.
    """
    if reason not in ADJUSTMENT_REASONS:
        raise InvalidInput(
            errors={
                "reason": [f"Must be one of: {', '.join(r.value for r in ADJUSTMENT_REASONS)}."]
            }
        )
    if not product.track_stock:
        raise InvalidInput(errors={"product": ["This product does not track stock."]})
    if quantity_delta == 0:
        raise InvalidInput(errors={"quantity_delta": ["Must not be zero."]})

    with transaction.atomic():
        [movement] = stock_apply(
            store=store,
            changes=[StockChange(product=product, quantity_delta=quantity_delta)],
            reason=StockReason(reason),
            source_type=SOURCE_TYPE,
            source_id=None,
            user=user,
            note=note,
        )
        value = movement.value
        post_stock_adjustment(
            store=store,
            date=timezone.localdate(timezone=store.tzinfo),
            movement_id=movement.pk,
            value=value,
            created_by=user,
        )
        audit_record(
            action="stock.adjusted",
            actor=user,
            store_id=store.pk,
            object_type="stock_movement",
            object_id=movement.pk,
            changes={
                "product": product.pk,
                "sku": product.sku,
                "reason": reason,
                "quantity_delta": str(movement.quantity_delta),
                "quantity_after": str(movement.quantity_after),
                "unit_cost": catalog_price_text(movement.unit_cost),
                "value": str(value),
                "note": note,
            },
        )
    return movement
