"""Every write to the catalog and to stock, as keyword-only functions named `<entity>_<verb>`.

Other apps import from here (`from catalog.services import stock_apply, StockChange`); the
modules beside this one hold the code: `stock` (levels and movements), `adjustments` (manual
stock adjustments), `versions` (the catalog-wide version counter), `products`, `taxonomy` (tax
rates and categories), `modifiers` (modifier groups), `common` (what they share: deleting a
row or refusing with 409 when it is referenced).
"""

from catalog.services.adjustments import stock_adjust
from catalog.services.modifiers import (
    modifier_group_create,
    modifier_group_delete,
    modifier_group_update,
)
from catalog.services.products import (
    product_bulk_save,
    product_create,
    product_deactivate,
    product_delete,
    product_update,
)
from catalog.services.stock import (
    StockChange,
    stock_apply,
    stock_levels_ensure,
    stock_levels_ensure_for_products,
    stock_lock,
    stock_sync_store_policy,
)
from catalog.services.taxonomy import (
    category_create,
    category_delete,
    category_update,
    tax_rate_create,
    tax_rate_delete,
    tax_rate_update,
)
from catalog.services.versions import catalog_version_current, catalog_version_take

__all__ = [
    "StockChange",
    "catalog_version_current",
    "catalog_version_take",
    "category_create",
    "category_delete",
    "category_update",
    "modifier_group_create",
    "modifier_group_delete",
    "modifier_group_update",
    "product_bulk_save",
    "product_create",
    "product_deactivate",
    "product_delete",
    "product_update",
    "stock_adjust",
    "stock_apply",
    "stock_levels_ensure",
    "stock_levels_ensure_for_products",
    "stock_lock",
    "stock_sync_store_policy",
    "tax_rate_create",
    "tax_rate_delete",
    "tax_rate_update",
]
